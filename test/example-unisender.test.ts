import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeSmtp } from '../src/connectors/email/fake-smtp.ts';
import { FakePipedrive } from '../src/connectors/pipedrive/fake-pipedrive.ts';
import { FakeTelegram } from '../src/connectors/telegram/fake-telegram.ts';
import { startFakeServer, type FakeServer } from './support/fake-http-server.ts';
import { startTestServer, type TestServer } from './support/conveyor.ts';

let server: TestServer;
const pipedrive = new FakePipedrive();
const smtp = new FakeSmtp();
const telegram = new FakeTelegram();
let product: FakeServer;

beforeAll(async () => {
  const [pdUrl, mail, tgUrl] = await Promise.all([pipedrive.start(), smtp.start(), telegram.start()]);
  product = await startFakeServer();
  product.on('GET', '/activity', (r) => ({ status: 200, body: r.query.user_id === 'u1' ? { sends: 0, paid: false } : { sends: 3, paid: true } }));
  server = await startTestServer({ masterKey: 'k' });
  for (const f of ['unisender-events', 'trial-check']) {
    const res = await server.api('PUT', `/api/v1/projects/default/processes/${f}`, readFileSync(new URL(`../examples/${f}.yaml`, import.meta.url), 'utf8'), { 'content-type': 'application/yaml' });
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
  }
  const connect = (connector: string, settings: object) => server.api('PUT', `/api/v1/projects/default/connections/${connector}/default`, { settings });
  expect((await connect('pipedrive', { api_token: pipedrive.token, api_url: pdUrl })).status).toBe(200);
  expect((await connect('email', { host: mail.host, port: mail.port, user: smtp.user, password: smtp.password, from: 'Sales <sales@example.com>' })).status).toBe(200);
  expect((await connect('telegram', { bot_token: telegram.token, api_url: tgUrl })).status).toBe(200);
  await server.api('PUT', '/api/v1/projects/default/config', { activity_url: `${product.url}/activity`, manager_chat_id: '777' });
});
afterAll(async () => {
  await server.stop();
  await Promise.all([pipedrive.close(), smtp.close(), telegram.close(), product.close()]);
});

const send = (ref: string, data: object) => server.createTask('unisender-events', { ref, data });
const doneAll = async (process: string, n: number) =>
  server.until(async () => {
    const s = (await server.api('GET', `/api/v1/projects/default/processes/${process}/stats`)).body.statuses;
    return (s.done ?? 0) + (s.sleeping ?? 0) >= n && !s.active && !s.failed;
  }, 15_000);

describe('the UniSender example: service events to Pipedrive and the trial timer', () => {
  it('upserts persons without duplicates, opens trial deals and records payments', async () => {
    await send('e1', { event: 'registration', user_id: 'u1', email: 'anna@example.ru', name: 'Анна', phone: '+7 916 111-22-33', plan: 'trial' });
    await send('e2', { event: 'registration', user_id: 'u2', email: 'oleg@example.ru', name: 'Олег', phone: '89162223344', plan: 'trial' });
    await doneAll('unisender-events', 2);
    await send('e3', { event: 'profile_update', user_id: 'u1', email: 'ANNA@example.ru', name: 'Анна Петрова', phone: '' });
    await send('e4', { event: 'payment', user_id: 'u2', email: 'oleg@example.ru', name: 'Олег', phone: '+79162223344', plan: 'pro', amount: 1490, currency: 'RUB' });
    await doneAll('unisender-events', 4);
    expect(pipedrive.persons.map((p) => p.name).sort()).toEqual(['Анна Петрова', 'Олег']);
    const deals = pipedrive.deals.map((d) => [d.title, d.status, d.value ?? null]);
    expect(deals).toEqual(expect.arrayContaining([['Trial: Анна (trial)', 'open', 0], ['Trial: Олег (trial)', 'open', 0], ['Payment: Олег (pro)', 'won', 1490]]));
    expect(deals).toHaveLength(3);
  });

  it('after the trial emails the quiet user, gives the manager a call task and a message', async () => {
    const trials = (await server.api('GET', '/api/v1/projects/default/processes/trial-check/tasks')).body.tasks;
    expect(trials.map((t: any) => [t.ref, t.status, t.node]).sort()).toEqual([['trial-u1', 'sleeping', 'wait_trial'], ['trial-u2', 'sleeping', 'wait_trial']]);
    for (const t of trials) await server.api('POST', `/api/v1/projects/default/tasks/${t.id}/move`, { node: 'check_activity' }); // as if 7 days passed
    const end = async (ref: string) => server.until(async () => {
      const t = trials.find((x: any) => x.ref === ref);
      const { task, history } = await server.task(t.id);
      if (task.status === 'failed') throw new Error(`${ref} failed at ${task.node}: ${task.error} ${JSON.stringify(history.slice(-3))}`);
      return task.status === 'done' && task.node;
    });
    expect(await end('trial-u1')).toBe('quiet');
    expect(await end('trial-u2')).toBe('paying');
    expect(smtp.messages.map((m) => [m.envelope.to, m.subject])).toEqual([[['anna@example.ru'], 'Анна, помочь с первой рассылкой?']]);
    expect(pipedrive.activities.map((a) => [a.subject, a.type])).toEqual([['Call the quiet trial user Анна', 'call']]);
    expect(telegram.messages.map((m) => [m.chat_id, m.text])).toEqual([['777', expect.stringContaining('Trial user Анна (anna@example.ru) is quiet')]]);
  });
});
