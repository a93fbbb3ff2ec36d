import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeTelegram } from '../src/connectors/telegram/fake-telegram.ts';
import { messageUpdate } from '../src/connectors/telegram/fake-telegram-updates.ts';
import { updateToEvent } from '../src/connectors/telegram/telegram-updates.ts';
import { SqliteProjectStore } from '../src/storage/sqlite/sqlite-project-store.ts';
import { startTestServer, type TestServer } from './support/conveyor.ts';

// Inbound events are handled for many people at once, but one person's in the order they came.
let s: TestServer;
const tg = new FakeTelegram('444444:InboundBotToken_abcdefghijklmn');
let hookPath: string;
let secret: string;
const dataDir = mkdtempSync(join(tmpdir(), 'conveyor-inbound-'));

beforeAll(async () => {
  const [server, apiUrl] = await Promise.all([startTestServer({ dataDir }), tg.start()]);
  s = server;
  const saved = await s.api('PUT', '/api/v1/projects/default/connections/telegram/tg', { settings: { bot_token: tg.token, api_url: apiUrl, rate: 1000, burst: 1000 } });
  expect(saved.status, JSON.stringify(saved.body)).toBe(200);
  const hooked = await s.api('POST', '/api/v1/projects/default/connections/telegram/tg/webhook');
  hookPath = new URL(hooked.body.url).pathname;
  secret = String(tg.calls.find((c) => c.method === 'setWebhook')!.params.secret_token);
});
afterAll(async () => {
  await s.stop();
  await tg.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const sentTo = (chat: number) => tg.messages.filter((m) => m.chat_id === String(chat)).map((m) => m.text);
const notes = async () => (await s.api('GET', '/api/v1/projects/default/admin-inbox')).body.notes as Array<{ kind: string; contactId: number; text: string }>;
const contactOf = async (userId: number) => (await s.api('GET', '/api/v1/projects/default/contacts?limit=1000')).body.contacts.find((c: any) => c.userId === String(userId));

describe('inbound events', () => {
  it('a burst from one person is handled in order: the first message answers the first question, a repeated /start starts nothing', async () => {
    const deployed = await s.deploy({
      name: 'survey',
      triggers: [{ on: 'start', bots: ['tg'], once: 'surveyed' }],
      nodes: {
        first: { type: 'chat.wait_reply', timeout: '1h', save_to: 'a1', next: 'second', on_timeout: 'end' },
        second: { type: 'chat.wait_reply', timeout: '1h', save_to: 'a2', next: 'thanks', on_timeout: 'end' },
        thanks: { type: 'chat.send', text: '{{a1}} / {{a2}}', next: 'end' },
        end: { type: 'final' },
      },
    });
    expect(deployed.status, JSON.stringify(deployed.body)).toBeLessThan(300);
    const people = [7101, 7102, 7103];
    // The bursts are stored while the server is down (as after a crash, or Telegram delivering a
    // backlog), so the runtime finds them all pending at once; three people's bursts interleave.
    await s.stop();
    const store = new SqliteProjectStore('default', join(dataDir, 'projects', 'default.db'));
    let updateId = 500;
    for (const step of ['/start', 'один', 'два', 'три', '/start']) {
      for (const p of people) {
        const update = { update_id: updateId++, ...messageUpdate(p, step === 'один' ? `один ${p}` : step) };
        expect(await store.contacts.putInbound(updateToEvent(update, tg.token.split(':')[0])!, 'tg', update)).toBe(true);
      }
    }
    await store.close();
    s = await startTestServer({ dataDir });
    for (const p of people) await s.until(async () => sentTo(p).length >= 1);
    const contacts = await Promise.all(people.map(contactOf));
    // The last event of each person (the second /start) is refused: everything before it was handled.
    const refused = await s.until(async () => {
      const n = (await notes()).filter((x) => x.kind === 'duplicate_trigger' && contacts.some((c) => c.id === x.contactId));
      return n.length >= people.length && n;
    });
    expect(refused.map((n) => n.text)).toEqual(people.map(() => expect.stringMatching(/^survey: trigger for .* refused: already ran on .* \(tag "surveyed"\)$/)));
    for (const p of people) expect(sentTo(p)).toEqual([`один ${p} / два`]);
    const tasks = (await s.api('GET', '/api/v1/projects/default/processes/survey/tasks')).body.tasks;
    expect(tasks.map((t: any) => t.data.contact_id).sort()).toEqual(contacts.map((c) => c.id).sort());
  });

  it('many people writing at once all get their reply, each once', async () => {
    await s.deploy({
      name: 'course',
      triggers: [{ on: 'message', bots: ['tg'], match: { mode: 'contains', value: 'курс' } }],
      nodes: { hello: { type: 'chat.send', text: 'Привет, {{name}}! Вот программа курса.', next: 'end' }, end: { type: 'final' } },
    });
    const people = Array.from({ length: 300 }, (_, i) => 8000 + i);
    let updateId = 900_000;
    const answers = await Promise.all(people.map(async (p) => (await fetch(s.url + hookPath, {
      method: 'POST', body: JSON.stringify({ update_id: updateId++, ...messageUpdate(p, 'Хочу на курс') }),
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret },
    })).status));
    expect(answers.every((a) => a === 200)).toBe(true);
    await s.until(async () => people.every((p) => sentTo(p).length >= 1), 30_000);
    for (const p of people) expect(sentTo(p)).toEqual([`Привет, Test User ${p}! Вот программа курса.`]);
    const all = (await s.api('GET', '/api/v1/projects/default/contacts?limit=1000')).body.contacts.filter((c: any) => Number(c.userId) >= 8000);
    expect(all).toHaveLength(people.length);
  });
});
