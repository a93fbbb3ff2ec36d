/**
 * `npm run bench` — the engine's figures on this machine, against a real server process (SQLite,
 * fsync per commit) on loopback. `npm run bench -- --json` prints one JSON object.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { FakeBitrix24 } from '../src/connectors/bitrix24/fake-bitrix24.ts';
import { CodeSandbox } from '../src/sandbox/code-sandbox.ts';
import { startFakeServer } from '../test/support/fake-http-server.ts';
import { spawnServer } from '../test/support/server-process.ts';

const asJson = process.argv.includes('--json');
const say = (s: string) => asJson || console.log(s);
const KEY = { authorization: 'Bearer test-key', 'content-type': 'application/json' };

const dataDir = mkdtempSync(join(tmpdir(), 'conveyor-bench-'));
const server = await spawnServer(dataDir, 20000 + Math.floor(Math.random() * 20000));
const pool = new Pool(server.url, { connections: 64 });
const results: Record<string, number> = {};

async function call(method: string, path: string, body?: unknown): Promise<any> {
  const res = await pool.request({ method: method as 'GET', path, headers: KEY, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${text}`);
  return JSON.parse(text);
}
const deploy = (def: { name: string }) => call('PUT', `/api/v1/projects/default/processes/${def.name}`, def);
const tasksPath = (p: string) => `/api/v1/projects/default/processes/${p}/tasks`;
const stats = async (p: string) => (await call('GET', `/api/v1/projects/default/processes/${p}/stats`)).nodes as Record<string, number>;
async function waitFor(p: string, node: string, n: number, timeoutMs = 240_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while ((await stats(p))[node] < n) {
    if (Date.now() > end) throw new Error(`${p}: fewer than ${n} tasks reached ${node} in time`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
async function parallel(workers: number, total: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: workers }, async () => {
    while (next < total) await fn(next++);
  }));
}
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.child.pid}/status`, 'utf8'))![1]) / 1024;

try {
  // 1. Single creates with 64 concurrent clients.
  await deploy({ name: 'hold', nodes: { hold: { type: 'delay', duration: '1h', next: 'end' }, end: { type: 'final' } } } as any);
  const SINGLE = 20_000;
  let t0 = performance.now();
  await parallel(64, SINGLE, async (i) => void (await call('POST', tasksPath('hold'), { ref: `s${i}`, data: { i } })));
  results.ingest_single_per_s = Math.round(SINGLE / ((performance.now() - t0) / 1000));
  say(`single creates:      ${results.ingest_single_per_s} tasks/s (${SINGLE} requests, 64 concurrent)`);

  // 2. Batches of 1,000 in one request each.
  const BATCHES = 100;
  t0 = performance.now();
  await parallel(4, BATCHES, async (b) => void (await call('POST', tasksPath('hold'), Array.from({ length: 1000 }, (_, i) => ({ ref: `b${b}-${i}`, data: { i } })))));
  results.ingest_batch_per_s = Math.round((BATCHES * 1000) / ((performance.now() - t0) / 1000));
  say(`batched creates:     ${results.ingest_batch_per_s} tasks/s (${BATCHES} batches of 1,000)`);

  // 3. Transitions through 10 condition/set nodes: tasks gather asleep, then all wake at once.
  const nodes: Record<string, unknown> = { gate: { type: 'delay', until: '{{go_at}}', next: 'n1' } };
  for (let i = 1; i <= 10; i++) {
    nodes[`n${i}`] = i % 2
      ? { type: 'set', set: { [`f${i}`]: '{{name}}-' + i }, next: i === 10 ? 'end' : `n${i + 1}` }
      : { type: 'condition', branches: [{ when: { path: 'i', op: 'lt', value: 0 }, to: 'end' }], else: i === 10 ? 'end' : `n${i + 1}` };
  }
  nodes.end = { type: 'final' };
  await deploy({ name: 'ten', nodes } as any);
  const FLOW = 30_000;
  const goAt = Date.now() + 60_000;
  await parallel(4, FLOW / 1000, async (b) => void (await call('POST', tasksPath('ten'), Array.from({ length: 1000 }, (_, i) => ({ data: { i, name: 'n', go_at: goAt } })))));
  await waitFor('ten', 'gate', FLOW);
  // Move the wake-up forward: all tasks become due now.
  await new Promise((r) => setTimeout(r, Math.max(0, goAt - Date.now())));
  t0 = performance.now();
  await waitFor('ten', 'end', FLOW);
  results.transitions_per_s = Math.round((FLOW * 11) / ((performance.now() - t0) / 1000));
  say(`node transitions:    ${results.transitions_per_s}/s (${FLOW} tasks × 11 steps: wake + 10 condition/set nodes)`);

  // 4. Code node evaluations in the sandbox (in this process).
  const sandbox = await CodeSandbox.create();
  const code = `let p = String(data.phone).replace(/\\D/g, ''); if (p[0] === '8') p = '7' + p.slice(1); data.phone = p; return { len: p.length };`;
  const EVALS = 50_000;
  t0 = performance.now();
  for (let i = 0; i < EVALS; i++) sandbox.run(code, { phone: `8 (916) 123-45-${i % 100}` });
  results.code_evals_per_s = Math.round(EVALS / ((performance.now() - t0) / 1000));
  sandbox.dispose();
  say(`code evaluations:    ${results.code_evals_per_s}/s (QuickJS, reused context)`);

  // 5. Latency from accept to the first outbound request, at 1,000 tasks/s for 5 s.
  const crm = await startFakeServer();
  const arrived = new Map<number, number>();
  crm.on('POST', '/lead', (r) => {
    arrived.set(r.json.i, performance.timeOrigin + performance.now());
    return { status: 200, body: { result: 1 } };
  });
  await deploy({ name: 'first-call', nodes: { push: { type: 'api', url: `${crm.url}/lead`, body: { i: '{{i}}' }, next: 'end' }, end: { type: 'final' } } } as any);
  const RATE = 1000, SECONDS = 5, WARM = 1000;
  const sent = new Map<number, number>();
  const pending: Promise<unknown>[] = [];
  const start = performance.now();
  // The first second warms the path (JIT, keep-alive connections to the CRM) and is not measured.
  for (let i = -WARM; i < RATE * SECONDS; i++) {
    const due = start + ((i + WARM) * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    sent.set(i, performance.timeOrigin + performance.now());
    pending.push(call('POST', tasksPath('first-call'), { data: { i } }));
  }
  await Promise.all(pending);
  await waitFor('first-call', 'end', RATE * SECONDS + WARM);
  const lat = [...sent].filter(([i]) => i >= 0).map(([i, at]) => (arrived.get(i) ?? Infinity) - at).sort((a, b) => a - b);
  results.p50_first_call_ms = Math.round(lat[Math.floor(lat.length * 0.5)] * 10) / 10;
  results.p99_first_call_ms = Math.round(lat[Math.floor(lat.length * 0.99)] * 10) / 10;
  await crm.close();
  say(`accept → first call: p50 ${results.p50_first_call_ms} ms, p99 ${results.p99_first_call_ms} ms (at ${RATE} tasks/s for ${SECONDS} s, after 1 s of warm-up)`);

  // 6. Import into a Bitrix24 portal limited to 2 requests/s (bucket of 50): with `batch`, 50 leads a
  // request, the ceiling is 100 leads/s. Measured after the portal's burst is spent (steady state).
  const portal = new FakeBitrix24({ ratePerSecond: 2, burst: 50 });
  await portal.start();
  await call('PUT', '/api/v1/projects/default/connections/bitrix24/default', { settings: { webhook_url: portal.webhookUrl } });
  await deploy({ name: 'import', nodes: {
    add: { type: 'bitrix24.lead.add', fields: { TITLE: 'Import {{$task.ref}}', NAME: '{{name}}' }, phone: '{{phone}}', next: 'end' },
    end: { type: 'final' },
  } } as any);
  const LEADS = 6000, FROM = 3000, TO = 5800;
  for (let b = 0; b < LEADS / 1000; b++) {
    await call('POST', tasksPath('import'), Array.from({ length: 1000 }, (_, i) => ({ ref: `imp-${b}-${i}`, data: { name: `Lead ${b}-${i}`, phone: `+7916${String(b * 1000 + i).padStart(7, '0')}` } })));
  }
  const when = async (n: number) => {
    while (portal.leads.length < n) await new Promise((r) => setTimeout(r, 20));
    return performance.now();
  };
  const tFrom = await when(FROM);
  const tTo = await when(TO);
  const delivered = (TO - FROM) / ((tTo - tFrom) / 1000);
  results.import_ceiling_fraction = Math.round((delivered / 100) * 1000) / 1000;
  say(`import to Bitrix24:  ${delivered.toFixed(1)} leads/s at 2 requests/s with batch = ${(results.import_ceiling_fraction * 100).toFixed(1)} % of the 100 leads/s ceiling (${portal.requests} requests for ${portal.leads.length} leads so far)`);
  await portal.close();

  // 7. Memory with 1,000,000 tasks asleep in delay nodes (timers are rows, not JS timers).
  const SLEEPERS = 1_000_000;
  const already = (await stats('hold')).hold;
  await parallel(4, (SLEEPERS - already) / 1000, async (b) => void (await call('POST', tasksPath('hold'), Array.from({ length: 1000 }, () => ({ data: {} })))));
  await waitFor('hold', 'hold', SLEEPERS);
  const s = await stats('hold');
  await new Promise((r) => setTimeout(r, 2000));
  results.rss_1m_sleeping_mb = Math.round(rss());
  say(`RSS, ${s.hold} sleeping: ${results.rss_1m_sleeping_mb} MB`);
} finally {
  await pool.close();
  server.child.kill('SIGTERM');
  await new Promise((r) => server.child.once('exit', r));
  rmSync(dataDir, { recursive: true, force: true });
}
if (asJson) console.log(JSON.stringify(results));
