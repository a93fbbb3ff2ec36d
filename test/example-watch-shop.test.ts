import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WatchShopServices } from '../src/demo/watch-shop-services.ts';
import { startTestServer, type TestServer } from './support/conveyor.ts';

/** An Etc/GMT zone where the local hour is now `hour` (e.g. 12 = working hours, 3 = night). */
function zoneWithLocalHour(hour: number): string {
  let offset = (hour - new Date().getUTCHours() + 24) % 24;
  if (offset > 12) offset -= 24;
  return offset === 0 ? 'Etc/UTC' : `Etc/GMT${offset > 0 ? '-' : '+'}${Math.abs(offset)}`; // Etc signs are inverted
}

let s: TestServer;
const svc = new WatchShopServices();
beforeAll(async () => {
  [s] = await Promise.all([startTestServer({ examples: true, masterKey: 'k' }), svc.start()]);
  svc.bitrix.addContact({ NAME: 'Partner shop', UTM_SOURCE: 'partner-42' });
  for (const [connector, settings] of Object.entries(svc.connections())) {
    const res = await s.api('PUT', `/api/v1/projects/default/connections/${connector}/default`, { settings });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  }
});
afterAll(async () => {
  await s.stop();
  await svc.close();
});

async function postLead(ref: string, data: Record<string, unknown>) {
  const url = (await s.api('GET', '/api/v1/projects/default/processes/lead-intake/public-url')).body;
  // As the shop's PHP does it: Corezoid's body with curl --data (a form content type).
  const res = await fetch(s.url + url.corezoidPath, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: JSON.stringify({ ops: [{ ref, type: 'create', obj: 'task', conv_id: url.publicId, data }] }),
  });
  return Number((await res.json()).ops[0].obj_id);
}

const robotTask = (phone: string) =>
  s.until(async () => {
    const list = (await s.api('GET', '/api/v1/projects/default/processes/robot-call/tasks')).body.tasks;
    return list.find((t: any) => t.data.phone === phone);
  });

describe('the watch shop lead flow (seed 000) on the connectors and their fake services', () => {
  it('a daytime lead: partner found, phone normalized, lead created, seller told, client called, SMS after answer', async () => {
    const id = await postLead('10.0.0.7', { name: 'Ann', phone: '8 (916) 123-45-67', city: 'Moscow', timezone: zoneWithLocalHour(12), utm_source: 'partner-42' });
    const intake = await s.until(async () => ((await s.task(id)).task.status === 'done' ? s.task(id) : null));
    const partnerId = String(svc.bitrix.contacts[0].ID); // Bitrix24 answers ids as strings
    expect(intake.task.data).toMatchObject({ phone: '79161234567', partner_id: partnerId, lead_id: svc.bitrix.leads[0].ID });
    expect(svc.bitrix.leads).toHaveLength(1);
    expect(svc.bitrix.leads[0]).toMatchObject({ NAME: 'Ann', ASSIGNED_BY_ID: partnerId, PHONE: [expect.objectContaining({ VALUE: '+79161234567', VALUE_TYPE: 'WORK' })] });
    expect(svc.telegram.messages.map((m) => m.text)).toContain(`New lead #${svc.bitrix.leads[0].ID}: Ann, +79161234567, Moscow`);

    const robot = await robotTask('79161234567');
    await s.until(async () => (await s.task(robot.id)).task.status === 'waiting');
    expect(svc.vox.calls.map((c) => c.phone)).toEqual(['79161234567']);
    // VoxImplant's scenario reports the outcome to the callback URL.
    expect(await svc.vox.complete(0, 'answered')).toBe(200);
    const done = await s.until(async () => ((await s.task(robot.id)).task.status === 'done' ? s.task(robot.id) : null));
    expect(done.task.node).toBe('done');
    expect(svc.sms.messages.map((m) => [m.to, m.text])).toContainEqual(['79161234567', 'Ваш заказ принят. Спасибо!']);
  });

  it('a night lead gets one SMS and sleeps 2 hours', async () => {
    await postLead('10.0.0.8', { name: 'Bob', phone: '9031112233', city: 'Omsk', timezone: zoneWithLocalHour(3), utm_source: 'x' });
    const robot = await robotTask('79031112233');
    const t = await s.until(async () => ((await s.task(robot.id)).task.status === 'sleeping' ? s.task(robot.id) : null));
    expect(t.task.node).toBe('sleep_2h');
    expect(t.task.data.night_sms_sent).toBe(true);
    expect(new Date(t.task.runAt).getTime() - Date.now()).toBeGreaterThan(7_100_000);
    expect(svc.sms.messages.filter((m) => m.to === '79031112233').map((m) => m.text)).toEqual(['Заказ принят, позвоним в рабочее время']);
  });

  it('a phone longer than 11 digits ends in "bad phone"; a wrong number ends the call', async () => {
    const id = await postLead('10.0.0.9', { name: 'Cid', phone: '+7 916 123 45 67 89', timezone: 'Europe/Moscow', utm_source: 'x' });
    const t = await s.until(async () => ((await s.task(id)).task.status === 'done' ? s.task(id) : null));
    expect(t.task.node).toBe('bad_phone');

    await postLead('10.0.0.10', { name: 'Dan', phone: '79260000000', timezone: zoneWithLocalHour(12), utm_source: 'x' });
    const robot = await robotTask('79260000000');
    await s.until(async () => (await s.task(robot.id)).task.status === 'waiting');
    const call = svc.vox.calls.findIndex((c) => c.phone === '79260000000');
    expect(await svc.vox.complete(call, 'wrong_number')).toBe(200);
    const end = await s.until(async () => ((await s.task(robot.id)).task.status === 'done' ? s.task(robot.id) : null));
    expect(end.task.node).toBe('wrong_number');
  });

  it('the dashboard counts every lead at the node where it is', async () => {
    // Seller notices go out about one a second per chat: wait for the last ones.
    const stats = await s.until(async () => {
      const nodes = (await s.api('GET', '/api/v1/projects/default/processes/lead-intake/stats')).body.nodes;
      return nodes.done === 3 && nodes;
    });
    expect(stats).toMatchObject({ done: 3, bad_phone: 1, dead_letter: 0, find_partner: 0, duplicate: 0 });
    const robot = (await s.api('GET', '/api/v1/projects/default/processes/robot-call/stats')).body.nodes;
    expect(robot).toMatchObject({ done: 1, wrong_number: 1, sleep_2h: 1 });
  });
});
