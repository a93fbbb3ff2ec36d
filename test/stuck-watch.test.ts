import { afterAll, beforeAll, expect, it } from 'vitest';
import type { TestServer } from './support/conveyor.ts';
import { startVkProject, type VkProject } from './support/vk-project.ts';

let p: VkProject;
let s: TestServer;

beforeAll(async () => {
  p = await startVkProject();
  s = p.s;
  for (const def of [
    { // Waits for an answer with a timeout: the person is on schedule, not stuck.
      name: 'asks', triggers: [{ on: 'message', match: { mode: 'exact', value: 'вопрос' } }],
      nodes: { ask: { type: 'chat.wait_reply', timeout: '1h', next: 'end', on_timeout: 'end' }, end: { type: 'final' } },
    },
    { // A photo with no VK form (a Telegram file_id only): the send fails for good and the person is parked on the step.
      name: 'photo', triggers: [{ on: 'message', match: { mode: 'exact', value: 'фото' } }],
      nodes: { send: { type: 'chat.send', media: { type: 'photo', file_id: 'AgACAgIAAxkBAAIBTelegramOnlyFileId' }, next: 'end' }, end: { type: 'final' } },
    },
  ]) expect((await s.deploy(def)).status).toBeLessThan(300);
});
afterAll(async () => p?.stop());

const notes = async (kind: string) =>
  ((await s.api('GET', '/api/v1/projects/default/admin-inbox')).body.notes as Array<{ kind: string; text: string }>).filter((n) => n.kind === kind);

it('refuses a threshold that is not a duration, naming the field', async () => {
  const res = await s.api('PUT', '/api/v1/projects/default/config', { funnel_stuck_after: 'soon' });
  expect(res.status).toBe(400);
  expect(res.body.message).toMatch(/^body\.funnel_stuck_after: /);
});

it('notes a person stuck on a step once, and not one whose step is on schedule', async () => {
  expect((await s.api('PUT', '/api/v1/projects/default/config', { funnel_stuck_after: '1s' })).status).toBe(200);
  await p.say(9001, 'вопрос');
  await p.say(9002, 'фото');
  const failed = await s.until(async () => (await s.api('GET', '/api/v1/projects/default/processes/photo/tasks')).body.tasks
    .find((t: any) => t.status === 'failed'));
  // The failed send itself is noted at once; the stuck note comes after the threshold.
  expect(await notes('send_error')).toEqual([expect.objectContaining({ text: expect.stringContaining(`task ${failed.id}`) })]);
  const stuck = await s.until(async () => {
    const n = await notes('stuck');
    return n.length > 0 && n;
  });
  expect(stuck).toEqual([expect.objectContaining({ text: expect.stringMatching(new RegExp(`^photo: .* is stuck on step "send" \\(failed\\) since .* \\(task ${failed.id}\\)$`)) })]);
  // Checks keep running (every 250 ms at this threshold): still one note, and none for the waiting person.
  await new Promise((r) => setTimeout(r, 1000));
  expect(await notes('stuck')).toHaveLength(1);
});

it('exports the admin inbox and the contacts as CSV tables', async () => {
  const inbox = await fetch(`${s.url}/api/v1/projects/default/admin-inbox?format=csv`, { headers: { authorization: 'Bearer test-key' } });
  expect(inbox.headers.get('content-type')).toMatch(/^text\/csv/);
  const rows = (await inbox.text()).trim().split('\n');
  expect(rows[0]).toBe('id,at,kind,contact_id,text');
  expect(rows.some((r) => /,stuck,\d+,"?photo: .* is stuck on step ""send""/.test(r))).toBe(true);
  const contacts = await fetch(`${s.url}/api/v1/projects/default/contacts?format=csv`, { headers: { authorization: 'Bearer test-key' } });
  const lines = (await contacts.text()).trim().split('\n');
  expect(lines[0]).toBe('id,platform,user_id,name,username,status,tags,bots,variables,created_at');
  expect(lines.slice(1).map((l) => l.split(',').slice(1, 3).join(','))).toEqual(['vk,9001', 'vk,9002']);
});
