import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeTelegram } from '../src/connectors/telegram/fake-telegram.ts';
import { startFakeServer, type FakeServer } from './support/fake-http-server.ts';
import { startTestServer, type TestServer } from './support/conveyor.ts';

let tg: FakeTelegram;
let tgUrl: string;
let crm: FakeServer;
let crmUp = false;
let server: TestServer;

beforeAll(async () => {
  tg = new FakeTelegram();
  tgUrl = await tg.start();
  crm = await startFakeServer();
  crm.on('POST', '/lead', () => (crmUp ? { status: 201, body: { id: 1 } } : { status: 503, body: { error: 'down' } }));
  server = await startTestServer({ masterKey: 'test-master-key', alertCheckMs: 100 });
});
afterAll(async () => {
  await server.stop();
  await tg.close();
  await crm.close();
});

const connection = (settings: object) => server.api('PUT', '/api/v1/projects/default/connections/telegram/default', { settings });

describe('connections', () => {
  it('keeps credentials encrypted and never shows them', async () => {
    const saved = await connection({ bot_token: tg.token, api_url: tgUrl });
    expect(saved.status).toBe(200);
    expect(saved.body).toMatchObject({ connector: 'telegram', name: 'default', settings: { api_url: tgUrl }, secrets: ['bot_token'] });
    expect(JSON.stringify(saved.body)).not.toContain(tg.token);
    const listed = await server.api('GET', '/api/v1/projects/default/connections');
    expect(JSON.stringify(listed.body)).not.toContain(tg.token);
    expect(listed.body.connections).toHaveLength(1);
    const secretPart = tg.token.split(':')[1];
    for (const f of ['default.db', 'default.db-wal']) {
      let raw = '';
      try {
        raw = readFileSync(join(server.dataDir, 'projects', f)).toString('latin1');
      } catch { /* no WAL file */ }
      expect(raw).not.toContain(secretPart);
    }
  });

  it('refuses bad settings naming the field', async () => {
    expect((await connection({ api_url: tgUrl })).body.message).toMatch(/settings\.bot_token: is required/);
    expect((await connection({ bot_token: tg.token, colour: 'red' })).body.message).toMatch(/settings\.colour: unknown field/);
    const unknown = await server.api('PUT', '/api/v1/projects/default/connections/fax/default', { settings: {} });
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toMatch(/connector: unknown "fax"/);
    expect((await server.api('GET', '/api/v1/connectors')).body.connectors.map((c: any) => c.name)).toEqual(expect.arrayContaining(['telegram', 'sms', 'voximplant']));
  });
});

describe('a lead that cannot reach the CRM', () => {
  it('notifies the manager, lands in the dead-letter CSV and is delivered by a bulk requeue', async () => {
    await connection({ bot_token: tg.token, api_url: tgUrl });
    const def = {
      name: 'deliver',
      nodes: {
        push: { type: 'api', url: `${crm.url}/lead`, body: { phone: '{{phone}}' }, retry: { attempts: 2, base: '10ms' }, next: 'done', on_error: 'notify' },
        notify: { type: 'telegram.send_message', chat_id: '-100500', text: 'Lead {{phone}} not delivered: {{$task.error}}', next: 'letter' },
        letter: { type: 'dead_letter', retry_from: 'push' },
        done: { type: 'final' },
      },
    };
    const deployed = await server.deploy(def);
    expect(deployed.status, JSON.stringify(deployed.body)).toBeLessThan(300);
    const ids: number[] = [];
    for (const phone of ['79160000001', '79160000002']) ids.push((await server.createTask('deliver', { ref: phone, data: { phone } })).body.id);
    for (const id of ids) await server.until(async () => (await server.task(id)).task.status === 'failed');
    const t = (await server.task(ids[0])).task;
    expect(t.node).toBe('push');
    expect(t.error).toMatch(/gave up after 2 attempts: HTTP 503/);
    expect(tg.messages.filter((m) => m.chat_id === '-100500').map((m) => m.text)).toEqual(expect.arrayContaining([expect.stringMatching(/Lead 79160000001 not delivered/)]));
    const csv = await server.api('GET', '/api/v1/projects/default/dead-letters.csv');
    expect(csv.status).toBe(200);
    const lines = (csv.body as string).trim().split('\n');
    expect(lines[0]).toBe('at,task_id,ref,process,node,error,data');
    expect(lines.slice(1).map((l) => l.split(',')[1]).sort()).toEqual(ids.map(String).sort());
    const failed = await server.api('GET', '/api/v1/projects/default/processes/deliver/tasks?status=failed');
    expect(failed.body.tasks).toHaveLength(2);

    crmUp = true;
    const requeued = await server.api('POST', '/api/v1/projects/default/processes/deliver/requeue-failed', {});
    expect(requeued.body).toEqual({ requeued: 2 });
    for (const id of ids) await server.until(async () => (await server.task(id)).task.status === 'done');
    expect((await server.api('POST', '/api/v1/projects/default/processes/nope/requeue-failed', {})).status).toBe(404);
  });
});

describe('deduplication', () => {
  it('merges a lead whose phone or email matches one accepted within the window into the first', async () => {
    await server.deploy({
      name: 'intake',
      nodes: {
        dedupe: { type: 'dedupe', phone: '{{phone}}', email: '{{email}}', window: '30m', next: 'new_lead', on_duplicate: 'merged' },
        new_lead: { type: 'final' },
        merged: { type: 'final', title: 'Merged into an earlier lead' },
      },
    });
    const lead = async (ref: string, data: object) => {
      const id = (await server.createTask('intake', { ref, data })).body.id as number;
      return server.until(async () => {
        const t = await server.task(id);
        return t.task.status === 'done' && t;
      });
    };
    const first = await lead('form-1', { name: 'Анна', phone: '8 (916) 123-45-67', email: 'Anna@Example.ru' });
    expect(first.task.node).toBe('new_lead');
    const samePhone = await lead('form-2', { name: 'Анна П.', phone: '+7 916 123 45 67' });
    expect(samePhone.task).toMatchObject({ node: 'merged', data: { duplicate_of: first.task.id } });
    const sameEmail = await lead('chat-3', { name: 'Аня', email: 'anna@example.ru ' });
    expect(sameEmail.task.data.duplicate_of).toBe(first.task.id);
    const other = await lead('form-4', { name: 'Олег', phone: '89160000000' });
    expect(other.task.node).toBe('new_lead');
    const merged = (await server.task(first.task.id)).history.filter((h: any) => h.event === 'merged');
    expect(merged.map((h: any) => [h.detail.task, h.detail.data.name])).toEqual([[samePhone.task.id, 'Анна П.'], [sameEmail.task.id, 'Аня']]);
  });

  it('refuses a dedupe node without anything to compare', async () => {
    const res = await server.deploy({ name: 'bad-dedupe', nodes: { d: { type: 'dedupe', window: '9d', next: 'e', on_duplicate: 'e' }, e: { type: 'final' } } });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: any) => e.message)).toEqual(expect.arrayContaining([expect.stringMatching(/at most 7d/), expect.stringMatching(/give at least one/)]));
  });
});

describe('metrics and alerts', () => {
  it('serves Prometheus metrics behind the API key', async () => {
    const denied = await fetch(`${server.url}/metrics`);
    expect(denied.status).toBe(401);
    const res = await server.api('GET', '/metrics');
    expect(res.status).toBe(200);
    const text = res.body as string;
    expect(text).toMatch(/conveyor_tasks_created_total\{project="default",process="deliver"\} 2/);
    expect(text).toMatch(/conveyor_retries_total\{project="default",process="deliver",result="gave_up"\} 2/);
    expect(text).toMatch(/conveyor_first_response_seconds_count\{project="default",process="deliver"\} 2/);
    expect(text).toMatch(/conveyor_tasks_finished_total\{project="default",process="deliver",status="failed"\} 2/);
    expect(text).toMatch(/# TYPE conveyor_queue_length gauge/);
  });

  it('sends an alert once when a rule starts firing and once when it clears', async () => {
    await server.api('PUT', '/api/v1/projects/default/config', { alerts: { queue_length: 2, telegram: { chat_id: 'ops' } } });
    crmUp = false;
    await server.deploy({ name: 'burst', nodes: { push: { type: 'api', url: `${crm.url}/lead`, body: { i: '{{i}}' }, retry: { attempts: 50, base: '1s' }, next: 'done' }, done: { type: 'final' } } });
    const ids: number[] = [];
    for (let i = 0; i < 4; i++) ids.push((await server.createTask('burst', { data: { i } })).body.id);
    const ops = () => tg.messages.filter((m) => m.chat_id === 'ops');
    await server.until(async () => ops().length >= 1);
    await new Promise((r) => setTimeout(r, 500)); // several more checks while it keeps firing
    expect(ops()).toHaveLength(1);
    expect(ops()[0].text).toMatch(/burst: 4 tasks queued \(limit 2\)/);
    const alerts = await server.api('GET', '/api/v1/projects/default/alerts');
    expect(alerts.body.firing).toEqual([expect.objectContaining({ rule: 'queue_length', process: 'burst' })]);
    for (const id of ids) await server.api('POST', `/api/v1/projects/default/tasks/${id}/cancel`);
    await server.until(async () => ops().length >= 2);
    expect(ops()[1].text).toMatch(/resolved burst: queue length back to normal/);
  });
});
