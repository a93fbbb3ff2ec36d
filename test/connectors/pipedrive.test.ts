import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakePipedrive } from '../../src/connectors/pipedrive/fake-pipedrive.ts';
import { pipedriveConnector } from '../../src/connectors/pipedrive/pipedrive-connector.ts';
import { msToUtcMidnight } from '../../src/connectors/pipedrive/pipedrive-errors.ts';
import type { NodeType, Outcome } from '../../src/engine/node-type.ts';
import { createHttpClient } from '../../src/util/http-client.ts';
import { MemoryConnections, nodeContext } from '../support/node-context.ts';

const fake = new FakePipedrive(undefined, { burst: 1000 });
const http = createHttpClient();
let apiUrl = '';
let seq = 0;
const uniq = () => `${Date.now().toString(36)}${++seq}`;
const node = (type: string): NodeType => pipedriveConnector.nodeTypes.find((t) => t.type === type)!;

beforeAll(async () => {
  apiUrl = await fake.start();
});
afterEach(() => {
  fake.up();
  fake.setBurstLimit(1000);
  fake.setDailyLeft(10_000);
  fake.indexDelayMs = 0;
});
afterAll(async () => {
  await fake.close();
  await http.close();
});

type Detail = Record<string, any>;
async function run(type: string, params: Record<string, unknown>, opts: { token?: string; data?: Record<string, unknown> } = {}) {
  const slowed: Array<{ key: string; ms: number }> = [];
  const connections = new MemoryConnections([
    { name: 'default', connector: 'pipedrive', settings: { api_token: opts.token ?? fake.token, api_url: apiUrl } },
  ]);
  const ctx = nodeContext({ type, next: 'done', ...params }, { connections, http, slowed, data: opts.data ?? {} });
  const before = Date.now();
  const outcome = (await node(type).run(ctx)) as Outcome & { detail?: Detail; patch?: Record<string, any> };
  return { outcome, slowed, before, after: Date.now() };
}

function expectNoToken(outcome: unknown, token = fake.token) {
  expect(JSON.stringify(outcome)).not.toContain(token);
}

function expectRetryAt(r: { outcome: Outcome; before: number; after: number }, ms: number) {
  expect(r.outcome.kind).toBe('retry');
  if (r.outcome.kind !== 'retry') return;
  expect(r.outcome.at).toBeGreaterThanOrEqual(r.before + ms);
  expect(r.outcome.at).toBeLessThanOrEqual(r.after + ms);
}

describe('persons', () => {
  it('creates a person with emails and phones arrays (first primary), token in the x-api-token header', async () => {
    const email = `anna.${uniq()}@example.com`;
    const r = await run('pipedrive.person.create', { name: '{{name}}', email: '{{email}}', phone: ['+7 916 123-45-67', '8 (495) 000-11-22'] }, {
      data: { name: 'Анна Петрова', email },
    });
    const person = fake.persons.at(-1)!;
    expect(person).toMatchObject({
      name: 'Анна Петрова',
      emails: [{ value: email, primary: true, label: 'work' }],
      phones: [{ value: '+7 916 123-45-67', primary: true }, { value: '8 (495) 000-11-22', primary: false }],
    });
    expect(r.outcome).toMatchObject({ kind: 'go', to: 'done', patch: { person_id: person.id } });
    expect(fake.calls.at(-1)).toMatchObject({ method: 'POST', path: '/api/v2/persons', auth: 'header' });
    expect(r.outcome.detail!.request).toMatchObject({ url: `${apiUrl}/api/v2/persons`, headers: { 'x-api-token': '***' } });
    expectNoToken(r.outcome);
  });

  it('finds a person by phone, email or name; an unknown term gives {person_id: null, found: false}', async () => {
    const email = `boris.${uniq()}@example.com`;
    const created = await run('pipedrive.person.create', { name: 'Борис Финдер', email, phone: '+79035550101' });
    const id = created.outcome.patch!.person_id;
    const byPhone = await run('pipedrive.person.find', { term: '79035550101', fields: 'phone' });
    expect(byPhone.outcome).toMatchObject({ kind: 'go', patch: { person_id: id, found: true } });
    expect(fake.calls.at(-1)!.query).toMatchObject({ term: '79035550101', fields: 'phone' });
    const byEmail = await run('pipedrive.person.find', { term: email.toUpperCase(), fields: ['email'], exact_match: true });
    expect(byEmail.outcome).toMatchObject({ patch: { person_id: id, found: true } });
    const none = await run('pipedrive.person.find', { term: `nobody.${uniq()}@example.com`, fields: 'email', save_as: 'lookup' });
    expect(none.outcome).toMatchObject({ kind: 'go', patch: { lookup: { person_id: null, found: false } } });
  });

  it('a one-letter search term is Pipedrive\'s 400: fail', async () => {
    const r = await run('pipedrive.person.find', { term: 'x', fields: 'name' });
    expect(r.outcome).toMatchObject({ kind: 'fail', error: 'Pipedrive: Search term must be at least 2 characters long' });
    expect(r.outcome.detail).toMatchObject({ failure: 'fail', code: 400, response: { status: 400 } });
  });
});

describe('pipedrive.person.upsert', () => {
  it('creates once, then updates the same person by email and by phone written differently', async () => {
    const email = `vera.${uniq()}@example.com`;
    const phone = `+7 916 ${String(seq).padStart(3, '0')}-77-88`;
    const first = await run('pipedrive.person.upsert', { name: 'Вера', email, phone });
    expect(first.outcome).toMatchObject({ kind: 'go', patch: { created: true } });
    const id = first.outcome.patch!.person_id;

    const newEmail = `vera.work.${uniq()}@example.com`;
    const byPhone = await run('pipedrive.person.upsert', { name: 'Вера Смирнова', email: newEmail, phone: `8916${String(seq - 1).padStart(3, '0')}7788` });
    expect(byPhone.outcome).toMatchObject({ kind: 'go', patch: { person_id: id, created: false } });
    const person = fake.persons.find((p) => p.id === id)!;
    expect(person.name).toBe('Вера Смирнова');
    expect(person.emails.map((e) => [e.value, e.primary])).toEqual([[email, true], [newEmail, false]]);
    expect(person.phones).toHaveLength(1);
    expect(fake.calls.at(-1)).toMatchObject({ method: 'PATCH', path: `/api/v2/persons/${id}` });

    const again = await run('pipedrive.person.upsert', { email: email.toUpperCase(), update_fields: false, name: 'Other Name' });
    expect(again.outcome).toMatchObject({ patch: { person_id: id, created: false } });
    expect(fake.persons.filter((p) => p.emails.some((e) => e.value === email))).toHaveLength(1);
    expect(person.name).toBe('Вера Смирнова');
  });

  it('does not duplicate a person created seconds ago, before Pipedrive\'s search index has it', async () => {
    fake.indexDelayMs = 60_000;
    const email = `lag.${uniq()}@example.com`;
    const a = await run('pipedrive.person.upsert', { name: 'Лаг', email });
    const b = await run('pipedrive.person.upsert', { name: 'Лаг', email, phone: '+7 999 111-22-33' });
    expect(a.outcome.patch).toMatchObject({ created: true });
    expect(b.outcome.patch).toEqual({ person_id: a.outcome.patch!.person_id, created: false });
    const mine = fake.persons.filter((p) => p.emails.some((e) => e.value === email));
    expect(mine).toHaveLength(1);
    expect(mine[0].phones.map((p) => p.value)).toEqual(['+7 999 111-22-33']);
  });

  it('events for the same contact arriving at once make one person', async () => {
    const email = `rush.${uniq()}@example.com`;
    const results = await Promise.all([1, 2, 3].map(() => run('pipedrive.person.upsert', { name: 'Rush', email })));
    expect(results.map((r) => r.outcome.patch!.created).sort()).toEqual([false, false, true]);
    expect(new Set(results.map((r) => r.outcome.patch!.person_id)).size).toBe(1);
    expect(fake.persons.filter((p) => p.emails.some((e) => e.value === email))).toHaveLength(1);
  });

  it('a remembered person deleted in Pipedrive since (410) is created again', async () => {
    fake.indexDelayMs = 60_000;
    const email = `gone.${uniq()}@example.com`;
    const a = await run('pipedrive.person.upsert', { name: 'Gone', email });
    fake.deletePerson(a.outcome.patch!.person_id);
    const b = await run('pipedrive.person.upsert', { name: 'Gone', email });
    expect(b.outcome).toMatchObject({ kind: 'go', patch: { created: true } });
    expect(b.outcome.patch!.person_id).not.toBe(a.outcome.patch!.person_id);
  });

  it('without email or phone it fails before calling', async () => {
    const calls = fake.calls.length;
    const r = await run('pipedrive.person.upsert', { name: 'Nobody', email: '{{missing}}' });
    expect(r.outcome).toMatchObject({ kind: 'fail', error: 'email or phone: one is needed to find the person' });
    expect(fake.calls.length).toBe(calls);
  });
});

describe('organizations, leads, deals, activities', () => {
  it('creates an organization with an address', async () => {
    const r = await run('pipedrive.organization.create', { name: 'ООО Ромашка', address: 'Москва, Тверская 1' });
    const org = fake.organizations.at(-1)!;
    expect(org).toMatchObject({ name: 'ООО Ромашка', address: { value: 'Москва, Тверская 1' } });
    expect(r.outcome).toMatchObject({ kind: 'go', patch: { organization_id: org.id } });
  });

  it('creates a lead through v1 with ?api_token= masked, and returns its UUID', async () => {
    const person = await run('pipedrive.person.create', { name: 'Lead Person' });
    const personId = person.outcome.patch!.person_id;
    const r = await run('pipedrive.lead.create', { lead_title: 'Заказ от {{name}}', person_id: '{{pid}}', value: { amount: '{{sum}}', currency: 'rub' } }, {
      data: { name: 'Lead Person', pid: String(personId), sum: '1500.50' },
    });
    const lead = fake.leads.at(-1)!;
    expect(lead).toMatchObject({ title: 'Заказ от Lead Person', person_id: personId, value: { amount: 1500.5, currency: 'RUB' } });
    expect(lead.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(r.outcome).toMatchObject({ kind: 'go', patch: { lead_id: lead.id } });
    expect(fake.calls.at(-1)).toMatchObject({ path: '/api/v1/leads', auth: 'query' });
    expect(r.outcome.detail!.request.url).toBe(`${apiUrl}/api/v1/leads?api_token=***`);
    expectNoToken(r.outcome);
  });

  it('a lead with neither person nor organization fails before calling; an unknown person is Pipedrive\'s 400', async () => {
    const calls = fake.calls.length;
    const none = await run('pipedrive.lead.create', { lead_title: 'x', person_id: '{{missing}}' });
    expect(none.outcome).toMatchObject({ kind: 'fail' });
    expect(fake.calls.length).toBe(calls);
    const unknown = await run('pipedrive.lead.create', { lead_title: 'x', person_id: 999_999 });
    expect(unknown.outcome).toMatchObject({ kind: 'fail', error: 'Pipedrive: Person with id 999999 does not exist', detail: { code: 400 } });
    expectNoToken(unknown.outcome);
  });

  it('creates a deal and updates it (won); a missing deal is a 404 fail', async () => {
    const created = await run('pipedrive.deal.create', { deal_title: 'Deal {{n}}', value: '{{total}}', currency: 'eur', stage_id: 2 }, { data: { n: 1, total: 990 } });
    const deal = fake.deals.at(-1)!;
    expect(deal).toMatchObject({ title: 'Deal 1', value: 990, currency: 'EUR', stage_id: 2, status: 'open' });
    expect(created.outcome).toMatchObject({ kind: 'go', patch: { deal_id: deal.id } });
    const updated = await run('pipedrive.deal.update', { deal_id: '{{deal_id}}', status: 'won', stage_id: 5 }, { data: { deal_id: deal.id } });
    expect(updated.outcome).toMatchObject({ kind: 'go', patch: { deal_id: deal.id } });
    expect(deal).toMatchObject({ status: 'won', stage_id: 5, title: 'Deal 1' });
    expect(fake.calls.at(-1)).toMatchObject({ method: 'PATCH', path: `/api/v2/deals/${deal.id}` });
    const missing = await run('pipedrive.deal.update', { deal_id: 987_654, status: 'lost' });
    expect(missing.outcome).toMatchObject({ kind: 'fail', error: 'Pipedrive: Deal not found', detail: { failure: 'fail', code: 404 } });
  });

  it('creates a call for the manager linked to the person and deal, due at a task time', async () => {
    const person = await run('pipedrive.person.create', { name: 'Call Me' });
    const deal = await run('pipedrive.deal.create', { deal_title: 'Call deal' });
    const r = await run('pipedrive.activity.create', {
      subject: 'Перезвонить {{name}}', due_date: '{{when}}', person_id: person.outcome.patch!.person_id, deal_id: deal.outcome.patch!.deal_id, note: 'Hot lead',
    }, { data: { name: 'Call Me', when: '2030-05-06T07:08:09.000Z' } });
    const activity = fake.activities.at(-1)!;
    expect(activity).toMatchObject({
      subject: 'Перезвонить Call Me', type: 'call', due_date: '2030-05-06', due_time: '07:08',
      person_id: person.outcome.patch!.person_id, participants: [{ person_id: person.outcome.patch!.person_id, primary: true }],
      deal_id: deal.outcome.patch!.deal_id, note: 'Hot lead',
    });
    expect(r.outcome).toMatchObject({ kind: 'go', patch: { activity_id: activity.id } });
    const badType = await run('pipedrive.activity.create', { subject: 'x', activity_type: 'seance' });
    expect(badType.outcome).toMatchObject({ kind: 'fail', error: 'Pipedrive: Activity type "seance" does not exist', detail: { code: 400 } });
  });
});

describe('rate limits and failures', () => {
  it('pauses the connection when x-ratelimit-remaining hits 0 on a success, then 429 retries after Retry-After', async () => {
    fake.setBurstLimit(2, 2000, 7);
    const first = await run('pipedrive.person.find', { term: 'zz-nobody' });
    expect(first.slowed).toEqual([]);
    const second = await run('pipedrive.person.find', { term: 'zz-nobody' });
    expect(second.outcome.kind).toBe('go');
    const answered = fake.calls.at(-1)!.headers;
    expect(answered['x-ratelimit-remaining']).toBe('0');
    expect(second.slowed).toEqual([{ key: 'pipedrive:default', ms: Number(answered['x-ratelimit-reset']) * 1000 }]);
    expect(second.slowed[0].ms).toBeGreaterThan(0);

    const third = await run('pipedrive.person.find', { term: 'zz-nobody' });
    expect(fake.calls.at(-1)!.headers).toMatchObject({ 'retry-after': '7', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '7' });
    expectRetryAt(third, 7000);
    expect(third.outcome).toMatchObject({ error: 'Pipedrive: too many requests (Request over limit)', detail: { failure: 'retry', code: 429 } });
    expect(third.slowed).toEqual([{ key: 'pipedrive:default', ms: 7000 }]);
    expectNoToken(third.outcome);
  });

  it('an upsert whose search used up the window waits for the reset before creating', async () => {
    fake.failNext(1, 200, { success: true, data: { items: [] }, additional_data: { next_cursor: null } }, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '0.3' });
    const email = `paced.${uniq()}@example.com`;
    const r = await run('pipedrive.person.upsert', { name: 'Paced', email });
    expect(r.outcome).toMatchObject({ kind: 'go', patch: { created: true } });
    expect(r.slowed).toEqual([{ key: 'pipedrive:default', ms: 300 }]);
    const [search, create] = fake.calls.slice(-2);
    expect(search).toMatchObject({ path: '/api/v2/persons/search', status: 200 });
    expect(create).toMatchObject({ method: 'POST', path: '/api/v2/persons' });
    expect(create.at - search.at).toBeGreaterThanOrEqual(290);
  });

  it('a 429 without Retry-After waits x-ratelimit-reset seconds', async () => {
    fake.failNext(1, 429, { success: false, error: 'Request over limit', errorCode: 429 }, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '3' });
    const r = await run('pipedrive.organization.create', { name: 'Busy' });
    expectRetryAt(r, 3000);
    expect(r.slowed).toEqual([{ key: 'pipedrive:default', ms: 3000 }]);
  });

  it('x-daily-requests-left: 0 pauses until midnight UTC; a write refused for the day retries then', async () => {
    fake.setDailyLeft(1);
    const ok = await run('pipedrive.organization.create', { name: 'Last of the day' });
    expect(ok.outcome.kind).toBe('go');
    expect(fake.calls.at(-1)!.headers['x-daily-requests-left']).toBe('0');
    expect(ok.slowed).toHaveLength(1);
    expect(ok.slowed[0].ms).toBeLessThanOrEqual(msToUtcMidnight(ok.before));
    expect(ok.slowed[0].ms).toBeGreaterThanOrEqual(msToUtcMidnight(ok.after));

    const refused = await run('pipedrive.organization.create', { name: 'Tomorrow' });
    expect(refused.outcome).toMatchObject({ kind: 'retry', detail: { code: 429 } });
    if (refused.outcome.kind !== 'retry') return;
    expect(refused.outcome.error).toContain('day\'s request budget');
    expect(refused.outcome.at).toBeGreaterThanOrEqual(refused.before + msToUtcMidnight(refused.after));
    expect(refused.slowed[0].ms).toBeGreaterThanOrEqual(msToUtcMidnight(refused.after));
  });

  it('a wrong token (401 with Pipedrive\'s JSON) fails, token masked', async () => {
    const wrong = 'wrong-token-0123456789abcdef';
    const r = await run('pipedrive.lead.create', { lead_title: 'x', person_id: 1 }, { token: wrong });
    expect(r.outcome).toMatchObject({ kind: 'fail', error: 'Pipedrive: unauthorized access', detail: { failure: 'fail', code: 401 } });
    expect(r.outcome.detail!.request.url).toBe(`${apiUrl}/api/v1/leads?api_token=***`);
    expectNoToken(r.outcome, wrong);
  });

  it('a 401 with an HTML page or an empty body, a 503 page and a JSON 500 are retried', async () => {
    fake.down('401-html');
    const html401 = await run('pipedrive.person.create', { name: 'x' });
    expect(html401.outcome).toMatchObject({ kind: 'retry', detail: { failure: 'retry', code: 401 } });
    fake.up();
    fake.failNext(1, 401, '');
    const empty401 = await run('pipedrive.person.create', { name: 'x' });
    expect(empty401.outcome).toMatchObject({ kind: 'retry', detail: { code: 401 } });
    fake.down('503');
    const outage = await run('pipedrive.deal.create', { deal_title: 'x' });
    expect(outage.outcome).toMatchObject({ kind: 'retry', detail: { failure: 'retry', code: 503, response: { status: 503 } } });
    fake.up();
    fake.failNext(1, 500);
    const internal = await run('pipedrive.deal.create', { deal_title: 'x' });
    expect(internal.outcome).toMatchObject({ kind: 'retry', error: 'Pipedrive: Internal server error', detail: { code: 500 } });
    for (const r of [html401, empty401, outage, internal]) expectNoToken(r.outcome);
  });

  it('422, 410 and a bad id fail at once', async () => {
    fake.failNext(1, 422, { success: false, error: 'Unprocessable entity', error_info: 'x', errorCode: 422 });
    const unprocessable = await run('pipedrive.deal.update', { deal_id: 1, deal_title: 'y' });
    expect(unprocessable.outcome).toMatchObject({ kind: 'fail', detail: { failure: 'fail', code: 422 } });
    fake.failNext(1, 410, { success: false, error: 'Deal is deleted', errorCode: 410 });
    const gone = await run('pipedrive.deal.update', { deal_id: 1, status: 'lost' });
    expect(gone.outcome).toMatchObject({ kind: 'fail', error: 'Pipedrive: Deal is deleted', detail: { code: 410 } });
    const badId = await run('pipedrive.deal.update', { deal_id: 'abc', status: 'lost' });
    expect(badId.outcome).toMatchObject({ kind: 'fail', detail: { code: 'bad_param' } });
  });

  it('no answer within the node timeout is retried', async () => {
    fake.down('hang');
    const r = await run('pipedrive.person.upsert', { email: 'hang@example.com', timeout: '200ms' });
    expect(r.outcome).toMatchObject({ kind: 'retry', detail: { failure: 'retry', code: 'timeout' } });
    expectNoToken(r.outcome);
  });
});

describe('pipedrive connector', () => {
  it('declares its settings, secret, pace and node types, each param described', () => {
    expect(pipedriveConnector.name).toBe('pipedrive');
    expect(pipedriveConnector.secretFields).toEqual(['api_token']);
    expect(pipedriveConnector.pace).toEqual({ perSecond: 10, burst: 20 });
    expect(pipedriveConnector.settingsSchema).toMatchObject({ required: ['api_token'], properties: { api_url: { default: 'https://api.pipedrive.com' } } });
    expect(pipedriveConnector.nodeTypes.map((t) => t.type)).toEqual([
      'pipedrive.person.create', 'pipedrive.person.find', 'pipedrive.person.upsert', 'pipedrive.organization.create',
      'pipedrive.lead.create', 'pipedrive.deal.create', 'pipedrive.deal.update', 'pipedrive.activity.create',
    ]);
    for (const t of pipedriveConnector.nodeTypes) {
      expect(t.description).toMatch(/\S/);
      for (const [name, schema] of Object.entries(t.paramsSchema.properties as Record<string, Record<string, unknown>>)) {
        if (!['next', 'retry', 'timeout', 'connection', 'on_unreachable', 'save_as'].includes(name)) expect(schema.description, `${t.type}.${name}`).toBeTruthy();
      }
    }
    expect(node('pipedrive.person.upsert').check!({ type: 'pipedrive.person.upsert', next: 'x' } as never)).toEqual(['email or phone: one is needed to find the person']);
  });
});
