import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startServer, type RunningServer, type ServerOptions } from '../../src/http/server.ts';

/** A real Conveyor server on loopback with its own data directory, and a client for its API. */
export interface TestServer extends RunningServer {
  dataDir: string;
  api<T = any>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: T }>;
  deploy(definition: object, project?: string): Promise<{ status: number; body: any }>;
  createTask(process: string, input: unknown, project?: string): Promise<{ status: number; body: any }>;
  task(id: number, project?: string): Promise<any>;
  /** Polls until `check` returns a truthy value (or throws after `timeoutMs`). */
  until<T>(check: () => Promise<T | undefined | false | null>, timeoutMs?: number): Promise<T>;
  stop(): Promise<void>;
}

export async function startTestServer(opts: ServerOptions & { dataDir?: string } = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'conveyor-test-'));
  const server = await startServer({
    port: 0, host: '127.0.0.1', apiKey: 'test-key', examples: false, synchronous: 'normal',
    logger: pino({ level: process.env.TEST_LOG ?? 'silent' }), ...opts, dataDir,
  });
  const api = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(server.url + path, {
      method,
      headers: { authorization: 'Bearer test-key', ...(body !== undefined && { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed as any };
  };
  const until = async <T>(check: () => Promise<T | undefined | false | null>, timeoutMs = 10_000): Promise<T> => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const v = await check();
      if (v) return v;
      if (Date.now() > end) throw new Error('condition not reached in time');
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return {
    ...server,
    dataDir,
    api,
    until,
    deploy: (def: any, project = 'default') => api('PUT', `/api/v1/projects/${project}/processes/${def.name}`, def),
    createTask: (process, input, project = 'default') => api('POST', `/api/v1/projects/${project}/processes/${process}/tasks`, input),
    task: async (id, project = 'default') => (await api('GET', `/api/v1/projects/${project}/tasks/${id}`)).body,
    async stop() {
      await server.close();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
