import { afterAll, beforeAll, expect, it } from 'vitest';
import { FakeTelegram } from '../src/connectors/telegram/fake-telegram.ts';
import type { TestServer } from './support/conveyor.ts';
import { startVkProject, type VkProject } from './support/vk-project.ts';

let p: VkProject;
let s: TestServer;
const tg = new FakeTelegram('555000:AdminsBotToken_abcdefghijklmnop');
const ADMINS = '-1001234567890';

beforeAll(async () => {
  const [project, tgUrl] = await Promise.all([startVkProject(), tg.start()]);
  p = project;
  s = p.s;
  await s.api('PUT', '/api/v1/projects/default/connections/telegram/admins', { settings: { bot_token: tg.token, api_url: tgUrl } });
  const res = await s.deploy({
    name: 'lead', triggers: [{ on: 'message', match: { mode: 'exact', value: 'заявка' } }],
    nodes: {
      note: { type: 'admin.notify', text: 'Новая заявка от {{user_id}}', next: 'own' },
      own: { type: 'admin.notify', text: 'Только продажникам: {{user_id}}', telegram: { chat_id: '-100555', connection: 'admins' }, next: 'hold' },
      hold: { type: 'delay', duration: '1h', next: 'end' }, // still in the funnel when the second message comes
      end: { type: 'final' },
    },
  });
  expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
});
afterAll(async () => Promise.all([p?.stop(), tg.close()]));

const sentTo = (chat: string) => tg.calls.filter((c) => c.method === 'sendMessage' && String(c.params.chat_id) === chat).map((c) => String(c.params.text));

it('refuses an admin chat setting without a chat id, naming the field', async () => {
  const res = await s.api('PUT', '/api/v1/projects/default/config', { admin_chat: { connection: 'admins' } });
  expect(res.status).toBe(400);
  expect(res.body.message).toMatch(/^body\.admin_chat\.chat_id: /);
});

it('sends every admin note to the admins\' chat once, bundled; a note its node sent to its own chat is not sent again', async () => {
  expect((await s.api('PUT', '/api/v1/projects/default/config', { admin_chat: { chat_id: ADMINS, connection: 'admins' } })).status).toBe(200);
  await p.say(6001, 'заявка');
  await p.say(6001, 'заявка'); // a duplicate trigger: refused, noted
  await s.until(async () => sentTo(ADMINS).join('\n').includes('Повторный триггер'));
  const all = sentTo(ADMINS).join('\n\n');
  expect(all).toContain('Заметка: Новая заявка от 6001');
  expect(all).toMatch(/Повторный триггер: lead: trigger for .* refused: already in this funnel since/);
  expect(all).not.toContain('Только продажникам');
  expect(sentTo('-100555')).toEqual(['Только продажникам: 6001']);
  // Later turns send nothing again.
  const count = sentTo(ADMINS).length;
  await new Promise((r) => setTimeout(r, 3500));
  expect(sentTo(ADMINS)).toHaveLength(count);
  const notes = (await s.api('GET', '/api/v1/projects/default/admin-inbox')).body.notes;
  expect(notes.length).toBeGreaterThanOrEqual(3); // the inbox keeps them all
});
