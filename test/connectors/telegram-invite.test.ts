import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeTelegram } from '../../src/connectors/telegram/fake-telegram.ts';
import { updateToEvent } from '../../src/connectors/telegram/telegram-updates.ts';
import { startTestServer, type TestServer } from '../support/conveyor.ts';

// Seed 001 (issue 4): the paid product is a private channel; each buyer gets an invite link only they
// can use (member_limit 1), and joining the channel by it can start the next funnel.
const CHANNEL = '-1001234567890';
let s: TestServer;
const tg = new FakeTelegram('555555:PaidBotToken_abcdefghijklmnopq');
const sentTo = (chat: number) => tg.messages.filter((m) => m.chat_id === String(chat)).map((m) => m.text);
const ended = (id: number) => s.until(async () => {
  const { task } = await s.task(id);
  return ['done', 'failed', 'error'].includes(task.status) && task;
});

beforeAll(async () => {
  const [server, url] = await Promise.all([startTestServer({ masterKey: 'k' }), tg.start()]);
  s = server;
  tg.invites.addChannel(CHANNEL, 'admin');
  tg.invites.addChannel('-1009', 'member'); // the bot is in it, but not an admin
  expect((await s.api('PUT', '/api/v1/projects/default/connections/telegram/paid-tg', { settings: { bot_token: tg.token, api_url: url } })).status).toBe(200);
  expect((await s.api('POST', '/api/v1/projects/default/connections/telegram/paid-tg/webhook')).status).toBe(200);
  for (const def of [
    {
      name: 'paid-entry',
      triggers: [{ on: 'start', bots: ['paid-tg'] }],
      nodes: {
        invite: { type: 'telegram.invite_link', connection: 'paid-tg', chat_id: CHANNEL, name: 'course1', expires_in: '2d', next: 'send' },
        send: { type: 'chat.send', text: 'Ваша личная ссылка в канал курса: {{invite_link}}', next: 'end' },
        end: { type: 'final' },
      },
    },
    {
      name: 'in-channel',
      triggers: [{ on: 'joined', bots: ['paid-tg'], payload: 'course1', once: 'in_channel' }],
      nodes: { hi: { type: 'chat.send', text: 'Добро пожаловать в канал!', next: 'end' }, end: { type: 'final' } },
    },
    {
      name: 'invite',
      nodes: {
        invite: { type: 'telegram.invite_link', connection: 'paid-tg', chat_id: '{{chat}}', member_limit: '{{limit}}', next: 'end', on_unreachable: 'gone' },
        end: { type: 'final' }, gone: { type: 'final' },
      },
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

describe('telegram.invite_link', () => {
  it('makes a one-person link into the private channel; joining by it starts the channel funnel', async () => {
    const before = Math.floor(Date.now() / 1000);
    tg.pushUpdate(tg.startUpdate(601));
    await s.until(async () => sentTo(601).length >= 1);
    const link = tg.invites.links[0];
    expect(tg.calls.find((c) => c.method === 'createChatInviteLink')!.params).toMatchObject({ chat_id: CHANNEL, member_limit: 1, name: 'course1' });
    expect(link).toMatchObject({ member_limit: 1, name: 'course1', creates_join_request: false, is_revoked: false });
    expect(link.expire_date! - before).toBeGreaterThanOrEqual(2 * 86_400 - 5);
    expect(link.expire_date! - before).toBeLessThanOrEqual(2 * 86_400 + 60);
    expect(sentTo(601)).toEqual([`Ваша личная ссылка в канал курса: ${link.invite_link}`]);

    tg.pushUpdate(tg.joinedByLinkUpdate(601, link.invite_link));
    await s.until(async () => sentTo(601).length >= 2);
    expect(sentTo(601)[1]).toBe('Добро пожаловать в канал!');
    const contacts = (await s.api('GET', '/api/v1/projects/default/contacts?limit=100')).body.contacts.filter((c: any) => c.userId === '601');
    expect(contacts).toHaveLength(1);
    expect(contacts[0].tags).toEqual(['in_channel']);
    // The link lets in one person: Telegram refuses a second one.
    expect(() => tg.joinedByLinkUpdate(602, link.invite_link)).toThrow(/member_limit/);
  });

  it('a join by a link the bot did not make, or a join without a link, is no event', () => {
    const made = tg.invites.create({ chat_id: CHANNEL, member_limit: 5, name: 'x' }).body.result as { invite_link: string };
    const join = tg.joinedByLinkUpdate(603, made.invite_link);
    const cm = join.chat_member as Record<string, any>;
    const botId = tg.token.split(':')[0];
    expect(updateToEvent({ update_id: 1, ...join }, botId)).toMatchObject({ kind: 'joined', userId: '603', chatId: '603', payload: 'x' });
    expect(updateToEvent({ update_id: 2, chat_member: { ...cm, invite_link: { ...cm.invite_link, creator: { id: 42, is_bot: false, first_name: 'Admin' } } } }, botId)).toBeNull();
    const { invite_link: _l, ...noLink } = cm;
    expect(updateToEvent({ update_id: 3, chat_member: noLink }, botId)).toBeNull();
    expect(updateToEvent({ update_id: 4, chat_member: { ...cm, old_chat_member: cm.new_chat_member } }, botId)).toBeNull(); // already a member
  });

  it('fails as Telegram refuses: no rights in the chat, an unknown chat (a setup error, not an unreachable person), a bad limit', async () => {
    const run = async (data: Record<string, unknown>) => ended((await s.createTask('invite', { data })).body.id);
    expect(await run({ chat: '-1009', limit: 1 })).toMatchObject({ status: 'failed', error: 'Bad Request: not enough rights to manage chat invite link' });
    expect(await run({ chat: '-1005', limit: 1 })).toMatchObject({ status: 'failed', error: 'Bad Request: chat not found (the channel -1005)' });
    expect(await run({ chat: CHANNEL, limit: 0 })).toMatchObject({ status: 'failed', error: 'member_limit: must be a whole number 1–99999, got 0' });
    const ok = await run({ chat: CHANNEL, limit: 3 });
    expect(ok).toMatchObject({ status: 'done', node: 'end', data: { invite_link: expect.stringMatching(/^https:\/\/t\.me\/\+/) } });
    expect(tg.invites.links.at(-1)).toMatchObject({ member_limit: 3, name: 'invite' }); // default name: the process's
  });

  it('refuses at deploy a name longer than Telegram allows, or an unreadable expiry', async () => {
    const res = await s.deploy({
      name: 'bad-invite',
      nodes: { i: { type: 'telegram.invite_link', connection: 'paid-tg', chat_id: CHANNEL, name: 'n'.repeat(33), expires_in: 'soon', next: 'e' }, e: { type: 'final' } },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { path: 'nodes.i', message: 'name: at most 32 characters' },
      { path: 'nodes.i', message: expect.stringMatching(/^expires_in: bad duration "soon"/) },
    ]);
  });
});
