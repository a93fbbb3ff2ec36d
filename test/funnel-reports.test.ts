import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeVk } from '../src/connectors/vk/fake-vk.ts';
import { startTestServer, type TestServer } from './support/conveyor.ts';

let s: TestServer;
const vk = new FakeVk();
let hook: string;

beforeAll(async () => {
  const [server, vkUrl] = await Promise.all([startTestServer(), vk.start()]);
  s = server;
  hook = `${s.url}/hooks/vk/default/community`;
  const saved = await s.api('PUT', '/api/v1/projects/default/connections/vk/community', { settings: {
    access_token: vk.token, group_id: vk.groupId, secret: vk.secret, confirmation: vk.confirmation, api_url: vkUrl,
  } });
  expect(saved.status, JSON.stringify(saved.body)).toBe(200);
});
afterAll(async () => {
  await s.stop();
  await vk.close();
});

const event = async (type: string, object: Record<string, unknown>) => expect((await vk.deliver(hook, vk.callbackBody(type, object))).status).toBe(200);
const weekly = (query = '') => s.api('GET', `/api/v1/projects/default/reports/weekly${query}`);

describe('the weekly report', () => {
  it('counts new contacts and those who unsubscribed or blocked, per ISO week', async () => {
    for (const user of [3001, 3002, 3003, 3004]) await event('message_new', vk.messageNewObject(user, 'здравствуйте'));
    await event('message_deny', { user_id: 3002 }); // blocked
    await event('group_leave', { user_id: 3003, self: 1 }); // left the community: unsubscribed
    await event('message_deny', { user_id: 3004 }); // blocked, then allowed messages again: still a block this week
    await event('message_allow', { user_id: 3004 });
    await event('message_deny', { user_id: 3002 }); // already blocked: not a new change

    const rows = await s.until(async () => {
      const { body } = await weekly('?weeks=3');
      const now = body.weeks?.at(-1);
      return now?.new === 4 && now.unsubscribed === 1 && now.blocked === 2 && (await contactStatus(3004)) === 'active' && body;
    });
    expect(rows.timezone).toBe('Europe/Moscow');
    expect(rows.weeks).toHaveLength(3);
    expect(rows.weeks.slice(0, 2).map((w: any) => [w.new, w.unsubscribed, w.blocked])).toEqual([[0, 0, 0], [0, 0, 0]]);
    // Consecutive ISO weeks, each from a Monday, oldest first.
    for (const w of rows.weeks) {
      expect(w.week).toMatch(/^\d{4}-W\d\d$/);
      expect(new Date(`${w.from}T00:00:00Z`).getUTCDay()).toBe(1);
    }
    const froms = rows.weeks.map((w: any) => Date.parse(`${w.from}T00:00:00Z`));
    expect(froms.slice(1).map((f: number, i: number) => (f - froms[i]) / 86_400_000)).toEqual([7, 7]);
    expect((await contactStatus(3002))).toBe('blocked');
    expect((await contactStatus(3003))).toBe('unsubscribed');

    const csv = String((await weekly('?weeks=2&format=csv')).body).trim().split('\n');
    expect(csv[0]).toBe('week,from,new,unsubscribed,blocked');
    expect(csv[2]).toBe(`${rows.weeks[2].week},${rows.weeks[2].from},4,1,2`);
    expect((await weekly()).body.weeks).toHaveLength(8);
  });

  it('refuses a bad number of weeks or time zone, naming the field', async () => {
    const zero = await weekly('?weeks=0');
    expect(zero.status).toBe(400);
    expect(zero.body.message).toMatch(/^querystring\.weeks: /);
    expect((await weekly('?weeks=105')).status).toBe(400);
    const zone = await weekly('?timezone=Mars/Olympus');
    expect(zone.status).toBe(400);
    expect(zone.body).toMatchObject({ field: 'timezone', message: expect.stringMatching(/^timezone: /) });
  });
});

async function contactStatus(userId: number): Promise<string | undefined> {
  const contacts = (await s.api('GET', '/api/v1/projects/default/contacts?limit=1000')).body.contacts as Array<{ userId: string; status: string }>;
  return contacts.find((c) => c.userId === String(userId))?.status;
}
