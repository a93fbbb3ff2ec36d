import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeVk } from '../../src/connectors/vk/fake-vk.ts';
import { startTestServer, type TestServer } from '../support/conveyor.ts';

// VK posts `message_reply` for every message the community sends, the bot's own messages.send
// included. The code word funnel (seed 001: the operator writes "оплатил") must react to the
// operator only, never to the bot's own message that happens to contain the word.
let s: TestServer;
const vk = new FakeVk();
let hook: string;

function inbound(): Array<{ kind: string; userId: string; text?: string; outcome: string | null }> {
  const db = new Database(join(s.dataDir, 'projects', 'default.db'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT event, outcome FROM inbound ORDER BY id').all() as Array<{ event: string; outcome: string | null }>)
      .map((r) => ({ ...JSON.parse(r.event), outcome: r.outcome }));
  } finally {
    db.close();
  }
}
const say = (from: number, text: string) => vk.deliver(hook, vk.callbackBody('message_new', vk.messageNewObject(from, text)));
const sentTo = (peer: number) => vk.messages.filter((m) => m.peer_id === String(peer)).map((m) => m.message);
const tagsOf = async (userId: number) => (await s.api('GET', '/api/v1/projects/default/contacts?limit=1000')).body.contacts.find((c: any) => c.userId === String(userId))?.tags;
/** Waits until every message sent to `peer` has come back as message_reply and been processed. */
const echoesDone = (peer: number) => s.until(async () => {
  await vk.echoesSettled();
  const mine = inbound().filter((e) => e.userId === String(peer) && e.kind === 'operator_message');
  return sentTo(peer).length > 0 && mine.length >= sentTo(peer).length && mine.every((e) => e.outcome !== null) && mine;
});

beforeAll(async () => {
  const [server, vkUrl] = await Promise.all([startTestServer({ masterKey: 'k' }), vk.start()]);
  s = server;
  hook = `${s.url}/hooks/vk/default/club`;
  const saved = await s.api('PUT', '/api/v1/projects/default/connections/vk/club', { settings: {
    access_token: vk.token, group_id: vk.groupId, secret: vk.secret, confirmation: vk.confirmation, api_url: vkUrl,
  } });
  expect(saved.status, JSON.stringify(saved.body)).toBe(200);
  for (const def of [
    {
      name: 'welcome',
      triggers: [{ on: 'message', match: { mode: 'contains', value: 'старт' } }],
      nodes: { hi: { type: 'chat.send', text: 'Когда оплатите, напишите администратору: оплатил', next: 'end' }, end: { type: 'final' } },
    },
    {
      name: 'paid',
      triggers: [{ on: 'operator_message', match: { mode: 'contains', value: 'оплатил' }, once: 'bought' }],
      nodes: { link: { type: 'chat.send', text: 'Ссылка на курс: https://vk.me/paid', next: 'end' }, end: { type: 'final' } },
    },
  ]) {
    const res = await s.deploy(def);
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
  }
});
afterAll(async () => {
  await s.stop();
  await vk.close();
});

describe('VK message_reply echoes of our own messages', () => {
  it('an echo that arrives before messages.send answers is our own message, not a code word', async () => {
    vk.echoTo(hook, 'before');
    await say(2001, 'старт');
    const echoes = await echoesDone(2001);
    expect(sentTo(2001)).toEqual(['Когда оплатите, напишите администратору: оплатил']);
    expect(echoes.map((e) => [e.text, e.outcome])).toEqual([['Когда оплатите, напишите администратору: оплатил', 'own message']]);
    expect(await tagsOf(2001)).toEqual([]);
  });

  it('so is one that arrives after, and one whose send answer was lost (known by its random_id)', async () => {
    vk.echoTo(hook, 'after');
    await say(2002, 'старт');
    await s.until(async () => sentTo(2002).length >= 1);
    vk.loseAnswers(1); // sent, then the connection is cut: the retry gets VK's "already sent" answer
    await say(2003, 'старт');
    await s.until(async () => sentTo(2003).length >= 1);
    for (const peer of [2002, 2003]) {
      const echoes = await echoesDone(peer);
      expect(echoes.map((e) => e.outcome)).toEqual(['own message']);
      expect(await tagsOf(peer)).toEqual([]);
    }
    expect(sentTo(2003)).toHaveLength(1); // VK's random_id check kept the retry from sending twice
  });

  it('an operator typing the code word (VK names them in admin_author_id) starts the paid funnel; its own reply is ignored again', async () => {
    const typed = await vk.deliver(hook, vk.callbackBody('message_reply', vk.operatorReplyObject(2002, 'оплатил', 777_001)));
    expect(typed).toEqual({ status: 200, text: 'ok' });
    await s.until(async () => sentTo(2002).length >= 2);
    expect(sentTo(2002)[1]).toBe('Ссылка на курс: https://vk.me/paid');
    expect(await tagsOf(2002)).toEqual(['bought']);
    const events = await s.until(async () => {
      await vk.echoesSettled();
      const e = inbound().filter((x) => x.userId === '2002' && x.kind === 'operator_message');
      return e.length === 3 && e.every((x) => x.outcome !== null) && e;
    });
    expect(events.map((e) => [e.text, e.outcome])).toEqual([
      ['Когда оплатите, напишите администратору: оплатил', 'own message'],
      ['оплатил', expect.stringMatching(/^started paid task \d+$/)],
      ['Ссылка на курс: https://vk.me/paid', 'own message'],
    ]);
  });

  it('a message another app sent for the community (not one of ours) still counts as the community\'s word', async () => {
    const other = { ...vk.operatorReplyObject(2001, 'оплатил', 1), random_id: 123_456 };
    delete (other as Record<string, unknown>).admin_author_id;
    await vk.deliver(hook, vk.callbackBody('message_reply', other));
    await s.until(async () => (await tagsOf(2001))?.includes('bought'));
    expect(sentTo(2001)).toEqual(['Когда оплатите, напишите администратору: оплатил', 'Ссылка на курс: https://vk.me/paid']);
  });
});
