import { afterAll, beforeAll, expect, it } from 'vitest';
import type { TestServer } from './support/conveyor.ts';
import { startVkProject, type VkProject } from './support/vk-project.ts';

let p: VkProject;
let s: TestServer;

beforeAll(async () => {
  p = await startVkProject();
  s = p.s;
  for (const def of [
    {
      name: 'warm-up', triggers: [{ on: 'message', match: { mode: 'exact', value: 'интересно' } }],
      nodes: {
        hello: { type: 'chat.send', text: 'Рассказываю о курсе', next: 'ask' },
        ask: { type: 'chat.wait_reply', timeout: '1h', save_to: 'answer', next: 'go', on_timeout: 'go' },
        go: { type: 'funnel.move', process: 'offer' },
      },
    },
    {
      name: 'offer',
      nodes: {
        offer: { type: 'chat.send', text: 'Вы ответили «{{answer}}». Вот предложение', next: 'wait' },
        wait: { type: 'chat.wait_reply', timeout: '1d', next: 'end', on_timeout: 'end' },
        end: { type: 'final' },
      },
    },
  ]) expect((await s.deploy(def)).status, JSON.stringify(def)).toBeLessThan(300);
});
afterAll(async () => p?.stop());

const say = (user: number, text: string) => p.say(user, text);
const texts = (user: number) => p.vk.messages.filter((m) => m.peer_id === String(user)).map((m) => m.message);
const funnels = async (contactId: number) => (await s.api('GET', `/api/v1/projects/default/contacts/${contactId}`)).body.funnels as Array<{ id: number; process: string; nodeId: string }>;

it('funnel.move starts the other funnel for the person with what they answered and ends this one', async () => {
  await say(7001, 'интересно');
  await s.until(async () => texts(7001).length === 1);
  await say(7001, 'хочу скидку');
  await s.until(async () => texts(7001).length === 2);
  expect(texts(7001)).toEqual(['Рассказываю о курсе', 'Вы ответили «хочу скидку». Вот предложение']);
  const contact = (await s.api('GET', '/api/v1/projects/default/contacts?limit=100')).body.contacts.find((c: any) => c.userId === '7001');
  const live = await s.until(async () => {
    const f = await funnels(contact.id);
    return f.length === 1 && f[0].nodeId === 'wait' && f;
  });
  expect(live).toEqual([expect.objectContaining({ process: 'offer', nodeId: 'wait' })]);
  const moved = (await s.api('GET', '/api/v1/projects/default/processes/offer/tasks')).body.tasks.find((t: any) => t.data.contact_id === contact.id);
  expect(moved).toMatchObject({ ref: `contact-${contact.id}`, data: { moved_from: 'warm-up', answer: 'хочу скидку', chat_id: '7001' } });
  const warm = (await s.api('GET', '/api/v1/projects/default/processes/warm-up/tasks')).body.tasks.find((t: any) => t.data.contact_id === contact.id);
  expect(warm.status).toBe('done');
});

it('a person already in the target funnel is not started there twice', async () => {
  await say(7002, 'интересно');
  await s.until(async () => texts(7002).length === 1);
  const contact = (await s.api('GET', '/api/v1/projects/default/contacts?limit=100')).body.contacts.find((c: any) => c.userId === '7002');
  // The person is already in the offer (started by hand here: with no chat, its send parks it as failed).
  const byHand = await s.createTask('offer', { ref: `contact-${contact.id}`, data: { contact_id: contact.id } });
  expect(byHand.status).toBe(201);
  const warm = (await funnels(contact.id)).find((f) => f.process === 'warm-up')!;
  expect((await s.api('POST', `/api/v1/projects/default/tasks/${warm.id}/move`, { node: 'go' })).status).toBe(200);
  await s.until(async () => (await s.task(warm.id)).task.status === 'done');
  const offers = (await s.api('GET', '/api/v1/projects/default/processes/offer/tasks')).body.tasks.filter((t: any) => t.data.contact_id === contact.id);
  expect(offers.map((t: any) => t.id)).toEqual([byHand.body.id]);
});
