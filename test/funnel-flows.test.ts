import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeTelegram } from '../src/connectors/telegram/fake-telegram.ts';
import { startTestServer, type TestServer } from './support/conveyor.ts';

// Seed 001 flows end to end: a real server and SQLite file, Telegram bots faked on loopback in the
// Bot API's wire format, updates delivered to the server's webhooks.
let s: TestServer;
const OWNER = 910; // the manager's Telegram account, with the open bot connected to it (Telegram Business)
const openBot = new FakeTelegram('510001:OpenBotToken_abcdefghijklmnop');
const freeBot = new FakeTelegram('510002:FreeBotToken_abcdefghijklmnop');
const newsBot = new FakeTelegram('510003:NewsBotToken_abcdefghijklmnop');

async function connect(name: string, bot: FakeTelegram, extra: Record<string, unknown> = {}): Promise<void> {
  const url = await bot.start();
  const saved = await s.api('PUT', `/api/v1/projects/default/connections/telegram/${name}`, { settings: { bot_token: bot.token, api_url: url, ...extra } });
  expect(saved.status, JSON.stringify(saved.body)).toBe(200);
  expect((await s.api('POST', `/api/v1/projects/default/connections/telegram/${name}/webhook`)).status).toBe(200);
}

async function deployExample(file: string): Promise<void> {
  const yaml = readFileSync(new URL(`../examples/funnels/${file}.yaml`, import.meta.url), 'utf8');
  const res = await s.api('PUT', `/api/v1/projects/default/processes/${file}`, yaml, { 'content-type': 'application/yaml' });
  expect(res.status, `${file}: ${JSON.stringify(res.body)}`).toBeLessThan(300);
}

const contactOf = async (userId: number) =>
  (await s.api('GET', '/api/v1/projects/default/contacts?limit=1000')).body.contacts.find((c: any) => c.userId === String(userId));
const funnelsOf = async (contactId: number) => (await s.api('GET', `/api/v1/projects/default/contacts/${contactId}`)).body.funnels as any[];
const tasksOf = async (process: string) => (await s.api('GET', `/api/v1/projects/default/processes/${process}/tasks`)).body.tasks as any[];

beforeAll(async () => {
  s = await startTestServer({ masterKey: 'k' });
  await connect('open-bot', openBot);
  await connect('free-bot', freeBot);
  // A slow bot, so that pacing shows: 10 messages a second, no burst beyond one.
  await connect('news-tg', newsBot, { rate: 10, burst: 1 });
});
afterAll(async () => {
  await s.stop();
  await Promise.all([openBot.close(), freeBot.close(), newsBot.close()]);
});

describe('seed 001: the free offer (examples/funnels/free-trigger.yaml, free-bot.yaml)', () => {
  it('the code word sends the link but stops nothing; entering the free bot marks the person, then stops the open bot\'s funnels', async () => {
    for (const f of ['open-bot', 'free-trigger', 'free-bot']) await deployExample(f);
    const both = await s.deploy({ name: 'stop-both', nodes: { stop: { type: 'funnel.stop', scope: 'all', bots: ['open-bot'], next: 'end' }, end: { type: 'final' } } });
    expect(both.body.errors).toEqual([expect.objectContaining({ path: 'nodes.stop', message: 'bots: names the bots itself, drop scope' })]);
    const person = 555;
    const sentOpen = () => openBot.messages.filter((m) => m.chat_id === String(person));

    openBot.pushUpdate(openBot.startUpdate(person));
    await s.until(async () => sentOpen().length >= 1);
    expect(sentOpen()[0].text).toMatch(/^Здравствуйте! Напишите дату вашего рождения/);
    const contact = await contactOf(person);
    const [openTask] = await funnelsOf(contact.id);
    expect(openTask).toMatchObject({ process: 'open-bot', status: 'waiting', nodeId: 'wait_birthday', bot: 'open-bot' });

    // The manager writes the code word in their chat with the person (the open bot is connected to the account).
    openBot.pushUpdate(openBot.business.connect(OWNER));
    openBot.pushUpdate(openBot.businessOperatorUpdate(person, OWNER, 'Халява!'));
    await s.until(async () => sentOpen().length >= 2);
    const offer = sentOpen()[1];
    expect(offer).toMatchObject({ business_connection_id: `BConn${OWNER}`, text: expect.stringMatching(/^Дарю вам бесплатный мини-курс! .*https:\/\/t\.me\/free_gift_bot\?start=p_\d+_gift_/) });
    const payload = /start=([A-Za-z0-9_-]+)$/.exec(offer.text)![1];

    // Nothing was stopped: the open funnel goes on with the person's answer.
    expect((await s.task(openTask.id)).task.status).toBe('waiting');
    openBot.pushUpdate(openBot.messageUpdate(person, '12.03.1990'));
    await s.until(async () => sentOpen().length >= 3);
    expect(sentOpen()[2].text).toBe('Ваш разбор по дате 12.03.1990 готовлю — пришлю сегодня.');
    await s.until(async () => (await s.task(openTask.id)).task.status === 'sleeping'); // offer_wait: 1 day
    const freeTrigger = (await tasksOf('free-trigger')).find((t) => t.data.contact_id === contact.id);
    await s.until(async () => (await s.task(freeTrigger.id)).task.status === 'sleeping'); // waits a day for the entry
    expect((await contactOf(person)).tags).toEqual(['wrote_birthday', 'got_analysis']);

    // Someone the link was forwarded to enters the free bot: nothing starts, the admins are told.
    freeBot.pushUpdate(freeBot.startUpdate(666, payload));
    const note = await s.until(async () => (await s.api('GET', '/api/v1/projects/default/admin-inbox')).body.notes
      .find((n: any) => /^free-bot: .* entered with the personal link of contact #\d+ \(forwarded\?\)/.test(n.text)));
    expect(note.text).toContain(`contact #${contact.id}`);
    expect((await contactOf(666)).tags).toEqual([]);

    // The person enters with their own link: marked, the open bot's funnels stopped, the gift sent.
    freeBot.pushUpdate(freeBot.startUpdate(person, payload));
    await s.until(async () => freeBot.media.sent.length >= 1);
    expect(freeBot.media.sent[0]).toMatchObject({
      chat_id: String(person), kind: 'document', file: 'https://example.com/free/lesson-1.pdf',
      caption: 'Добро пожаловать! Ваш подарок — первый урок мини-курса, он в файле ниже.',
    });
    expect(freeBot.messages).toEqual([]); // the text rode as the file's caption
    expect((await s.task(openTask.id)).task.status).toBe('cancelled');
    expect((await s.task(freeTrigger.id)).task.status).toBe('cancelled'); // no reminder any more
    const after = await contactOf(person);
    expect(after.tags).toEqual(['wrote_birthday', 'got_analysis', 'entered_free', 'free_offer']);
    expect(after.status).toBe('active');
    expect(after.bots.map((b: any) => [b.connection, b.status])).toEqual([['open-bot', 'active'], ['free-bot', 'active']]);
    const live = await funnelsOf(contact.id);
    expect(live.map((t: any) => [t.process, t.nodeId, t.status])).toEqual([['free-bot', 'lesson_wait', 'sleeping']]);
    const freeTask = (await tasksOf('free-bot')).find((t) => t.data.contact_id === contact.id);
    expect(freeTask.data).toMatchObject({ product: 'gift', file_id: freeBot.media.sent[0].file_id });

  });
});

describe('seed 001: the paid flow (examples/funnels/open-bot.yaml, paid-trigger.yaml, paid-bot.yaml)', () => {
  const paidBot = new FakeTelegram('510004:PaidBotToken_abcdefghijklmnop');
  afterAll(() => paidBot.close());

  it('the code word stops the person\'s funnels and sends their link; admins are reminded; entering with it records the purchase and ends the open-bot sales', async () => {
    await connect('paid-bot', paidBot);
    for (const f of ['open-bot', 'paid-trigger', 'paid-bot']) await deployExample(f);
    const person = 777;
    const sentOpen = () => openBot.messages.filter((m) => m.chat_id === String(person));
    openBot.pushUpdate(openBot.startUpdate(person));
    await s.until(async () => sentOpen().length >= 1);
    const contact = await contactOf(person);
    const [openTask] = await funnelsOf(contact.id);
    expect(openTask).toMatchObject({ process: 'open-bot', nodeId: 'wait_birthday' });

    // The manager's code word in the chat: every funnel of the person stops, the personal link goes out.
    openBot.pushUpdate(openBot.business.connect(OWNER));
    openBot.pushUpdate(openBot.businessOperatorUpdate(person, OWNER, 'Оплатил'));
    await s.until(async () => sentOpen().length >= 2);
    expect(sentOpen()[1]).toMatchObject({ protect_content: true, text: expect.stringMatching(/^Спасибо за оплату! Ваша личная ссылка в закрытый бот: https:\/\/t\.me\/paid_course_bot\?start=p_\d+_course_/) });
    const payload = /start=([A-Za-z0-9_-]+)$/.exec(sentOpen()[1].text)![1];
    expect(payload.length).toBeLessThanOrEqual(64);
    expect((await s.task(openTask.id)).task.status).toBe('cancelled');
    const reminder = (await tasksOf('paid-trigger')).find((t) => t.data.contact_id === contact.id);
    await s.until(async () => (await s.task(reminder.id)).task.status === 'sleeping'); // 6 h until the first reminder

    // Six hours on (moved by hand): the person has not entered, so the admins are reminded, and it sleeps again.
    expect((await s.api('POST', `/api/v1/projects/default/tasks/${reminder.id}/move`, { node: 'still_out' })).status).toBe(200);
    const reminded = await s.until(async () => (await s.api('GET', '/api/v1/projects/default/admin-inbox')).body.notes
      .find((n: any) => n.kind === 'paid_not_entered' && n.contactId === contact.id));
    expect(reminded.text).toMatch(/оплатил\(а\), но не вошёл в платный бот/);
    await s.until(async () => (await s.task(reminder.id)).task.node === 'wait_entry');

    // The code word again, by mistake: refused, with when it ran.
    openBot.pushUpdate(openBot.businessOperatorUpdate(person, OWNER, 'оплатил'));
    await s.until(async () => (await s.api('GET', '/api/v1/projects/default/admin-inbox')).body.notes
      .find((n: any) => n.kind === 'duplicate_trigger' && n.contactId === contact.id && /already (ran|in this funnel)/.test(n.text)));

    // A forwarded link does nothing.
    paidBot.pushUpdate(paidBot.startUpdate(888, payload));
    await s.until(async () => (await s.api('GET', '/api/v1/projects/default/admin-inbox')).body.notes
      .find((n: any) => /^paid-bot: .* the personal link of contact #\d+ \(forwarded\?\)/.test(n.text)));
    expect(paidBot.messages.filter((m) => m.chat_id === '888')).toEqual([]);

    // The person enters with their own link: the purchase is recorded, the reminders stop, the product starts.
    paidBot.pushUpdate(paidBot.startUpdate(person, payload));
    await s.until(async () => paidBot.messages.some((m) => m.chat_id === String(person)));
    expect(paidBot.messages.find((m) => m.chat_id === String(person))).toMatchObject({ text: 'Добро пожаловать в курс! Первый урок — завтра в 10:00.', protect_content: true });
    await s.until(async () => (await s.task(reminder.id)).task.status === 'cancelled');
    const bought = await contactOf(person);
    expect(bought.tags).toEqual(expect.arrayContaining(['paid_link_sent', 'bought', 'entered_paid']));
    expect(bought.vars.purchases).toEqual([expect.objectContaining({ product: 'course' })]);
    expect(bought.bots.map((b: any) => b.connection)).toEqual(['open-bot', 'paid-bot']); // one person, both bots

    // Never open-bot sales again: writing the open bot's words starts nothing.
    const before = sentOpen().length;
    openBot.pushUpdate(openBot.messageUpdate(person, 'Хочу подробнее'));
    // One person's events are handled in order: once a later one is (a second entry, refused), so was that one.
    paidBot.pushUpdate(paidBot.startUpdate(person, payload));
    await s.until(async () => (await s.api('GET', '/api/v1/projects/default/admin-inbox')).body.notes
      .find((n: any) => n.kind === 'duplicate_trigger' && n.contactId === contact.id && /^paid-bot: /.test(n.text)));
    expect(sentOpen()).toHaveLength(before);
    expect(await funnelsOf(contact.id)).toEqual([]);
  });
});

describe('a broadcast that hits Telegram\'s 429', () => {
  it('every contact of the segment gets exactly one message, paced, with the 429s waited out', async () => {
    const people = Array.from({ length: 40 }, (_, i) => 7001 + i);
    const joined = await s.deploy({
      name: 'subscribe',
      triggers: [{ on: 'start', bots: ['news-tg'] }],
      nodes: { tag: { type: 'tags.add', tags: ['subscriber'], next: 'end' }, end: { type: 'final' } },
    });
    expect(joined.status, JSON.stringify(joined.body)).toBeLessThan(300);
    for (const id of people) newsBot.pushUpdate(newsBot.startUpdate(id));
    await s.until(async () => (await s.api('GET', '/api/v1/projects/default/contacts?tag=subscriber&limit=1000')).body.contacts.length === people.length && true, 20_000);
    const news = await s.deploy({
      name: 'weekly-news',
      nodes: { send: { type: 'chat.send', text: 'Новости недели для {{name}}', next: 'end', on_unreachable: 'end' }, end: { type: 'final' } },
    });
    expect(news.status, JSON.stringify(news.body)).toBeLessThan(300);
    expect(newsBot.calls.filter((c) => c.method === 'sendMessage')).toEqual([]);

    // Telegram lets 8 messages through, then answers 429 "retry after 1" to the next 3 calls.
    newsBot.rateLimit(1, 3, 8);
    const res = await s.api('POST', '/api/v1/projects/default/broadcasts', { process: 'weekly-news', tag: 'subscriber' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ process: 'weekly-news', contacts: people.length, created: people.length });

    const stats = await s.until(async () => {
      const st = (await s.api('GET', '/api/v1/projects/default/processes/weekly-news/funnel-stats')).body;
      return st.steps.find((x: any) => x.node === 'end')?.passed === people.length && st;
    }, 30_000);
    const step = (node: string) => stats.steps.find((x: any) => x.node === node);
    expect(step('end')).toMatchObject({ now: 0, passed: people.length, errors: 0 });
    expect(step('send')).toMatchObject({ now: 0, errors: 0 });

    // Exactly one message per person: the refused calls were retried, none was sent twice.
    const perChat = new Map<string, number>();
    for (const m of newsBot.messages) perChat.set(m.chat_id, (perChat.get(m.chat_id) ?? 0) + 1);
    expect([...perChat.keys()].sort()).toEqual(people.map(String).sort());
    expect([...perChat.values()].every((n) => n === 1)).toBe(true);
    expect(newsBot.messages.find((m) => m.chat_id === '7001')!.text).toMatch(/^Новости недели для /);
    expect(newsBot.throttled).toHaveLength(3);
    expect(newsBot.calls.filter((c) => c.method === 'sendMessage')).toHaveLength(people.length + 3);

    // Paced as Telegram asks: nothing while a retry_after ran, and never more in a second than the
    // bot's pace allows (a token bucket: its rate, plus its burst at the window's start).
    expect(newsBot.callsDuringBan()).toBe(0);
    expect(newsBot.busiestSecond()).toBeLessThanOrEqual(10 + 1);
    expect(newsBot.busiestSecond()).toBeGreaterThan(1);

    // The daily report counts messages sent, not attempts.
    const today = new Date().toLocaleDateString('sv-SE', { timeZone: 'Europe/Moscow' });
    const report = (await s.api('GET', `/api/v1/projects/default/reports/daily?date=${today}`)).body;
    expect(report.messages.today['weekly-news']).toBe(people.length);
  }, 60_000);
});
