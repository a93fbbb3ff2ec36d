import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { spawnServer } from '../test/support/server-process.ts';

const KEY = { authorization: 'Bearer test-key', 'content-type': 'application/json' };

/** A real server process on loopback with a fresh data directory, and the calls the bench makes to it. */
export class BenchServer {
  private constructor(
    readonly url: string,
    private readonly child: Awaited<ReturnType<typeof spawnServer>>['child'],
    private readonly dataDir: string,
    private readonly pool: Pool,
  ) {}

  static async start(): Promise<BenchServer> {
    const dataDir = mkdtempSync(join(tmpdir(), 'conveyor-bench-'));
    const server = await spawnServer(dataDir, 20000 + Math.floor(Math.random() * 20000));
    return new BenchServer(server.url, server.child, dataDir, new Pool(server.url, { connections: 64 }));
  }

  async call(method: string, path: string, body?: unknown): Promise<any> {
    const res = await this.pool.request({ method: method as 'GET', path, headers: KEY, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.body.text();
    if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${text}`);
    return JSON.parse(text);
  }

  private readonly deployed = new Set<string>();

  deploy(def: { name: string; [k: string]: unknown }): Promise<unknown> {
    this.deployed.add(def.name);
    return this.call('PUT', `/api/v1/projects/default/processes/${def.name}`, def);
  }

  tasksPath(process: string): string {
    return `/api/v1/projects/default/processes/${process}/tasks`;
  }

  async stats(process: string): Promise<{ nodes: Record<string, number>; statuses: Record<string, number> }> {
    return this.call('GET', `/api/v1/projects/default/processes/${process}/stats`);
  }

  /** Until `n` tasks of the process are in `node`. */
  async waitFor(process: string, node: string, n: number, timeoutMs = 240_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (((await this.stats(process)).nodes[node] ?? 0) < n) {
      if (Date.now() > end) throw new Error(`${process}: fewer than ${n} tasks reached ${node} in time`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Until no task of the deployed processes is due to run (the engine has caught up), so one figure is not another's backlog. */
  async settle(timeoutMs = 240_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (const p of this.deployed) {
      while (((await this.stats(p)).statuses.active ?? 0) > 0) {
        if (Date.now() > end) throw new Error(`${p}: still has active tasks`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  rssMb(): number {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${this.child.pid}/status`, 'utf8'))![1]) / 1024;
  }

  async stop(): Promise<void> {
    await this.pool.close();
    this.child.kill('SIGTERM');
    await new Promise((r) => this.child.once('exit', r));
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** `fn(i)` for i in [0, total) with `workers` running at once. */
export async function parallel(workers: number, total: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: workers }, async () => {
    while (next < total) await fn(next++);
  }));
}
