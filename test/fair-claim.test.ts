import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { SqliteProjectStore } from '../src/storage/sqlite/sqlite-project-store.ts';
import type { ProcessDefinition } from '../src/model/process-definition.ts';

let dir: string;
let store: SqliteProjectStore;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'conveyor-fair-'));
  store = new SqliteProjectStore('default', join(dir, 'default.db'));
  for (const name of ['import', 'site-leads', 'reminders']) {
    await store.deployProcess({ name, nodes: { start: { type: 'final' } } } as unknown as ProcessDefinition, `pub-${name}`);
  }
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const tasks = (process: string, n: number, runAt: number) =>
  Array.from({ length: n }, (_, i) => ({ process, version: 1, ref: `${process}-${i}`, data: {}, nodeId: 'start', runAt }));

it('a backlog of one process does not hold up the due tasks of the others', async () => {
  const now = Date.now();
  await store.createTasks(tasks('import', 5000, now - 60_000), now); // older than everything else
  await store.createTasks(tasks('site-leads', 7, now), now);
  await store.createTasks(tasks('reminders', 3, now - 1000), now);
  const claimed = await store.claimDue(now, 100, 60_000);
  const by = (p: string) => claimed.filter((t) => t.process === p).length;
  expect(claimed).toHaveLength(100);
  expect([by('site-leads'), by('reminders'), by('import')]).toEqual([7, 3, 90]);
  // Claimed tasks are leased: the next claim takes the rest of the import, oldest first, and nothing twice.
  const next = await store.claimDue(now, 100, 60_000);
  expect(next.every((t) => t.process === 'import')).toBe(true);
  expect(new Set([...claimed, ...next].map((t) => t.id)).size).toBe(200);
});

it('shares are equal when every process has a backlog, and tasks not yet due are left alone', async () => {
  const now = Date.now();
  for (const p of ['import', 'site-leads', 'reminders']) await store.createTasks(tasks(p, 500, now - 10), now);
  await store.createTasks(tasks('reminders', 50, now + 3_600_000).map((t) => ({ ...t, ref: `later-${t.ref}` })), now);
  const claimed = await store.claimDue(now, 90, 60_000);
  const counts = Object.fromEntries(['import', 'site-leads', 'reminders'].map((p) => [p, claimed.filter((t) => t.process === p).length]));
  expect(counts).toEqual({ import: 30, 'site-leads': 30, reminders: 30 });
  expect(claimed.every((t) => t.ref?.startsWith('later-') !== true)).toBe(true);
  expect(await store.nextDueAt()).toBe(now - 10);
});

it('a process deployed after the first claim is claimed too', async () => {
  const now = Date.now();
  expect(await store.claimDue(now, 10, 60_000)).toEqual([]);
  await store.deployProcess({ name: 'new-funnel', nodes: { start: { type: 'final' } } } as unknown as ProcessDefinition, 'pub-new');
  await store.createTasks(tasks('new-funnel', 2, now), now);
  expect((await store.claimDue(now, 10, 60_000)).map((t) => t.process)).toEqual(['new-funnel', 'new-funnel']);
});

it('knows the earliest due time without asking the table, and a write of an earlier one is seen at once', async () => {
  const now = Date.now();
  await store.createTasks(tasks('reminders', 1, now + 3_600_000), now);
  expect(await store.nextDueAt()).toBe(now + 3_600_000);
  expect(await store.claimDue(now, 10, 60_000)).toEqual([]); // nothing due: answered from what it knows
  await store.createTasks(tasks('site-leads', 1, now), now); // due now: lowers what it knows
  expect(await store.nextDueAt()).toBe(now);
  expect((await store.claimDue(now, 10, 60_000)).map((t) => t.process)).toEqual(['site-leads']);
  // After a claim it reads the table again: the claimed task's lease is now the earliest.
  expect(await store.nextDueAt()).toBe(now + 60_000);
});
