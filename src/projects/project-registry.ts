import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import type { ProcessDefinition, ProcessVersion } from '../model/process-definition.ts';
import type { NodeRegistry } from '../engine/node-registry.ts';
import type { NodeServices } from '../engine/node-type.ts';
import { ProjectEngine, TaskError, type EngineOptions } from '../engine/project-engine.ts';
import type { ConnectorCatalog } from '../connectors/connector-catalog.ts';
import { ProjectConnections } from '../connectors/project-connections.ts';
import type { SecretBox } from '../connectors/secret-box.ts';
import { DeadLetters } from './dead-letters.ts';
import type { FunnelRuntime } from '../funnels/funnel-runtime.ts';
import { ProjectFunnels } from '../funnels/project-funnels.ts';
import type { EngineObserver } from '../engine/engine-observer.ts';
import { SqliteProjectStore, type SqliteOptions } from '../storage/sqlite/sqlite-project-store.ts';

const PROJECT_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/**
 * The server's projects: each owns its processes and tasks and has its own database file
 * (`<data>/projects/<name>.db`). Public process ids are unique across projects, so a public URL
 * names one process of one project.
 */
export class ProjectRegistry {
  private readonly engines = new Map<string, ProjectEngine>();
  private readonly funnels = new Map<string, ProjectFunnels>();
  private readonly publicIds = new Map<string, { project: string; process: string }>();

  private readonly dataDir: string;
  private readonly registry: NodeRegistry;
  private readonly services: NodeServices;
  private readonly engineOptions: EngineOptions;
  private readonly log: Logger;
  private readonly sqlite: SqliteOptions;
  private readonly connectors: ConnectorCatalog;
  private readonly secretBox: SecretBox;
  private readonly observer?: EngineObserver;

  constructor(deps: {
    dataDir: string; registry: NodeRegistry; services: NodeServices; engineOptions: EngineOptions; log: Logger;
    sqlite?: SqliteOptions; connectors: ConnectorCatalog; secretBox: SecretBox; observer?: EngineObserver;
  }) {
    this.observer = deps.observer;
    ({ dataDir: this.dataDir, registry: this.registry, services: this.services, engineOptions: this.engineOptions,
      log: this.log, connectors: this.connectors, secretBox: this.secretBox } = deps);
    this.sqlite = deps.sqlite ?? {};
  }

  private get dir(): string {
    return join(this.dataDir, 'projects');
  }

  async open(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    const names = readdirSync(this.dir).filter((f) => f.endsWith('.db')).map((f) => f.slice(0, -3));
    for (const name of names) await this.start(name);
    if (!this.engines.has('default')) await this.create('default');
  }

  private async start(name: string): Promise<ProjectEngine> {
    const store = new SqliteProjectStore(name, join(this.dir, `${name}.db`), this.sqlite);
    const connections = new ProjectConnections(store, this.connectors, this.secretBox);
    await connections.load();
    const deadLetters = new DeadLetters(join(this.dir, `${name}-dead-letters.csv`));
    const engine = new ProjectEngine(store, this.registry, this.services, this.engineOptions, this.log.child({ project: name }), connections, deadLetters, this.observer);
    await engine.start();
    const funnels = new ProjectFunnels(engine, this.services.http, this.log.child({ project: name }));
    funnels.start();
    this.funnels.set(name, funnels);
    this.engines.set(name, engine);
    for (const p of await store.listProcesses()) this.publicIds.set(p.publicId, { project: name, process: p.name });
    return engine;
  }

  async create(name: string): Promise<ProjectEngine> {
    if (!PROJECT_NAME.test(name)) {
      throw new TaskError(400, 'name: a project name is 1–63 lower-case letters, digits, "-" or "_", starting with a letter or digit');
    }
    if (this.engines.has(name) || existsSync(join(this.dir, `${name}.db`))) throw new TaskError(409, `project "${name}" already exists`);
    return this.start(name);
  }

  get(name: string): ProjectEngine {
    const e = this.engines.get(name);
    if (!e) throw new TaskError(404, `project "${name}" not found`);
    return e;
  }

  list(): string[] {
    return [...this.engines.keys()].sort();
  }

  /** Deploys a validated definition as the process's next version, keeping its public id stable. */
  async deploy(project: string, def: ProcessDefinition): Promise<{ version: ProcessVersion; publicId: string }> {
    const engine = this.get(project);
    const current = await engine.store.getPublicAccess(def.name);
    const publicId = def.public_id ?? current?.publicId ?? this.newPublicId();
    const owner = this.publicIds.get(publicId);
    if (owner && (owner.project !== project || owner.process !== def.name)) {
      throw new TaskError(409, `public_id: "${publicId}" is already used by process "${owner.process}" of project "${owner.project}"`);
    }
    const version = await engine.deploy(def, publicId);
    if (current && current.publicId !== publicId) this.publicIds.delete(current.publicId);
    this.publicIds.set(publicId, { project, process: def.name });
    return { version, publicId };
  }

  byPublicId(publicId: string): { engine: ProjectEngine; process: string } | undefined {
    const hit = this.publicIds.get(publicId);
    return hit && { engine: this.get(hit.project), process: hit.process };
  }

  private newPublicId(): string {
    for (;;) {
      const id = String(randomInt(100_000, 10_000_000));
      if (!this.publicIds.has(id)) return id;
    }
  }

  /** The project's chatbot side: inbound events to contacts, replies and triggers. */
  funnelsOf(name: string): FunnelRuntime {
    this.get(name);
    return this.funnels.get(name)!.runtime;
  }

  async close(): Promise<void> {
    await Promise.all([...this.funnels.values()].map((f) => f.stop()));
    await Promise.all([...this.engines.values()].map((e) => e.stop()));
    await Promise.all([...this.engines.values()].map((e) => e.store.close()));
    this.engines.clear();
  }
}
