/**
 * `npm run bench` — the engine's figures on this machine, against a real server process (SQLite,
 * fsync per commit) on loopback. `npm run bench -- --json` prints one JSON object;
 * `--only first-call,inbound` runs only the named sections (single, batch, transitions, code,
 * first-call, import, inbound, rss).
 */
import { FakeBitrix24 } from '../src/connectors/bitrix24/fake-bitrix24.ts';
import { CodeSandbox } from '../src/sandbox/code-sandbox.ts';
import { startFakeServer } from '../test/support/fake-http-server.ts';
import { BenchServer, parallel } from './bench-server.ts';
import { benchInbound } from './inbound.ts';

const asJson = process.argv.includes('--json');
const onlyArg = process.argv.indexOf('--only');
const only = onlyArg > 0 ? new Set(process.argv[onlyArg + 1].split(',')) : null;
const want = (section: string) => !only || only.has(section);
const say = (s: string) => asJson || console.log(s);
const results: Record<string, number> = {};

const server = await BenchServer.start();
const { call, deploy } = { call: server.call.bind(server), deploy: server.deploy.bind(server) };
const tasksPath = (p: string) => server.tasksPath(p);
const stats = async (p: string) => (await server.stats(p)).nodes;
const waitFor = server.waitFor.bind(server);

/**
 * Accept → first outbound request at `rate` tasks/s for `seconds`, after 1 s of warm-up (JIT,
 * keep-alive connections to the CRM) that is not measured. Returns p50 and p99 in ms.
 */
async function firstCallLatency(name: string, rate: number, seconds: number): Promise<{ p50: number; p99: number }> {
  const crm = await startFakeServer();
  const arrived = new Map<number, number>();
  crm.on('POST', '/lead', (r) => {
    arrived.set(r.json.i, performance.timeOrigin + performance.now());
    return { status: 200, body: { result: 1 } };
  });
  await deploy({ name, nodes: { push: { type: 'api', url: `${crm.url}/lead`, body: { i: '{{i}}' }, next: 'end' }, end: { type: 'final' } } });
  const warm = rate;
  const sent = new Map<number, number>();
  const pending: Promise<unknown>[] = [];
  const start = performance.now();
  for (let i = -warm; i < rate * seconds; i++) {
    const due = start + ((i + warm) * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    sent.set(i, performance.timeOrigin + performance.now());
    pending.push(call('POST', tasksPath(name), { data: { i } }));
  }
  await Promise.all(pending);
  await waitFor(name, 'end', rate * seconds + warm);
  await crm.close();
  const lat = [...sent].filter(([i]) => i >= 0).map(([i, at]) => (arrived.get(i) ?? Infinity) - at).sort((a, b) => a - b);
  const q = (f: number) => Math.round(lat[Math.floor(lat.length * f)] * 10) / 10;
  return { p50: q(0.5), p99: q(0.99) };
}

try {
  await deploy({ name: 'hold', nodes: { hold: { type: 'delay', duration: '1h', next: 'end' }, end: { type: 'final' } } });
  let t0 = 0;

  if (want('single')) {
    // Single creates with 64 concurrent clients.
    const SINGLE = 20_000;
    t0 = performance.now();
    await parallel(64, SINGLE, async (i) => void (await call('POST', tasksPath('hold'), { ref: `s${i}`, data: { i } })));
    results.ingest_single_per_s = Math.round(SINGLE / ((performance.now() - t0) / 1000));
    say(`single creates:      ${results.ingest_single_per_s} tasks/s (${SINGLE} requests, 64 concurrent)`);
  }

  if (want('batch')) {
    // Batches of 1,000 in one request each.
    const BATCHES = 100;
    t0 = performance.now();
    await parallel(4, BATCHES, async (b) => void (await call('POST', tasksPath('hold'), Array.from({ length: 1000 }, (_, i) => ({ ref: `b${b}-${i}`, data: { i } })))));
    results.ingest_batch_per_s = Math.round((BATCHES * 1000) / ((performance.now() - t0) / 1000));
    say(`batched creates:     ${results.ingest_batch_per_s} tasks/s (${BATCHES} batches of 1,000)`);
  }

  if (want('transitions')) {
    // Transitions through 10 condition/set nodes: tasks gather asleep, then all wake at once.
    const nodes: Record<string, unknown> = { gate: { type: 'delay', until: '{{go_at}}', next: 'n1' } };
    for (let i = 1; i <= 10; i++) {
      nodes[`n${i}`] = i % 2
        ? { type: 'set', set: { [`f${i}`]: '{{name}}-' + i }, next: i === 10 ? 'end' : `n${i + 1}` }
        : { type: 'condition', branches: [{ when: { path: 'i', op: 'lt', value: 0 }, to: 'end' }], else: i === 10 ? 'end' : `n${i + 1}` };
    }
    nodes.end = { type: 'final' };
    await deploy({ name: 'ten', nodes });
    const FLOW = 30_000;
    const goAt = Date.now() + 60_000;
    await parallel(4, FLOW / 1000, async () => void (await call('POST', tasksPath('ten'), Array.from({ length: 1000 }, (_, i) => ({ data: { i, name: 'n', go_at: goAt } })))));
    await server.settle();
    await new Promise((r) => setTimeout(r, Math.max(0, goAt - Date.now())));
    t0 = performance.now();
    await waitFor('ten', 'end', FLOW);
    results.transitions_per_s = Math.round((FLOW * 11) / ((performance.now() - t0) / 1000));
    say(`node transitions:    ${results.transitions_per_s}/s (${FLOW} tasks × 11 steps: wake + 10 condition/set nodes)`);
  }

  if (want('code')) {
    // Code node evaluations in the sandbox (in this process).
    const sandbox = await CodeSandbox.create();
    const code = `let p = String(data.phone).replace(/\\D/g, ''); if (p[0] === '8') p = '7' + p.slice(1); data.phone = p; return { len: p.length };`;
    const EVALS = 50_000;
    t0 = performance.now();
    for (let i = 0; i < EVALS; i++) sandbox.run(code, { phone: `8 (916) 123-45-${i % 100}` });
    results.code_evals_per_s = Math.round(EVALS / ((performance.now() - t0) / 1000));
    sandbox.dispose();
    say(`code evaluations:    ${results.code_evals_per_s}/s (QuickJS, reused context)`);
  }

  if (want('first-call')) {
    // Measured once the engine has caught up with the sections above, so that their backlog is not
    // counted here; the figure under a running import is the next one.
    await server.settle();
    const idle = await firstCallLatency('first-call', 1000, 5);
    results.p50_first_call_ms = idle.p50;
    results.p99_first_call_ms = idle.p99;
    say(`accept → first call: p50 ${idle.p50} ms, p99 ${idle.p99} ms (at 1,000 tasks/s for 5 s, after 1 s of warm-up)`);
    // The same while another process takes an import of 1,000-task batches back to back.
    await deploy({ name: 'bulk', nodes: { tag: { type: 'set', set: { imported: 'yes' }, next: 'hold' }, hold: { type: 'delay', duration: '1h', next: 'end' }, end: { type: 'final' } } });
    let importing = true;
    let imported = 0;
    const importer = (async () => {
      while (importing) {
        await call('POST', tasksPath('bulk'), Array.from({ length: 1000 }, () => ({ data: {} })));
        imported += 1000;
      }
    })();
    const busy = await firstCallLatency('first-call-busy', 1000, 5);
    importing = false;
    await importer;
    results.p99_first_call_during_import_ms = busy.p99;
    say(`  during an import:  p50 ${busy.p50} ms, p99 ${busy.p99} ms (${imported} tasks imported into another process meanwhile)`);
    await server.settle();
  }

  if (want('import')) {
    // Import into a Bitrix24 portal limited to 2 requests/s (bucket of 50): with `batch`, 50 leads a
    // request, the ceiling is 100 leads/s. Measured after the portal's burst is spent (steady state).
    const portal = new FakeBitrix24({ ratePerSecond: 2, burst: 50 });
    await portal.start();
    await call('PUT', '/api/v1/projects/default/connections/bitrix24/default', { settings: { webhook_url: portal.webhookUrl } });
    await deploy({ name: 'import', nodes: {
      add: { type: 'bitrix24.lead.add', fields: { TITLE: 'Import {{$task.ref}}', NAME: '{{name}}' }, phone: '{{phone}}', next: 'end' },
      end: { type: 'final' },
    } });
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
  }

  if (want('inbound')) {
    // Chatbot messages from the webhook to the reply sent, on a server of its own (a fresh project).
    Object.assign(results, await benchInbound({ log: say }));
  }

  if (want('rss')) {
    // Memory with 1,000,000 tasks asleep in delay nodes (timers are rows, not JS timers).
    const SLEEPERS = 1_000_000;
    const already = (await stats('hold')).hold ?? 0;
    await parallel(4, Math.ceil((SLEEPERS - already) / 1000), async () => void (await call('POST', tasksPath('hold'), Array.from({ length: 1000 }, () => ({ data: {} })))));
    await server.settle();
    const s = await stats('hold');
    // Right after the creates, the heap still holds their garbage; V8 collects it once the server is
    // idle for several seconds (measured: 97 → 32 MB heap between 7 and 17 s). Both figures are kept; the target is the second.
    await new Promise((r) => setTimeout(r, 2000));
    results.rss_1m_sleeping_right_after_mb = Math.round(server.rssMb());
    await new Promise((r) => setTimeout(r, 18_000));
    results.rss_1m_sleeping_mb = Math.round(server.rssMb());
    say(`RSS, ${s.hold} sleeping: ${results.rss_1m_sleeping_mb} MB after 20 s idle (${results.rss_1m_sleeping_right_after_mb} MB 2 s after the last create)`);
  }
} finally {
  await server.stop();
}
if (asJson) console.log(JSON.stringify(results));
