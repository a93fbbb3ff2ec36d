import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../support/conveyor.ts';
import { startFakeServer, type FakeServer } from '../support/fake-http-server.ts';
import { startVkProject, type VkProject } from '../support/vk-project.ts';

let p: VkProject;
let s: TestServer;
let files: FakeServer;

// A PDF and a PNG with every byte value in them: what VK receives must be the file, byte for byte.
const PDF = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(64 * 1024), Buffer.from('\n%%EOF\n')]);
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(4096)]);

/** A funnel started by a code word that sends one file by URL with a text. */
const funnel = (name: string, word: string, media: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  name, triggers: [{ on: 'message', match: { mode: 'exact', value: word } }],
  nodes: {
    send: { type: 'chat.send', text: 'Держите, {{name}}', media, retry: { attempts: 4, base: '50ms', max: '200ms' }, next: 'end', ...extra },
    end: { type: 'final' },
  },
});

beforeAll(async () => {
  [p, files] = await Promise.all([startVkProject(), startFakeServer()]);
  s = p.s;
  files.on('GET', '/checklist.pdf', { status: 200, body: PDF, headers: { 'content-type': 'application/pdf' } });
  files.on('GET', '/matrix', { status: 200, body: PNG, headers: { 'content-type': 'image/png' } });
  files.on('GET', '/old-link.png', { status: 302, headers: { location: '/matrix' } });
  files.on('GET', '/page.html', { status: 200, body: '<html>not a picture</html>', headers: { 'content-type': 'text/html' } });
  files.on('GET', '/huge.pdf', { status: 200, body: Buffer.alloc(21 * 1024 * 1024, 7), headers: { 'content-type': 'application/pdf' } });
  files.on('GET', '/busy.pdf', { status: 200, body: PDF, headers: { 'content-type': 'application/pdf' } });
  for (const def of [
    funnel('checklist', 'чеклист', { type: 'document', url: `${files.url}/checklist.pdf` }),
    funnel('matrix', 'матрица', { type: 'photo', url: `${files.url}/old-link.png`, caption: 'Ваша матрица' }),
    funnel('gone', 'пропал', { type: 'document', url: `${files.url}/missing.pdf` }),
    funnel('huge', 'огромный', { type: 'document', url: `${files.url}/huge.pdf` }),
    funnel('busy', 'занято', { type: 'document', url: `${files.url}/busy.pdf` }),
    funnel('not-photo', 'страница', { type: 'photo', url: `${files.url}/page.html` }),
    funnel('given', 'готовое', { type: 'photo', url: `${files.url}/matrix`, vk: 'photo-1_2' }),
  ]) {
    const res = await s.deploy(def);
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
  }
});
afterAll(async () => {
  await p?.stop();
  await files?.close();
});

const sentTo = (user: number) => p.vk.messages.filter((m) => m.peer_id === String(user));
const taskOf = async (process: string, user: number, done: (t: any) => boolean) => s.until(async () => {
  const tasks = (await s.api('GET', `/api/v1/projects/default/processes/${process}/tasks`)).body.tasks as any[];
  const t = tasks.find((x) => x.data.chat_id === String(user));
  return t && done(t) && t;
});
const history = async (id: number) => (await s.api('GET', `/api/v1/projects/default/tasks/${id}`)).body.history as any[];

describe('chat.send of a file by URL to VK people', () => {
  it('uploads the checklist once and sends the same attachment to two people', async () => {
    await Promise.all([p.say(8101, 'чеклист'), p.say(8102, 'чеклист')]);
    await s.until(async () => sentTo(8101).length === 1 && sentTo(8102).length === 1);
    expect(files.hits('/checklist.pdf')).toHaveLength(1);
    expect(p.vk.uploads.uploaded).toHaveLength(1);
    expect(p.vk.uploads.uploaded[0]).toMatchObject({ kind: 'doc', name: 'checklist.pdf', type: 'application/pdf', size: PDF.length });
    expect(p.vk.uploads.uploaded[0].bytes.equals(PDF)).toBe(true);
    const saved = p.vk.uploads.saved.find((f) => f.name === 'checklist.pdf')!;
    expect(saved.attachment).toMatch(new RegExp(`^doc-${p.vk.groupId}_\\d+$`));
    for (const user of [8101, 8102]) {
      expect(sentTo(user)).toEqual([expect.objectContaining({ attachment: saved.attachment, message: expect.stringMatching(/^Держите, /) })]);
    }
    const calls = p.vk.calls.map((c) => c.method);
    expect(calls.filter((m) => m === 'docs.getMessagesUploadServer')).toHaveLength(1);
    expect(calls.filter((m) => m === 'docs.save')).toHaveLength(1);
    expect(p.vk.calls.find((c) => c.method === 'docs.getMessagesUploadServer')!.params).toMatchObject({ type: 'doc' });

    // A third person later: the attachment comes from the project's uploaded_files, no download, no upload.
    await p.say(8103, 'чеклист');
    await s.until(async () => sentTo(8103).length === 1);
    expect(sentTo(8103)[0].attachment).toBe(saved.attachment);
    expect(files.hits('/checklist.pdf')).toHaveLength(1);
    expect(p.vk.uploads.uploaded).toHaveLength(1);
  });

  it('a photo follows a redirect, is saved with its access_key, and the caption joins the text', async () => {
    await p.say(8201, 'матрица');
    await s.until(async () => sentTo(8201).length === 1);
    const saved = p.vk.uploads.saved.find((f) => f.kind === 'photo')!;
    expect(saved.attachment).toBe(`photo-${p.vk.groupId}_${saved.id}_${saved.access_key}`);
    expect(sentTo(8201)[0]).toMatchObject({ attachment: saved.attachment, message: expect.stringMatching(/^Держите, .*\n\nВаша матрица$/s) });
    const photo = p.vk.uploads.uploaded.find((f) => f.kind === 'photo')!;
    expect(photo.bytes.equals(PNG)).toBe(true);
    expect(photo.name).toBe('old-link.png');
  });

  it('a file the host does not have fails at once, naming media.url', async () => {
    await p.say(8301, 'пропал');
    const t = await taskOf('gone', 8301, (x) => x.status === 'failed');
    expect(t.error).toBe('media.url: the file host answered HTTP 404');
    expect(files.hits('/missing.pdf')).toHaveLength(1);
    expect(sentTo(8301)).toEqual([]);
  });

  it('a file over 20 MB fails naming media.url, before anything reaches VK', async () => {
    const uploads = p.vk.calls.filter((c) => c.method === 'docs.getMessagesUploadServer').length;
    await p.say(8302, 'огромный');
    const t = await taskOf('huge', 8302, (x) => x.status === 'failed');
    expect(t.error).toBe('media.url: the file is larger than 20 MB');
    expect(p.vk.calls.filter((c) => c.method === 'docs.getMessagesUploadServer')).toHaveLength(uploads);
  });

  it('a file host answering 503 is tried again, then the file goes', async () => {
    files.queue('GET', '/busy.pdf', { status: 503, body: 'Service Unavailable' }, { status: 503, body: 'Service Unavailable' });
    await p.say(8401, 'занято');
    const t = await taskOf('busy', 8401, (x) => x.status === 'done');
    expect(files.hits('/busy.pdf')).toHaveLength(3);
    expect(sentTo(8401)).toEqual([expect.objectContaining({ attachment: expect.stringMatching(/^doc-/) })]);
    const retries = (await history(t.id)).filter((h) => h.event === 'retry');
    expect(retries.map((h) => h.detail)).toEqual([1, 2].map((attempt) => expect.objectContaining({
      error: 'media.url: the file host answered HTTP 503', failure: 'retry', code: 503, attempt, response: expect.objectContaining({ status: 503 }),
    })));
  });

  it('VK\'s errors are classified: an internal error retries, "photo is undefined" fails with VK\'s words', async () => {
    p.vk.internalError(1);
    await p.say(8501, 'страница');
    const t = await taskOf('not-photo', 8501, (x) => x.status === 'failed');
    expect(t.error).toBe('One of the parameters specified was missing or invalid: photo is undefined');
    const events = (await history(t.id)).filter((h) => h.event === 'retry' || h.event === 'failed' || h.event === 'fail');
    expect(events[0].detail).toMatchObject({ error: 'Internal server error', failure: 'retry', code: 10 });
    expect(events.at(-1).detail).toMatchObject({ failure: 'fail', code: 100 });
    // The first attempt met error 10 (retried); the second uploaded a page VK's photo server does not take.
    expect(p.vk.calls.filter((c) => c.method === 'photos.saveMessagesPhoto').at(-1)!.params).toMatchObject({ photo: '[]' });
    expect(sentTo(8501)).toEqual([]);
  });

  it('a remembered attachment VK no longer takes is forgotten and the file uploaded again', async () => {
    const before = p.vk.uploads.saved.find((f) => f.name === 'checklist.pdf')!;
    p.vk.uploads.saved.splice(p.vk.uploads.saved.indexOf(before), 1); // the community deleted the file
    await p.say(8701, 'чеклист');
    const t = await taskOf('checklist', 8701, (x) => x.status === 'done');
    const again = p.vk.uploads.saved.find((f) => f.name === 'checklist.pdf')!;
    expect(again.id).not.toBe(before.id);
    expect(sentTo(8701)).toEqual([expect.objectContaining({ attachment: again.attachment })]);
    expect(files.hits('/checklist.pdf')).toHaveLength(2);
    const retry = (await history(t.id)).find((h) => h.event === 'retry');
    expect(retry.detail).toMatchObject({ failure: 'retry', code: 100, error: expect.stringContaining('the next attempt uploads media.url again') });
  });

  it('media.vk is sent as given, without any upload', async () => {
    const before = p.vk.uploads.uploaded.length;
    await p.say(8601, 'готовое');
    await s.until(async () => sentTo(8601).length === 1);
    expect(sentTo(8601)[0].attachment).toBe('photo-1_2');
    expect(p.vk.uploads.uploaded.length).toBe(before);
  });
});

describe('the fake VK upload server answers as VK does', () => {
  const api = async (method: string, params: Record<string, string>) => {
    const res = await fetch(`${p.vk.url}/method/${method}`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...params, access_token: p.vk.token, v: '5.199' }).toString(),
    });
    return res.json() as Promise<any>;
  };

  it('a tampered hash is error 121; an upload without the file field is refused', async () => {
    const server = (await api('photos.getMessagesUploadServer', { peer_id: '1' })).response;
    expect(server).toMatchObject({ album_id: -3, user_id: 0, group_id: p.vk.groupId, upload_url: expect.stringContaining('/upload/photo?') });
    const form = new FormData();
    form.set('photo', new Blob([new Uint8Array(PNG)], { type: 'image/png' }), 'a.png');
    const up = await (await fetch(server.upload_url, { method: 'POST', body: form })).json() as any;
    expect(up).toEqual({ server: expect.any(Number), photo: expect.any(String), hash: expect.any(String) });
    const bad = await api('photos.saveMessagesPhoto', { server: String(up.server), photo: up.photo, hash: 'x'.repeat(32) });
    expect(bad.error).toMatchObject({ error_code: 121, error_msg: 'Invalid hash' });

    const doc = (await api('docs.getMessagesUploadServer', { type: 'doc', peer_id: '1' })).response;
    const empty = new FormData();
    empty.set('document', new Blob(['x']), 'a.txt');
    expect(await (await fetch(doc.upload_url, { method: 'POST', body: empty })).json()).toMatchObject({ error: 'no_file' });
    expect((await api('docs.save', { file: '' })).error).toMatchObject({ error_code: 100 });
  });
});
