import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/conveyor.ts';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
  await s.deploy({ name: 'leads', nodes: { hold: { type: 'wait', timeout: '1h', next: 'end' }, end: { type: 'final' } } });
});
afterAll(async () => {
  await s.stop();
});

const tasks = '/api/v1/projects/default/processes/leads/tasks';

describe('bad input gets a 4xx naming the field, and nothing is written', () => {
  it('needs the API key', async () => {
    const r = await s.api('GET', '/api/v1/projects', undefined, { authorization: 'Bearer wrong' });
    expect(r.status).toBe(401);
    expect(r.body.message).toMatch(/authorization/);
    expect((await s.api('GET', '/health', undefined, { authorization: '' })).status).toBe(200);
  });

  it.each([
    ['malformed JSON', '{"ref": "a", "data": {', 400, /body: malformed JSON/],
    ['data of the wrong type', JSON.stringify({ ref: 'a', data: 'text' }), 400, /data/],
    ['an unknown field', JSON.stringify({ ref: 'a', dta: {} }), 400, /dta|additional/],
    ['an empty body', '', 400, /body/],
  ])('%s', async (_name, body, status, message) => {
    const r = await s.api('POST', tasks, body, { 'content-type': 'application/json' });
    expect(r.status).toBe(status);
    expect(r.body.message).toMatch(message);
  });

  it('an oversized body is 413', async () => {
    const big = JSON.stringify({ ref: 'big', data: { blob: 'x'.repeat(17 * 1024 * 1024) } });
    const r = await s.api('POST', tasks, big);
    expect(r.status).toBe(413);
    expect(r.body.message).toMatch(/body: larger than/);
  });

  it('an unknown process or project is 404', async () => {
    const r = await s.api('POST', '/api/v1/projects/default/processes/nope/tasks', { ref: 'a', data: {} });
    expect(r.status).toBe(404);
    expect(r.body.message).toMatch(/process: "nope"/);
    expect((await s.api('POST', '/api/v1/projects/nope/processes/leads/tasks', { data: {} })).status).toBe(404);
  });

  it('nothing was written by the refused requests', async () => {
    const stats = await s.api('GET', '/api/v1/projects/default/processes/leads/stats');
    expect(stats.body.nodes).toEqual({ hold: 0, end: 0 });
  });

  it('an invalid process is refused with errors naming node and field', async () => {
    const r = await s.deploy({
      name: 'broken',
      nodes: {
        a: { type: 'condition', branches: [{ when: { path: 'x', op: 'eq', value: 1 }, to: 'missing' }], else: 'b' },
        b: { type: 'delay', duration: '2x', next: 'c' },
        c: { type: 'teleport' },
        d: { type: 'final' },
      },
    });
    expect(r.status).toBe(400);
    const paths = r.body.errors.map((e: any) => `${e.path}: ${e.message}`);
    expect(paths).toEqual(
      expect.arrayContaining([
        'nodes.a.branches[0].to: edge to missing node "missing"',
        expect.stringMatching(/^nodes\.b: duration: bad duration "2x"/),
        expect.stringMatching(/^nodes\.c\.type: unknown node type "teleport"/),
      ]),
    );
    const unreachable = await s.deploy({ name: 'island', nodes: { a: { type: 'final' }, b: { type: 'final' } } });
    expect(unreachable.body.errors).toEqual([{ path: 'nodes.b', message: 'unreachable from the start node "a"' }]);
  });
});

describe('public create URLs', () => {
  it('Corezoid-compatible endpoint accepts the seed body sent as a form, and answers in Corezoid\'s shape', async () => {
    const url = (await s.api('GET', '/api/v1/projects/default/processes/leads/public-url')).body;
    const body = JSON.stringify({ ops: [{ ref: '10.1.2.3', type: 'create', obj: 'task', conv_id: url.publicId, data: { post: { name: 'Ann' } } }] });
    const post = () => fetch(s.url + url.corezoidPath, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    const first = await (await post()).json();
    expect(first).toEqual({ request_proc: 'ok', ops: [{ id: '', proc: 'ok', obj: 'task', ref: '10.1.2.3', obj_id: expect.any(String) }] });
    const again = await (await post()).json();
    expect(again.ops[0]).toMatchObject({ proc: 'not_unical_ref', obj_id: first.ops[0].obj_id });
    const wrong = await fetch(s.url + url.corezoidPath.replace(url.secret, 'f'.repeat(40)), { method: 'POST', body });
    expect(wrong.status).toBe(404);
    const native = await fetch(s.url + url.path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"ref":"n1","data":{}}' });
    expect(native.status).toBe(201);
  });
});
