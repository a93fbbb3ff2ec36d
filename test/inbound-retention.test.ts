import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import type { InboundEvent } from '../src/funnels/inbound-event.ts';
import { SqliteProjectStore } from '../src/storage/sqlite/sqlite-project-store.ts';

let dir: string;
let store: SqliteProjectStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'conveyor-inbound-'));
  store = new SqliteProjectStore('default', join(dir, 'default.db'));
});
afterEach(async () => {
  vi.useRealTimers();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const event = (id: string, kind: InboundEvent['kind'] = 'message'): InboundEvent =>
  ({ platform: 'telegram', botId: '1', userId: '42', chatId: '42', kind, text: 'привет', eventId: id, at: 0 });

it('forgets processed bot updates past the retention, keeps unprocessed ones and payments', async () => {
  vi.useFakeTimers({ now: Date.parse('2026-10-01T00:00:00Z'), toFake: ['Date'] });
  for (const id of ['telegram:1', 'telegram:2', 'telegram:3']) await store.contacts.putInbound(event(id), 'bot', { update_id: id });
  await store.contacts.putInbound({ ...event('payment:succeeded:p-1', 'payment') }, 'bot', {});
  const [first, second, , payment] = await store.contacts.pendingInbound(10);
  for (const e of [first, second, payment]) await store.contacts.markInbound(e.id, 'done');
  vi.setSystemTime(Date.parse('2026-11-23T00:00:00Z'));
  await store.contacts.putInbound(event('telegram:4'), 'bot', {});
  expect(await store.contacts.purgeInbound(Date.now() - 30 * 86_400_000, 1)).toBe(1); // in portions
  expect(await store.contacts.purgeInbound(Date.now() - 30 * 86_400_000, 1000)).toBe(1);
  expect(await store.contacts.purgeInbound(Date.now() - 30 * 86_400_000, 1000)).toBe(0);
  // Left: the old one never processed, the payment, and the new one.
  expect((await store.contacts.pendingInbound(10)).map((e) => e.event.eventId)).toEqual(['telegram:3', 'telegram:4']);
  // A redelivery of a purged update is new again (Telegram redelivers for hours, not a month); a payment stays a duplicate.
  expect(await store.contacts.putInbound(event('telegram:1'), 'bot', {})).toBe(true);
  expect(await store.contacts.putInbound(event('payment:succeeded:p-1', 'payment'), 'bot', {})).toBe(false);
});

it('forgets the sends it noted for telling VK echoes apart once they are old', async () => {
  vi.useFakeTimers({ now: Date.parse('2026-11-01T00:00:00Z'), toFake: ['Date'] });
  await store.contacts.rememberSent({ platform: 'vk', connection: 'bot', chatId: '42', randomId: 1 });
  vi.setSystemTime(Date.parse('2026-11-23T00:00:00Z'));
  await store.contacts.rememberSent({ platform: 'vk', connection: 'bot', chatId: '42', randomId: 2 });
  expect(await store.contacts.purgeSent(Date.now() - 7 * 86_400_000)).toBe(1);
  // The recent one still marks its echo as our own message.
  const echo = (randomId: number): InboundEvent => ({ ...event(`vk:${randomId}`, 'operator_message'), platform: 'vk', sent: { randomId } });
  await store.contacts.putInbound(echo(1), 'bot', {});
  await store.contacts.putInbound(echo(2), 'bot', {});
  expect((await store.contacts.pendingInbound(10)).map((e) => e.event.eventId)).toEqual(['vk:1']);
});
