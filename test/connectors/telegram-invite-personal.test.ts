import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeTelegram } from '../../src/connectors/telegram/fake-telegram.ts';
import { startTestServer, type TestServer } from '../support/conveyor.ts';

// Seed 001: a personal invite link into the paid channel is bound to its buyer. Joining by it starts
// the channel funnel only for that person; a forwarded link, or a link we did not sign, starts nothing
// and the admin inbox says who joined with whose link.
const CHANNEL = '-1001234567777';
const P = '/api/v1/projects/default';
let s: TestServer;
const tg = new FakeTelegram('777777:PaidBotToken_abcdefghijklmnopq');
const sentTo = (chat: number) => tg.messages.filter((m) => m.chat_id === String(chat)).map((m) => m.text);
const contactOf = async (userId: number) => (await s.api('GET', `${P}/contacts?limit=100`)).body.contacts.find((c: any) => c.userId === String(userId));
const tasksOf = async (process: string) => (await s.api('GET', `${P}/processes/${process}/tasks?limit=100`)).body.tasks as any[];
const channelTasks = () => tasksOf('in-channel');
const inChannel = (userId: number) => tg.invites.members.get(CHANNEL)?.has(userId) ?? false;
const ended = (id: number) => s.until(async () => {
  const { task } = await s.task(id);
  return ['done', 'failed', 'error'].includes(task.status) && task;
});
/** The admin note about this contact joining, once its join has been processed. */
const noteAbout = (contactId: number) => s.until(async () =>
  (await s.api('GET', `${P}/admin-inbox`)).body.notes.find((n: any) => n.contactId === contactId && /in-channel: .* joined the channel by/.test(n.text)));

/** The person enters the bot and gets their personal link; answers the link as the fake made it. */
async function buy(userId: number) {
  tg.pushUpdate(tg.startUpdate(userId));
  await s.until(async () => sentTo(userId).length >= 1);
  const link = tg.invites.links.find((l) => sentTo(userId)[0] === `Ваша личная ссылка: ${l.invite_link}`);
  expect(link, sentTo(userId)[0]).toBeDefined();
  return link!;
}

beforeAll(async () => {
  const [server, url] = await Promise.all([startTestServer({ masterKey: 'k' }), tg.start()]);
  s = server;
  tg.invites.addChannel(CHANNEL, 'admin');
  tg.invites.addChannel('-1009', 'member'); // the bot is in it, but may not ban
  expect((await s.api('PUT', `${P}/connections/telegram/paid-tg`, { settings: { bot_token: tg.token, api_url: url } })).status).toBe(200);
  expect((await s.api('POST', `${P}/connections/telegram/paid-tg/webhook`)).status).toBe(200);
  for (const def of [
    {
      name: 'paid-entry',
      triggers: [{ on: 'start', bots: ['paid-tg'] }],
      nodes: {
        // No name: the task has a contact, so the link is personal by default.
        invite: { type: 'telegram.invite_link', connection: 'paid-tg', chat_id: CHANNEL, product: 'course1', next: 'send' },
        send: { type: 'chat.send', text: 'Ваша личная ссылка: {{invite_link}}', next: 'end' },
        end: { type: 'final' },
      },
    },
    {
      name: 'in-channel',
      triggers: [{ on: 'joined', bots: ['paid-tg'], paid_link: true }],
      nodes: { hi: { type: 'chat.send', text: 'Добро пожаловать в {{product}}!', next: 'end' }, end: { type: 'final' } },
    },
    {
      name: 'strangers',
      triggers: [{ on: 'joined', bots: ['paid-tg'], paid_link: 'refused' }],
      nodes: { kick: { type: 'telegram.remove_member', connection: 'paid-tg', chat_id: CHANNEL, next: 'end' }, end: { type: 'final' } },
    },
    {
      name: 'kick',
      nodes: { kick: { type: 'telegram.remove_member', connection: 'paid-tg', chat_id: '{{chat}}', user_id: '{{user}}', next: 'end' }, end: { type: 'final' } },
    },
  ]) {
    const res = await s.deploy(def);
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
  }
});
afterAll(async () => {
  await s.stop();
  await tg.close();
});

describe('telegram.invite_link, personal', () => {
  it('the buyer joins by their own link: the channel funnel starts with the product', async () => {
    const link = await buy(701);
    const contact = await contactOf(701);
    expect(link).toMatchObject({ member_limit: 1, name: expect.stringMatching(new RegExp(`^i${contact.id}_course1_[A-Za-z0-9_-]{12}$`)) });
    expect([...link.name!].length).toBeLessThanOrEqual(32);

    tg.pushUpdate(tg.joinedByLinkUpdate(701, link.invite_link));
    await s.until(async () => sentTo(701).length >= 2);
    expect(sentTo(701)[1]).toBe('Добро пожаловать в course1!');
    const started = (await channelTasks()).filter((t) => t.ref === `contact-${contact.id}`);
    expect(started).toHaveLength(1);
    expect(inChannel(701)).toBe(true);
    expect((await tasksOf('strangers')).filter((t) => t.ref === `contact-${contact.id}`)).toEqual([]);
  });

  it('a stranger joins by a forwarded link: nothing starts, the admin inbox names both, the bot removes them', async () => {
    const link = await buy(702);
    const buyer = await contactOf(702);
    const before = (await channelTasks()).length;

    tg.pushUpdate(tg.joinedByLinkUpdate(703, link.invite_link));
    const stranger = await s.until(async () => contactOf(703));
    const note = await noteAbout(stranger.id);
    expect(note.text).toBe(`in-channel: ${stranger.name} (#${stranger.id}) joined the channel by the personal link of contact #${buyer.id} (forwarded?): nothing started`);
    expect((await channelTasks()).length).toBe(before);
    expect(sentTo(703)).toEqual([]);
    // The `paid_link: refused` funnel removes the stranger: ban, then unban so only a new link lets them in.
    const kick = await s.until(async () => (await tasksOf('strangers')).find((t) => t.ref === `contact-${stranger.id}`));
    expect(await ended(kick.id)).toMatchObject({ status: 'done', data: { link_contact_id: buyer.id, removed_user_id: 703 } });
    const calls = tg.calls.filter((c) => /banChatMember$/.test(c.method) && c.params.user_id === 703).map((c) => [c.method, c.params]);
    expect(calls).toEqual([
      ['banChatMember', { chat_id: CHANNEL, user_id: 703 }],
      ['unbanChatMember', { chat_id: CHANNEL, user_id: 703, only_if_banned: true }],
    ]);
    expect(inChannel(703)).toBe(false);
    expect(tg.invites.banned.get(CHANNEL)?.has(703)).toBe(false);
    // The one-person link is used up: the buyer needs a new one (Telegram refuses them now).
    expect(() => tg.joinedByLinkUpdate(702, link.invite_link)).toThrow(/member_limit/);
  });

  it('a link whose name we did not sign (a plain name, a made-up or altered signature) starts nothing', async () => {
    const buyer = await contactOf(701);
    const real = tg.invites.links.find((l) => l.name?.startsWith(`i${buyer.id}_`))!.name!;
    const forged = [
      'course1',
      `i${buyer.id}_course1_AAAAAAAAAAAA`,
      real.replace('course1', 'course2'), // another product under the same signature
    ];
    let user = 710;
    for (const name of forged) {
      const made = tg.invites.create({ chat_id: CHANNEL, member_limit: 1, name }).body.result as { invite_link: string };
      const before = (await channelTasks()).length;
      tg.pushUpdate(tg.joinedByLinkUpdate(++user, made.invite_link));
      const joiner = await s.until(async () => contactOf(user));
      const note = await noteAbout(joiner.id);
      expect(note.text, name).toMatch(/joined the channel by a link that is not a valid personal link: nothing started$/);
      expect((await channelTasks()).length).toBe(before);
      expect(sentTo(user)).toEqual([]);
    }
  });

  it('remove_member fails as Telegram refuses: no right to ban, an unknown chat, a bad user id', async () => {
    const run = async (data: Record<string, unknown>) => ended((await s.createTask('kick', { data })).body.id);
    expect(await run({ chat: '-1009', user: 701 })).toMatchObject({ status: 'failed', error: 'Bad Request: not enough rights to restrict/unrestrict chat member' });
    expect(await run({ chat: '-1005', user: 701 })).toMatchObject({ status: 'failed', error: 'Bad Request: chat not found (the channel -1005)' });
    expect(await run({ chat: CHANNEL, user: 'someone' })).toMatchObject({ status: 'failed', error: 'user_id: not a Telegram user id: "someone"' });
    expect(inChannel(701)).toBe(true); // none of them touched the buyer
  });

  it('personal without a contact fails naming the field; personal with a name is refused at deploy', async () => {
    const res = await s.deploy({
      name: 'bad-personal',
      nodes: { i: { type: 'telegram.invite_link', connection: 'paid-tg', chat_id: CHANNEL, personal: true, name: 'x', product: 'a-b', next: 'e' }, e: { type: 'final' } },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { path: 'nodes.i', message: 'personal, name: a personal link\'s name is made for the contact; give one of them' },
      { path: 'nodes.i', message: 'product: 1–16 letters or digits' },
    ]);
    expect((await s.deploy({
      name: 'api-personal',
      nodes: { i: { type: 'telegram.invite_link', connection: 'paid-tg', chat_id: CHANNEL, personal: true, next: 'e' }, e: { type: 'final' } },
    })).status).toBeLessThan(300);
    const { id } = (await s.createTask('api-personal', { data: {} })).body;
    const task = await s.until(async () => {
      const { task: t } = await s.task(id);
      return ['done', 'failed', 'error'].includes(t.status) && t;
    });
    expect(task).toMatchObject({ status: 'failed', error: 'personal: the task has no contact_id (it was not started by a bot trigger)' });
  });
});
