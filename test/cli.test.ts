import { execFile } from 'node:child_process';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/conveyor.ts';

const BIN = fileURLToPath(new URL('../bin/conveyor.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'conveyor-cli-'));

/** Runs the real CLI as its own process, in an empty directory and without CONVEYOR_* from the caller's shell. */
async function conveyor(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CONVEYOR_')));
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], { cwd: dir, env: { ...clean, ...env } });
    return { code: 0, out: stdout, err: stderr };
  } catch (e: any) {
    return { code: e.code, out: e.stdout, err: e.stderr };
  }
}

const file = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};

// ---- Against a stand-in: fixed answers in the API's documented shapes, and a record of what the CLI sent.

interface Seen { method: string; url: string; headers: IncomingHttpHeaders; body: string }
const INVALID = {
  statusCode: 400, error: 'Bad Request', message: 'process is invalid: …',
  errors: [
    { path: 'nodes.check.branches[0].to', message: 'edge to missing node "nope"' },
    { path: 'nodes.x.next', message: 'is required' },
  ],
};
const PROCESSES = { processes: [{ name: 'lead-intake', title: 'Leads', version: 3, deployedAt: '2026-11-20T10:00:00.000Z', publicId: '31754', alive: 12 }] };

function answer(method: string, path: string, body: string): [number, unknown] {
  const deploy = method === 'PUT' && path.match(/^\/api\/v1\/projects\/[^/]+\/processes\/([^/]+)$/);
  if (deploy) return deploy[1] === 'bad' ? [400, INVALID] : [201, { name: deploy[1], version: 3, publicId: '31754' }];
  if (method === 'GET' && path === '/api/v1/projects/default/processes') return [200, PROCESSES];
  if (method === 'POST' && path === '/api/v1/projects/default/processes/lead-intake/tasks') {
    const { ref } = JSON.parse(body);
    return ref === 'dup' ? [200, { id: 7, ref, created: false }] : [201, { id: 42, ref, created: true }];
  }
  if (method === 'GET' && path === '/api/v1/projects/default/processes/lead-intake/stats') return [200, { nodes: { check: 2, notify: 1, done: 5 } }];
  return [404, { statusCode: 404, error: 'Not Found', message: `no route ${method} ${path}` }];
}

describe('the conveyor CLI against a stand-in API', () => {
  let server: Server;
  let url: string;
  const seen: Seen[] = [];
  const run = (...args: string[]) => conveyor([...args, '--url', url, '--key', 'k']);

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      let body = '';
      for await (const chunk of req) body += chunk;
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      const [status, payload] =
        req.headers.authorization === 'Bearer wrong'
          ? [401, { statusCode: 401, error: 'Unauthorized', message: 'authorization: send "Authorization: Bearer <API key>"' }]
          : answer(req.method!, new URL(req.url!, 'http://x').pathname, body);
      // Indented on purpose: `--json` must pass the server's text through, not re-format it.
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload, null, 1));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => {
    seen.length = 0;
  });

  it('deploys the YAML text as written, with its content type, the key, and the name from the file', async () => {
    const yaml = 'name: lead-intake\nnodes:\n  done: { type: final }  # kept as written\n';
    const r = await run('process', 'deploy', file('lead.yaml', yaml));
    expect(r).toMatchObject({ code: 0, out: 'deployed lead-intake v3 (public id 31754)\n', err: '' });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: 'PUT', url: '/api/v1/projects/default/processes/lead-intake', body: yaml });
    expect(seen[0].headers).toMatchObject({ 'content-type': 'application/yaml', authorization: 'Bearer k' });
  });

  it('sends .json files as JSON, to the project given with -p', async () => {
    const json = '{"name":"hello","nodes":{"done":{"type":"final"}}}';
    const r = await run('-p', 'sales', 'process', 'deploy', file('hello.json', json));
    expect(r.out).toBe('deployed hello v3 (public id 31754)\n');
    expect(seen[0]).toMatchObject({ url: '/api/v1/projects/sales/processes/hello', body: json });
    expect(seen[0].headers['content-type']).toBe('application/json');
  });

  it('prints validation errors one per line and exits 1', async () => {
    const r = await run('process', 'deploy', file('bad.yaml', 'name: bad\nnodes: {}\n'));
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err.split('\n')).toEqual([
      `error: ${join(dir, 'bad.yaml')}: process "bad" is invalid`,
      'nodes.check.branches[0].to: edge to missing node "nope"',
      'nodes.x.next: is required',
      '',
    ]);
  });

  it('refuses a file without a name before sending anything', async () => {
    const r = await run('process', 'deploy', file('good.yaml', 'name: good\n'), file('anon.yaml', 'nodes: {}\n'));
    expect(r.code).toBe(1);
    expect(r.err).toContain('anon.yaml: the process has no "name"');
    expect(seen).toHaveLength(0);
  });

  it('--json prints the API JSON exactly; without it, a table', async () => {
    const raw = JSON.stringify(PROCESSES, null, 1);
    expect((await run('--json', 'process', 'list')).out).toBe(raw + '\n');
    const table = (await run('process', 'list')).out.split('\n');
    expect(table[0]).toMatch(/^NAME\s+VERSION\s+DEPLOYED AT\s+ALIVE$/);
    expect(table[1]).toMatch(/^lead-intake\s+3\s+2026-11-2\d \d\d:\d\d:\d\d\s+12$/);
  });

  it('task create prints the id, and says when the ref is already alive', async () => {
    const r = await run('task', 'create', 'lead-intake', '--ref', 'r1', '--data', '{"name":"Ann"}');
    expect(r).toMatchObject({ code: 0, out: 'created task 42 (ref r1)\n' });
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/api/v1/projects/default/processes/lead-intake/tasks' });
    expect(JSON.parse(seen[0].body)).toEqual({ ref: 'r1', data: { name: 'Ann' } });
    expect((await run('task', 'create', 'lead-intake', '--ref', 'dup')).out).toBe('task 7 already alive with ref dup\n');
  });

  it('stats: a row per node in the API order, then the total', async () => {
    const lines = (await run('stats', 'lead-intake')).out.trimEnd().split('\n');
    expect(lines.map((l) => l.split(/\s+/).join(' '))).toEqual(['NODE TASKS', 'check 2', 'notify 1', 'done 5', lines[4], 'total 8']);
  });

  it('usage errors exit 2 without a request', async () => {
    expect((await run('task', 'create')).code).toBe(2);
    const bad = await run('task', 'create', 'lead-intake', '--data', '{oops');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^error: --data: not valid JSON/);
    expect((await run('task', 'show', 'abc')).code).toBe(2);
    expect(seen).toHaveLength(0);
  });

  it('says when the key is missing, reads it from the data dir, and says when it is rejected', async () => {
    const data = mkdtempSync(join(tmpdir(), 'conveyor-cli-data-'));
    const missing = await conveyor(['process', 'list', '--url', url], { CONVEYOR_DATA: data });
    expect(missing.code).toBe(1);
    expect(missing.err).toBe(`error: no API key: pass --key, set CONVEYOR_API_KEY, or run where the server keeps ${join(data, 'api-key')}\n`);
    expect(seen).toHaveLength(0);

    writeFileSync(join(data, 'api-key'), 'from-file\n');
    expect((await conveyor(['process', 'list', '--url', url], { CONVEYOR_DATA: data })).code).toBe(0);
    expect(seen[0].headers.authorization).toBe('Bearer from-file');

    const rejected = await conveyor(['process', 'list', '--url', url], { CONVEYOR_API_KEY: 'wrong' });
    expect(rejected.code).toBe(1);
    expect(rejected.err).toContain('the server rejected the API key from CONVEYOR_API_KEY');
  });

  it('says when the server cannot be reached, and exits 1', async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const r = await conveyor(['process', 'list', '--url', `http://127.0.0.1:${port}`, '--key', 'k']);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`error: cannot reach Conveyor at http://127.0.0.1:${port}: is \`conveyor serve\` running?\n`);
  });
});

// ---- Against the real server.

describe('the conveyor CLI against a real server', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => {
    await s.stop();
  });
  const cli = (...args: string[]) => conveyor(['--url', s.url, '--key', 'test-key', ...args]);

  it('deploys a YAML file, creates a task, shows it and the stats', async () => {
    const hello = file('hello.yaml', 'name: hello\nnodes:\n  greet: { type: set, set: { msg: "Hello {{name}}" }, next: done }\n  done: { type: final }\n');
    expect((await cli('process', 'deploy', hello)).out).toMatch(/^deployed hello v1 \(public id \d+\)/);
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
    const bad = file('bad-real.yaml', 'name: bad\nnodes:\n  a: { type: condition, branches: [{ when: { path: x, op: eq, value: 1 }, to: nope }], else: a }\n');
    const r = await cli('process', 'deploy', bad);
    expect(r.code).toBe(1);
    expect(r.err).toContain('nodes.a.branches[0].to: edge to missing node "nope"');
  });
});
