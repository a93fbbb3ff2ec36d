import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeServer } from './support/fake-http-server.ts';
import { startTestServer, type TestServer } from './support/conveyor.ts';

/** An Etc/GMT zone where the local hour is now `hour` (e.g. 12 = working hours, 3 = night). */
function zoneWithLocalHour(hour: number): string {
  let offset = (hour - new Date().getUTCHours() + 24) % 24;
  if (offset > 12) offset -= 24;
  return offset === 0 ? 'Etc/UTC' : `Etc/GMT${offset > 0 ? '-' : '+'}${Math.abs(offset)}`; // Etc signs are inverted
}

let s: TestServer;
let svc: Awaited<ReturnType<typeof startFakeServer>>;
beforeAll(async () => {
  [s, svc] = await Promise.all([startTestServer({ examples: true }), startFakeServer()]);
  svc.on('POST', '/rest/1/hook/crm.contact.list.json', { status: 200, body: { result: [{ ID: '42', NAME: 'Partner shop' }], total: 1, time: {} } });
  svc.on('POST', '/rest/1/hook/crm.lead.add.json', { status: 200, body: { result: 1001, time: {} } });
  svc.on('POST', '/telegram/bot000000:demo/sendMessage', { status: 200, body: { ok: true, result: { message_id: 1 } } });
  svc.on('POST', '/sms/sms/send', { status: 200, body: { status: 'OK', status_code: 100, sms: {}, balance: 10 } });
  svc.on('POST', '/voximplant/platform_api/StartScenarios/', { status: 200, body: { result: 1, call_session_history_id: 555 } });
  await s.api('PUT', '/api/v1/projects/default/config', {
    bitrix_url: `${svc.url}/rest/1/hook`, telegram_url: `${svc.url}/telegram`, sms_url: `${svc.url}/sms`, voximplant_url: `${svc.url}/voximplant`,
  });
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

describe('the watch shop lead flow (seed 000) on local fake services', () => {
  it('a daytime lead: partner found, phone normalized, lead created, seller told, client called, SMS after answer', async () => {
    const id = await postLead('10.0.0.7', { name: 'Ann', phone: '8 (916) 123-45-67', city: 'Moscow', timezone: zoneWithLocalHour(12), utm_source: 'partner-42' });
    const intake = await s.until(async () => ((await s.task(id)).task.status === 'done' ? s.task(id) : null));
    expect(intake.task.data).toMatchObject({ phone: '79161234567', partner_id: '42', lead_id: 1001 });
    const lead = svc.requests.find((r) => r.path.endsWith('crm.lead.add.json'))!;
    expect(lead.json.fields).toMatchObject({ NAME: 'Ann', ASSIGNED_BY_ID: '42', PHONE: [{ VALUE: '+79161234567', VALUE_TYPE: 'WORK' }] });
    expect(svc.requests.some((r) => r.path.endsWith('sendMessage') && r.json.text.startsWith('New lead #1001'))).toBe(true);

    const robot = await robotTask('79161234567');
    await s.until(async () => (await s.task(robot.id)).task.status === 'waiting');
    const start = svc.requests.find((r) => r.path.endsWith('StartScenarios/'))!;
    const custom = JSON.parse(new URLSearchParams(start.body).get('script_custom_data')!);
    expect(custom.phone).toBe('79161234567');
    // VoxImplant's scenario reports the outcome to the callback URL.
    const cb = await fetch(custom.callback_url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"result":"answered"}' });
    expect(cb.status).toBe(200);
    const done = await s.until(async () => ((await s.task(robot.id)).task.status === 'done' ? s.task(robot.id) : null));
    expect(done.task.node).toBe('done');
    expect(svc.requests.filter((r) => r.path === '/sms/sms/send').map((r) => new URLSearchParams(r.body).get('msg'))).toContain('Ваш заказ принят. Спасибо!');
  });

  it('a night lead gets one SMS and sleeps 2 hours', async () => {
    await postLead('10.0.0.8', { name: 'Bob', phone: '9031112233', city: 'Omsk', timezone: zoneWithLocalHour(3), utm_source: 'x' });
    const robot = await robotTask('79031112233');
    const t = await s.until(async () => ((await s.task(robot.id)).task.status === 'sleeping' ? s.task(robot.id) : null));
    expect(t.task.node).toBe('sleep_2h');
    expect(t.task.data.night_sms_sent).toBe(true);
    expect(new Date(t.task.runAt).getTime() - Date.now()).toBeGreaterThan(7_100_000);
    expect(svc.requests.filter((r) => r.path === '/sms/sms/send' && new URLSearchParams(r.body).get('to') === '79031112233')).toHaveLength(1);
  });

  it('a phone longer than 11 digits ends in "bad phone"; a wrong number ends the call', async () => {
    const id = await postLead('10.0.0.9', { name: 'Cid', phone: '+7 916 123 45 67 89', timezone: 'Europe/Moscow', utm_source: 'x' });
    const t = await s.until(async () => ((await s.task(id)).task.status === 'done' ? s.task(id) : null));
    expect(t.task.node).toBe('bad_phone');

    await postLead('10.0.0.10', { name: 'Dan', phone: '79260000000', timezone: zoneWithLocalHour(12), utm_source: 'x' });
    const robot = await robotTask('79260000000');
    await s.until(async () => (await s.task(robot.id)).task.status === 'waiting');
    const start = svc.requests.filter((r) => r.path.endsWith('StartScenarios/')).find((r) => r.body.includes('79260000000'))!;
    const custom = JSON.parse(new URLSearchParams(start.body).get('script_custom_data')!);
    await fetch(custom.callback_url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"result":"wrong_number"}' });
    const end = await s.until(async () => ((await s.task(robot.id)).task.status === 'done' ? s.task(robot.id) : null));
    expect(end.task.node).toBe('wrong_number');
  });

  it('the dashboard counts every lead at the node where it is', async () => {
    const stats = (await s.api('GET', '/api/v1/projects/default/processes/lead-intake/stats')).body.nodes;
    expect(stats).toMatchObject({ done: 3, bad_phone: 1, crm_failed: 0, find_partner: 0 });
    const robot = (await s.api('GET', '/api/v1/projects/default/processes/robot-call/stats')).body.nodes;
    expect(robot).toMatchObject({ done: 1, wrong_number: 1, sleep_2h: 1 });
  });
});
