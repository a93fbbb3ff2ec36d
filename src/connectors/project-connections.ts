import type { ProjectStore } from '../storage/project-store.ts';
import { TaskError } from '../engine/engine-options.ts';
import type { Connection, ConnectionAccess } from './connector.ts';
import type { ConnectorCatalog } from './connector-catalog.ts';
import type { SecretBox } from './secret-box.ts';

/** A connection as the API shows it: secret fields named, never their values. */
export interface ConnectionView {
  connector: string;
  name: string;
  settings: Record<string, unknown>;
  secrets: string[];
  updatedAt: number;
}

/**
 * One project's connections: decrypted once into memory for nodes, written back encrypted. Secret
 * fields (the connector's `secretFields`) go to the sealed column; the rest stays readable.
 */
export class ProjectConnections implements ConnectionAccess {
  private readonly cache = new Map<string, Connection & { updatedAt: number }>();

  constructor(private readonly store: ProjectStore, private readonly catalog: ConnectorCatalog, private readonly box: SecretBox) {}

  async load(): Promise<void> {
    this.cache.clear();
    for (const c of await this.store.listConnections()) {
      const secrets = this.box.open(c.secrets) as Record<string, unknown>;
      this.cache.set(key(c.connector, c.name), { connector: c.connector, name: c.name, settings: { ...c.settings, ...secrets }, updatedAt: c.updatedAt });
    }
  }

  get(connector: string, name: string): Connection {
    const c = this.cache.get(key(connector, name));
    if (!c) throw new Error(`connection: "${name}" of ${connector} is not set up in project "${this.store.project}"`);
    return c;
  }

  /** Creates or replaces a connection after checking its settings; answers what the API shows. */
  async save(connector: string, name: string, settings: Record<string, unknown>): Promise<ConnectionView> {
    if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(name)) throw new TaskError(400, 'name: 1–64 letters, digits, "-" or "_"');
    const problems = this.catalog.check(connector, settings);
    if (problems.length) throw new TaskError(400, problems.join('; '));
    return this.write(connector, name, settings);
  }

  async update(connector: string, name: string, patch: Record<string, unknown>): Promise<void> {
    await this.write(connector, name, { ...this.get(connector, name).settings, ...patch });
  }

  async remove(connector: string, name: string): Promise<void> {
    if (!(await this.store.deleteConnection(connector, name))) throw new TaskError(404, `connection "${name}" of ${connector} not found`);
    this.cache.delete(key(connector, name));
  }

  list(): ConnectionView[] {
    return [...this.cache.values()].map((c) => this.view(c));
  }

  private async write(connector: string, name: string, settings: Record<string, unknown>): Promise<ConnectionView> {
    const secretFields = new Set(this.catalog.get(connector)?.secretFields ?? []);
    const open: Record<string, unknown> = {};
    const sealed: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(settings)) (secretFields.has(k) ? sealed : open)[k] = v;
    const updatedAt = Date.now();
    await this.store.putConnection({ connector, name, settings: open, secrets: this.box.seal(sealed), updatedAt });
    const c = { connector, name, settings, updatedAt };
    this.cache.set(key(connector, name), c);
    return this.view(c);
  }

  private view(c: Connection & { updatedAt: number }): ConnectionView {
    const secretFields = new Set(this.catalog.get(c.connector)?.secretFields ?? []);
    const settings = Object.fromEntries(Object.entries(c.settings).filter(([k]) => !secretFields.has(k)));
    return { connector: c.connector, name: c.name, settings, secrets: Object.keys(c.settings).filter((k) => secretFields.has(k)), updatedAt: c.updatedAt };
  }
}

const key = (connector: string, name: string) => `${connector}:${name}`;
