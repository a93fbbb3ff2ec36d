import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bracketQuery } from '../../src/connectors/bitrix24/bitrix24-batch.ts';
import { bitrix24Connector } from '../../src/connectors/bitrix24/bitrix24-connector.ts';
import { callNode } from '../../src/connectors/bitrix24/call-node.ts';
import { FakeBitrix24 } from '../../src/connectors/bitrix24/fake-bitrix24.ts';
import { parseBracketQuery } from '../../src/connectors/bitrix24/fake-bitrix24-crm.ts';
import { contactFindNode, duplicateFindNode, leadFindNode } from '../../src/connectors/bitrix24/find-nodes.ts';
import { leadAddNode, leadUpdateNode } from '../../src/connectors/bitrix24/lead-nodes.ts';
import { ConnectorCatalog } from '../../src/connectors/connector-catalog.ts';
import type { NodeType, Outcome } from '../../src/engine/node-type.ts';
import { NodeRegistry } from '../../src/engine/node-registry.ts';
import { createHttpClient } from '../../src/util/http-client.ts';
import { MemoryConnections, nodeContext } from '../support/node-context.ts';

// A roomy bucket for the file; the rate-limit tests narrow it.
const fake = new FakeBitrix24({ ratePerSecond: 1000, burst: 1000 });
const http = createHttpClient();
let base = '';

beforeAll(async () => {
  base = await fake.start();
});
beforeEach(() => {
  fake.ratePerSecond = 1000;
  fake.burst = 1000;
  fake.resetBucket();
});
afterEach(() => fake.up());
afterAll(async () => {
  await fake.close();
  await http.close();
});

type Detail = Record<string, any>;
type Result = Outcome & { detail?: Detail; patch?: Record<string, any> };

const webhook = (settings: Record<string, unknown> = {}) =>
  new MemoryConnections([{ name: 'default', connector: 'bitrix24', settings: { webhook_url: fake.webhookUrl, ...settings } }]);
const oauth = (settings: Record<string, unknown> = {}) =>
  new MemoryConnections([{
    name: 'default', connector: 'bitrix24',
    settings: {
      portal_url: base, oauth_url: base, client_id: fake.clientId, client_secret: fake.clientSecret,
      access_token: fake.accessToken, refresh_token: fake.refreshToken, ...settings,
    },
  }]);

interface RunOptions { connections?: MemoryConnections; data?: Record<string, unknown>; slowed?: Array<{ key: string; ms: number }>; taskId?: number }

function ctxFor(type: string, node: Record<string, unknown>, o: RunOptions = {}) {
  const ctx = nodeContext({ type, next: 'done', ...node }, { connections: o.connections ?? webhook(), http, slowed: o.slowed, data: o.data ?? {} });
  if (o.taskId !== undefined) ctx.task.id = o.taskId;
  return ctx;
}

async function run(nodeType: NodeType, node: Record<string, unknown>, o: RunOptions = {}): Promise<Result> {
  return (await nodeType.run(ctxFor(nodeType.type, node, o))) as Result;
}

/** No credential of the fake portal appears anywhere in what is kept. */
function expectNoSecrets(value: unknown) {
  const text = JSON.stringify(value);
  for (const s of [fake.webhookCode, fake.accessToken, fake.refreshToken, fake.clientSecret]) expect(text).not.toContain(s);
}

const lead = { type: 'bitrix24.lead.add', fields: { TITLE: 'Watch order: {{name}}', NAME: '{{name}}', UTM_SOURCE: '{{utm}}' }, phone: '+{{phone}}' };

describe('bitrix24.lead.add', () => {
  it('adds a lead through the webhook, with phone and e-mail as multi-fields, the code masked', async () => {
    const out = await run(leadAddNode, { ...lead, email: ['anna@example.com'], params: { REGISTER_SONET_EVENT: 'Y' } }, {
      data: { name: 'Анна', phone: '79161234567', utm: 'partner7' },
    });
    const stored = fake.leads.at(-1)!;
    expect(stored).toMatchObject({
      TITLE: 'Watch order: Анна', NAME: 'Анна', UTM_SOURCE: 'partner7',
      PHONE: [{ VALUE: '+79161234567', VALUE_TYPE: 'WORK' }], EMAIL: [{ VALUE: 'anna@example.com', VALUE_TYPE: 'WORK' }],
    });
    expect(out).toMatchObject({ kind: 'go', to: 'done', patch: { lead_id: stored.ID } });
    expect(out.detail!.request.url).toBe(`${base}/rest/1/***/crm.lead.add.json`);
    expect(out.detail!.response).toMatchObject({ status: 200, body: { result: stored.ID } });
    expectNoSecrets(out);
  });

  it('adds a lead as an OAuth app with ?auth= masked, and keeps the id under save_as', async () => {
    const out = await run(leadAddNode, { ...lead, save_as: 'crm' }, { connections: oauth(), data: { name: 'Ivan', phone: '79990001122', utm: 'x' } });
    const stored = fake.leads.at(-1)!;
    expect(stored.NAME).toBe('Ivan');
    expect(out).toMatchObject({ kind: 'go', patch: { crm: { lead_id: stored.ID } } });
    expect(out.detail!.request.url).toBe(`${base}/rest/crm.lead.add.json?auth=***`);
    expectNoSecrets(out);
  });

  it('refreshes an expired token, saves the new pair to the connection, and retries once', async () => {
    const connections = oauth();
    const [oldAccess, oldRefresh] = [fake.accessToken, fake.refreshToken];
    const refreshes = fake.refreshes;
    fake.expireTokens();
    const out = await run(leadAddNode, lead, { connections, data: { name: 'Olga', phone: '1' } });
    expect(out).toMatchObject({ kind: 'go', patch: { lead_id: fake.leads.at(-1)!.ID } });
    expect(fake.refreshes).toBe(refreshes + 1);
    expect(fake.accessToken).not.toBe(oldAccess);
    expect(connections.updates).toEqual([{ key: 'bitrix24:default', patch: { access_token: fake.accessToken, refresh_token: fake.refreshToken } }]);
    expect(connections.get('bitrix24', 'default').settings).toMatchObject({ access_token: fake.accessToken, refresh_token: fake.refreshToken });
    expect(JSON.stringify(out)).not.toContain(oldRefresh);
    expectNoSecrets(out);
  });

  it('tasks meeting expired_token together share one refresh (Bitrix24 retires the used refresh token)', async () => {
    const connections = oauth();
    const refreshes = fake.refreshes;
    fake.expireTokens();
    const outs = await Promise.all([1, 2, 3].map((i) => run(leadAddNode, lead, { connections, data: { name: `P${i}`, phone: '1' } })));
    expect(outs.map((o) => o.kind)).toEqual(['go', 'go', 'go']);
    expect(fake.refreshes).toBe(refreshes + 1);
    expect(connections.get('bitrix24', 'default').settings.access_token).toBe(fake.accessToken);
  });

  it('a refused refresh (invalid_grant) fails without leaking the client secret', async () => {
    fake.expireTokens();
    const out = await run(leadAddNode, lead, { connections: oauth({ refresh_token: 'retired-refresh-token-000' }), data: { name: 'X', phone: '1' } });
    expect(out).toMatchObject({ kind: 'fail', detail: { failure: 'fail', code: 'invalid_grant' } });
    expect(out.kind === 'fail' && out.error).toContain('refresh');
    expect(out.detail!.request.url).toContain('client_secret=***');
    expectNoSecrets(out);
  });

  it('invalid_token fails at once, without a refresh', async () => {
    const refreshes = fake.refreshes;
    const out = await run(leadAddNode, lead, { connections: oauth({ access_token: 'not-a-token-of-this-portal' }), data: { name: 'X', phone: '1' } });
    expect(out).toMatchObject({ kind: 'fail', error: 'invalid_token: The access token provided is invalid.', detail: { failure: 'fail', code: 'invalid_token' } });
    expect(out.detail!.response.status).toBe(401);
    expect(fake.refreshes).toBe(refreshes);
  });

  it('a wrong webhook code fails with INVALID_CREDENTIALS, the code masked', async () => {
    const wrong = 'wrongwebhookcode77';
    const out = await run(leadAddNode, lead, { connections: webhook({ webhook_url: `${base}/rest/1/${wrong}/` }), data: { phone: '1' } });
    expect(out).toMatchObject({ kind: 'fail', detail: { code: 'INVALID_CREDENTIALS', request: { url: `${base}/rest/1/***/crm.lead.add.json` } } });
    expect(JSON.stringify(out)).not.toContain(wrong);
  });

  it('a validation error (400) fails with Bitrix24\'s description', async () => {
    const out = await run(leadAddNode, { ...lead, email: 'not-an-email' }, { data: { phone: '1' } });
    expect(out).toMatchObject({ kind: 'fail', detail: { failure: 'fail', code: 400 } });
    expect(out.kind === 'fail' && out.error).toBe('E-mail address "not-an-email" is incorrect.');
  });

  it('QUERY_LIMIT_EXCEEDED from the leaky bucket is retried and slows the connection down', async () => {
    fake.ratePerSecond = 0.001;
    fake.burst = 2;
    fake.resetBucket();
    const slowed: Array<{ key: string; ms: number }> = [];
    const outs: Result[] = [];
    for (let i = 0; i < 3; i++) outs.push(await run(leadAddNode, lead, { slowed, data: { phone: String(i + 1) } }));
    expect(outs.map((o) => o.kind)).toEqual(['go', 'go', 'retry']);
    expect(outs[2]).toMatchObject({ error: 'QUERY_LIMIT_EXCEEDED: Too many requests', detail: { failure: 'retry', code: 'QUERY_LIMIT_EXCEEDED', response: { status: 503 } } });
    expect(slowed).toEqual([{ key: 'bitrix24:default', ms: 1000 }]);
  });

  it('OPERATION_TIME_LIMIT is retried after a longer pause; INTERNAL_SERVER_ERROR is retried', async () => {
    const slowed: Array<{ key: string; ms: number }> = [];
    fake.failNext(1, 'OPERATION_TIME_LIMIT');
    const before = Date.now();
    const blocked = await run(leadAddNode, lead, { slowed, data: { phone: '1' } });
    expect(blocked).toMatchObject({ kind: 'retry', detail: { code: 'OPERATION_TIME_LIMIT' } });
    expect(blocked.kind === 'retry' && blocked.at).toBeGreaterThanOrEqual(before + 60_000);
    expect(slowed).toEqual([{ key: 'bitrix24:default', ms: 60_000 }]);
    fake.failNext(1, 'INTERNAL_SERVER_ERROR');
    expect(await run(leadAddNode, lead, { data: { phone: '1' } })).toMatchObject({ kind: 'retry', detail: { code: 'INTERNAL_SERVER_ERROR', response: { status: 500 } } });
  });

  it('a portal down answering 401 with an HTML page, or 503, or cutting the connection, is retried', async () => {
    fake.down('401-html');
    const html = await run(leadAddNode, lead, { connections: oauth(), data: { phone: '1' } });
    expect(html).toMatchObject({ kind: 'retry', detail: { failure: 'retry', code: 401, response: { status: 401 } } });
    expect(html.detail!.response.body).toContain('401 Authorization Required');
    expectNoSecrets(html);
    fake.down('401-empty');
    expect(await run(leadAddNode, lead, { data: { phone: '1' } })).toMatchObject({ kind: 'retry', detail: { code: 401 } });
    fake.down('503');
    expect(await run(leadAddNode, lead, { data: { phone: '1' } })).toMatchObject({ kind: 'retry', detail: { code: 503 } });
    fake.down('reset');
    expect(await run(leadAddNode, lead, { data: { phone: '1' } })).toMatchObject({ kind: 'retry', detail: { code: 'network' } });
  });

  it('a portal that never answers is retried after the node\'s timeout', async () => {
    fake.down('hang');
    const out = await run(leadAddNode, { ...lead, timeout: '200ms' }, { data: { phone: '1' } });
    expect(out).toMatchObject({ kind: 'retry', detail: { failure: 'retry', code: 'timeout' } });
    expect(out.kind === 'retry' && out.error).toContain('200 ms');
    expectNoSecrets(out);
  });
});

describe('bitrix24.lead.add in batches', () => {
  it('50 tasks go in one batch call; a bad command fails only its own task', async () => {
    const requests = fake.requests;
    const batches = fake.byMethod.get('batch') ?? 0;
    const ctxs = Array.from({ length: 50 }, (_, i) => ctxFor('bitrix24.lead.add', { ...lead, email: i === 17 ? 'broken' : `p${i}@example.com` }, {
      taskId: 1000 + i, data: { name: `Lead & Co ${i}`, phone: `7916000${String(i).padStart(4, '0')}`, utm: 'a=b+c' },
    }));
    const outs = (await leadAddNode.runBatch!(ctxs)) as Result[];
    expect(fake.requests).toBe(requests + 1);
    expect(fake.byMethod.get('batch')).toBe(batches + 1);
    expect(outs.filter((o) => o.kind === 'go')).toHaveLength(49);
    const bad = outs[17];
    expect(bad).toMatchObject({ kind: 'fail', error: 'E-mail address "broken" is incorrect.', detail: { failure: 'fail' } });
    expect(Object.keys(bad.detail!.request.body.cmd)).toEqual(['t1017']);
    const good = outs[3];
    const stored = fake.leads.find((l) => l.ID === good.patch!.lead_id)!;
    // The bracket-notation command survives "&", "=", "+" and Cyrillic, and the phone list.
    expect(stored).toMatchObject({ NAME: 'Lead & Co 3', UTM_SOURCE: 'a=b+c', PHONE: [{ VALUE: '+79160000003', VALUE_TYPE: 'WORK' }], EMAIL: [{ VALUE: 'p3@example.com' }] });
    expect(Object.keys(good.detail!.request.body.cmd)).toEqual(['t1003']);
    expect(good.detail!.response.body).toEqual({ result: { t1003: stored.ID } });
    expect(new Set(outs.filter((o) => o.kind === 'go').map((o) => o.patch!.lead_id)).size).toBe(49);
    expectNoSecrets(outs);
  });

  it('a whole-batch failure (rate limit) fails every task with its class', async () => {
    fake.failNext(1, 'QUERY_LIMIT_EXCEEDED');
    const slowed: Array<{ key: string; ms: number }> = [];
    const ctxs = [1, 2, 3].map((i) => ctxFor('bitrix24.lead.add', lead, { taskId: 2000 + i, slowed, data: { phone: String(i) } }));
    const outs = (await leadAddNode.runBatch!(ctxs)) as Result[];
    expect(outs.map((o) => o.kind)).toEqual(['retry', 'retry', 'retry']);
    expect(outs[0].detail).toMatchObject({ code: 'QUERY_LIMIT_EXCEEDED', response: { status: 503 } });
    expect(slowed.length).toBeGreaterThan(0);
    expect(slowed[0]).toEqual({ key: 'bitrix24:default', ms: 1000 });
  });

  it('a task whose fields are empty after templates fails alone; the rest still go', async () => {
    const ctxs = [
      ctxFor('bitrix24.lead.add', { type: 'bitrix24.lead.add', fields: { NAME: '{{name}}' } }, { taskId: 3001, data: { name: 'Ok' } }),
      ctxFor('bitrix24.lead.add', { type: 'bitrix24.lead.add', phone: '{{phone}}' }, { taskId: 3002, data: {} }),
    ];
    const outs = (await leadAddNode.runBatch!(ctxs)) as Result[];
    expect(outs.map((o) => o.kind)).toEqual(['go', 'fail']);
    expect(fake.leads.find((l) => l.ID === outs[0].patch!.lead_id)?.NAME).toBe('Ok');
  });

  it('bracket notation: encoded by the client, read back by the fake like PHP parse_str', () => {
    const params = { fields: { NAME: 'A&B=C+D ä', PHONE: [{ VALUE: '+7 (916) 1', VALUE_TYPE: 'WORK' }], SKIP: null }, params: { X: 'Y' } };
    const qs = bracketQuery(params);
    expect(qs).toContain('fields[PHONE][0][VALUE]=');
    expect(qs).not.toContain('SKIP');
    expect(parseBracketQuery(qs)).toEqual({ fields: { NAME: 'A&B=C+D ä', PHONE: [{ VALUE: '+7 (916) 1', VALUE_TYPE: 'WORK' }] }, params: { X: 'Y' } });
  });
});

describe('finding leads, contacts and duplicates', () => {
  it('lead.find by UTM_SOURCE keeps the first match under save_as with found: true', async () => {
    const id = fake.addLead({ TITLE: 'Partner lead', NAME: 'Boris', UTM_SOURCE: 'partner-find-1', ASSIGNED_BY_ID: 5 });
    const out = await run(leadFindNode, { filter: { UTM_SOURCE: '{{utm}}' }, select: ['ID', 'NAME', 'ASSIGNED_BY_ID'], save_as: 'partner' }, { data: { utm: 'partner-find-1' } });
    expect(out).toMatchObject({ kind: 'go', patch: { partner: { ID: String(id), NAME: 'Boris', ASSIGNED_BY_ID: '5' }, found: true } });
    expect(out.patch!.partner).not.toHaveProperty('TITLE');
    expectNoSecrets(out);
  });

  it('lead.find with no match gives {lead: null, found: false}; an empty filter value does not call Bitrix24', async () => {
    const none = await run(leadFindNode, { filter: { UTM_SOURCE: 'nobody-has-this' } });
    expect(none).toMatchObject({ kind: 'go', patch: { lead: null, found: false } });
    const requests = fake.requests;
    const empty = await run(leadFindNode, { filter: { UTM_SOURCE: '{{utm}}' } }, { data: {} });
    expect(empty).toMatchObject({ kind: 'go', patch: { lead: null, found: false } });
    expect(fake.requests).toBe(requests);
  });

  it('contact.find: the seed\'s partner lookup by UTM_SOURCE', async () => {
    const id = fake.addContact({ NAME: 'Partner Seven', UTM_SOURCE: 'partner-contact-7' });
    const out = await run(contactFindNode, { filter: { UTM_SOURCE: '{{utm_source}}' }, select: ['ID', 'NAME'] }, { connections: oauth(), data: { utm_source: 'partner-contact-7' } });
    expect(out).toMatchObject({ kind: 'go', patch: { contact: { ID: String(id), NAME: 'Partner Seven' }, found: true } });
    expectNoSecrets(out);
  });

  it('duplicate.find by phone (normalized by Bitrix24) and by phone + e-mail in one batch', async () => {
    const a = fake.addLead({ NAME: 'Dup A', PHONE: [{ VALUE: '+7 (916) 555-12-34', VALUE_TYPE: 'WORK' }] });
    const b = fake.addLead({ NAME: 'Dup B', EMAIL: [{ VALUE: 'Dup@Example.com', VALUE_TYPE: 'WORK' }] });
    const byPhone = await run(duplicateFindNode, { phone: '{{phone}}' }, { data: { phone: '79165551234' } });
    expect(byPhone).toMatchObject({ kind: 'go', patch: { duplicate_ids: [a] } });
    const requests = fake.requests;
    const both = await run(duplicateFindNode, { phone: '79165551234', email: 'dup@example.com' });
    expect(both).toMatchObject({ kind: 'go', patch: { duplicate_ids: [a, b] } });
    expect(fake.requests).toBe(requests + 1);
    const none = await run(duplicateFindNode, { phone: '70000000009' });
    expect(none).toMatchObject({ kind: 'go', patch: { duplicate_ids: [] } });
  });
});

describe('bitrix24.lead.update and bitrix24.call', () => {
  it('updates a lead; a missing lead fails with "Not found"', async () => {
    const id = fake.addLead({ NAME: 'Before', STATUS_ID: 'NEW' });
    const out = await run(leadUpdateNode, { id: '{{lead_id}}', fields: { STATUS_ID: 'IN_PROCESS', COMMENTS: 'Called {{name}}' } }, { data: { lead_id: id, name: 'Vera' } });
    expect(out).toMatchObject({ kind: 'go', patch: { lead_id: id } });
    expect(fake.leads[id - 1]).toMatchObject({ NAME: 'Before', STATUS_ID: 'IN_PROCESS', COMMENTS: 'Called Vera' });
    const missing = await run(leadUpdateNode, { id: 99_999_999, fields: { STATUS_ID: 'X' } });
    expect(missing).toMatchObject({ kind: 'fail', error: 'Not found', detail: { code: 400 } });
  });

  it('calls any method and keeps its result under save_as; an unknown method fails', async () => {
    const id = fake.addLead({ NAME: 'Get me', PHONE: [{ VALUE: '+1 555', VALUE_TYPE: 'WORK' }] });
    const out = await run(callNode, { method: 'crm.lead.get', params: { id: '{{id}}' }, save_as: 'got' }, { data: { id } });
    expect(out).toMatchObject({ kind: 'go', patch: { got: { ID: String(id), NAME: 'Get me', PHONE: [{ VALUE: '+1 555', TYPE_ID: 'PHONE' }] } } });
    const unknown = await run(callNode, { method: 'crm.nothing.here' });
    expect(unknown).toMatchObject({ kind: 'fail', detail: { code: 'ERROR_METHOD_NOT_FOUND', response: { status: 404 } } });
  });
});

describe('the connector and the fake portal', () => {
  it('declares its node types with described params and validates either kind of connection', () => {
    expect(bitrix24Connector.nodeTypes.map((n) => n.type)).toEqual([
      'bitrix24.lead.add', 'bitrix24.lead.update', 'bitrix24.lead.find', 'bitrix24.contact.find', 'bitrix24.duplicate.find', 'bitrix24.call',
    ]);
    for (const n of bitrix24Connector.nodeTypes) {
      expect(n.description).toBeTruthy();
      for (const [name, p] of Object.entries((n.paramsSchema as { properties: Record<string, any> }).properties)) {
        if (!['next', 'retry'].includes(name)) expect(p.description ?? p.pattern, `${n.type}.${name}`).toBeTruthy();
      }
    }
    expect(bitrix24Connector.pace).toEqual({ perSecond: 2, burst: 50 });
    const catalog = new ConnectorCatalog(new NodeRegistry()).add(bitrix24Connector);
    expect(catalog.check('bitrix24', { webhook_url: 'https://x.bitrix24.ru/rest/1/abc123/' })).toEqual([]);
    expect(catalog.check('bitrix24', { portal_url: 'https://x.bitrix24.ru', access_token: 'a', refresh_token: 'r', client_id: 'c', client_secret: 's' })).toEqual([]);
    expect(catalog.check('bitrix24', { portal_url: 'https://x.bitrix24.ru' }).length).toBeGreaterThan(0);
  });

  it('the fake\'s default bucket takes a burst of 50, then answers 503 QUERY_LIMIT_EXCEEDED', async () => {
    const portal = new FakeBitrix24();
    await portal.start();
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 51; i++) {
        const res = await http.request({ method: 'POST', url: `${portal.webhookUrl}profile.json`, headers: { 'content-type': 'application/json' }, body: '{}', timeoutMs: 2000 });
        statuses.push(res.status);
        if (i === 50) expect(res.json).toEqual({ error: 'QUERY_LIMIT_EXCEEDED', error_description: 'Too many requests' });
      }
      expect(statuses.filter((s) => s === 200).length).toBe(50);
      expect(statuses[50]).toBe(503);
    } finally {
      await portal.close();
    }
  });
});
