import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeTelegram } from '../../src/connectors/telegram/fake-telegram.ts';
import * as build from '../../src/connectors/telegram/fake-telegram-updates.ts';
import { TelegramClient } from '../../src/connectors/telegram/telegram-client.ts';
import { TelegramPoller, TelegramPollerError, type TelegramPollerOptions } from '../../src/connectors/telegram/telegram-poller.ts';
import { updateToEvent, type TelegramUpdate } from '../../src/connectors/telegram/telegram-updates.ts';
import {
  checkSecretToken, deleteWebhook, getWebhookInfo, SECRET_TOKEN_HEADER, setWebhook, webhookSecretToken,
} from '../../src/connectors/telegram/telegram-webhook.ts';
import { ServiceFailure } from '../../src/connectors/service-failure.ts';
import type { InboundEvent } from '../../src/funnels/inbound-event.ts';
import { createHttpClient } from '../../src/util/http-client.ts';

const BOT = '123456789';
const botUser = { id: Number(BOT), is_bot: true, first_name: 'Bot', username: 'conveyor_test_bot' };
const ev = (draft: build.UpdateDraft, id = 1, now?: number) => updateToEvent({ update_id: id, ...draft }, BOT, now);
const msg = (message: Record<string, unknown>) => ({ update_id: 5, message: { message_id: 1, date: 1_700_000_000, ...message } });

describe('updateToEvent', () => {
  it('a private message: person, chat, text, event id, time and names', () => {
    const u = build.messageUpdate(42, 'Привет');
    const date = (u.message as { date: number }).date;
    expect(ev(u, 777)).toEqual({
      platform: 'telegram', botId: BOT, userId: '42', chatId: '42', kind: 'message', text: 'Привет',
      eventId: 'telegram:777', at: date * 1000, name: 'Test User 42', username: 'user42',
    });
    const photo = msg({ from: build.person(7), chat: build.privateChat(build.person(7)), photo: [{ file_id: 'x' }], caption: 'мой чек' });
    expect(updateToEvent(photo, BOT)).toMatchObject({ kind: 'message', text: 'мой чек', at: 1_700_000_000_000 });
    expect(updateToEvent(msg({ from: build.person(7), chat: build.privateChat(build.person(7)), sticker: {} }), BOT)).not.toHaveProperty('text');
    expect(ev(build.messageUpdate(8, 'x', { first_name: undefined, last_name: undefined, username: 'anon' }))).toMatchObject({ name: 'anon', username: 'anon' });
    expect(ev(build.messageUpdate(8, 'x', { last_name: undefined, username: undefined }))).toMatchObject({ name: 'Test' });
  });

  it('/start with a deep-link payload, without one, and text that only looks like one', () => {
    expect(ev(build.startUpdate(42, 'pay_Ab-9'))).toMatchObject({ kind: 'start', payload: 'pay_Ab-9', text: 'pay_Ab-9', userId: '42' });
    const bare = ev(build.startUpdate(42));
    expect(bare).toMatchObject({ kind: 'start' });
    expect(bare).not.toHaveProperty('payload');
    expect(bare).not.toHaveProperty('text');
    expect(ev(build.messageUpdate(42, '/start@conveyor_test_bot x1'))).toMatchObject({ kind: 'start', payload: 'x1' });
    const typed = ev(build.messageUpdate(42, '/start hello there'));
    expect(typed).toMatchObject({ kind: 'start', text: 'hello there' });
    expect(typed).not.toHaveProperty('payload');
    expect(ev(build.startUpdate(42, 'a'.repeat(65)))).not.toHaveProperty('payload');
    expect(ev(build.startUpdate(42, 'a'.repeat(64)))).toMatchObject({ payload: 'a'.repeat(64) });
    expect(ev(build.messageUpdate(42, '/started'))).toMatchObject({ kind: 'message', text: '/started' });
  });

  it('a button press: payload, callback query id, the chat of the message, the time of parsing', () => {
    const u = build.callbackUpdate(42, 'answer:yes', botUser);
    const q = u.callback_query as { id: string };
    expect(ev(u, 9, 1_750_000_000_123)).toEqual({
      platform: 'telegram', botId: BOT, userId: '42', chatId: '42', kind: 'button', payload: 'answer:yes',
      callbackQueryId: q.id, eventId: 'telegram:9', at: 1_750_000_000_123, name: 'Test User 42', username: 'user42',
    });
    // A button under an inline-mode message has no chat: the person's own chat answers.
    const inline = { callback_query: { id: '5', from: build.person(3), inline_message_id: 'AAA', chat_instance: '1', data: 'd' } };
    expect(ev(inline)).toMatchObject({ kind: 'button', chatId: '3', payload: 'd' });
    const game = { callback_query: { id: '6', from: build.person(3), chat_instance: '1', game_short_name: 'g' } };
    expect(ev(game)).toBeNull();
  });

  it('blocking and unblocking the bot', () => {
    const blocked = build.blockedUpdate(42, botUser);
    expect(ev(blocked, 3)).toMatchObject({ kind: 'blocked', userId: '42', chatId: '42', eventId: 'telegram:3' });
    expect(ev(build.unblockedUpdate(42, botUser))).toMatchObject({ kind: 'unblocked', userId: '42' });
    const m = structuredClone(blocked.my_chat_member) as Record<string, any>;
    m.old_chat_member.status = 'left';
    m.new_chat_member.status = 'member';
    expect(ev({ my_chat_member: m })).toMatchObject({ kind: 'unblocked' });
    m.old_chat_member.status = 'member';
    expect(ev({ my_chat_member: m })).toBeNull(); // nothing changed for the funnel
  });

  it('business chats: the owner writing is an operator message about the customer; the customer writing is a message', () => {
    expect(ev(build.businessOperatorUpdate(500, 900, 'оплату получила'))).toMatchObject({
      kind: 'operator_message', userId: '500', chatId: '500', text: 'оплату получила', name: 'Test User 500', username: 'user500',
    });
    expect(ev(build.businessCustomerUpdate(500, 900, 'спасибо'))).toMatchObject({ kind: 'message', userId: '500', text: 'спасибо' });
    // Our own replies sent through the business account, and automatic greetings, are no operator's words.
    const byBot = build.businessOperatorUpdate(500, 900, 'курс');
    (byBot.business_message as Record<string, unknown>).sender_business_bot = botUser;
    expect(ev(byBot)).toBeNull();
    const greeting = build.businessOperatorUpdate(500, 900, 'Здравствуйте!');
    (greeting.business_message as Record<string, unknown>).is_from_offline = true;
    expect(ev(greeting)).toBeNull();
  });

  it('ignores edits, groups, channels, bots, other kinds and garbage', () => {
    const m = build.messageUpdate(42, 'исправлено').message;
    expect(ev({ edited_message: { ...(m as object), edit_date: 1 } })).toBeNull();
    const group = { id: -100200, type: 'supergroup', title: 'Чат курса' };
    expect(updateToEvent(msg({ from: build.person(42), chat: group, text: 'привет' }), BOT)).toBeNull();
    expect(updateToEvent({ update_id: 1, channel_post: { message_id: 1, chat: { id: -100, type: 'channel' }, date: 1, text: 'x' } }, BOT)).toBeNull();
    expect(updateToEvent(msg({ from: { ...botUser, id: 5 }, chat: { id: 5, type: 'private' }, text: 'x' }), BOT)).toBeNull();
    const q = build.callbackUpdate(42, 'x', botUser);
    ((q.callback_query as Record<string, any>).message.chat) = group;
    expect(ev(q)).toBeNull();
    expect(ev({ poll: { id: '1' } })).toBeNull();
    for (const bad of [null, undefined, 'x', 1, [], {}, { update_id: '1', message: m }, { update_id: 1, message: { text: 'no chat' } }]) {
      expect(updateToEvent(bad, BOT)).toBeNull();
    }
  });
});

// --- a fake Telegram per test below: its queue, webhook and held polls are per bot and stateful ---

let fake: FakeTelegram;
let apiUrl = '';
const http = createHttpClient();
const client = (token = fake.token) => new TelegramClient(http, { bot_token: token, api_url: apiUrl });
beforeEach(async () => {
  fake = new FakeTelegram();
  apiUrl = await fake.start();
});
afterEach(async () => {
  await stopAll();
  await fake.close();
});
afterAll(() => http.close());

/** A webhook endpoint as ours will be: checks the secret, turns the body into an event, answers `statuses` in turn. */
async function receiver(expectedSecret: string, statuses: number[] = []) {
  const events: InboundEvent[] = [];
  const server: Server = createServer(async (req, res) => {
    let body = '';
    for await (const c of req) body += c;
    if (!checkSecretToken(req.headers[SECRET_TOKEN_HEADER], expectedSecret)) return void res.writeHead(401).end();
    const event = updateToEvent(JSON.parse(body), BOT);
    if (event) events.push(event);
    res.writeHead(statuses.shift() ?? 200).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/telegram/${BOT}`, events };
}
const servers: Server[] = [];

describe('webhook', () => {
  const secret = webhookSecretToken('server-secret-of-this-install', BOT);

  it('delivers each update with the secret token and redelivers while the answer is not 2xx', async () => {
    const hook = await receiver(secret, [500, 503]);
    await setWebhook(client(), { url: hook.url, secretToken: secret });
    const u = fake.pushUpdate(fake.messageUpdate(42, 'хочу курс'));
    await fake.settled();
    expect(fake.webhookDeliveries.map((d) => d.status)).toEqual([500, 503, 200]);
    // The same update three times: the event id is what lets the store keep it once.
    expect(hook.events.map((e) => e.eventId)).toEqual(Array(3).fill(`telegram:${u.update_id}`));
    expect(hook.events[0]).toMatchObject({ kind: 'message', text: 'хочу курс', userId: '42' });
    const info = await getWebhookInfo(client());
    expect(info).toMatchObject({ url: hook.url, pending_update_count: 0, last_error_message: 'Wrong response from the webhook: 503 Service Unavailable' });
    expect(fake.calls.find((c) => c.method === 'setWebhook')!.params.allowed_updates).toEqual(['message', 'callback_query', 'my_chat_member', 'business_message', 'business_connection', 'chat_member']);
  });

  it('a delivery with the wrong secret is refused; Telegram keeps the update for later', async () => {
    const hook = await receiver(secret);
    fake.inbox.webhookAttempts = 2;
    await setWebhook(client(), { url: hook.url, secretToken: webhookSecretToken('another-install', BOT) });
    const u = fake.pushUpdate(fake.blockedUpdate(42));
    await fake.settled();
    expect(fake.webhookDeliveries.map((d) => d.status)).toEqual([401, 401]);
    expect(hook.events).toEqual([]);
    expect(await getWebhookInfo(client())).toMatchObject({ pending_update_count: 1 });
    // Long polling after the webhook is gone gets what the webhook never took.
    await deleteWebhook(client());
    const { result } = await client().call('getUpdates', { timeout: 0 }, 5000);
    expect((result as unknown as TelegramUpdate[]).map((x) => x.update_id)).toEqual([u.update_id]);
  });

  it('checks secret tokens in constant time and derives one per bot', () => {
    expect(checkSecretToken(secret, secret)).toBe(true);
    expect(checkSecretToken(secret.slice(0, -1) + (secret.endsWith('A') ? 'B' : 'A'), secret)).toBe(false);
    expect(checkSecretToken(secret.slice(0, 10), secret)).toBe(false);
    expect(checkSecretToken(undefined, secret)).toBe(false);
    expect(checkSecretToken([secret, secret], secret)).toBe(false);
    expect(checkSecretToken('', '')).toBe(false);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{1,256}$/);
    expect(webhookSecretToken('server-secret-of-this-install', BOT)).toBe(secret);
    expect(webhookSecretToken('server-secret-of-this-install', '987654321')).not.toBe(secret);
    expect(secret).not.toContain('server-secret');
  });

  it('setWebhook fails as Telegram does, with the secret masked in the exchange; a bad secret never leaves', async () => {
    const err = await setWebhook(client(), { url: 'http://example.com/hook', secretToken: secret }).catch((e) => e);
    expect(err).toBeInstanceOf(ServiceFailure);
    expect(err).toMatchObject({ failure: 'fail', message: 'Bad Request: bad webhook: An HTTPS URL must be provided for webhook' });
    expect(err.opts.exchange.request.body.secret_token).toBe('***');
    expect(JSON.stringify(err.opts.exchange)).not.toContain(secret);
    const calls = fake.calls.length;
    await expect(setWebhook(client(), { url: 'https://example.com/hook', secretToken: 'has spaces' })).rejects.toThrow(/A–Z a–z 0–9/);
    expect(fake.calls.length).toBe(calls);
  });

  it('getUpdates while a webhook is set is a 409; answerCallbackQuery answers a press once', async () => {
    await setWebhook(client(), { url: 'https://example.com/hook', secretToken: secret });
    const err = await client().call('getUpdates', {}, 5000).catch((e) => e);
    expect(err).toMatchObject({ failure: 'fail', opts: { code: 409 }, message: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first" });
    await deleteWebhook(client());
    const u = fake.pushUpdate(fake.callbackUpdate(42, 'yes'));
    const id = (u.callback_query as { id: string }).id;
    await client().call('answerCallbackQuery', { callback_query_id: id, text: 'Принято' }, 5000);
    expect(fake.answeredCallbacks).toEqual([{ callback_query_id: id, text: 'Принято' }]);
    await expect(client().call('answerCallbackQuery', { callback_query_id: id }, 5000)).rejects.toThrow('query is too old');
  });
});

// --- long polling ---

const pollers: TelegramPoller[] = [];
async function stopAll() {
  await Promise.all(pollers.splice(0).map((p) => p.stop()));
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
}

function poll(opts: Partial<TelegramPollerOptions> & { token?: string } = {}) {
  const batches: number[][] = [];
  const saved: number[] = [];
  const errors: Array<{ error: Error; retryInMs: number }> = [];
  const poller = new TelegramPoller({
    settings: { bot_token: opts.token ?? fake.token, api_url: apiUrl },
    onUpdates: async (u) => void batches.push(u.map((x) => x.update_id)),
    saveOffset: async (o) => void saved.push(o),
    onError: (error, retryInMs) => void errors.push({ error, retryInMs }),
    backoff: { firstMs: 10, maxMs: 40 },
    ...opts,
  });
  pollers.push(poller);
  const done = poller.start();
  done.catch(() => undefined);
  return { poller, done, batches, saved, errors, ids: () => batches.flat() };
}

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`never happened: ${what}`);
}

describe('TelegramPoller', () => {
  it('hands updates over in batches, takes new ones through the held poll, saves the offset after each batch', async () => {
    const a = fake.pushUpdate(fake.startUpdate(42, 'promo'));
    const b = fake.pushUpdate(fake.messageUpdate(42, 'hi'));
    const p = poll();
    await until('first batch', () => p.ids().length === 2);
    await until('a held poll', () => fake.inbox.polling);
    expect(fake.pendingUpdates).toEqual([]); // the held poll's offset confirmed the stored batch
    const c = fake.pushUpdate(fake.callbackUpdate(42, 'yes'));
    await until('the third update', () => p.ids().length === 3);
    expect(p.batches).toEqual([[a.update_id, b.update_id], [c.update_id]]);
    expect(p.saved).toEqual([b.update_id + 1, c.update_id + 1]);
    const polls = fake.calls.filter((x) => x.method === 'getUpdates');
    expect(polls[0].params).toMatchObject({ limit: 100, timeout: 25, allowed_updates: ['message', 'callback_query', 'my_chat_member', 'business_message', 'business_connection', 'chat_member'] });
    expect(polls[0].params).not.toHaveProperty('offset');
    expect(polls[1].params).toMatchObject({ offset: b.update_id + 1 });
  });

  it('does not move the offset past a batch whose storing failed: the same updates come again', async () => {
    const u = fake.pushUpdate(fake.messageUpdate(42, 'hi'));
    let calls = 0;
    const p = poll({
      onUpdates: async (batch) => {
        p.batches.push(batch.map((x) => x.update_id));
        if (++calls === 1) throw new Error('database is locked');
      },
    });
    await until('the second try', () => p.batches.length === 2);
    await until('the offset saved', () => p.saved.length === 1);
    expect(p.batches).toEqual([[u.update_id], [u.update_id]]);
    expect(p.saved).toEqual([u.update_id + 1]);
    expect(p.errors[0]).toMatchObject({ error: { message: 'database is locked' }, retryInMs: 10 });
  });

  it('resumes from the saved offset after a restart', async () => {
    const a = fake.pushUpdate(fake.messageUpdate(42, 'one'));
    const b = fake.pushUpdate(fake.messageUpdate(43, 'two'));
    // Stop right after storing: the poller never asks again, so Telegram still holds a and b unconfirmed.
    const first = poll({ onUpdates: async (batch) => void (first.batches.push(batch.map((x) => x.update_id)), first.poller.stop()) });
    await first.done;
    expect(first.saved).toEqual([b.update_id + 1]);
    expect(fake.pendingUpdates.map((x) => x.update_id)).toEqual([a.update_id, b.update_id]);
    const c = fake.pushUpdate(fake.messageUpdate(44, 'three'));
    const second = poll({ offset: first.saved.at(-1) });
    await until('the update after the restart', () => second.ids().length === 1);
    expect(second.batches).toEqual([[c.update_id]]);
    expect(fake.pendingUpdates.map((x) => x.update_id)).not.toContain(a.update_id);
  });

  it('stops with a clear error on 409 while a webhook is set, or deletes the webhook when allowed', async () => {
    await setWebhook(client(), { url: 'http://127.0.0.1:9/nowhere', secretToken: 'abc' });
    const refused = poll();
    const err = await refused.done.catch((e) => e);
    expect(err).toBeInstanceOf(TelegramPollerError);
    expect(err.code).toBe('webhook_active');
    expect(err.message).toContain('a webhook is set for this bot');

    fake.inbox.webhookAttempts = 1;
    const u = fake.pushUpdate(fake.messageUpdate(42, 'kept while the webhook failed'));
    await fake.settled();
    const infos: string[] = [];
    const p = poll({ deleteWebhookOnConflict: true, onInfo: (m) => void infos.push(m) });
    await until('the update through polling', () => p.ids().length === 1);
    expect(p.ids()).toEqual([u.update_id]);
    expect(infos).toEqual(['the bot had a webhook; it was deleted to poll for updates']);
    expect((await getWebhookInfo(client())).url).toBe('');
  });

  it('stops when another process polls the same bot, and on a refused token (masked)', async () => {
    const a = poll();
    await until('a held poll', () => fake.inbox.polling);
    poll();
    await expect(a.done).rejects.toMatchObject({ code: 'other_poller' });
    const token = '123456789:AAWrongTokenWrongTokenWrongToken12';
    const bad = poll({ token });
    const err = await bad.done.catch((e) => e);
    expect(err).toMatchObject({ name: 'TelegramPollerError', code: 'unauthorized' });
    expect(err.message).toContain('Unauthorized');
    expect(err.message).not.toContain(token.split(':')[1]);
  });

  it('backs off on outages, doubling to the cap, then carries on', async () => {
    fake.down('outage');
    const p = poll();
    await until('four failures', () => p.errors.length >= 4);
    expect(p.errors.slice(0, 4).map((e) => e.retryInMs)).toEqual([10, 20, 40, 40]);
    expect(p.errors[0].error.message).toBe('Telegram answered HTTP 502 without a Bot API answer');
    fake.up();
    const u = fake.pushUpdate(fake.messageUpdate(42, 'back'));
    await until('the update after the outage', () => p.ids().length === 1);
    expect(p.ids()).toEqual([u.update_id]);
    fake.rateLimit(0, 1); // a 429 waits what Telegram says, not the back-off
    fake.pushUpdate(fake.messageUpdate(42, 'wakes the held poll; the next one gets the 429'));
    await until('the 429', () => p.errors.some((e) => /Too Many Requests/.test(e.error.message)));
    expect(p.errors.find((e) => /Too Many Requests/.test(e.error.message))!.retryInMs).toBe(0);
  });

  it('stop() ends a held long poll at once: the request is aborted and nothing is acknowledged', async () => {
    const p = poll(); // timeout 25 s: without an abort this test would outlast its own time limit
    await until('a held poll', () => fake.inbox.polling);
    await p.poller.stop();
    await expect(p.done).resolves.toBeUndefined();
    await until('the fake saw the poll abandoned', () => fake.inbox.abandonedPolls === 1);
    expect(fake.inbox.polling).toBe(false);
    const u = fake.pushUpdate(fake.messageUpdate(42, 'after stop'));
    expect(fake.pendingUpdates.map((x) => x.update_id)).toEqual([u.update_id]);
    expect(p.ids()).toEqual([]);
  }, 5000);
});
