import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startFakeServer } from './support/fake-http-server.ts';
import { spawnServer } from './support/server-process.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'conveyor-kill-'));
const port = 20000 + Math.floor(Math.random() * 20000);
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const auth = { authorization: 'Bearer test-key', 'content-type': 'application/json' };

describe('kill -9 under load, then restart', () => {
  it('loses no accepted task and runs no node twice (only in-flight calls may repeat)', async () => {
    const crm = await startFakeServer();
    crm.on('POST', '/lead', (r) => ({ status: 200, body: { result: `L${r.json.ref}` }, delayMs: 5 }));
    let server = await spawnServer(dataDir, port);
    const def = {
      name: 'durable',
      nodes: {
        prepare: { type: 'set', set: { step: 'prepared' }, next: 'normalize' },
        normalize: { type: 'code', code: 'data.phone = "7" + String(data.n).padStart(10, "0");', next: 'push' },
        push: { type: 'api', url: `${crm.url}/lead`, body: { ref: '{{$task.ref}}' }, map: { lead: 'result' }, next: 'nap' },
        nap: { type: 'delay', duration: '50ms', next: 'check' },
        check: { type: 'condition', branches: [{ when: { path: 'lead', op: 'exists' }, to: 'done' }], else: 'lost' },
        done: { type: 'final' },
        lost: { type: 'error', reason: 'no lead' },
      },
    };
    const put = await fetch(`${server.url}/api/v1/projects/default/processes/durable`, { method: 'PUT', headers: auth, body: JSON.stringify(def) });
    expect(put.status).toBe(201);

    // Load: batches of creates in a loop; the server is killed while they run.
    const accepted = new Set<string>();
    let n = 0;
    let stop = false;
    const load = (async () => {
      while (!stop) {
        const batch = Array.from({ length: 50 }, () => ({ ref: `r${++n}`, data: { n } }));
        try {
          const res = await fetch(`${server.url}/api/v1/projects/default/processes/durable/tasks`, { method: 'POST', headers: auth, body: JSON.stringify(batch) });
          if (res.status === 201) for (const t of (await res.json()) as Array<{ ref: string }>) accepted.add(t.ref);
        } catch {
          /* the server died mid-request: that batch was not acknowledged */
        }
      }
    })();
    await new Promise((r) => setTimeout(r, 1500));
    server.child.kill('SIGKILL');
    await new Promise((r) => server.child.once('exit', r));
    stop = true;
    await load;
    const requestsBeforeKill = crm.requests.length;
    expect(accepted.size).toBeGreaterThan(100); // how many depends on the load on the machine
    console.log(`kill -9 test: ${accepted.size} tasks acknowledged before the kill, ${requestsBeforeKill} CRM calls made`);

    server = await spawnServer(dataDir, port);
    try {
      const stats = async () => (await (await fetch(`${server.url}/api/v1/projects/default/processes/durable/stats`, { headers: auth })).json()).nodes;
      const end = Date.now() + 60_000;
      const sum = (x: Record<string, number>) => Object.values(x).reduce((a, b) => a + b, 0);
      let nodes = await stats();
      // Wait for everything to settle: tasks committed just before the kill whose answer never reached
      // the client are durable too, and finish after the acknowledged ones.
      while ((nodes.done < accepted.size || sum(nodes) !== nodes.done) && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 200));
        nodes = await stats();
      }
      const total = sum(nodes);
      expect(nodes.done).toBeGreaterThanOrEqual(accepted.size); // every acknowledged task finished…
      expect(nodes.lost).toBe(0);
      expect(total).toBe(nodes.done); // …and nothing is stuck anywhere

      // Each task entered each node exactly once: history is committed with the state, so a re-run shows.
      const list = await (await fetch(`${server.url}/api/v1/projects/default/processes/durable/tasks?limit=1000`, { headers: auth })).json();
      for (const t of list.tasks.slice(0, 200)) {
        const h = await (await fetch(`${server.url}/api/v1/projects/default/tasks/${t.id}`, { headers: auth })).json();
        const entered = h.history.filter((e: any) => e.event === 'entered').map((e: any) => e.node);
        expect(entered).toEqual(['normalize', 'push', 'nap', 'check', 'done']);
        expect(h.task.data.phone).toBe('7' + String(t.data.n).padStart(10, '0'));
      }
      // Calls repeated after the restart are only those that were in flight at the kill.
      const perRef = new Map<string, number>();
      for (const r of crm.requests) perRef.set(r.json.ref, (perRef.get(r.json.ref) ?? 0) + 1);
      const repeated = [...perRef.values()].filter((c) => c > 1).length;
      expect(repeated).toBeLessThanOrEqual(512); // at most the engine's in-flight limit
      for (const ref of accepted) expect(perRef.get(ref) ?? 0).toBeGreaterThanOrEqual(1);
      expect(crm.requests.length).toBeGreaterThanOrEqual(requestsBeforeKill);
    } finally {
      server.child.kill('SIGKILL');
      await crm.close();
    }
  }, 120_000);
});
