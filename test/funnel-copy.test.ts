import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeRegistry } from '../src/engine/node-registry.ts';
import { builtinNodeTypes } from '../src/nodes/index.ts';
import { funnelNodeTypes } from '../src/funnels/nodes/index.ts';
import { ConnectorCatalog } from '../src/connectors/connector-catalog.ts';
import { allConnectors } from '../src/connectors/index.ts';
import { copyFunnel } from '../src/funnels/funnel-copy.ts';
import type { ProcessDefinition } from '../src/model/process-definition.ts';
import { FakeVk } from '../src/connectors/vk/fake-vk.ts';
import { startTestServer, type TestServer } from './support/conveyor.ts';

const example = (name: string) => parseYaml(readFileSync(fileURLToPath(new URL(`../examples/funnels/${name}.yaml`, import.meta.url)), 'utf8')) as ProcessDefinition;
const openBot = example('open-bot');
const paidBot = example('paid-bot');

/** The server's node types, put together the way the server does. */
const registry = new NodeRegistry().register(...builtinNodeTypes, ...funnelNodeTypes);
new ConnectorCatalog(registry).add(...allConnectors);

describe('what node types name in the project', () => {
  it('every node type with a connection parameter declares it, so a copy can remap it', () => {
    const undeclared = registry.all()
      .filter((t) => 'connection' in ((t.paramsSchema.properties as object | undefined) ?? {}))
      .filter((t) => !t.refs?.connections?.some((r) => r.path === 'connection'))
      .map((t) => t.type);
    expect(undeclared).toEqual([]);
  });

  it('finds tags, connections and bot usernames in triggers and nodes, including defaults', () => {
    const source: ProcessDefinition = {
      name: 'src', public_id: '777001',
      triggers: [{ on: 'message', bots: ['open-bot', 'vk-bot'], tags_present: ['lead', 'constructor'], tags_absent: ['bought'], once: 'seen' }],
      nodes: {
        check: { type: 'tags.check', has: ['lead'], lacks: ['{{dynamic}}'], next: 'buy', else: 'buy' },
        buy: { type: 'purchase.record', product: 'course', next: 'link' },
        link: { type: 'link.paid', bot_username: '@paid_course_bot', product: 'course', next: 'note' },
        note: { type: 'admin.notify', text: 'hi', telegram: { chat_id: '-100' }, next: 'plain' },
        plain: { type: 'admin.notify', text: 'inbox only', next: 'tg' },
        tg: { type: 'telegram.send_message', chat_id: '1', text: 'x', connection: 'admins', next: 'end' },
        end: { type: 'final' },
      },
    };
    const before = structuredClone(source);
    const out = copyFunnel(source, { as: 'dst', tags: { bought: 'bought_b', typo: 'x' }, bots: { 'open-bot': 'shop-bot', default: 'alerts' } }, {
      project: 'shop', sameProject: false, nodeType: (t) => registry.get(t),
      connections: [{ connector: 'vk', name: 'shop-bot' }, { connector: 'telegram', name: 'alerts' }],
    });
    expect(source).toEqual(before); // the source is not touched
    const d = out.definition;
    expect(d.name).toBe('dst');
    expect(d.public_id).toBeUndefined();
    expect(d.triggers![0]).toMatchObject({ bots: ['shop-bot', 'vk-bot'], tags_present: ['lead', 'constructor'], tags_absent: ['bought_b'], once: 'seen' });
    expect(d.nodes.note.telegram).toEqual({ chat_id: '-100', connection: 'alerts' }); // a remapped default is written out
    expect(d.nodes.plain.telegram).toBeUndefined(); // no telegram: no connection to name
    expect(d.nodes.buy.tag).toBe('bought_b'); // its default "bought", remapped, is written out
    expect(d.nodes.check).toMatchObject({ has: ['lead'], lacks: ['{{dynamic}}'] });
    const same = copyFunnel(source, { as: 'd' }, { project: 'default', sameProject: true, connections: [], nodeType: (t) => registry.get(t) });
    expect(same.definition.nodes.buy.tag).toBeUndefined(); // nothing asked: the default stays implicit
    expect(same.tags_kept).toEqual([]); // the same project shares its tags
    expect(d.nodes.tg.connection).toBe('admins');
    expect(out.tags_kept).toEqual(['constructor', 'lead', 'seen']); // a tag named like an Object method is just a tag
    expect(out.flags).toEqual([
      { trigger: 0, field: 'bots[1]', value: 'vk-bot', reason: 'no bot (telegram or vk connection) "vk-bot" in project "shop"' },
      { node: 'link', field: 'bot_username', value: '@paid_course_bot', reason: 'a bot\'s @username, copied as is: check that it is a bot of project "shop" or remap it' },
      { node: 'tg', field: 'connection', value: 'admins', reason: 'no telegram connection "admins" in project "shop"' },
      { field: 'tags', value: 'typo', reason: 'no tag "typo" in process "src": nothing remapped' },
    ]);
  });
});

describe('copying a funnel over the API', () => {
  let s: TestServer;
  const vk = new FakeVk();
  let vkUrl: string;
  const vkBot = (project: string, name: string) =>
    s.api('PUT', `/api/v1/projects/${project}/connections/vk/${name}`, { settings: {
      access_token: vk.token, group_id: vk.groupId, secret: vk.secret, confirmation: vk.confirmation, api_url: vkUrl,
    } });
  const copy = (body: unknown, from = 'open-bot', project = 'default') => s.api('POST', `/api/v1/projects/${project}/processes/${from}/copy`, body);
  const definition = async (project: string, name: string) => (await s.api('GET', `/api/v1/projects/${project}/processes/${name}`)).body;

  beforeAll(async () => {
    const [server, url] = await Promise.all([startTestServer({ masterKey: 'k' }), vk.start()]);
    s = server;
    vkUrl = url;
    expect((await vkBot('default', 'open-bot')).status).toBe(200);
    for (const def of [openBot, paidBot]) expect((await s.deploy(def)).status).toBe(201);
    expect((await s.api('POST', '/api/v1/projects', { name: 'shop' })).status).toBe(201);
    expect((await vkBot('shop', 'shop-bot')).status).toBe(200); // the open bot, under another name there
  });
  afterAll(async () => {
    await s.stop();
    await vk.close();
  });

  it('copies the seed-001 open bot inside its project under a new name, with a tag remapped', async () => {
    const res = await copy({ as: 'open-bot-spring', tags: { bought: 'bought_spring' } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ project: 'default', process: 'open-bot-spring', version: 1, flags: [], tags_kept: [] });
    const got = await definition('default', 'open-bot-spring');
    const expected = structuredClone(openBot);
    expected.name = 'open-bot-spring';
    for (const t of expected.triggers!) t.tags_absent = t.tags_absent!.map((x) => (x === 'bought' ? 'bought_spring' : x));
    expect(got.definition).toEqual(expected);
    // Its own public URL: neither the id nor the secret of the source.
    const [a, b] = await Promise.all(['open-bot', 'open-bot-spring'].map(async (p) => (await s.api('GET', `/api/v1/projects/default/processes/${p}/public-url`)).body));
    expect(b.publicId).not.toBe(a.publicId);
    expect(b.secret).not.toBe(a.secret);
  });

  it('copies into another project: a bot there under another name is remapped, a missing one is flagged, other tags listed', async () => {
    const open = await copy({ as: 'open-bot', to_project: 'shop', bots: { 'open-bot': 'shop-bot' }, tags: { wrote_birthday: 'shop_birthday' } });
    expect(open.status, JSON.stringify(open.body)).toBe(201);
    expect(open.body).toMatchObject({ project: 'shop', process: 'open-bot', version: 1, flags: [], tags_kept: ['bought', 'got_analysis'] });
    const def = (await definition('shop', 'open-bot')).definition;
    expect(def.triggers.map((t: any) => t.bots)).toEqual([['shop-bot'], ['shop-bot']]);
    expect(def.nodes.tag_birthday.tags).toEqual(['shop_birthday']);

    const paid = await copy({ as: 'paid-bot', to_project: 'shop' }, 'paid-bot');
    expect(paid.status, JSON.stringify(paid.body)).toBe(201);
    expect(paid.body.flags).toEqual([{ trigger: 0, field: 'bots[0]', value: 'paid-bot', reason: 'no bot (telegram or vk connection) "paid-bot" in project "shop"' }]);
    expect(paid.body.tags_kept).toEqual(['bought', 'entered_paid']);
    // Each project keeps its own: the source is as it was.
    const source = await definition('default', 'open-bot');
    expect(source.version).toBe(1);
    expect(source.definition).toEqual(openBot);
  });

  it('the copy\'s trigger fires on a VK message in the other project and tags the person with the remapped tag', async () => {
    const hook = `${s.url}/hooks/vk/shop/shop-bot`;
    const say = (text: string) => vk.deliver(hook, vk.callbackBody('message_new', vk.messageNewObject(2001, text)));
    const sent = () => vk.messages.filter((m) => m.peer_id === '2001').map((m) => m.message);
    expect(await say('Хочу подробнее')).toEqual({ status: 200, text: 'ok' });
    await s.until(async () => sent().length >= 1);
    expect(sent()[0]).toBe(openBot.nodes.hello.text);
    await say('01.02.1990');
    await s.until(async () => sent().length >= 2);
    expect(sent()[1]).toBe('Ваш разбор по дате 01.02.1990 готовлю — пришлю сегодня.');
    const person = await s.until(async () => {
      const c = (await s.api('GET', '/api/v1/projects/shop/contacts?limit=1000')).body.contacts.find((x: any) => x.userId === '2001');
      return c?.tags.includes('got_analysis') && c;
    });
    expect([...person.tags].sort()).toEqual(['got_analysis', 'shop_birthday']);
    expect(person.bots).toEqual([expect.objectContaining({ connection: 'shop-bot' })]);
    const inDefault = (await s.api('GET', '/api/v1/projects/default/contacts?limit=1000')).body.contacts;
    expect(inDefault.some((x: any) => x.userId === '2001')).toBe(false);
  });

  it('refuses to overwrite an existing process unless asked, then deploys the copy as its next version', async () => {
    const again = await copy({ as: 'open-bot-spring', tags: { bought: 'bought_2027' } });
    expect(again.status).toBe(409);
    expect(again.body.message).toMatch(/^as: process "open-bot-spring" already exists in project "default" \(v1\); send "replace": true/);
    const publicId = (await definition('default', 'open-bot-spring')).publicId;
    const replaced = await copy({ as: 'open-bot-spring', tags: { bought: 'bought_2027' }, replace: true });
    expect(replaced.status, JSON.stringify(replaced.body)).toBe(201);
    expect(replaced.body).toMatchObject({ process: 'open-bot-spring', version: 2 });
    const now = await definition('default', 'open-bot-spring');
    expect(now.definition.triggers[0].tags_absent).toEqual(['bought_2027']);
    expect(now.publicId).toBe(publicId); // a new version keeps its public URL
  });

  it('answers a bad body with 400 naming the field, and unknown projects or processes with 404', async () => {
    const bad = async (body: unknown) => {
      const r = await copy(body);
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      return r.body.message as string;
    };
    expect(await bad({})).toBe('body.as: is required');
    expect(await bad({ as: 'has spaces' })).toMatch(/^body\.as: must match pattern/);
    expect(await bad({ as: 'x', tags: { bought: '' } })).toMatch(/^body\.tags\.bought: /);
    expect(await bad({ as: 'x', colour: 'red' })).toMatch(/^body\.colour: unknown field/);
    expect(await bad({ as: 'x', tags: { bought: 'b'.repeat(100) + 'x' } })).toMatch(/^body\.tags\.bought: /);

    const nf = async (r: Promise<{ status: number; body: any }>) => {
      const x = await r;
      expect(x.status).toBe(404);
      return x.body.message as string;
    };
    expect(await nf(copy({ as: 'x' }, 'open-bot', 'nowhere'))).toBe('project "nowhere" not found');
    expect(await nf(copy({ as: 'x' }, 'no-such-funnel'))).toBe('process "no-such-funnel" not found in project "default"');
    expect(await nf(copy({ as: 'x', to_project: 'nowhere' }))).toBe('to_project: project "nowhere" not found');
    expect(await nf(copy({ as: 'x', version: 9 }))).toBe('process "open-bot" v9 not found in project "default"');
    expect((await s.api('GET', '/api/v1/projects/default/processes/x')).status).toBe(404); // nothing was deployed
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await s.api('GET', '/docs/json')).body;
    const op = doc.paths['/api/v1/projects/{project}/processes/{process}/copy'].post;
    expect(op.summary).toMatch(/^Copy a process/);
    expect(op.requestBody.content['application/json'].schema.required).toEqual(['as']);
  });

  it('the CLI copies with --tag and --bot and lists the flags', async () => {
    const bin = fileURLToPath(new URL('../bin/conveyor.js', import.meta.url));
    const cli = async (...args: string[]) => {
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CONVEYOR_')));
      try {
        const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, '--url', s.url, '--key', 'test-key', ...args], { env });
        return { code: 0, out: stdout, err: stderr };
      } catch (e: any) {
        return { code: e.code as number, out: e.stdout as string, err: e.stderr as string };
      }
    };
    const ok = await cli('process', 'copy', 'paid-bot', '--as', 'paid-cli', '--to-project', 'shop', '--tag', 'entered_paid=entered', '--tag', 'bought=paid', '--bot', 'nope=shop-bot');
    expect(ok.code, ok.err).toBe(0);
    const lines = ok.out.trim().split('\n');
    expect(lines[0]).toMatch(/^copied paid-bot to paid-cli v1 in project shop \(public id \d+\)$/);
    expect(lines.slice(1)).toEqual([
      'check these 2:',
      '  trigger 0 bots[0]: no bot (telegram or vk connection) "paid-bot" in project "shop"',
      '  bots: no bot or connection "nope" in process "paid-bot": nothing remapped',
    ]);
    expect((await definition('shop', 'paid-cli')).definition.triggers[0].once).toBe('entered');
    const usage = await cli('process', 'copy', 'paid-bot', '--as', 'x', '--tag', 'no-equals');
    expect(usage.code).toBe(2);
    expect(usage.err).toContain('--tag takes old=new, got "no-equals"');
  }, 30_000);
});
