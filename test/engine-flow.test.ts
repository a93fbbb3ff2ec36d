import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/conveyor.ts';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => {
  await s.stop();
});

const ended = (id: number) => async () => {
  const t = await s.task(id);
  return ['done', 'error', 'failed', 'cancelled'].includes(t.task.status) && t;
};

describe('a process runs tasks through its nodes', () => {
  it('condition, set and final/error nodes; stats count every task', async () => {
    const def = {
      name: 'phones',
      nodes: {
        measure: { type: 'set', set: { phone_len: '{{phone.length}}', greeting: 'Hi {{name}}' }, next: 'check' },
        check: {
          type: 'condition',
          branches: [{ when: { path: 'phone', op: 'matches', value: '^\\d{12,}$' }, to: 'bad_phone' }],
          else: 'ok',
        },
        ok: { type: 'final' },
        bad_phone: { type: 'error', reason: 'bad phone {{phone}}' },
      },
    };
    expect((await s.deploy(def)).status).toBe(201);
    const a = await s.createTask('phones', { ref: 'a', data: { name: 'Ann', phone: '79161234567' } });
    const b = await s.createTask('phones', { ref: 'b', data: { name: 'Bob', phone: '7916123456789' } });
    expect(a.status).toBe(201);
    expect(a.body).toEqual({ id: expect.any(Number), ref: 'a', created: true });
    const ta = await s.until(ended(a.body.id));
    const tb = await s.until(ended(b.body.id));
    expect(ta.task.status).toBe('done');
    expect(ta.task.data.greeting).toBe('Hi Ann');
    expect(tb.task.status).toBe('error');
    expect(tb.task.error).toBe('bad phone 7916123456789');
    expect(ta.history.map((h: any) => `${h.event}:${h.node}`)).toEqual([
      'created:measure', 'entered:check', 'entered:ok', 'ended:ok',
    ]);
    const stats = await s.api('GET', '/api/v1/projects/default/processes/phones/stats');
    expect(stats.body.nodes).toEqual({ measure: 0, check: 0, ok: 1, bad_phone: 1 });
  });

  it('a live ref is created once; the duplicate returns the first task', async () => {
    await s.deploy({ name: 'hold', nodes: { wait: { type: 'wait', timeout: '1h', next: 'end' }, end: { type: 'final' } } });
    const first = await s.createTask('hold', { ref: '10.0.0.1', data: {} });
    const again = await s.createTask('hold', { ref: '10.0.0.1', data: { other: true } });
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ id: first.body.id, ref: '10.0.0.1', created: false });
    const batch = await s.createTask('hold', [{ ref: 'x1' }, { ref: 'x2', data: { n: 2 } }, { ref: 'x1' }]);
    expect(batch.status).toBe(201);
    expect(batch.body.map((r: any) => r.created)).toEqual([true, true, false]);
    expect(batch.body[2].id).toBe(batch.body[0].id);
  });

  it('wait resumes on its callback URL, also when the callback comes first', async () => {
    await s.deploy({
      name: 'callback',
      nodes: {
        announce: { type: 'set', set: { url: '{{$task.callback_url}}' }, next: 'pause' },
        pause: { type: 'delay', duration: '300ms', next: 'wait' },
        wait: { type: 'wait', timeout: '1h', save_to: 'result', next: 'done', on_timeout: 'late' },
        done: { type: 'final' },
        late: { type: 'error', reason: 'no callback' },
      },
    });
    const { body } = await s.createTask('callback', { data: {} });
    const sleeping = await s.until(async () => {
      const t = await s.task(body.id);
      return t.task.status === 'sleeping' && t;
    });
    // The callback arrives while the task still sleeps before its wait node: it is kept.
    const early = await fetch(sleeping.task.data.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"call":"answered"}' });
    expect(await early.json()).toEqual({ ok: true, state: 'queued' });
    const done = await s.until(ended(body.id));
    expect(done.task.status).toBe('done');
    expect(done.task.data.result).toEqual({ call: 'answered' });
    const forged = await fetch(sleeping.task.data.url.replace(/\/[^/]+$/, '/forged'), { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    expect(forged.status).toBe(404);
  });

  it('a callback URL resumes only the wait it was made for: a late answer to an earlier wait is refused', async () => {
    await s.deploy({
      name: 'two-calls',
      nodes: {
        first: { type: 'set', set: { url1: '{{$task.callback_url}}' }, next: 'wait1' },
        wait1: { type: 'wait', timeout: '1h', save_to: 'r1', next: 'second', on_timeout: 'second' },
        second: { type: 'set', set: { url2: '{{$task.callback_url}}' }, next: 'wait2' },
        wait2: { type: 'wait', timeout: '1h', save_to: 'r2', next: 'done', on_timeout: 'done' },
        done: { type: 'final' },
      },
    });
    const { body } = await s.createTask('two-calls', { data: {} });
    const post = (url: string, json: object) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(json) });
    const at = (node: string) => s.until(async () => {
      const t = await s.task(body.id);
      return t.task.node === node && t.task.status === 'waiting' && t;
    });
    const first = await at('wait1');
    expect((await post(first.task.data.url1, { call: 1, result: 'no answer' })).status).toBe(200);
    const second = await at('wait2');
    expect(second.task.data.url2).not.toBe(first.task.data.url1);
    // The first call's result again (a retry of the remote side, or a very late one): not for this wait.
    const late = await post(first.task.data.url1, { call: 1, result: 'answered' });
    expect(late.status).toBe(410);
    expect((await late.json()).message).toMatch(/earlier wait of task \d+, which it has left \(now at "wait2"\)/);
    expect((await post(second.task.data.url2, { call: 2, result: 'answered' })).status).toBe(200);
    const done = await s.until(ended(body.id));
    expect(done.task.data).toMatchObject({ r1: { call: 1, result: 'no answer' }, r2: { call: 2, result: 'answered' } });
  });

  it('wait takes its timeout edge', async () => {
    await s.deploy({
      name: 'timeout',
      nodes: { wait: { type: 'wait', timeout: '200ms', next: 'done', on_timeout: 'late' }, done: { type: 'final' }, late: { type: 'error', reason: 'no callback' } },
    });
    const { body } = await s.createTask('timeout', { data: {} });
    const t = await s.until(ended(body.id));
    expect(t.task.status).toBe('error');
    expect(t.history.map((h: any) => h.event)).toContain('timeout');
  });

  it('call waits for the child\'s reply; copy goes on without waiting', async () => {
    await s.deploy({
      name: 'create-lead',
      nodes: {
        make: { type: 'set', set: { lead_id: 'L-{{phone}}' }, next: 'answer' },
        answer: { type: 'reply', data: { lead_id: '{{lead_id}}' }, next: 'end' },
        end: { type: 'final' },
      },
    });
    await s.deploy({ name: 'robot-call', nodes: { hold: { type: 'delay', duration: '1h', next: 'end' }, end: { type: 'final' } } });
    await s.deploy({
      name: 'intake',
      nodes: {
        rpc: { type: 'call', process: 'create-lead', timeout: '10s', next: 'copy', on_timeout: 'failed' },
        copy: { type: 'copy', process: 'robot-call', next: 'end' },
        end: { type: 'final' },
        failed: { type: 'error', reason: 'no lead' },
      },
    });
    const { body } = await s.createTask('intake', { data: { phone: '79161234567' } });
    const t = await s.until(ended(body.id));
    expect(t.task.status).toBe('done');
    expect(t.task.data.lead_id).toBe('L-79161234567');
    const robot = await s.api('GET', '/api/v1/projects/default/processes/robot-call/tasks');
    expect(robot.body.tasks).toHaveLength(1);
    expect(robot.body.tasks[0]).toMatchObject({ status: 'sleeping', node: 'hold', data: { phone: '79161234567', lead_id: 'L-79161234567' } });
  });

  it('a child that fails makes the call fail to its error edge', async () => {
    await s.deploy({ name: 'always-fails', nodes: { no: { type: 'error', reason: 'CRM said no' } } });
    await s.deploy({
      name: 'caller',
      nodes: {
        rpc: { type: 'call', process: 'always-fails', next: 'end', on_error: 'handle' },
        end: { type: 'final' },
        handle: { type: 'error', reason: 'handled: {{$task.error}}' },
      },
    });
    const { body } = await s.createTask('caller', { data: {} });
    const t = await s.until(ended(body.id));
    expect(t.task.error).toBe('handled: process "always-fails" failed: CRM said no');
  });

  it('by hand: move, requeue a failed task, cancel', async () => {
    await s.deploy({
      name: 'manual',
      nodes: {
        start: { type: 'condition', branches: [{ when: { path: 'boom', op: 'eq', value: true }, to: 'boom' }], else: 'hold' },
        hold: { type: 'wait', timeout: '1h', next: 'end' },
        end: { type: 'final' },
        boom: { type: 'delay', until: '{{not_a_time}}', next: 'end' },
      },
    });
    const { body } = await s.createTask('manual', { data: {} });
    await s.until(async () => (await s.task(body.id)).task.status === 'waiting');
    const moved = await s.api('POST', `/api/v1/projects/default/tasks/${body.id}/move`, { node: 'boom' });
    expect(moved.status).toBe(200);
    const failed = await s.until(async () => {
      const t = await s.task(body.id);
      return t.task.status === 'failed' && t;
    });
    expect(failed.task.error).toMatch(/until/);
    expect((await s.api('POST', `/api/v1/projects/default/tasks/${body.id}/move`, { node: 'nope' })).status).toBe(400);
    const requeued = await s.api('POST', `/api/v1/projects/default/tasks/${body.id}/requeue`, {});
    expect(requeued.status).toBe(200);
    const again = await s.until(async () => {
      const t = await s.task(body.id);
      return t.task.status === 'failed' && t.history.some((h: any) => h.event === 'requeued') && t;
    });
    expect(again.history.filter((h: any) => h.event === 'failed')).toHaveLength(2);
    const cancelled = await s.api('POST', `/api/v1/projects/default/tasks/${body.id}/cancel`, {});
    expect(cancelled.body.task.status).toBe('cancelled');
    expect((await s.api('POST', `/api/v1/projects/default/tasks/${body.id}/cancel`, {})).status).toBe(409);
  });
});
