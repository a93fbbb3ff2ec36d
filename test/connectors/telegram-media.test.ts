import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeTelegram } from '../../src/connectors/telegram/fake-telegram.ts';
import { sendMediaNode } from '../../src/connectors/telegram/send-media.ts';
import { FakeVk } from '../../src/connectors/vk/fake-vk.ts';
import type { Outcome } from '../../src/engine/node-type.ts';
import { createHttpClient } from '../../src/util/http-client.ts';
import { MemoryConnections, nodeContext } from '../support/node-context.ts';
import { startTestServer, type TestServer } from '../support/conveyor.ts';

const tg = new FakeTelegram('520001:MediaBotToken_abcdefghijklmnop');
const vk = new FakeVk();
const http = createHttpClient();
let apiUrl = '';
let s: TestServer;
let chatSeq = 3000;
// Each test its own chat: the per-chat spacing is shared in memory across the file.
const newChat = () => String(++chatSeq);

beforeAll(async () => {
  const [url, vkUrl, server] = await Promise.all([tg.start(), vk.start(), startTestServer({ masterKey: 'k' })]);
  apiUrl = url;
  s = server;
  expect((await s.api('PUT', '/api/v1/projects/default/connections/telegram/media-tg', { settings: { bot_token: tg.token, api_url: url } })).status).toBe(200);
  expect((await s.api('POST', '/api/v1/projects/default/connections/telegram/media-tg/webhook')).status).toBe(200);
  expect((await s.api('PUT', '/api/v1/projects/default/connections/vk/media-vk', { settings: {
    access_token: vk.token, group_id: vk.groupId, secret: vk.secret, confirmation: vk.confirmation, api_url: vkUrl,
  } })).status).toBe(200);
});
afterAll(async () => {
  await s.stop();
  await Promise.all([tg.close(), vk.close(), http.close()]);
});

async function sendMedia(node: Record<string, unknown>) {
  const connections = new MemoryConnections([{ name: 'default', connector: 'telegram', settings: { bot_token: tg.token, api_url: apiUrl } }]);
  const ctx = nodeContext({ type: 'telegram.send_media', next: 'done', ...node }, { connections, http, data: { name: 'Анна' } });
  return (await sendMediaNode.run(ctx)) as Outcome & { detail?: Record<string, any>; patch?: Record<string, any> };
}

/** A Bot API call straight to the fake, for its own answers. */
async function callFake(method: string, body: Record<string, unknown>) {
  const res = await fetch(`${apiUrl}/bot${tg.token}/${method}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() as any };
}

describe('telegram.send_media', () => {
  it('sends a photo by URL with a caption and buttons; its file_id sends the file again without a URL', async () => {
    const chat = newChat();
    const out = await sendMedia({
      chat_id: chat, media: 'photo', file: 'https://example.com/img/matrix.jpg', caption: 'Ваша матрица, {{name}}', parse_mode: 'HTML',
      buttons: [[{ text: 'Подробнее', callback_data: 'more' }]], protect_content: true,
    });
    const sent = tg.media.sent.find((m) => m.chat_id === chat)!;
    expect(sent).toMatchObject({
      kind: 'photo', file: 'https://example.com/img/matrix.jpg', caption: 'Ваша матрица, Анна', parse_mode: 'HTML', protect_content: true,
      reply_markup: { inline_keyboard: [[{ text: 'Подробнее', callback_data: 'more' }]] },
    });
    expect(out).toMatchObject({ kind: 'go', to: 'done', patch: { message_id: sent.message_id, file_id: sent.file_id } });
    expect(out.detail!.request.url).toBe(`${apiUrl}/bot***/sendPhoto`);
    expect(out.detail!.response.body.result.photo.at(-1).file_id).toBe(sent.file_id); // the largest size

    const again = await sendMedia({ chat_id: newChat(), media: 'photo', file: out.patch!.file_id });
    expect(again).toMatchObject({ kind: 'go', patch: { file_id: sent.file_id } });
    // A photo's file_id is not a document's.
    const wrongType = await sendMedia({ chat_id: newChat(), media: 'document', file: out.patch!.file_id });
    expect(wrongType).toMatchObject({ kind: 'fail', error: 'Bad Request: type of file mismatch', detail: { code: 400 } });
  });

  it('documents and videos answer in Telegram\'s shapes', async () => {
    const doc = await sendMedia({ chat_id: newChat(), media: 'document', file: 'https://example.com/files/guide.pdf' });
    expect(doc.detail!.response.body.result.document).toMatchObject({ file_name: 'guide.pdf', mime_type: 'application/pdf', file_id: doc.patch!.file_id });
    const video = await sendMedia({ chat_id: newChat(), media: 'video', file: 'https://example.com/v/intro.mp4', caption: 'Вступление' });
    expect(video.detail!.response.body.result).toMatchObject({ caption: 'Вступление', video: { file_id: video.patch!.file_id, mime_type: 'video/mp4' } });
  });

  it('a file Telegram cannot use fails with its reason; a too long caption fails before any call', async () => {
    const unknownId = await sendMedia({ chat_id: newChat(), media: 'document', file: 'BQACAgIAAxkDAAIunknownfileid' });
    expect(unknownId).toMatchObject({ kind: 'fail', error: 'Bad Request: wrong file identifier/HTTP URL specified', detail: { failure: 'fail', code: 400 } });
    tg.media.failUrl('https://example.com/gone.jpg');
    const gone = await sendMedia({ chat_id: newChat(), media: 'photo', file: 'https://example.com/gone.jpg' });
    expect(gone).toMatchObject({ kind: 'fail', error: 'Bad Request: failed to get HTTP URL content' });

    const calls = tg.calls.length;
    const long = await sendMedia({ chat_id: newChat(), media: 'photo', file: 'https://example.com/a.jpg', caption: 'я'.repeat(1025) });
    expect(long).toMatchObject({ kind: 'fail', error: 'caption: 1025 characters, Telegram allows at most 1024' });
    expect(tg.calls.length).toBe(calls);
    const scheme = await sendMedia({ chat_id: newChat(), media: 'photo', file: 'file:///etc/passwd' });
    expect(scheme).toMatchObject({ kind: 'fail', error: expect.stringMatching(/^file: only http\(s\) URLs/) });
    expect(tg.calls.length).toBe(calls);
  });

  it('the fake refuses as Telegram does: caption too long, no file, a blocked person', async () => {
    const chat = newChat();
    expect(await callFake('sendPhoto', { chat_id: chat, photo: 'https://example.com/a.jpg', caption: 'x'.repeat(1025) }))
      .toEqual({ status: 400, body: { ok: false, error_code: 400, description: 'Bad Request: message caption is too long' } });
    expect((await callFake('sendVideo', { chat_id: chat })).body.description).toBe('Bad Request: there is no video in the request');
    tg.block(chat);
    expect(await callFake('sendDocument', { chat_id: chat, document: 'https://example.com/a.pdf' }))
      .toEqual({ status: 403, body: { ok: false, error_code: 403, description: 'Forbidden: bot was blocked by the user' } });
    const out = await sendMedia({ chat_id: chat, media: 'document', file: 'https://example.com/a.pdf', on_unreachable: 'gone' });
    expect(out).toMatchObject({ kind: 'go', to: 'gone', detail: { failure: 'unreachable' } });
  });

  it('a 429 on a file is retried after retry_after and slows the bot, like a message', async () => {
    tg.rateLimit(3, 1);
    const out = await sendMedia({ chat_id: newChat(), media: 'photo', file: 'https://example.com/a.jpg' });
    expect(out).toMatchObject({ kind: 'retry', error: 'Too Many Requests: retry after 3', detail: { code: 429 } });
  });
});

describe('chat.send with media', () => {
  const sentTo = (chat: number) => ({ texts: tg.messages.filter((m) => m.chat_id === String(chat)), files: tg.media.sent.filter((m) => m.chat_id === String(chat)) });

  it('refuses a funnel whose media cannot be sent, naming the field', async () => {
    const bad = async (send: Record<string, unknown>) =>
      (await s.deploy({ name: 'bad-media', nodes: { send: { type: 'chat.send', next: 'end', ...send }, end: { type: 'final' } } })).body.errors;
    expect(await bad({})).toEqual([expect.objectContaining({ path: 'nodes.send', message: 'text: is required (or media)' })]);
    expect(await bad({ text: 'x', media: { type: 'photo' } })).toEqual([expect.objectContaining({ message: 'media: needs url or file_id (Telegram) and/or vk (VK)' })]);
    expect(await bad({ text: 'x', media: { type: 'photo', url: 'ftp://example.com/a.jpg' } })).toEqual([expect.objectContaining({ message: 'media.url: must be an http(s) URL' })]);
    expect(await bad({ text: 'x', media: { type: 'gif', url: 'https://example.com/a.gif' } })).toEqual([expect.objectContaining({ path: 'nodes.send.media.type' })]);
  });

  it('Telegram: a short text is the caption; a long one goes first, and a retry of the file does not send it twice', async () => {
    const long = `Ваш разбор, {{name}}. ${'Подробности. '.repeat(90)}`;
    const res = await s.deploy({
      name: 'gift',
      triggers: [{ on: 'start', bots: ['media-tg'], payload: 'short' }, { on: 'start', bots: ['media-tg'], payload: 'long' }],
      nodes: {
        pick: { type: 'condition', branches: [{ when: { path: 'payload', op: 'eq', value: 'long' }, to: 'long' }], else: 'short' },
        short: { type: 'chat.send', text: 'Подарок для {{name}}', media: { type: 'photo', url: 'https://example.com/gift.jpg', vk: 'photo-1_2' }, buttons: [[{ text: 'Ещё', callback_data: 'more' }]], next: 'end' },
        long: { type: 'chat.send', text: long, media: { type: 'document', url: 'https://example.com/analysis.pdf' }, protect_content: true, next: 'end' },
        end: { type: 'final' },
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);

    tg.pushUpdate(tg.startUpdate(4101, 'short'));
    await s.until(async () => sentTo(4101).files.length >= 1);
    expect(sentTo(4101).texts).toEqual([]);
    expect(sentTo(4101).files).toEqual([expect.objectContaining({
      kind: 'photo', file: 'https://example.com/gift.jpg', caption: expect.stringMatching(/^Подарок для /), reply_markup: { inline_keyboard: [[{ text: 'Ещё', callback_data: 'more' }]] },
    })]);

    // The text goes through; the file then meets a 429 and is retried: the text is not sent again.
    tg.rateLimit(1, 1, 1);
    tg.pushUpdate(tg.startUpdate(4102, 'long'));
    await s.until(async () => sentTo(4102).files.length >= 1, 15_000);
    const { texts, files } = sentTo(4102);
    expect(texts).toHaveLength(1);
    expect([...texts[0].text].length).toBeGreaterThan(1024);
    expect(texts[0]).toMatchObject({ protect_content: true });
    expect(files).toEqual([expect.objectContaining({ kind: 'document', protect_content: true })]);
    expect(files[0].caption).toBeUndefined();
    expect(files[0].message_id).toBeGreaterThan(texts[0].message_id);
    const task = (await s.api('GET', '/api/v1/projects/default/processes/gift/tasks')).body.tasks.find((t: any) => t.data.chat_id === '4102');
    const { task: done, history } = await s.until(async () => {
      const t = await s.task(task.id);
      return t.task.status === 'done' && t;
    });
    expect(done.data.chat_send_text_sent).toBeNull();
    expect(done.data.file_id).toBe(files[0].file_id);
    const events = history.filter((h: any) => h.node === 'long').map((h: any) => h.event);
    expect(events.filter((e: string) => e === 'retry')).toHaveLength(1);
    expect(history.filter((h: any) => h.event === 'entered' && h.detail?.sent === 1)).toHaveLength(2); // two messages counted
  });

  it('VK: the file is the message\'s attachment; a Telegram file_id alone fails naming media.url or media.vk', async () => {
    const hook = `${s.url}/hooks/vk/default/media-vk`;
    const res = await s.deploy({
      name: 'vk-gift',
      triggers: [{ on: 'message', bots: ['media-vk'], match: { mode: 'exact', value: ['подарок', 'файл'] } }],
      nodes: {
        pick: { type: 'condition', branches: [{ when: { path: 'text', op: 'eq', value: 'подарок' }, to: 'gift' }], else: 'only_tg' },
        gift: { type: 'chat.send', text: 'Подарок для вас', media: { type: 'document', url: 'https://example.com/gift.pdf', vk: 'doc-1_77', caption: 'Чек-лист' }, next: 'end' },
        only_tg: { type: 'chat.send', text: 'Файл', media: { type: 'photo', file_id: 'AgACAgIAAxkBAAIBTelegramOnlyFileId' }, next: 'end' },
        end: { type: 'final' },
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
    await vk.deliver(hook, vk.callbackBody('message_new', vk.messageNewObject(8101, 'подарок')));
    await s.until(async () => vk.messages.some((m) => m.peer_id === '8101'));
    expect(vk.messages.filter((m) => m.peer_id === '8101')).toEqual([expect.objectContaining({ message: 'Подарок для вас\n\nЧек-лист', attachment: 'doc-1_77' })]);

    await vk.deliver(hook, vk.callbackBody('message_new', vk.messageNewObject(8102, 'файл')));
    const failed = await s.until(async () => (await s.api('GET', '/api/v1/projects/default/processes/vk-gift/tasks')).body.tasks
      .find((t: any) => t.data.chat_id === '8102' && t.status === 'failed'));
    expect(failed.error).toMatch(/^media\.url or media\.vk: needed to send this file to a VK person/);
    expect(vk.messages.some((m) => m.peer_id === '8102')).toBe(false);
    // The team learns of it in the admin inbox, with the funnel, step, person and reason.
    const inbox = (await s.api('GET', '/api/v1/projects/default/admin-inbox')).body;
    const notes = inbox.notes as Array<{ kind: string; text: string }>;
    expect(notes.filter((n) => n.kind === 'send_error' && n.text.includes(`task ${failed.id}`))).toEqual([
      expect.objectContaining({ text: expect.stringMatching(/^vk-gift: the message of step "only_tg" was not sent to .* in media-vk \(task \d+\): media\.url or media\.vk: needed/) }),
    ]);
  });
});
