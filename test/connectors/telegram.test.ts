import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeTelegram } from '../../src/connectors/telegram/fake-telegram.ts';
import { sendMessageNode } from '../../src/connectors/telegram/send-message.ts';
import { ChatSpacer } from '../../src/connectors/telegram/telegram-client.ts';
import { telegramConnector } from '../../src/connectors/telegram/telegram-connector.ts';
import type { Outcome } from '../../src/engine/node-type.ts';
import { createHttpClient } from '../../src/util/http-client.ts';
import { MemoryConnections, nodeContext } from '../support/node-context.ts';

const fake = new FakeTelegram();
const http = createHttpClient();
let apiUrl = '';
let chatSeq = 1000;
// Each test its own chat: the per-chat spacing is shared in memory across the file.
const newChat = () => String(++chatSeq);

beforeAll(async () => {
  apiUrl = await fake.start();
});
afterEach(() => fake.up());
afterAll(async () => {
  await fake.close();
  await http.close();
});

async function send(node: Record<string, unknown>, opts: { token?: string } = {}) {
  const slowed: Array<{ key: string; ms: number }> = [];
  const connections = new MemoryConnections([
    { name: 'default', connector: 'telegram', settings: { bot_token: opts.token ?? fake.token, api_url: apiUrl } },
  ]);
  const ctx = nodeContext({ type: 'telegram.send_message', next: 'done', ...node }, { connections, http, slowed, data: { name: 'Анна', tg: 4242 } });
  const before = Date.now();
  const outcome = (await sendMessageNode.run(ctx)) as Outcome & { detail?: Record<string, any> };
  return { outcome, slowed, before, after: Date.now() };
}

function expectNoToken(outcome: unknown, token = fake.token) {
  const text = JSON.stringify(outcome);
  expect(text).not.toContain(token);
  expect(text).not.toContain(token.split(':')[1]);
}

describe('telegram.send_message', () => {
  it('sends text with parse mode, inline buttons and flags, and returns the message id', async () => {
    const chat = newChat();
    const { outcome } = await send({
      chat_id: chat, text: 'Привет, <b>{{name}}</b>!', parse_mode: 'HTML',
      buttons: [[{ text: 'Да', callback_data: 'yes' }, { text: 'Сайт', url: 'https://example.com' }]],
      protect_content: true, disable_notification: 'true',
    });
    const sent = fake.messages.find((m) => m.chat_id === chat)!;
    expect(sent).toMatchObject({
      text: 'Привет, <b>Анна</b>!', parse_mode: 'HTML', protect_content: true, disable_notification: true,
      reply_markup: { inline_keyboard: [[{ text: 'Да', callback_data: 'yes' }, { text: 'Сайт', url: 'https://example.com' }]] },
    });
    expect(outcome).toMatchObject({ kind: 'go', to: 'done', patch: { message_id: sent.message_id } });
    expect(outcome.detail!.request.url).toBe(`${apiUrl}/bot***/sendMessage`);
    expect(outcome.detail!.response.status).toBe(200);
    expectNoToken(outcome);
  });

  it('keeps the result under save_as and takes chat_id from a template', async () => {
    const { outcome } = await send({ chat_id: '{{tg}}', text: 'hi', save_as: 'tg_message' });
    const sent = fake.messages.at(-1)!;
    expect(sent.chat_id).toBe('4242');
    expect(outcome).toMatchObject({ kind: 'go', patch: { tg_message: { message_id: sent.message_id } } });
  });

  it('429 retries after retry_after and slows the whole bot down', async () => {
    fake.rateLimit(7, 1);
    const { outcome, slowed, before, after } = await send({ chat_id: newChat(), text: 'x' });
    expect(outcome.kind).toBe('retry');
    if (outcome.kind !== 'retry') return;
    expect(outcome.at).toBeGreaterThanOrEqual(before + 7000);
    expect(outcome.at).toBeLessThanOrEqual(after + 7000);
    expect(outcome.error).toBe('Too Many Requests: retry after 7');
    expect(outcome.detail).toMatchObject({ failure: 'retry', code: 429, response: { status: 429 } });
    expect(slowed).toEqual([{ key: 'telegram:default', ms: 7000 }]);
    expectNoToken(outcome);
  });

  it('a blocked bot goes to on_unreachable', async () => {
    const chat = newChat();
    fake.block(chat);
    const { outcome } = await send({ chat_id: chat, text: 'x', on_unreachable: 'gone' });
    expect(outcome).toMatchObject({ kind: 'go', to: 'gone', patch: { unreachable: 'Forbidden: bot was blocked by the user' } });
    expect(outcome.detail).toMatchObject({ failure: 'unreachable', code: 403 });
    expectNoToken(outcome);
  });

  it('a deactivated user is unreachable; without on_unreachable the node fails', async () => {
    const chat = newChat();
    fake.deactivate(chat);
    const { outcome } = await send({ chat_id: chat, text: 'x' });
    expect(outcome).toMatchObject({ kind: 'fail', error: 'unreachable: Forbidden: user is deactivated' });
  });

  it('"chat not found" is unreachable', async () => {
    const chat = newChat();
    fake.forget(chat);
    const { outcome } = await send({ chat_id: chat, text: 'x', on_unreachable: 'gone' });
    expect(outcome).toMatchObject({ kind: 'go', to: 'gone', patch: { unreachable: 'Bad Request: chat not found' } });
  });

  it('another 400 fails at once', async () => {
    const { outcome } = await send({ chat_id: newChat(), text: 'x'.repeat(4097) });
    expect(outcome).toMatchObject({ kind: 'fail', error: 'Bad Request: message is too long' });
    expect(outcome.detail).toMatchObject({ failure: 'fail', code: 400 });
  });

  it('a wrong token (401 from the Bot API) fails, and the token is masked', async () => {
    const wrong = '999999:WrongTokenValue_xyz123';
    const { outcome } = await send({ chat_id: newChat(), text: 'x' }, { token: wrong });
    expect(outcome).toMatchObject({ kind: 'fail', error: 'Unauthorized' });
    expect(outcome.detail).toMatchObject({ failure: 'fail', code: 401, request: { url: `${apiUrl}/bot***/sendMessage` } });
    expectNoToken(outcome, wrong);
  });

  it('an outage (502 page) is retried', async () => {
    fake.down('outage');
    const { outcome } = await send({ chat_id: newChat(), text: 'x' });
    expect(outcome.kind).toBe('retry');
    expect(outcome.detail).toMatchObject({ failure: 'retry', code: 502 });
    expectNoToken(outcome);
  });

  it('a 401 without a Bot API body (a front that is down) is retried, not failed', async () => {
    fake.down('unauthorized');
    const { outcome } = await send({ chat_id: newChat(), text: 'x' });
    expect(outcome.kind).toBe('retry');
    expect(outcome.detail).toMatchObject({ failure: 'retry', code: 401 });
  });

  it('no answer within the node timeout is retried', async () => {
    fake.down('hang');
    const { outcome } = await send({ chat_id: newChat(), text: 'x', timeout: '200ms' });
    expect(outcome.kind).toBe('retry');
    expect(outcome.detail).toMatchObject({ failure: 'retry', code: 'timeout' });
    expectNoToken(outcome);
  });

  it('a cut connection is retried', async () => {
    fake.down('reset');
    const { outcome } = await send({ chat_id: newChat(), text: 'x' });
    expect(outcome.kind).toBe('retry');
    expect(outcome.detail).toMatchObject({ failure: 'retry', code: 'network' });
    expectNoToken(outcome);
  });

  it('buttons without callback_data or url, or with callback_data over 64 bytes, fail before calling', async () => {
    const calls = fake.calls.length;
    const { outcome } = await send({ chat_id: newChat(), text: 'x', buttons: [[{ text: 'A' }, { text: 'B', callback_data: 'я'.repeat(33) }]] });
    expect(outcome.kind).toBe('fail');
    if (outcome.kind !== 'fail') return;
    expect(outcome.error).toContain('buttons[0][0]: needs exactly one of callback_data or url');
    expect(outcome.error).toContain('buttons[0][1].callback_data: at most 64 bytes');
    expect(fake.calls.length).toBe(calls);
    expect(sendMessageNode.check!({ type: 'telegram.send_message', buttons: [[{ text: 'A' }]] } as never)).toEqual([
      'buttons[0][0]: needs exactly one of callback_data or url',
    ]);
  });

  it('spaces messages to one chat: the second waits its second, a third is handed back as a retry', async () => {
    const chat = newChat();
    const results = await Promise.all([1, 2, 3].map((i) => send({ chat_id: chat, text: `m${i}` })));
    const kinds = results.map((r) => r.outcome.kind).sort();
    expect(kinds).toEqual(['go', 'go', 'retry']);
    const retried = results.find((r) => r.outcome.kind === 'retry')!.outcome;
    expect(retried.detail).toMatchObject({ failure: 'retry', code: 'chat_pace' });
    expect(fake.messages.filter((m) => m.chat_id === chat)).toHaveLength(2);
  });
});

describe('ChatSpacer', () => {
  it('gives one chat a slot a second, waits at most the limit, and keeps chats apart', () => {
    let now = 10_000;
    const spacer = new ChatSpacer(1000, 1000, () => now);
    expect(spacer.reserve('a')).toEqual({ waitMs: 0 });
    expect(spacer.reserve('a')).toEqual({ waitMs: 1000 });
    expect(spacer.reserve('a')).toEqual({ waitMs: null, busyForMs: 1000 });
    expect(spacer.reserve('b')).toEqual({ waitMs: 0 });
    now += 1500;
    expect(spacer.reserve('a')).toEqual({ waitMs: 500 });
  });
});

describe('telegram connector', () => {
  it('declares its settings, secret and pace, and describes every param', () => {
    expect(telegramConnector.name).toBe('telegram');
    expect(telegramConnector.secretFields).toEqual(['bot_token']);
    expect(telegramConnector.pace).toEqual({ perSecond: 30, burst: 30 });
    expect(telegramConnector.settingsSchema).toMatchObject({ required: ['bot_token'], properties: { api_url: { default: 'https://api.telegram.org' } } });
    expect(telegramConnector.nodeTypes.map((t) => t.type)).toEqual(['telegram.send_message', 'telegram.send_media', 'telegram.invite_link', 'telegram.remove_member']);
    const props = sendMessageNode.paramsSchema.properties as Record<string, unknown>;
    for (const p of ['chat_id', 'text', 'parse_mode', 'buttons', 'protect_content', 'disable_notification']) expect(props[p]).toBeDefined();
    const ctx = nodeContext({ type: 'telegram.send_message', next: 'done' }, {
      connections: new MemoryConnections([{ name: 'default', connector: 'telegram', settings: { bot_token: fake.token, rate: 5 } }]),
    });
    expect(sendMessageNode.pace!(ctx)).toMatchObject({ key: 'telegram:default', perSecond: 5, burst: 30 });
    // With a chat: that chat's lane (about 1 message a second; a group 20 a minute).
    const chat = (id: string) => nodeContext({ type: 'telegram.send_message', chat_id: id, next: 'done' }, { connections: new MemoryConnections([{ name: 'default', connector: 'telegram', settings: { bot_token: fake.token } }]) });
    const bot = { key: 'telegram:default', perSecond: 30, burst: 30 };
    expect(sendMessageNode.pace!(chat('42'))).toEqual({ key: 'telegram:default:chat:42', perSecond: 1, burst: 1, within: bot });
    expect(sendMessageNode.pace!(chat('-100500'))).toEqual({ key: 'telegram:default:chat:-100500', perSecond: 1 / 3, burst: 1, within: bot });
  });
});
