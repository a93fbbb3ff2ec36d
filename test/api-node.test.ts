import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeServer } from './support/fake-http-server.ts';
import { startTestServer, type TestServer } from './support/conveyor.ts';

let s: TestServer;
let crm: Awaited<ReturnType<typeof startFakeServer>>;
beforeAll(async () => {
  [s, crm] = await Promise.all([startTestServer(), startFakeServer()]);
  await s.api('PUT', '/api/v1/projects/default/config', { crm_url: crm.url, crm_token: 'tok-SECRET-123456' });
});
afterAll(async () => {
  await s.stop();
  await crm.close();
});

const settled = (id: number) => async () => {
  const t = await s.task(id);
  return ['done', 'error', 'failed'].includes(t.task.status) && t;
};

function process(name: string, path: string, extra: Record<string, unknown> = {}) {
  return {
    name,
    nodes: {
      call: {
        type: 'api', method: 'POST', url: `{{$config.crm_url}}${path}?auth={{$config.crm_token}}`,
        headers: { authorization: 'Bearer {{$config.crm_token}}' },
        body: { fields: { NAME: '{{name}}' } }, map: { lead_id: 'result' },
        retry: { base: '50ms', max: '200ms', attempts: 3 }, timeout: '500ms',
        next: 'done', on_error: 'crm_failed', ...extra,
      },
      done: { type: 'final' },
      crm_failed: { type: 'error', reason: '{{$task.error}}' },
    },
  };
}

describe('api node against a real HTTP server', () => {
  it('maps the response; secrets are masked in history', async () => {
    crm.on('POST', '/ok', { status: 200, body: { result: 123, time: {} } });
    await s.deploy(process('ok', '/ok'));
    const { body } = await s.createTask('ok', { data: { name: 'Ann' } });
    const t = await s.until(settled(body.id));
    expect(t.task.status).toBe('done');
    expect(t.task.data.lead_id).toBe(123);
    const req = crm.requests.find((r) => r.path === '/ok')!;
    expect(req.json).toEqual({ fields: { NAME: 'Ann' } });
    expect(req.headers.authorization).toBe('Bearer tok-SECRET-123456');
    const history = JSON.stringify(t.history);
    expect(history).not.toContain('tok-SECRET-123456');
    expect(history).toContain('"status":200');
  });

  it('429 with Retry-After is honoured, then succeeds', async () => {
    crm.queue('POST', '/limited', { status: 429, headers: { 'retry-after': '1' }, body: { error: 'QUERY_LIMIT_EXCEEDED' } });
    crm.on('POST', '/limited', { status: 200, body: { result: 7 } });
    await s.deploy(process('limited', '/limited'));
    const { body } = await s.createTask('limited', { data: { name: 'Bob' } });
    const t = await s.until(settled(body.id));
    expect(t.task.status).toBe('done');
    const hits = crm.requests.filter((r) => r.path === '/limited');
    expect(hits).toHaveLength(2);
    expect(hits[1].at - hits[0].at).toBeGreaterThanOrEqual(950);
    expect(t.history.map((h: any) => h.event)).toContain('retry');
  });

  it('500 is retried with backoff until the attempts are used, then the error edge keeps the exchange', async () => {
    crm.on('POST', '/down', { status: 500, body: { error: 'INTERNAL_SERVER_ERROR' } });
    await s.deploy(process('down', '/down'));
    const { body } = await s.createTask('down', { data: { name: 'Cid' } });
    const t = await s.until(settled(body.id));
    expect(t.task.status).toBe('error');
    expect(t.task.error).toMatch(/gave up after 3 attempts: HTTP 500: INTERNAL_SERVER_ERROR/);
    expect(crm.requests.filter((r) => r.path === '/down')).toHaveLength(3);
    const failed = t.history.find((h: any) => h.event === 'failed');
    expect(failed.detail.response.status).toBe(500);
    expect(failed.detail.request.url).toContain('auth=***');
  });

  it('401 is not retried', async () => {
    crm.on('POST', '/denied', { status: 401, body: { error: 'invalid_token' } });
    await s.deploy(process('denied', '/denied'));
    const { body } = await s.createTask('denied', { data: {} });
    const t = await s.until(settled(body.id));
    expect(t.task.error).toBe('HTTP 401: invalid_token');
    expect(crm.requests.filter((r) => r.path === '/denied')).toHaveLength(1);
  });

  it('a hanging server times out and is retried; a slow one within the timeout is fine', async () => {
    crm.queue('POST', '/hang', 'hang', 'destroy');
    crm.on('POST', '/hang', { status: 200, body: { result: 1 }, delayMs: 200 });
    await s.deploy(process('hang', '/hang'));
    const { body } = await s.createTask('hang', { data: {} });
    const t = await s.until(settled(body.id));
    expect(t.task.status).toBe('done');
    const retries = t.history.filter((h: any) => h.event === 'retry').map((h: any) => h.detail.error);
    expect(retries[0]).toMatch(/^timeout/);
    expect(retries[1]).toMatch(/^network/);
  });

  it('without an error edge the task parks as failed and can be requeued', async () => {
    crm.queue('POST', '/park', { status: 400, body: { error: 'bad' } });
    crm.on('POST', '/park', { status: 200, body: { result: 9 } });
    const def = process('park', '/park');
    delete (def.nodes.call as any).on_error;
    def.nodes.crm_failed = undefined as any;
    delete (def.nodes as any).crm_failed;
    await s.deploy(def);
    const { body } = await s.createTask('park', { data: {} });
    const t = await s.until(settled(body.id));
    expect(t.task.status).toBe('failed');
    await s.api('POST', `/api/v1/projects/default/tasks/${body.id}/requeue`, {});
    const again = await s.until(async () => (await s.task(body.id)).task.status === 'done' && s.task(body.id));
    expect(again.task.data.lead_id).toBe(9);
  });
});
