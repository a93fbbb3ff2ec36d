import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/conveyor.ts';

const BIN = fileURLToPath(new URL('../bin/conveyor.js', import.meta.url));
let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => {
  await s.stop();
});

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, '--url', s.url, '--key', 'test-key', ...args]);
    return { code: 0, out: stdout, err: stderr };
  } catch (e: any) {
    return { code: e.code, out: e.stdout, err: e.stderr };
  }
}

describe('the conveyor CLI against a real server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'conveyor-cli-'));
  it('deploys a YAML file, creates a task, shows it and the stats', async () => {
    const file = join(dir, 'hello.yaml');
    writeFileSync(file, 'name: hello\nnodes:\n  greet: { type: set, set: { msg: "Hello {{name}}" }, next: done }\n  done: { type: final }\n');
    expect((await cli('process', 'deploy', file)).out).toMatch(/^deployed hello v1 \(public id \d+\)/);
    expect((await cli('task', 'create', 'hello', '--ref', 'r1', '--data', '{"name":"Ann"}')).out.trim()).toBe('created task 1 (ref r1)');
    expect((await cli('task', 'create', 'hello', '--ref', 'r1')).out.trim()).toMatch(/task 1 (already alive|created)|created task 2/);
    await s.until(async () => (await s.task(1)).task.status === 'done');
    const show = await cli('task', 'show', '1');
    expect(show.out).toContain('status done at node done');
    expect(show.out).toContain('"msg": "Hello Ann"');
    const stats = JSON.parse((await cli('--json', 'stats', 'hello')).out);
    expect(stats.nodes.done).toBeGreaterThanOrEqual(1);
    expect((await cli('process', 'export', 'hello')).out).toContain('type: final');
    expect((await cli('process', 'url', 'hello')).out).toMatch(/\/api\/1\/json\/public\/\d+\/[0-9a-f]{40}/);
  });

  it('prints validation errors one per line and exits 1', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'name: bad\nnodes:\n  a: { type: condition, branches: [{ when: { path: x, op: eq, value: 1 }, to: nope }], else: a }\n');
    const r = await cli('process', 'deploy', file);
    expect(r.code).toBe(1);
    expect(r.err).toContain('nodes.a.branches[0].to: edge to missing node "nope"');
  });

  it('says when the server cannot be reached', async () => {
    const { code, err } = await promisify(execFile)(process.execPath, [BIN, '--url', 'http://127.0.0.1:9', '--key', 'k', 'process', 'list']).then(
      () => ({ code: 0, err: '' }), (e: any) => ({ code: e.code, err: e.stderr }),
    );
    expect(code).toBe(1);
    expect(err).toMatch(/cannot reach Conveyor at http:\/\/127\.0\.0\.1:9/);
  });
});
