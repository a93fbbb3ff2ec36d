import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeBitrix24 } from '../src/connectors/bitrix24/fake-bitrix24.ts';
import { startTestServer, type TestServer } from './support/conveyor.ts';

// Expected peak of the shop: 100 leads in 5 s. The test sends three times that while the CRM is down.
const PEAK = 100, LEADS = 3 * PEAK;
let s: TestServer;
const crm = new FakeBitrix24({ ratePerSecond: 10, burst: 10 });

beforeAll(async () => {
  [s] = await Promise.all([startTestServer({ masterKey: 'k' }), crm.start()]);
  await s.api('PUT', '/api/v1/projects/default/connections/bitrix24/default', { settings: { webhook_url: crm.webhookUrl, rate: 10, burst: 10 } });
  const deployed = await s.deploy({
    name: 'deliver',
    nodes: {
      add: { type: 'bitrix24.lead.add', fields: { TITLE: '{{$task.ref}}', NAME: '{{name}}' }, phone: '{{phone}}', retry: { attempts: 20, base: '500ms', max: '2s' }, next: 'in_crm', on_error: 'letter' },
      in_crm: { type: 'final' },
      letter: { type: 'dead_letter', retry_from: 'add' },
    },
  });
  expect(deployed.status, JSON.stringify(deployed.body)).toBeLessThan(300);
});
afterAll(async () => {
  await s.stop();
  await crm.close();
});

describe('3× the peak while the CRM is down, then back', () => {
  it('accepts every lead during the outage and delivers each to the CRM exactly once', async () => {
    crm.down('503');
    const sent: Array<Promise<{ status: number }>> = [];
    for (let i = 0; i < LEADS; i++) {
      sent.push(s.createTask('deliver', { ref: `lead-${i}`, data: { name: `Клиент ${i}`, phone: `+7916${String(i).padStart(7, '0')}` } }));
      if (i === LEADS / 3) crm.down('401-html'); // the seed: a portal in trouble answers 401 with a page
      if (i % 20 === 19) await new Promise((r) => setTimeout(r, 50));
    }
    const statuses = (await Promise.all(sent)).map((r) => r.status);
    expect(statuses.filter((st) => st === 201)).toHaveLength(LEADS); // intake stayed up
    expect(crm.leads).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 1000)); // down a while longer: tasks retry and wait
    crm.up();

    await s.until(async () => (await s.api('GET', '/api/v1/projects/default/processes/deliver/stats')).body.nodes.in_crm === LEADS, 60_000);
    const titles = crm.leads.map((l) => l.TITLE as string);
    expect(titles).toHaveLength(LEADS);
    expect(new Set(titles).size).toBe(LEADS);
    const stats = (await s.api('GET', '/api/v1/projects/default/processes/deliver/stats')).body;
    expect(stats.nodes).toEqual({ add: 0, in_crm: LEADS, letter: 0 });
    // Leads went in batches of up to 50 at the connection's pace, not one request each.
    expect(crm.byMethod.get('batch') ?? 0).toBeGreaterThan(0);
    expect(crm.byMethod.get('batch')! + (crm.byMethod.get('crm.lead.add') ?? 0)).toBeLessThan(LEADS / 2);
  });
});
