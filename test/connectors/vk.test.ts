import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConnectorCatalog } from '../../src/connectors/connector-catalog.ts';
import { FakeVk } from '../../src/connectors/vk/fake-vk.ts';
import { stableRandomId, vkSendMessageNode } from '../../src/connectors/vk/send-message.ts';
import { handleVkCallback } from '../../src/connectors/vk/vk-callback.ts';
import { vkConnector } from '../../src/connectors/vk/vk-connector.ts';
import { buttonPayload, toVkKeyboard } from '../../src/connectors/vk/vk-keyboard.ts';
import { NodeRegistry } from '../../src/engine/node-registry.ts';
import type { Outcome } from '../../src/engine/node-type.ts';
import { createHttpClient } from '../../src/util/http-client.ts';
import { MemoryConnections, nodeContext } from '../support/node-context.ts';

const fake = new FakeVk();
const http = createHttpClient();
let apiUrl = '';
let peerSeq = 500_000;
const newPeer = () => ++peerSeq;

beforeAll(async () => {
  apiUrl = await fake.start();
});
afterEach(() => fake.up());
afterAll(async () => {
  await fake.close();
  await http.close();
});

interface SendOpts { token?: string; attempt?: number; taskId?: number; nodeId?: string; settings?: Record<string, unknown> }

async function send(node: Record<string, unknown>, opts: SendOpts = {}) {
  const slowed: Array<{ key: string; ms: number }> = [];
  const connections = new MemoryConnections([{
    name: 'default', connector: 'vk',
    settings: { access_token: opts.token ?? fake.token, group_id: fake.groupId, secret: fake.secret, api_url: apiUrl, ...opts.settings },
  }]);
  const ctx = nodeContext({ type: 'vk.send_message', next: 'done', ...node }, { connections, http, slowed, attempt: opts.attempt, data: { name: 'Анна', vk: 4242 } });
  if (opts.taskId !== undefined) ctx.task.id = opts.taskId;
  if (opts.nodeId !== undefined) (ctx as { nodeId: string }).nodeId = opts.nodeId;
  const before = Date.now();
  const outcome = (await vkSendMessageNode.run(ctx)) as Outcome & { detail?: Record<string, any> };
  return { outcome, slowed, before, after: Date.now() };
}

function expectNoSecrets(value: unknown, token = fake.token) {
  const text = JSON.stringify(value);
  expect(text).not.toContain(token);
  expect(text).not.toContain(fake.secret);
}

const sentTo = (peer: number) => fake.messages.filter((m) => m.peer_id === String(peer));

describe('vk.send_message', () => {
  it('sends text with inline buttons converted to a VK keyboard, and returns the message id', async () => {
    const peer = newPeer();
    const { outcome } = await send({
      peer_id: peer, text: 'Привет, {{name}}!', attachment: 'photo-1_2',
      keyboard: [[{ text: 'Да', payload: 'yes', color: 'positive' }, { text: 'Сайт', url: 'https://example.com' }], [{ text: 'Меню', payload: { menu: 1 } }]],
    });
    const [msg] = sentTo(peer);
    expect(msg).toMatchObject({
      message: 'Привет, Анна!', attachment: 'photo-1_2',
      keyboard: {
        inline: true,
        buttons: [
          [{ action: { type: 'callback', label: 'Да', payload: '{"button":"yes"}' }, color: 'positive' }, { action: { type: 'open_link', link: 'https://example.com', label: 'Сайт' } }],
          [{ action: { type: 'callback', label: 'Меню', payload: '{"menu":1}' } }],
        ],
      },
    });
    expect(outcome).toMatchObject({ kind: 'go', to: 'done', patch: { message_id: msg.id } });
    expect(outcome.detail!.request).toMatchObject({ method: 'POST', url: `${apiUrl}/method/messages.send`, body: { access_token: '***', v: '5.199', peer_id: String(peer) } });
    expect(outcome.detail!.response).toMatchObject({ status: 200, body: { response: msg.id } });
    expectNoSecrets(outcome);
  });

  it('passes a VK keyboard object (also from a JSON template) as it is', async () => {
    const peer = newPeer();
    const kb = { one_time: true, buttons: [[{ action: { type: 'text', label: 'Начать', payload: '{"command":"start"}' }, color: 'primary' }]] };
    await send({ peer_id: peer, text: 'a', keyboard: kb });
    await send({ peer_id: peer, text: 'b', keyboard: JSON.stringify(kb) }, { nodeId: 'other' });
    expect(sentTo(peer).map((m) => m.keyboard)).toEqual([kb, kb]);
  });

  it('takes peer_id from a template and keeps the result under save_as', async () => {
    const { outcome } = await send({ peer_id: '{{vk}}', text: 'hi', save_as: 'vk_message' });
    const msg = fake.messages.at(-1)!;
    expect(msg.peer_id).toBe('4242');
    expect(outcome).toMatchObject({ kind: 'go', patch: { vk_message: { message_id: msg.id } } });
  });

  it('random_id is stable across retries: an answer lost after sending, then a retry, leaves one message', async () => {
    const peer = newPeer();
    fake.loseAnswers(1);
    const first = await send({ peer_id: peer, text: 'once' });
    expect(first.outcome.kind).toBe('retry');
    expect(first.outcome.detail).toMatchObject({ failure: 'retry', code: 'network' });
    expect(sentTo(peer)).toHaveLength(1);
    const second = await send({ peer_id: peer, text: 'once' }, { attempt: 1 });
    expect(sentTo(peer)).toHaveLength(1);
    expect(second.outcome).toMatchObject({ kind: 'go', patch: { message_id: sentTo(peer)[0].id } });
    const ids = fake.calls.filter((c) => c.params.peer_id === String(peer)).map((c) => Number(c.params.random_id));
    expect(ids).toEqual([ids[0], ids[0]]);
    expect(ids[0] > 0 && ids[0] <= 2 ** 31 - 1).toBe(true);
  });

  it('another task, another node or another repeat_key sends again', async () => {
    const peer = newPeer();
    await send({ peer_id: peer, text: 'x' });
    await send({ peer_id: peer, text: 'x' }, { taskId: 8 });
    await send({ peer_id: peer, text: 'x' }, { nodeId: 'remind' });
    await send({ peer_id: peer, text: 'x', repeat_key: '2' });
    await send({ peer_id: peer, text: 'x', repeat_key: '2' }, { attempt: 3 });
    expect(sentTo(peer)).toHaveLength(4);
    expect(new Set(sentTo(peer).map((m) => m.random_id)).size).toBe(4);
    const task = { id: 7, process: 'p' } as never;
    expect(stableRandomId({ task, nodeId: 'n' }, '1')).toBe(stableRandomId({ task, nodeId: 'n' }, '1'));
  });

  it('error 6 (too many per second) retries after a second and slows the whole connection', async () => {
    fake.tooMany(1);
    const { outcome, slowed, before, after } = await send({ peer_id: newPeer(), text: 'x' });
    expect(outcome.kind).toBe('retry');
    if (outcome.kind !== 'retry') return;
    expect(outcome.at).toBeGreaterThanOrEqual(before + 1000);
    expect(outcome.at).toBeLessThanOrEqual(after + 1000);
    expect(outcome.error).toBe('Too many requests per second');
    expect(outcome.detail).toMatchObject({ failure: 'retry', code: 6, response: { status: 200 } });
    expect(slowed).toEqual([{ key: 'vk:default', ms: 1000 }]);
    expectNoSecrets(outcome);
  });

  it('error 9 (flood control) retries and slows the connection for longer', async () => {
    fake.flood(1);
    const { outcome, slowed } = await send({ peer_id: newPeer(), text: 'x' });
    expect(outcome).toMatchObject({ kind: 'retry', error: 'Flood control', detail: { failure: 'retry', code: 9 } });
    expect(slowed).toEqual([{ key: 'vk:default', ms: 30_000 }]);
  });

  it('error 10 (internal) retries on the node\'s backoff without slowing the connection', async () => {
    fake.internalError(1);
    const { outcome, slowed, before } = await send({ peer_id: newPeer(), text: 'x' });
    expect(outcome).toMatchObject({ kind: 'retry', error: 'Internal server error', detail: { code: 10 } });
    if (outcome.kind === 'retry') expect(outcome.at).toBeGreaterThanOrEqual(before + 4000); // 5 s ± 20 %
    expect(slowed).toEqual([]);
  });

  it('error 14 (captcha) waits long: ten minutes for the whole connection', async () => {
    fake.captcha(1);
    const { outcome, slowed, before } = await send({ peer_id: newPeer(), text: 'x' });
    expect(outcome).toMatchObject({ kind: 'retry', error: 'Captcha needed', detail: { code: 14 } });
    if (outcome.kind === 'retry') expect(outcome.at).toBeGreaterThanOrEqual(before + 600_000);
    expect(slowed).toEqual([{ key: 'vk:default', ms: 600_000 }]);
  });

  it('error 5 (a wrong token) fails, and the token is masked', async () => {
    const wrong = 'vk1.a.WrongTokenValue_xyz1234567890';
    const { outcome } = await send({ peer_id: newPeer(), text: 'x' }, { token: wrong });
    expect(outcome).toMatchObject({ kind: 'fail', error: 'User authorization failed: invalid access_token (4).' });
    expect(outcome.detail).toMatchObject({ failure: 'fail', code: 5, request: { body: { access_token: '***' } } });
    expectNoSecrets(outcome, wrong);
  });

  it('error 100 (a bad parameter) and 911 (a bad keyboard) fail', async () => {
    const bad = await send({ peer_id: 'abc', text: 'x' });
    expect(bad.outcome).toMatchObject({ kind: 'fail', error: 'One of the parameters specified was missing or invalid: peer_id is undefined', detail: { code: 100 } });
    const kb = await send({ peer_id: newPeer(), text: 'x', keyboard: { buttons: [[{ action: { type: 'teleport', label: 'x' } }]] } });
    expect(kb.outcome).toMatchObject({ kind: 'fail', error: 'Keyboard format is invalid', detail: { code: 911 } });
  });

  it.each([
    [901, "Can't send messages for users without permission"],
    [902, "Can't send messages to this user due to their privacy settings"],
    [18, 'User was deleted or banned'],
    [7, 'Permission to perform this action is denied'],
    [15, 'Access denied'],
  ] as const)('error %i is unreachable: on_unreachable', async (code, text) => {
    const peer = newPeer();
    fake.failUser(peer, code);
    const { outcome } = await send({ peer_id: peer, text: 'x', on_unreachable: 'gone' });
    expect(outcome).toMatchObject({ kind: 'go', to: 'gone', patch: { unreachable: text } });
    expect(outcome.detail).toMatchObject({ failure: 'unreachable', code });
    expect(sentTo(peer)).toHaveLength(0);
  });

  it('an unreachable person without on_unreachable fails the node', async () => {
    const peer = newPeer();
    fake.failUser(peer, 901);
    expect((await send({ peer_id: peer, text: 'x' })).outcome).toMatchObject({ kind: 'fail', error: "unreachable: Can't send messages for users without permission" });
  });

  it.each([
    ['outage', 502],
    ['reset', 'network'],
    ['hang', 'timeout'],
  ] as const)('VK down (%s) is retried', async (mode, code) => {
    fake.down(mode);
    const { outcome } = await send({ peer_id: newPeer(), text: 'x', timeout: '300ms' });
    expect(outcome.kind).toBe('retry');
    expect(outcome.detail).toMatchObject({ failure: 'retry', code });
    expectNoSecrets(outcome);
  });

  it('bad buttons, an empty message or an empty peer fail before calling VK', async () => {
    const calls = fake.calls.length;
    const kb = await send({ peer_id: newPeer(), text: 'x', keyboard: [[{ text: 'A' }, { text: 'B', payload: 'я'.repeat(300) }]] });
    expect(kb.outcome.kind).toBe('fail');
    if (kb.outcome.kind === 'fail') {
      expect(kb.outcome.error).toContain('keyboard[0][0]: needs exactly one of payload or url');
      expect(kb.outcome.error).toContain('keyboard[0][1].payload: at most 255 characters as JSON');
    }
    expect((await send({ peer_id: newPeer(), text: ' ' })).outcome).toMatchObject({ kind: 'fail', error: 'text: is empty and there is no attachment' });
    expect((await send({ peer_id: '{{missing}}', text: 'x' })).outcome).toMatchObject({ kind: 'fail', error: 'peer_id: is empty after templates' });
    expect(fake.calls.length).toBe(calls);
    expect(vkSendMessageNode.check!({ type: 'vk.send_message', keyboard: [[{ text: 'A', payload: 'a', url: 'https://x.ru' }]] } as never)).toEqual([
      'keyboard[0][0]: needs exactly one of payload or url',
    ]);
  });
});

describe('VK keyboard conversion', () => {
  it('turns rows into an inline keyboard and checks VK\'s inline limits', () => {
    expect(toVkKeyboard([[{ text: 'Да', payload: 'yes' }]])).toEqual({
      keyboard: { inline: true, buttons: [[{ action: { type: 'callback', label: 'Да', payload: '{"button":"yes"}' } }]] }, problems: [],
    });
    const six = Array.from({ length: 6 }, (_, i) => ({ text: `b${i}`, payload: i }));
    expect(toVkKeyboard([six]).problems).toEqual(['keyboard[0]: at most 5 buttons in a row']);
    const eleven = Array.from({ length: 11 }, (_, i) => [{ text: `b${i}`, payload: i }]);
    expect(toVkKeyboard(eleven).problems).toEqual(['keyboard: at most 6 rows in an inline keyboard', 'keyboard: at most 10 buttons in an inline keyboard']);
    expect(toVkKeyboard([[{ text: 'x'.repeat(41), payload: 1, color: 'red' }]]).problems).toEqual([
      'keyboard[0][0].text: at most 40 characters', 'keyboard[0][0].color: one of primary, secondary, positive, negative',
    ]);
    expect(toVkKeyboard('not json').problems).toEqual(['keyboard: a template gave text that is not JSON']);
    expect(toVkKeyboard(undefined)).toEqual({ problems: [] });
  });

  it('a payload comes back from VK as the string the funnel set', () => {
    expect(buttonPayload('{"button":"yes"}')).toBe('yes');
    expect(buttonPayload({ button: 'yes' })).toBe('yes');
    expect(buttonPayload({ menu: 1 })).toBe('{"menu":1}');
    expect(buttonPayload('{"command":"start"}')).toBe('{"command":"start"}');
    expect(buttonPayload('plain')).toBe('plain');
    expect(buttonPayload(undefined)).toBeUndefined();
  });
});

describe('fake VK', () => {
  it('keeps VK\'s random_id check for an hour per peer, and random_id 0 switches it off', async () => {
    let now = Date.UTC(2025, 0, 1);
    const clocked = new FakeVk({ now: () => now });
    const url = await clocked.start();
    try {
      const call = async (peer: number, randomId: number) => {
        const body = new URLSearchParams({ access_token: clocked.token, v: '5.199', peer_id: String(peer), random_id: String(randomId), message: 'm' });
        const res = await fetch(`${url}/method/messages.send`, { method: 'POST', body });
        return ((await res.json()) as { response: number }).response;
      };
      const first = await call(1, 77);
      expect(await call(1, 77)).toBe(first);
      expect(await call(2, 77)).not.toBe(first);
      now += 3600_000 + 1;
      expect(await call(1, 77)).not.toBe(first);
      await call(1, 0);
      await call(1, 0);
      expect(clocked.messages.map((m) => m.peer_id)).toEqual(['1', '2', '1', '1', '1']);
    } finally {
      await clocked.close();
    }
  });
});

const settings = { group_id: fake.groupId, secret: fake.secret, confirmation: fake.confirmation };
const NOW = Date.UTC(2025, 5, 1, 12);
const cb = (body: unknown, s: Parameters<typeof handleVkCallback>[1] = settings) => handleVkCallback(body, s, { now: NOW });

describe('VK Callback API', () => {
  it('answers the confirmation request with the confirmation string', () => {
    expect(cb({ type: 'confirmation', group_id: fake.groupId })).toMatchObject({ status: 200, answer: fake.confirmation });
    expect(cb(fake.callbackBody('confirmation'))).toMatchObject({ status: 200, answer: fake.confirmation });
    expect(cb({ type: 'confirmation', group_id: 1 })).toMatchObject({ status: 403, answer: 'forbidden' });
    expect(cb({ type: 'confirmation', group_id: fake.groupId, secret: 'nope' })).toMatchObject({ status: 403, error: 'wrong secret key' });
  });

  it('refuses a wrong or missing secret, or a connection without one, with 403 and no secret in the error', () => {
    const wrong = cb(fake.callbackBody('message_new', fake.messageNewObject(1, 'hi'), { secret: 'guessed' }));
    expect(wrong).toEqual({ status: 403, answer: 'forbidden', error: 'wrong secret key' });
    expect(cb(fake.callbackBody('message_new', fake.messageNewObject(1, 'hi'), { secret: null }))).toMatchObject({ status: 403, error: 'no secret key in the event' });
    expect(cb(fake.callbackBody('message_new', fake.messageNewObject(1, 'hi')), { group_id: fake.groupId })).toMatchObject({ status: 403 });
    expect(cb(fake.callbackBody('message_new', fake.messageNewObject(1, 'hi'), { groupId: 42 }))).toMatchObject({ status: 403 });
    expect(cb('not json')).toMatchObject({ status: 400 });
    expect(cb({ object: {} })).toMatchObject({ status: 400 });
    expectNoSecrets(wrong);
  });

  it('message_new → message, with the event id, the time, and the raw body with the secret masked', () => {
    const body = fake.callbackBody('message_new', fake.messageNewObject(3001, 'Хочу на курс', { date: 1_750_000_000 }));
    const r = cb(body);
    expect(r).toMatchObject({ status: 200, answer: 'ok' });
    expect(r.event).toEqual({
      platform: 'vk', botId: String(fake.groupId), userId: '3001', chatId: '3001', kind: 'message', text: 'Хочу на курс',
      eventId: `vk:${body.event_id}`, at: 1_750_000_000_000,
    });
    expect((r.raw as Record<string, unknown>).secret).toBe('***');
    expectNoSecrets(r);
  });

  it('message_new from a keyboard button carries its payload; in a chat the peer is the chat', () => {
    const r = cb(fake.callbackBody('message_new', fake.messageNewObject(3002, 'Да', { payload: '{"button":"yes"}', peer_id: 2_000_000_005 })));
    expect(r.event).toMatchObject({ kind: 'message', userId: '3002', chatId: '2000000005', text: 'Да', payload: 'yes' });
  });

  it('the Start button is start, with the vk.me link\'s ref as payload', () => {
    const r = cb(fake.callbackBody('message_new', fake.messageNewObject(3003, 'Начать', { payload: '{"command":"start"}', ref: 'paid_tarot', ref_source: 'site' })));
    expect(r.event).toMatchObject({ kind: 'start', userId: '3003', text: 'Начать', payload: 'paid_tarot' });
    const plain = cb(fake.callbackBody('message_new', fake.messageNewObject(3003, 'Начать', { payload: '{"command":"start"}' })));
    expect(plain.event?.kind).toBe('start');
    expect(plain.event?.payload).toBeUndefined();
  });

  it('message_reply → operator_message for the person the community wrote to', () => {
    const object = { id: 90, date: 1_750_000_100, from_id: -fake.groupId, peer_id: 3004, out: 1, text: 'оплату за курс получила', admin_author_id: 555, conversation_message_id: 12 };
    expect(cb(fake.callbackBody('message_reply', object)).event).toMatchObject({
      kind: 'operator_message', userId: '3004', chatId: '3004', text: 'оплату за курс получила', at: 1_750_000_100_000,
    });
  });

  it('message_allow → start with the key, message_deny → blocked, group_join / group_leave → joined / left', () => {
    expect(cb(fake.callbackBody('message_allow', { user_id: 3005, key: 'gift' })).event).toMatchObject({ kind: 'start', userId: '3005', chatId: '3005', payload: 'gift', at: NOW });
    expect(cb(fake.callbackBody('message_allow', { user_id: 3005 })).event).not.toHaveProperty('payload');
    expect(cb(fake.callbackBody('message_deny', { user_id: 3005 })).event).toMatchObject({ kind: 'blocked', userId: '3005' });
    expect(cb(fake.callbackBody('group_join', { user_id: 3005, join_type: 'join' })).event).toMatchObject({ kind: 'joined', userId: '3005' });
    expect(cb(fake.callbackBody('group_leave', { user_id: 3005, self: 1 })).event).toMatchObject({ kind: 'left', userId: '3005' });
  });

  it('message_event → button with the payload and the id to answer it', () => {
    const object = { user_id: 3006, peer_id: 3006, event_id: '3159dc190b1f', payload: { button: 'yes' }, conversation_message_id: 7 };
    expect(cb(fake.callbackBody('message_event', object)).event).toMatchObject({
      kind: 'button', userId: '3006', chatId: '3006', payload: 'yes', callbackQueryId: '3159dc190b1f',
    });
  });

  it('other types are answered ok with no event', () => {
    for (const type of ['wall_post_new', 'message_typing_state', 'message_edit', 'photo_new']) {
      const r = cb(fake.callbackBody(type, { id: 1 }));
      expect(r).toMatchObject({ status: 200, answer: 'ok' });
      expect(r.event).toBeUndefined();
    }
  });

  it('without event_id the event id is a hash of the body, the same for a redelivery', () => {
    const body = fake.callbackBody('message_deny', { user_id: 3007 });
    delete body.event_id;
    const a = cb(body).event!.eventId;
    expect(a).toMatch(/^vk:body-[0-9a-f]{32}$/);
    expect(cb({ ...body }).event!.eventId).toBe(a);
    expect(cb({ ...body, object: { user_id: 3008 } }).event!.eventId).not.toBe(a);
  });

  it('over HTTP: VK\'s POST gets the plain text ok, a forged one a 403', async () => {
    const events: unknown[] = [];
    const server: Server = createServer(async (req, res) => {
      let raw = '';
      for await (const c of req) raw += c;
      const r = handleVkCallback(JSON.parse(raw), settings);
      if (r.event) events.push(r.event);
      res.writeHead(r.status, { 'content-type': 'text/plain' }).end(r.answer);
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/vk`;
    try {
      expect(await fake.deliver(url, fake.callbackBody('confirmation'))).toEqual({ status: 200, text: fake.confirmation });
      expect(await fake.deliver(url, fake.callbackBody('message_new', fake.messageNewObject(3009, 'привет')))).toEqual({ status: 200, text: 'ok' });
      expect(await fake.deliver(url, fake.callbackBody('message_new', fake.messageNewObject(3009, 'x'), { secret: 'forged' }))).toEqual({ status: 403, text: 'forbidden' });
      expect(events).toMatchObject([{ kind: 'message', userId: '3009', text: 'привет' }]);
    } finally {
      await new Promise<void>((ok) => server.close(() => ok()));
    }
  });
});

describe('vk connector', () => {
  it('declares its settings, secrets and pace, and validates a connection', () => {
    expect(vkConnector.name).toBe('vk');
    expect(vkConnector.secretFields).toEqual(['access_token', 'secret']);
    expect(vkConnector.pace).toEqual({ perSecond: 20, burst: 20 });
    expect(vkConnector.settingsSchema).toMatchObject({ properties: { api_url: { default: 'https://api.vk.com' }, v: { default: '5.199' } } });
    expect(vkConnector.nodeTypes.map((t) => t.type)).toEqual(['vk.send_message', 'vk.send_file']);
    const catalog = new ConnectorCatalog(new NodeRegistry()).add(vkConnector);
    expect(catalog.check('vk', { access_token: fake.token, group_id: fake.groupId, secret: fake.secret, confirmation: 'abc' })).toEqual([]);
    expect(catalog.check('vk', { group_id: 'club1' })).toEqual(['settings.access_token: is required', 'settings.group_id: must match pattern "^[0-9]+$"']);
    const props = vkSendMessageNode.paramsSchema.properties as Record<string, unknown>;
    for (const p of ['peer_id', 'text', 'keyboard', 'attachment', 'repeat_key']) expect(props[p]).toBeDefined();
    const ctx = nodeContext({ type: 'vk.send_message', next: 'done' }, {
      connections: new MemoryConnections([{ name: 'default', connector: 'vk', settings: { access_token: fake.token, group_id: 1, rate: 3 } }]),
    });
    expect(vkSendMessageNode.pace!(ctx)).toMatchObject({ key: 'vk:default', perSecond: 3, burst: 20 });
  });
});
