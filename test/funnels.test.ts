import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeTelegram } from '../src/connectors/telegram/fake-telegram.ts';
import { FakeVk } from '../src/connectors/vk/fake-vk.ts';
import { startTestServer, type TestServer } from './support/conveyor.ts';

let s: TestServer;
const vk = new FakeVk();
let hook: string;

beforeAll(async () => {
  const [server, vkUrl] = await Promise.all([startTestServer({ masterKey: 'k' }), vk.start()]);
  s = server;
  hook = `${s.url}/hooks/vk/default/open-bot`;
  const saved = await s.api('PUT', '/api/v1/projects/default/connections/vk/open-bot', { settings: {
    access_token: vk.token, group_id: vk.groupId, secret: vk.secret, confirmation: vk.confirmation, api_url: vkUrl,
  } });
  expect(saved.status, JSON.stringify(saved.body)).toBe(200);
  const welcome = await s.deploy({
    name: 'welcome',
    triggers: [{ on: 'message', match: { mode: 'meaning', value: ['хочу подробнее', 'старт'] }, tags_absent: ['bought'] }],
    nodes: {
      hello: { type: 'chat.send', text: 'Привет! Как вас зовут?', next: 'ask', on_unreachable: 'gone' },
      ask: { type: 'chat.wait_reply', timeout: '1h', save_to: 'answer', next: 'answered', on_timeout: 'silent' },
      answered: { type: 'tags.add', tags: ['wrote_name'], next: 'thanks' },
      thanks: { type: 'chat.send', text: 'Спасибо, {{answer}}!', next: 'done' },
      done: { type: 'final' }, silent: { type: 'final' }, gone: { type: 'final' },
    },
  });
  expect(welcome.status, JSON.stringify(welcome.body)).toBeLessThan(300);
  const paid = await s.deploy({
    name: 'paid',
    triggers: [{ on: 'operator_message', match: { mode: 'exact', value: 'оплатил' }, stop: 'all', once: 'bought' }],
    nodes: {
      link: { type: 'chat.send', text: 'Ваша ссылка на курс: https://t.me/paid_bot?start=c{{contact_id}}', next: 'note' },
      note: { type: 'admin.notify', text: 'Оплата: контакт {{contact_id}}', next: 'end' },
      end: { type: 'final' },
    },
  });
  expect(paid.status, JSON.stringify(paid.body)).toBeLessThan(300);
});
afterAll(async () => {
  await s.stop();
  await vk.close();
});

const say = (from: number, text: string) => vk.deliver(hook, vk.callbackBody('message_new', vk.messageNewObject(from, text)));
const operator = (to: number, text: string) => vk.deliver(hook, vk.callbackBody('message_reply', { id: 900, date: 0, peer_id: to, from_id: -vk.groupId, out: 1, text }));
const sentTo = (peer: number) => vk.messages.filter((m) => m.peer_id === String(peer)).map((m) => m.message);
const contactOf = async (userId: number) => (await s.api('GET', '/api/v1/projects/default/contacts?limit=1000')).body.contacts.find((c: any) => c.userId === String(userId));

describe('chatbot funnels in a VK community', () => {
  it('refuses a funnel whose trigger rule is broken, naming the field', async () => {
    const res = await s.deploy({ name: 'broken', triggers: [{ on: 'message', match: { mode: 'regex', value: ['ok', '[a-'] } }], nodes: { e: { type: 'final' } } });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ path: 'triggers[0].match.value[1]', message: expect.stringMatching(/bad regular expression/) })]);
    const unknown = await s.deploy({ name: 'broken', triggers: [{ on: 'sometimes' }], nodes: { e: { type: 'final' } } });
    expect(unknown.body.errors).toEqual([expect.objectContaining({ path: 'triggers[0].on' })]);
    const badDate = await s.deploy({ name: 'broken', triggers: [{ on: 'message', from: '2026-13-40' }], nodes: { e: { type: 'final' } } });
    expect(badDate.body.errors).toEqual([expect.objectContaining({ path: 'triggers[0].from', message: expect.stringMatching(/date-time/) })]);
  });

  it('answers VK\'s confirmation and refuses calls without the secret', async () => {
    expect(await vk.deliver(hook, vk.callbackBody('confirmation'))).toEqual({ status: 200, text: vk.confirmation });
    expect((await vk.deliver(hook, vk.callbackBody('message_new', vk.messageNewObject(5, 'старт'), { secret: 'wrong' }))).status).toBe(403);
    expect((await vk.deliver(`${s.url}/hooks/vk/default/nope`, vk.callbackBody('confirmation'))).status).toBe(404);
  });

  it('a message by meaning starts the funnel; the reply resumes it and tags the person', async () => {
    expect(await say(1001, 'Здравствуйте! Хочу подробнее узнать 🙂')).toEqual({ status: 200, text: 'ok' });
    await s.until(async () => sentTo(1001).length >= 1);
    expect(sentTo(1001)).toEqual(['Привет! Как вас зовут?']);
    await say(1001, 'Анна');
    await s.until(async () => sentTo(1001).length >= 2);
    expect(sentTo(1001)[1]).toBe('Спасибо, Анна!');
    const c = await contactOf(1001);
    expect(c).toMatchObject({ platform: 'vk', status: 'active', tags: ['wrote_name'], bots: [expect.objectContaining({ connection: 'open-bot', chatId: '1001' })] });
    await say(1001, 'как дела'); // no trigger matches: nothing is sent
    await new Promise((r) => setTimeout(r, 300));
    expect(sentTo(1001)).toHaveLength(2);
  });

  it('the operator\'s code word stops the person\'s funnels, sends the link once and refuses a repeat', async () => {
    await say(1002, 'старт');
    await s.until(async () => sentTo(1002).length >= 1);
    const before = await contactOf(1002);
    const welcomeTask = (await s.api('GET', `/api/v1/projects/default/contacts/${before.id}`)).body.funnels[0];
    expect(welcomeTask).toMatchObject({ process: 'welcome', status: 'waiting', nodeId: 'ask' });

    await operator(1002, 'Оплатил!');
    await s.until(async () => sentTo(1002).length >= 2);
    expect(sentTo(1002)[1]).toBe(`Ваша ссылка на курс: https://t.me/paid_bot?start=c${before.id}`);
    expect((await s.task(welcomeTask.id)).task.status).toBe('cancelled');
    expect((await contactOf(1002)).tags).toEqual(['bought']);

    await operator(1002, 'оплатил');
    const inbox = await s.until(async () => {
      const notes = (await s.api('GET', '/api/v1/projects/default/admin-inbox')).body.notes;
      return notes.some((n: any) => n.kind === 'duplicate_trigger') && notes;
    });
    expect(inbox.find((n: any) => n.kind === 'duplicate_trigger').text).toMatch(/paid: trigger for .* refused: already ran on \d{4}-\d\d-\d\d \d\d:\d\d UTC \(tag "bought"\)/);
    expect(inbox.some((n: any) => n.text === `Оплата: контакт ${before.id}`)).toBe(true);
    expect(sentTo(1002)).toHaveLength(2);
    // A person who bought never gets the open funnel again.
    await say(1002, 'старт');
    await new Promise((r) => setTimeout(r, 300));
    expect(sentTo(1002)).toHaveLength(2);
  });

  it('tags are permanent: blocking the bot changes the status, not the tags; an admin can remove them', async () => {
    await vk.deliver(hook, vk.callbackBody('message_deny', { user_id: 1002 }));
    const c = await s.until(async () => {
      const x = await contactOf(1002);
      return x.status === 'blocked' && x;
    });
    expect(c.tags).toEqual(['bought']);
    expect((await s.api('GET', '/api/v1/projects/default/contacts?tag=bought')).body.contacts.map((x: any) => x.userId)).toEqual(['1002']);
    const undone = await s.api('POST', `/api/v1/projects/default/contacts/${c.id}/tags`, { remove: ['bought'] });
    expect(undone.body).toEqual({ tags: [] });
  });
  it('counts people per step, lists the stuck ones for a bulk move, and makes the daily report', async () => {
    await say(1003, 'старт'); // waits for a reply
    await s.until(async () => sentTo(1003).length >= 1);
    const stats = (await s.api('GET', '/api/v1/projects/default/processes/welcome/funnel-stats?stuck_after=0s')).body;
    const step = (node: string) => stats.steps.find((x: any) => x.node === node);
    expect(step('ask')).toMatchObject({ now: 1, passed: 3 }); // 1001 answered, 1002 was stopped, 1003 waits
    expect(step('done')).toMatchObject({ now: 0, passed: 1 }); // ended tasks are not people now
    expect(stats.stuck.map((x: any) => [x.node, x.status])).toEqual([['ask', 'waiting']]);
    const moved = await s.api('POST', '/api/v1/projects/default/processes/welcome/move-tasks', { tasks: [stats.stuck[0].task, 999999], to: 'silent' });
    expect(moved.body.moved).toEqual([stats.stuck[0].task]);
    expect(moved.body.refused).toEqual([{ task: 999999, reason: 'task 999999 is not in process welcome' }]);
    const csv = await s.api('GET', '/api/v1/projects/default/processes/welcome/funnel-stats?format=csv');
    expect(String(csv.body).split('\n')[0]).toBe('node,now,passed,errors');

    await s.api('PUT', '/api/v1/projects/default/config', { message_limit_monthly: 1000 });
    const today = new Date().toLocaleDateString('sv-SE', { timeZone: 'Europe/Moscow' });
    const report = (await s.api('GET', `/api/v1/projects/default/reports/daily?date=${today}&milestones=wrote_name`)).body;
    expect(report).toMatchObject({ date: today, entered: 3, active: 2, inactive: 1, milestones: { wrote_name: 1 }, boughtAmongNew: 0, boughtTotal: 0 });
    expect(report.messages.today).toEqual({ welcome: 4, paid: 1 });
    expect(report.messages).toMatchObject({ month: 5, limit: 1000 });
    const daily = await s.api('GET', `/api/v1/projects/default/reports/daily?date=${today}&format=csv`);
    expect(String(daily.body)).toMatch(/^figure,value\ndate,/);
    expect((await s.api('GET', '/api/v1/projects/default/reports/daily?date=2026-13-45')).status).toBe(400);
  });
  it('broadcasts to a tag segment through a funnel of its own', async () => {
    await s.deploy({ name: 'news', nodes: { send: { type: 'chat.send', text: 'Новость для {{segment}}', next: 'end', on_unreachable: 'end' }, end: { type: 'final' } } });
    const res = await s.api('POST', '/api/v1/projects/default/broadcasts', { process: 'news', tag: 'wrote_name', data: { segment: 'написавших имя' } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ process: 'news', contacts: 1, created: 1 });
    await s.until(async () => sentTo(1001).includes('Новость для написавших имя'));
    expect((await s.api('POST', '/api/v1/projects/default/broadcasts', { process: 'nope' })).status).toBe(404);
  });
  it('an admin undoes a wrong trigger: tags cleared, the stopped funnel back on its step', async () => {
    await say(1004, 'старт');
    await s.until(async () => sentTo(1004).length >= 1);
    const contact = await contactOf(1004);
    const welcomeTask = (await s.api('GET', `/api/v1/projects/default/contacts/${contact.id}`)).body.funnels[0];
    await operator(1004, 'оплатил'); // by mistake: the manager meant someone else
    await s.until(async () => sentTo(1004).length >= 2);
    const paidTask = (await s.api('GET', '/api/v1/projects/default/processes/paid/tasks')).body.tasks.find((t: any) => t.data.contact_id === contact.id);
    await s.until(async () => (await s.task(paidTask.id)).task.status === 'done');
    expect((await contactOf(1004)).tags).toEqual(['bought']);

    const undone = await s.api('POST', `/api/v1/projects/default/tasks/${paidTask.id}/undo-trigger`);
    expect(undone.body).toEqual({ cancelled: false, tagsRemoved: ['bought'], restored: [welcomeTask.id] });
    expect((await contactOf(1004)).tags).toEqual([]);
    await s.until(async () => (await s.task(welcomeTask.id)).task.status === 'waiting');
    await say(1004, 'Олег');
    await s.until(async () => sentTo(1004).includes('Спасибо, Олег!'));
  });
  it('a person the platform cannot reach is marked blocked in that bot and takes on_unreachable', async () => {
    vk.failUser(1005, 901); // "Can't send messages for users without permission"
    await say(1005, 'старт');
    const c = await s.until(async () => {
      const x = await contactOf(1005);
      return x?.status === 'blocked' && x;
    });
    expect(c.bots).toEqual([expect.objectContaining({ connection: 'open-bot', status: 'blocked' })]);
    const task = (await s.api('GET', '/api/v1/projects/default/processes/welcome/tasks')).body.tasks.find((t: any) => t.data.contact_id === c.id);
    expect(task).toMatchObject({ status: 'done', node: 'gone' });
  });
});

describe('Telegram bots by webhook: one contact across the project\'s bots', () => {
  const openBot = new FakeTelegram('111111:OpenBotToken_abcdefghijklmnop');
  const paidBot = new FakeTelegram('222222:PaidBotToken_abcdefghijklmnop');
  afterAll(async () => Promise.all([openBot.close(), paidBot.close()]));

  it('sets the webhook, checks its secret; a personal link starts the paid product only for its person', async () => {
    for (const [name, bot] of [['open-tg', openBot], ['paid-tg', paidBot]] as const) {
      const url = await bot.start();
      expect((await s.api('PUT', `/api/v1/projects/default/connections/telegram/${name}`, { settings: { bot_token: bot.token, api_url: url } })).status).toBe(200);
      const hooked = await s.api('POST', `/api/v1/projects/default/connections/telegram/${name}/webhook`);
      expect(hooked.body).toEqual({ url: `${s.url}/hooks/telegram/default/${name}` });
    }
    await s.deploy({
      name: 'paid-entry',
      triggers: [{ on: 'start', bots: ['paid-tg'], paid_link: true, once: 'entered_paid' }],
      nodes: {
        bought: { type: 'tags.add', tags: ['bought'], next: 'stop' },
        stop: { type: 'funnel.stop', scope: 'all', next: 'welcome' },
        welcome: { type: 'chat.send', text: 'Добро пожаловать в курс {{product}}!', protect_content: true, next: 'admins' },
        admins: { type: 'admin.notify', text: 'Вошёл в платный бот: контакт {{contact_id}}', telegram: { chat_id: '-1009', connection: 'paid-tg' }, next: 'end' },
        end: { type: 'final' },
      },
    });
    await s.deploy({
      name: 'open-funnel',
      triggers: [{ on: 'start', bots: ['open-tg'], tags_absent: ['bought'] }],
      nodes: {
        link: { type: 'link.paid', bot_username: '@paid_course_bot', product: 'course1', next: 'hi' },
        hi: { type: 'chat.send', text: 'Привет! Ваша личная ссылка на курс: {{paid_link}}', next: 'wait' },
        wait: { type: 'chat.wait_reply', timeout: '2d', next: 'end', on_timeout: 'end' },
        end: { type: 'final' },
      },
    });

    openBot.pushUpdate(openBot.startUpdate(555));
    await s.until(async () => openBot.messages.length >= 1);
    const payload = /start=([A-Za-z0-9_-]+)$/.exec(openBot.messages[0].text)![1];
    expect(payload.length).toBeLessThanOrEqual(64);
    expect(openBot.messages[0].chat_id).toBe('555');

    // Someone else enters with the forwarded link: nothing starts, the admin inbox says why.
    paidBot.pushUpdate(paidBot.startUpdate(666, payload));
    paidBot.pushUpdate(paidBot.startUpdate(777, payload.slice(0, -1) + (payload.endsWith('A') ? 'B' : 'A')));
    const notes = await s.until(async () => {
      const n = (await s.api('GET', '/api/v1/projects/default/admin-inbox')).body.notes.filter((x: any) => /paid-entry/.test(x.text));
      return n.length >= 2 && n;
    });
    expect(notes.map((n: any) => n.text)).toEqual(expect.arrayContaining([expect.stringMatching(/the personal link of contact #\d+ \(forwarded\?\)/), expect.stringMatching(/not a valid personal link/)]));

    paidBot.pushUpdate(paidBot.startUpdate(555, payload));
    await s.until(async () => paidBot.messages.length >= 1);
    expect(paidBot.messages[0]).toMatchObject({ chat_id: '555', text: 'Добро пожаловать в курс course1!', protect_content: true });
    await s.until(async () => paidBot.messages.length >= 2);
    expect(paidBot.messages[1]).toMatchObject({ chat_id: '-1009', text: expect.stringMatching(/^Вошёл в платный бот: контакт \d+$/) });
    const contacts = (await s.api('GET', '/api/v1/projects/default/contacts?limit=1000')).body.contacts.filter((c: any) => c.userId === '555');
    expect(contacts).toHaveLength(1); // the same Telegram id in both bots is one contact
    expect(contacts[0]).toMatchObject({ platform: 'telegram', tags: ['bought', 'entered_paid'] });
    expect(contacts[0].bots.map((b: any) => b.connection)).toEqual(['open-tg', 'paid-tg']);
    const funnels = (await s.api('GET', `/api/v1/projects/default/contacts/${contacts[0].id}`)).body.funnels;
    expect(funnels).toEqual([]); // the open funnel was stopped when the person entered the paid bot

    const forged = await fetch(`${s.url}/hooks/telegram/default/paid-tg`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': 'guess' }, body: JSON.stringify(paidBot.startUpdate(666, 'c1')),
    });
    expect(forged.status).toBe(403);
  });
});

describe('the seed 001 example funnels', () => {
  it('deploy as they are', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    const dir = new URL('../examples/funnels/', import.meta.url);
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const f of files) {
      const res = await s.api('PUT', `/api/v1/projects/default/processes/${f.replace('.yaml', '')}`, readFileSync(new URL(f, dir), 'utf8'), { 'content-type': 'application/yaml' });
      expect(res.status, `${f}: ${JSON.stringify(res.body)}`).toBeLessThan(300);
    }
  });
});

describe('a Telegram bot by long polling (no public URL)', () => {
  const bot = new FakeTelegram('333333:PollBotToken_abcdefghijklmnop');
  afterAll(() => bot.close());

  it('receives updates by getUpdates and runs the funnel', async () => {
    const url = await bot.start();
    await s.deploy({
      name: 'poll-funnel',
      triggers: [{ on: 'message', bots: ['poll-tg'], match: { mode: 'contains', value: 'расскажите' } }],
      nodes: { hi: { type: 'chat.send', text: 'Рассказываю!', next: 'end' }, end: { type: 'final' } },
    });
    bot.pushUpdate(bot.messageUpdate(4242, 'Добрый день, расскажите о курсе'));
    expect((await s.api('PUT', '/api/v1/projects/default/connections/telegram/poll-tg', { settings: { bot_token: bot.token, api_url: url, receive: 'polling' } })).status).toBe(200);
    await s.until(async () => bot.messages.length >= 1, 15_000);
    expect(bot.messages.map((m) => [m.chat_id, m.text])).toEqual([['4242', 'Рассказываю!']]);
  });
});
