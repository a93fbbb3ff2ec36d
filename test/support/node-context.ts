import type { Connection, ConnectionAccess } from '../../src/connectors/connector.ts';
import type { NodeContext } from '../../src/engine/node-type.ts';
import type { TaskRecord } from '../../src/engine/task.ts';
import { createHttpClient, type HttpClient } from '../../src/util/http-client.ts';
import { render } from '../../src/util/template.ts';

/** Connections held in memory, as the engine's would be after decrypting: for node-level tests. */
export class MemoryConnections implements ConnectionAccess {
  readonly byKey = new Map<string, Connection>();
  readonly updates: Array<{ key: string; patch: Record<string, unknown> }> = [];
  constructor(list: Connection[] = []) {
    for (const c of list) this.byKey.set(`${c.connector}:${c.name}`, c);
  }
  get(connector: string, name: string): Connection {
    const c = this.byKey.get(`${connector}:${name}`);
    if (!c) throw new Error(`connection "${name}" of ${connector} is not set up in this project`);
    return c;
  }
  async update(connector: string, name: string, patch: Record<string, unknown>): Promise<void> {
    const c = this.get(connector, name);
    c.settings = { ...c.settings, ...patch };
    this.updates.push({ key: `${connector}:${name}`, patch });
  }
}

export interface ContextOptions {
  data?: Record<string, unknown>;
  now?: number;
  attempt?: number;
  connections?: ConnectionAccess;
  http?: HttpClient;
  runCode?: NodeContext['services']['runCode'];
  config?: Record<string, unknown>;
  /** Collects slowDown calls. */
  slowed?: Array<{ key: string; ms: number }>;
}

/** A NodeContext for running one node type directly, with real templates and a real HTTP client. */
export function nodeContext(node: Record<string, unknown>, opts: ContextOptions = {}): NodeContext {
  const now = opts.now ?? Date.now();
  const data = opts.data ?? {};
  const task: TaskRecord = {
    id: 7, process: 'p', version: 1, ref: 'r', data, nodeId: 'n', status: 'active', runAt: now, attempt: opts.attempt ?? 0,
    error: null, parentId: null, waitingFor: null, waitSeq: 0, rev: 0, createdAt: now, updatedAt: now,
  };
  return {
    nodeId: 'n', node: node as never, task, now,
    render: (v) => render(v, { data, roots: { task: { id: 7, ref: 'r', callback_url: 'http://127.0.0.1:1/callbacks/default/7/tok' }, config: opts.config ?? {} } }),
    services: {
      runCode: opts.runCode ?? (() => { throw new Error('no sandbox in this test'); }),
      http: opts.http ?? createHttpClient(),
    },
    connections: opts.connections ?? new MemoryConnections(),
    slowDown: (key, ms) => opts.slowed?.push({ key, ms }),
    dedupe: { claim: async () => null, merged: async () => {} },
    deadLetters: { append: async () => {} },
    contacts: undefined as never, cancelTask: async () => false, sign: (v: string) => `sig-${v.length}`,
  };
}
