import { FakeVk } from '../../src/connectors/vk/fake-vk.ts';
import { startTestServer, type TestServer } from './conveyor.ts';

/** A server whose `default` project has a VK community bot on a fake VK, and a way to write to it. */
export interface VkProject {
  s: TestServer;
  vk: FakeVk;
  /** The Callback API URL of the bot. */
  hook: string;
  /** A person's message to the community, as VK's Callback API delivers it. */
  say(user: number, text: string): Promise<unknown>;
  stop(): Promise<void>;
}

export async function startVkProject(connection = 'vk-bot'): Promise<VkProject> {
  const vk = new FakeVk();
  const [s, vkUrl] = await Promise.all([startTestServer({ masterKey: 'k' }), vk.start()]);
  const hook = `${s.url}/hooks/vk/default/${connection}`;
  const saved = await s.api('PUT', `/api/v1/projects/default/connections/vk/${connection}`, { settings: {
    access_token: vk.token, group_id: vk.groupId, secret: vk.secret, confirmation: vk.confirmation, api_url: vkUrl,
  } });
  if (saved.status !== 200) throw new Error(`the VK connection was refused: ${JSON.stringify(saved.body)}`);
  return {
    s, vk, hook,
    say: (user, text) => vk.deliver(hook, vk.callbackBody('message_new', vk.messageNewObject(user, text))),
    stop: async () => {
      await s.stop();
      await vk.close();
    },
  };
}
