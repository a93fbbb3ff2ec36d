import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeLlm } from '../src/connectors/llm/fake-llm.ts';
import { FakeTelegram } from '../src/connectors/telegram/fake-telegram.ts';
import { dueTick, nextTick } from '../src/funnels/timer-schedule.ts';
import { startTestServer, type TestServer } from './support/conveyor.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'conveyor-triggers-'));
let s: TestServer;
let port: number;
const bot = new FakeTelegram('444444:TriggerBotToken_abcdefghijklmnop');
const llm = new FakeLlm();
const P = '/api/v1/projects/default';

const start = () => startTestServer({ masterKey: 'k', dataDir, ...(port && { port }) });

beforeAll(async () => {
  const [server, botUrl, llmUrl] = await Promise.all([start(), bot.start(), llm.start()]);
  s = server;
  port = Number(new URL(s.url).port);
  expect((await s.api('PUT', `${P}/connections/telegram/shop-bot`, { settings: { bot_token: bot.token, api_url: botUrl } })).status).toBe(200);
  expect((await s.api('POST', `${P}/connections/telegram/shop-bot/webhook`)).status).toBe(200);
  const conn = await s.api('PUT', `${P}/connections/llm/default`, { settings: { api_url: llmUrl, api_key: llm.apiKey, model: 'gpt-4o-mini' } });
  expect(conn.status, JSON.stringify(conn.body)).toBe(200);
});
afterAll(async () => {
  await s.stop();
  await Promise.all([bot.close(), llm.close()]);
  rmSync(dataDir, { recursive: true, force: true });
});

const sentTo = (user: number) => bot.messages.filter((m) => m.chat_id === String(user)).map((m) => m.text);
const contactOf = async (user: number) => (await s.api('GET', `${P}/contacts?limit=1000`)).body.contacts.find((c: any) => c.userId === String(user));
/** The person opens the bot (/start); answers their contact once it exists. */
async function enter(user: number) {
  bot.pushUpdate(bot.startUpdate(user));
  return s.until(() => contactOf(user));
}
const say = (user: number, text: string) => bot.pushUpdate(bot.messageUpdate(user, text));
const tasksOf = async (process: string) => (await s.api('GET', `${P}/processes/${process}/tasks?limit=1000`)).body.tasks as any[];
const deployOk = async (def: object) => {
  const res = await s.deploy(def);
  expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
};

describe('new trigger fields are checked at deploy', () => {
  it('names the trigger index and field of a bad timer, a field of another kind, a bad llm rule', async () => {
    const nodes = { e: { type: 'final' } };
    const errors = async (triggers: object[]) => {
      const res = await s.deploy({ name: 'broken', triggers, nodes });
      expect(res.status).toBe(400);
      return res.body.errors;
    };
    expect(await errors([{ on: 'start' }, { on: 'timer', at: '25:00', timezone: 'Europe/Moscow' }]))
      .toEqual([expect.objectContaining({ path: 'triggers[1].at', message: expect.stringMatching(/bad time "25:00"/) })]);
    expect(await errors([{ on: 'timer', at: '10:00', timezone: 'Mars/Olympus_Mons' }]))
      .toEqual([expect.objectContaining({ path: 'triggers[0].timezone', message: expect.stringMatching(/unknown timezone "Mars\/Olympus_Mons"/) })]);
    expect(await errors([{ on: 'timer' }])).toEqual([expect.objectContaining({ path: 'triggers[0].every' })]);
    expect(await errors([{ on: 'timer', every: 'sometimes' }])).toEqual([expect.objectContaining({ path: 'triggers[0].every', message: expect.stringMatching(/bad duration/) })]);
    expect(await errors([{ on: 'payment', every: '1d' }, { on: 'message', product: 'course1' }])).toEqual([
      expect.objectContaining({ path: 'triggers[0].every', message: expect.stringMatching(/not used by on: payment/) }),
      expect.objectContaining({ path: 'triggers[1].product', message: expect.stringMatching(/only payment/) }),
    ]);
    expect(await errors([{ on: 'message', match: { mode: 'meaning', value: 'да', connection: 'default' } }]))
      .toEqual([expect.objectContaining({ path: 'triggers[0].match.connection', message: expect.stringMatching(/only used by mode llm/) })]);
    expect(await errors([{ on: 'payment', status: 'pending' }])).toEqual([expect.objectContaining({ path: 'triggers[0].status' })]);
    expect(await errors([{ on: 'timer', every: '1d', match: { mode: 'exact', value: 'x' }, stop: 'all' }])).toEqual([
      expect.objectContaining({ path: 'triggers[0].match', message: 'not used by on: timer' }),
      expect.objectContaining({ path: 'triggers[0].stop', message: 'not used by on: timer' }),
    ]);
  });
});

describe('payment events', () => {
  it('a payment starts the product funnel once and records the purchase; a repeat of the payment does nothing', async () => {
    await deployOk({
      name: 'course',
      triggers: [{ on: 'payment', product: 'course1' }],
      nodes: { thanks: { type: 'chat.send', text: 'Спасибо за оплату {{product}}: {{amount}} {{currency}}!', next: 'end' }, end: { type: 'final' } },
    });
    await deployOk({
      name: 'refund',
      triggers: [{ on: 'payment', status: 'refunded' }],
      nodes: { sorry: { type: 'chat.send', text: 'Возврат за {{product}} оформлен', next: 'end' }, end: { type: 'final' } },
    });
    const c = await enter(7001);
    const pay = { payment_id: 'pay-1', contact: { platform: 'telegram', user_id: '7001' }, amount: 4990, currency: 'RUB', product: 'course1', status: 'succeeded' };
    const first = await s.api('POST', `${P}/payments`, pay);
    expect(first).toEqual({ status: 202, body: { payment_id: 'pay-1', status: 'succeeded', contact_id: c.id, bot: 'shop-bot', duplicate: false } });
    await s.until(async () => sentTo(7001).length >= 1);
    expect(sentTo(7001)).toEqual(['Спасибо за оплату course1: 4990 RUB!']);

    const again = await s.api('POST', `${P}/payments`, { ...pay, contact: { id: c.id } });
    expect(again.status).toBe(200);
    expect(again.body.duplicate).toBe(true);
    // Another payment of the person, of a product no funnel sells: recorded after the repeat would have been.
    expect((await s.api('POST', `${P}/payments`, { ...pay, payment_id: 'pay-2', product: 'book', amount: 500 })).status).toBe(202);
    const after = await s.until(async () => {
      const x = await contactOf(7001);
      return x.vars.purchases?.length === 2 && x;
    });
    expect(after.vars.purchases).toEqual([
      expect.objectContaining({ product: 'course1', amount: 4990, currency: 'RUB', payment_id: 'pay-1' }),
      expect.objectContaining({ product: 'book', amount: 500, payment_id: 'pay-2' }),
    ]);
    expect(after.tags).toEqual(['bought']);
    expect(sentTo(7001)).toHaveLength(1);
    const tasks = await tasksOf('course');
    expect(tasks).toHaveLength(1);
    expect(tasks[0].data).toMatchObject({ contact_id: c.id, event: 'payment', payment_id: 'pay-1', payment_status: 'succeeded', product: 'course1', bot: 'shop-bot' });
  });

  it('a refund starts the refund funnel and marks the purchase; tags stay', async () => {
    const c = await contactOf(7001);
    const res = await s.api('POST', `${P}/payments`, { payment_id: 'pay-1', contact: { id: c.id }, amount: 4990, currency: 'RUB', product: 'course1', status: 'refunded' });
    expect(res.status).toBe(202);
    await s.until(async () => sentTo(7001).includes('Возврат за course1 оформлен'));
    const after = await s.until(async () => {
      const x = await contactOf(7001);
      return x.vars.purchases[0].refunded_at && x;
    });
    expect(after.vars.purchases[1].refunded_at).toBeUndefined();
    expect(after.tags).toEqual(['bought']);
    expect(await tasksOf('course')).toHaveLength(1); // a refund is not a sale
  });

  it('refuses bad payments naming the field, and an unknown person with 404', async () => {
    const c = await contactOf(7001);
    const base = { payment_id: 'pay-9', contact: { id: c.id }, amount: 10, currency: 'RUB', product: 'x', status: 'succeeded' };
    const post = (body: object) => s.api('POST', `${P}/payments`, body);
    const { amount: _, ...noAmount } = base;
    expect((await post(noAmount)).body.message).toBe('body.amount: is required');
    expect((await post({ ...base, currency: 'rub' })).body).toMatchObject({ statusCode: 400, field: 'body.currency' });
    expect((await post({ ...base, status: 'pending' })).body).toMatchObject({ statusCode: 400, field: 'body.status' });
    expect((await post({ ...base, amount: -1 })).body).toMatchObject({ statusCode: 400, field: 'body.amount' });
    expect((await post({ ...base, contact: { id: c.id, platform: 'vk' } })).body).toMatchObject({ statusCode: 400, field: 'body.contact' });
    expect((await post({ ...base, contact: { platform: 'vk' } })).body).toMatchObject({ statusCode: 400, field: 'body.contact.user_id' });
    expect((await post({ ...base, bot: 'other-bot' })).body).toMatchObject({ statusCode: 400, field: 'body.bot' });
    expect((await post({ ...base, at: 'yesterday' })).body).toMatchObject({ statusCode: 400, field: 'body.at' });
    const unknown = await post({ ...base, contact: { platform: 'telegram', user_id: '999999' } });
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toMatch(/^body\.contact: no contact of telegram user 999999/);
    expect((await post({ ...base, contact: { id: 987654 } })).status).toBe(404);
    expect((await s.api('POST', `${P}/payments`, base, { authorization: 'Bearer wrong' })).status).toBe(401);
  });
});

describe('match mode llm', () => {
  it('starts the funnel when the model picks a label or says yes, not when it says none or no', async () => {
    llm.answerWith((text, req) => {
      if (req.response_format?.json_schema?.name === 'answer') return { answer: /ужас|верните/i.test(text) ? 'yes' : 'no' };
      return { label: /стоит|оплат|купить/i.test(text) ? 'купить курс' : /расписан/i.test(text) ? 'расписание' : 'none' };
    });
    await deployOk({
      name: 'llm-sales',
      triggers: [{ on: 'message', match: { mode: 'llm', value: ['купить курс', 'расписание'] } }],
      nodes: { hi: { type: 'chat.send', text: 'Про {{match.label}}: рассказываю', next: 'end' }, end: { type: 'final' } },
    });
    await deployOk({
      name: 'llm-complaint',
      triggers: [{ on: 'message', match: { mode: 'llm', value: 'Человек жалуется и хочет вернуть деньги?' } }],
      nodes: { hi: { type: 'chat.send', text: 'Передали менеджеру', next: 'end' }, end: { type: 'final' } },
    });
    const asked = llm.requests.length;
    say(7101, 'Сколько стоит обучение? Готов оплатить хоть сегодня');
    await s.until(async () => sentTo(7101).length >= 1);
    expect(sentTo(7101)).toEqual(['Про купить курс: рассказываю']);
    const task = (await tasksOf('llm-sales')).find((t) => t.data.user_id === '7101');
    expect(task.data.match).toMatchObject({ matched: true, by: 'llm', label: 'купить курс' });
    const req = llm.requests.slice(asked).find((r) => r.body.response_format?.json_schema?.name === 'label')!;
    expect(req.body.response_format!.json_schema!.schema).toMatchObject({ properties: { label: { enum: ['купить курс', 'расписание', 'none'] } } });

    // "none" and "no" start nothing: the person's next message (processed after it) is the first start.
    say(7102, 'Какая сегодня погода?');
    say(7102, 'Это ужас, верните деньги');
    await s.until(async () => sentTo(7102).length >= 1);
    expect(sentTo(7102)).toEqual(['Передали менеджеру']);
    expect((await tasksOf('llm-complaint')).filter((t) => t.data.user_id === '7102').map((t) => t.data.text)).toEqual(['Это ужас, верните деньги']);
    expect((await tasksOf('llm-sales')).filter((t) => t.data.user_id === '7102')).toEqual([]);
  });

  it('falls back to meaning over the same labels when the model is down, and says so', async () => {
    llm.down('outage');
    say(7103, 'Хочу купить курс');
    await s.until(async () => sentTo(7103).length >= 1);
    llm.reset();
    expect(sentTo(7103)).toEqual(['Про купить курс: рассказываю']);
    const task = (await tasksOf('llm-sales')).find((t) => t.data.user_id === '7103');
    expect(task.data.match).toMatchObject({ matched: true, by: 'meaning', fallback: expect.stringMatching(/the llm call failed: .*HTTP 500/) });
    expect(task.data.match.why).toMatch(/^meaning: .*llm not used/);
  });

  it('without an llm connection of that name, meaning decides', async () => {
    await deployOk({
      name: 'llm-local',
      triggers: [{ on: 'message', tags_present: ['local'], match: { mode: 'llm', value: ['записаться'], connection: 'nope' } }],
      nodes: { hi: { type: 'chat.send', text: 'Записываю', next: 'end' }, end: { type: 'final' } },
    });
    const c = await enter(7104);
    await s.api('POST', `${P}/contacts/${c.id}/tags`, { add: ['local'] });
    say(7104, 'Можно записаться на завтра?');
    await s.until(async () => sentTo(7104).includes('Записываю'));
    const task = (await tasksOf('llm-local')).find((t) => t.data.user_id === '7104');
    expect(task.data.match).toMatchObject({ by: 'meaning', fallback: 'no llm connection "nope"' });
  });
});

describe('timer triggers', () => {
  it('tick times: every, daily at a local time, weekdays, missed ticks as one, a DST gap', () => {
    const t0 = Date.parse('2026-03-02T06:00:00Z'); // Monday 09:00 in Moscow
    expect(dueTick({ every: '1h' }, t0, t0 + 59 * 60_000)).toBeNull();
    expect(dueTick({ every: '1h' }, t0, t0 + 3.5 * 3600_000)).toBe(t0 + 3 * 3600_000);
    const at = { at: '10:00', timezone: 'Europe/Moscow' };
    expect(dueTick(at, t0, Date.parse('2026-03-02T06:59:00Z'))).toBeNull();
    expect(dueTick(at, t0, Date.parse('2026-03-02T07:30:00Z'))).toBe(Date.parse('2026-03-02T07:00:00Z'));
    expect(dueTick(at, t0, Date.parse('2026-03-05T12:00:00Z'))).toBe(Date.parse('2026-03-05T07:00:00Z')); // three missed: one tick
    expect(dueTick(at, Date.parse('2026-03-05T07:00:00Z'), Date.parse('2026-03-05T12:00:00Z'))).toBeNull(); // fired already
    expect(nextTick({ ...at, days: [1] }, Date.parse('2026-03-02T07:00:00Z'))).toBe(Date.parse('2026-03-09T07:00:00Z'));
    expect(nextTick({ at: '02:30', timezone: 'Europe/Berlin' }, Date.parse('2026-03-28T12:00:00Z'))).toBe(Date.parse('2026-03-29T01:30:00Z')); // 02:30 does not exist: 03:30 CEST
    expect(nextTick({ at: '09:00', timezone: 'UTC+3' }, t0)).toBe(Date.parse('2026-03-03T06:00:00Z'));
  });

  it('fires once per tick for the segment, "once" only once, and a restart neither skips nor doubles a tick', async () => {
    const people = [7201, 7202, 7203, 7204];
    const ids = new Map<number, number>();
    for (const u of people) ids.set(u, (await enter(u)).id);
    for (const u of [7201, 7202, 7203]) await s.api('POST', `${P}/contacts/${ids.get(u)}/tags`, { add: ['vip'] });
    await s.api('POST', `${P}/contacts/${ids.get(7203)}/tags`, { add: ['no-news'] });
    const segment = [ids.get(7201), ids.get(7202)].sort();
    await deployOk({
      name: 'news',
      triggers: [{ on: 'timer', every: '3s', bots: ['shop-bot'], tags_present: ['vip'], tags_absent: ['no-news'] }],
      nodes: { send: { type: 'chat.send', text: 'Новости недели', next: 'end' }, end: { type: 'final' } },
    });
    await deployOk({
      name: 'intro',
      triggers: [{ on: 'timer', every: '1s', tags_present: ['vip'], once: 'got_intro' }],
      nodes: { send: { type: 'chat.send', text: 'Знакомство', next: 'end' }, end: { type: 'final' } },
    });
    await s.until(async () => (await tasksOf('news')).length >= 2);

    const stoppedAt = Date.now();
    await s.stop();
    // Long enough for a tick of "news" to come while the server is down.
    await new Promise((r) => setTimeout(r, 4000));
    const restartedAt = Date.now();
    s = await start();
    const tasks = await s.until(async () => {
      const list = await tasksOf('news');
      return list.some((t) => Date.parse(t.createdAt) >= restartedAt) && list;
    }, 20_000);

    const byTick = new Map<string, number[]>();
    for (const t of tasks) byTick.set(t.data.tick, [...(byTick.get(t.data.tick) ?? []), t.data.contact_id]);
    // Each tick reached exactly the segment, each person once.
    for (const reached of byTick.values()) expect(reached.sort()).toEqual(segment);
    const ticks = [...byTick.keys()].map(Date.parse).sort((a, b) => a - b);
    for (let i = 1; i < ticks.length; i++) expect((ticks[i]! - ticks[0]!) % 3000).toBe(0);
    // The tick that came while the server was down fired after the restart, not skipped to the next one.
    const missed = tasks.find((t) => Date.parse(t.createdAt) >= restartedAt && Date.parse(t.data.tick) > stoppedAt);
    expect(missed, JSON.stringify(tasks.map((t) => [t.data.tick, t.createdAt]))).toBeDefined();
    expect(Date.parse(missed.data.tick)).toBeLessThanOrEqual(restartedAt);
    expect(tasks[0].data).toMatchObject({ event: 'timer', bot: 'shop-bot', platform: 'telegram' });

    // "once": each person of the segment got the intro a single time over all its ticks.
    const intro = await tasksOf('intro');
    expect(intro.map((t) => t.data.contact_id).sort()).toEqual([ids.get(7201), ids.get(7202), ids.get(7203)].sort());
    expect((await contactOf(7201)).tags).toContain('got_intro');
    expect(sentTo(7204)).toEqual([]);
  }, 40_000);
});
