import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeTelegram } from '../../src/connectors/telegram/fake-telegram.ts';
import { startTestServer, type TestServer } from '../support/conveyor.ts';

// Seed 001: the person writes to the seller's own Telegram account (Telegram Business, the bot
// connected to it); the funnel's answers must come from that account, in that chat.
const OWNER = 900;
const CONN = `BConn${OWNER}`;
let s: TestServer;
const tg = new FakeTelegram('444444:BusinessBotToken_abcdefghijklmn');

/** The project's stored inbound events (the real SQLite file, read-only beside the server). */
function inbound(): Array<{ event: any; outcome: string | null; processed: boolean }> {
  const db = new Database(join(s.dataDir, 'projects', 'default.db'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT event, outcome, processed_at FROM inbound ORDER BY id').all() as Array<{ event: string; outcome: string | null; processed_at: number | null }>)
      .map((r) => ({ event: JSON.parse(r.event), outcome: r.outcome, processed: r.processed_at !== null }));
  } finally {
    db.close();
  }
}
const sentTo = (chat: number) => tg.messages.filter((m) => m.chat_id === String(chat));

beforeAll(async () => {
  const [server, url] = await Promise.all([startTestServer({ masterKey: 'k' }), tg.start()]);
  s = server;
  expect((await s.api('PUT', '/api/v1/projects/default/connections/telegram/biz-tg', { settings: { bot_token: tg.token, api_url: url } })).status).toBe(200);
  expect((await s.api('POST', '/api/v1/projects/default/connections/telegram/biz-tg/webhook')).status).toBe(200);
  const price = await s.deploy({
    name: 'price',
    triggers: [{ on: 'message', match: { mode: 'contains', value: 'цена' } }],
    nodes: {
      hi: { type: 'chat.send', text: 'Курс стоит 10 000 ₽. Как вас зовут?', next: 'ask' },
      ask: { type: 'chat.wait_reply', timeout: '1h', save_to: 'answer', next: 'thanks', on_timeout: 'end' },
      thanks: { type: 'chat.send', text: 'Спасибо, {{answer}}!', next: 'end' },
      end: { type: 'final' },
    },
  });
  expect(price.status, JSON.stringify(price.body)).toBeLessThan(300);
  const paid = await s.deploy({
    name: 'paid',
    triggers: [{ on: 'operator_message', match: { mode: 'exact', value: 'оплатил' }, stop: 'all', once: 'bought' }],
    nodes: { link: { type: 'chat.send', text: 'Ваша ссылка на курс', next: 'end' }, end: { type: 'final' } },
  });
  expect(paid.status, JSON.stringify(paid.body)).toBeLessThan(300);
  const direct = await s.deploy({
    name: 'direct',
    nodes: { send: { type: 'telegram.send_message', connection: 'biz-tg', chat_id: '{{chat}}', text: 'Напоминание', business_connection_id: '{{via}}', next: 'end' }, end: { type: 'final' } },
  });
  expect(direct.status, JSON.stringify(direct.body)).toBeLessThan(300);
});
afterAll(async () => {
  await s.stop();
  await tg.close();
});

describe('Telegram Business chats', () => {
  it('the connection is recorded; the funnel answers through it, ignores its own echoes, and the owner\'s code word starts the paid funnel there', async () => {
    tg.pushUpdate(tg.business.connect(OWNER));
    const connected = await s.until(async () => inbound().find((r) => r.event.businessConnectionId === CONN && r.event.settled));
    expect(connected).toMatchObject({ processed: true, outcome: expect.stringMatching(/^business connection BConn900 of Owner \(Telegram user 900\) is enabled/) });

    tg.pushUpdate(tg.businessCustomerUpdate(501, OWNER, 'Какая цена у курса?'));
    await s.until(async () => sentTo(501).length >= 1);
    expect(sentTo(501)[0]).toMatchObject({ text: 'Курс стоит 10 000 ₽. Как вас зовут?', business_connection_id: CONN });

    tg.pushUpdate(tg.businessCustomerUpdate(501, OWNER, 'Анна'));
    await s.until(async () => sentTo(501).length >= 2);
    expect(sentTo(501)[1]).toMatchObject({ text: 'Спасибо, Анна!', business_connection_id: CONN });

    // The owner types the code word in the customer's chat: the paid funnel answers there, as the account.
    tg.pushUpdate(tg.businessOperatorUpdate(501, OWNER, 'оплатил'));
    await s.until(async () => sentTo(501).length >= 3);
    expect(sentTo(501)[2]).toMatchObject({ text: 'Ваша ссылка на курс', business_connection_id: CONN });
    const contact = (await s.api('GET', '/api/v1/projects/default/contacts?limit=100')).body.contacts.find((c: any) => c.userId === '501');
    expect(contact.tags).toEqual(['bought']);

    // Telegram sent our three replies back as business messages (sender_business_bot): none is stored
    // as an event, so none could be taken for the owner's code word.
    await tg.settled();
    const events = inbound().filter((r) => r.event.userId === '501').map((r) => [r.event.kind, r.event.text]);
    expect(events).toEqual([['message', 'Какая цена у курса?'], ['message', 'Анна'], ['operator_message', 'оплатил']]);
    expect(inbound().filter((r) => r.event.userId === '501').every((r) => r.event.businessConnectionId === CONN)).toBe(true);
  });

  it('a person writing to the bot itself is answered by the bot, without a business connection', async () => {
    tg.pushUpdate(tg.messageUpdate(502, 'цена?'));
    await s.until(async () => sentTo(502).length >= 1);
    expect(sentTo(502)[0].text).toBe('Курс стоит 10 000 ₽. Как вас зовут?');
    expect(sentTo(502)[0]).not.toHaveProperty('business_connection_id');
    const task = (await s.api('GET', '/api/v1/projects/default/processes/price/tasks')).body.tasks.find((t: any) => t.data.chat_id === '502');
    expect(task.data).not.toHaveProperty('business_connection_id');
  });

  it('the owner switching the bot off is recorded; sends through a switched-off or unknown connection fail as Telegram refuses them', async () => {
    tg.pushUpdate(tg.business.disconnect(OWNER));
    const off = await s.until(async () => inbound().find((r) => r.event.settled && /switched off/.test(r.outcome ?? '')));
    expect(off).toMatchObject({ processed: true, event: { kind: 'blocked', userId: String(OWNER), businessConnectionId: CONN } });
    // A settled event reaches no funnel: the owner did not become a contact.
    const owners = (await s.api('GET', '/api/v1/projects/default/contacts?limit=100')).body.contacts.filter((c: any) => c.userId === String(OWNER));
    expect(owners).toEqual([]);

    const refused = (await s.createTask('direct', { data: { chat: 501, via: CONN } })).body;
    const unknown = (await s.createTask('direct', { data: { chat: 501, via: 'BConnNope' } })).body;
    const failed = async (id: number) => s.until(async () => {
      const { task: t } = await s.task(id);
      return t.status === 'failed' && t;
    });
    expect((await failed(refused.id)).error).toMatch(/Bad Request: BUSINESS_CONNECTION_INVALID/);
    expect((await failed(unknown.id)).error).toMatch(/Bad Request: business connection not found/);
    expect(sentTo(501)).toHaveLength(3);

    // Reconnected: the same connection works again.
    tg.pushUpdate(tg.business.connect(OWNER));
    const again = (await s.createTask('direct', { data: { chat: 501, via: CONN } })).body;
    await s.until(async () => (await s.task(again.id)).task.status === 'done');
    expect(sentTo(501)[3]).toMatchObject({ text: 'Напоминание', business_connection_id: CONN });
  });
});
