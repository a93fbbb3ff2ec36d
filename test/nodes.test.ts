import { beforeAll, describe, expect, it } from 'vitest';
import type { NodeContext, NodeType, Outcome } from '../src/engine/node-type.ts';
import type { TaskRecord } from '../src/engine/task.ts';
import { builtinNodeTypes } from '../src/nodes/index.ts';
import { CodeSandbox } from '../src/sandbox/code-sandbox.ts';
import { createHttpClient } from '../src/util/http-client.ts';
import { render } from '../src/util/template.ts';
import { MemoryConnections } from './support/node-context.ts';

const types = Object.fromEntries(builtinNodeTypes.map((t) => [t.type, t])) as Record<string, NodeType>;
let sandbox: CodeSandbox;
beforeAll(async () => {
  sandbox = await CodeSandbox.create();
});

function ctx(node: Record<string, unknown>, data: Record<string, unknown> = {}, now = Date.parse('2026-03-02T10:00:00Z')): NodeContext {
  const task: TaskRecord = {
    id: 7, process: 'p', version: 1, ref: 'r', data, nodeId: 'n', status: 'active', runAt: now, attempt: 0, error: null,
    parentId: null, waitingFor: null, waitSeq: 0, rev: 0, createdAt: now, updatedAt: now,
  };
  return {
    nodeId: 'n', node: node as never, task, now,
    render: (v) => render(v, { data, roots: { task: { id: 7, ref: 'r' }, config: { base: 'http://x' } } }),
    services: { runCode: (src, input, limits) => sandbox.run(src, input, limits), http: createHttpClient() },
    connections: new MemoryConnections(), slowDown: () => {}, dedupe: { claim: async () => null, merged: async () => {} },
    deadLetters: { append: async () => {} },
    contacts: undefined as never, cancelTask: async () => false, sign: (v: string) => `sig-${v.length}`,
  };
}
const run = (node: Record<string, unknown>, data?: Record<string, unknown>, now?: number) => types[node.type as string].run(ctx(node, data, now)) as Outcome;

describe('condition', () => {
  const node = {
    type: 'condition',
    branches: [
      { when: { path: 'phone_len', op: 'gt', value: 11 }, to: 'bad' },
      { when: [{ path: 'city', op: 'in', value: ['Moscow', 'Tver'] }, { path: 'vip', op: 'eq', value: true }], to: 'vip' },
      { any: [{ path: 'name', op: 'matches', value: '^Ан' }, { path: 'tags', op: 'contains', value: 'hot' }], to: 'hot' },
    ],
    else: 'other',
  };
  it.each([
    [{ phone_len: 12 }, 'bad'],
    [{ phone_len: '12' }, 'bad'],
    [{ phone_len: 11, city: 'Tver', vip: true }, 'vip'],
    [{ city: 'Tver', vip: false }, 'other'],
    [{ name: 'Анна' }, 'hot'],
    [{ tags: ['cold', 'hot'] }, 'hot'],
    [{}, 'other'],
  ])('%j → %s', (data, to) => expect(run(node, data)).toEqual({ kind: 'go', to }));
  it('working hours in the task\'s timezone', () => {
    const wh = { type: 'condition', branches: [{ when: { op: 'working_hours', from: '09:00', to: '21:00', timezone: '{{tz}}' }, to: 'call' }], else: 'night' };
    const at = Date.parse('2026-03-02T19:30:00Z'); // 22:30 in Moscow, 14:30 in New York
    expect(run(wh, { tz: 'Europe/Moscow' }, at)).toEqual({ kind: 'go', to: 'night' });
    expect(run(wh, { tz: 'America/New_York' }, at)).toEqual({ kind: 'go', to: 'call' });
    expect(run(wh, { tz: 'garbage' }, at)).toEqual({ kind: 'go', to: 'night' }); // falls back to Moscow
  });
  it('checks bad regular expressions and missing paths', () => {
    expect(types.condition.check!({ type: 'condition', branches: [{ when: { path: 'x', op: 'matches', value: '(' }, to: 'a' }, { when: { op: 'eq' }, to: 'a' }], else: 'a' })).toEqual([
      expect.stringMatching(/^branches\[0\]\.when\.value: bad regular expression/),
      'branches[1].when.path: is required for op "eq"',
    ]);
  });
});

describe('set', () => {
  it('templates keep types, nested paths, and $expr', () => {
    const o = run({ type: 'set', set: { title: 'Order from {{name}}', n: '{{count}}', 'lead.source': 'site', total: { $expr: 'data.a + data.b' } }, next: 'x' }, { name: 'Ann', count: 3, a: 2, b: 5, lead: { id: 1 } });
    expect(o).toEqual({ kind: 'go', to: 'x', patch: { title: 'Order from Ann', n: 3, lead: { id: 1, source: 'site' }, total: 7 } });
  });
});

describe('code', () => {
  const phone = { type: 'code', next: 'x', code: `let p = String(data.phone).replace(/\\D/g, ''); if (p.length === 11 && p[0] === '8') p = '7' + p.slice(1); if (p.length === 10 && p[0] === '9') p = '7' + p; data.phone = p; return { len: p.length };` };
  it.each([
    ['8 (916) 123-45-67', '79161234567'],
    ['9161234567', '79161234567'],
    ['+7 916 123 45 67', '79161234567'],
  ])('normalizes %s', (input, out) => expect(run(phone, { phone: input })).toMatchObject({ kind: 'go', patch: { phone: out, len: 11 } }));
  it('a throw, a timeout and host access are errors', () => {
    expect(() => run({ type: 'code', code: 'throw new Error("nope")', next: 'x' })).toThrow(/nope/);
    expect(() => run({ type: 'code', code: 'while (true) {}', timeout: '100ms', next: 'x' })).toThrow(/longer than 100 ms/);
    expect(() => run({ type: 'code', code: 'return require("fs")', next: 'x' })).toThrow(/require/);
    expect(() => run({ type: 'code', code: 'globalThis.leak = 1', next: 'x' })).toThrow();
    expect(run({ type: 'code', code: 'return { seen: typeof leak }', next: 'x' })).toMatchObject({ patch: { seen: 'undefined' } });
    expect(() => run({ type: 'code', code: 'const a = []; for (;;) a.push(new Array(100000).fill(1));', memory_mb: 8, next: 'x' })).toThrow(/more than 8 MiB/);
    expect(run({ type: 'code', code: 'return { after: 1 + 1 }', next: 'x' })).toMatchObject({ patch: { after: 2 } }); // a fresh context after the limit
    for (const name of ['process', 'fetch', 'setTimeout', 'XMLHttpRequest']) {
      expect(run({ type: 'code', code: `return { t: typeof ${name} }`, next: 'x' })).toMatchObject({ patch: { t: 'undefined' } });
    }
  });
});

describe('delay, wait, call, copy, reply, final, error', () => {
  const now = Date.parse('2026-03-02T20:00:00Z'); // Monday 23:00 in Moscow
  it('delay: duration, until, and next working hour in the task\'s timezone', () => {
    expect(run({ type: 'delay', duration: '2h', next: 'x' }, {}, now)).toEqual({ kind: 'sleep', until: now + 7_200_000 });
    expect(run({ type: 'delay', until: '{{at}}', next: 'x' }, { at: '2026-03-05T00:00:00Z' }, now)).toEqual({ kind: 'sleep', until: Date.parse('2026-03-05T00:00:00Z') });
    const wh = { type: 'delay', working_hours: { from: '09:00', to: '21:00', timezone: '{{tz}}' }, next: 'x' };
    expect(run(wh, { tz: 'Europe/Moscow' }, now)).toEqual({ kind: 'sleep', until: Date.parse('2026-03-03T06:00:00Z') });
    expect(run(wh, { tz: 'America/New_York' }, now)).toEqual({ kind: 'sleep', until: now }); // 15:00 there
    expect(types.delay.wake!(ctx({ type: 'delay', next: 'x' }))).toEqual({ kind: 'go', to: 'x' });
    expect(types.delay.check!({ type: 'delay', next: 'x' })).toEqual(['needs duration, until or working_hours']);
  });
  it('wait: timeout and resume', () => {
    const node = { type: 'wait', timeout: '30m', save_to: 'call', next: 'ok', on_timeout: 'late' };
    expect(run(node, {}, now)).toEqual({ kind: 'wait', timeoutAt: now + 1_800_000 });
    expect(types.wait.wake!(ctx(node))).toMatchObject({ kind: 'go', to: 'late' });
    expect(types.wait.resume!(ctx(node), { result: 'answered' })).toEqual({ kind: 'go', to: 'ok', patch: { call: { result: 'answered' } } });
  });
  it('call spawns a child that replies; copy spawns and goes on', () => {
    expect(run({ type: 'call', process: 'rpc', timeout: '1m', next: 'ok' }, { a: 1 }, now)).toEqual({
      kind: 'wait', timeoutAt: now + 60_000, spawn: [{ process: 'rpc', ref: null, data: { a: 1 }, replyToParent: true }],
    });
    expect(run({ type: 'copy', process: 'robot', data: { phone: '{{p}}' }, ref: 'r-{{p}}', next: 'ok' }, { p: '7916' })).toEqual({
      kind: 'go', to: 'ok', spawn: [{ process: 'robot', ref: 'r-7916', data: { phone: '7916' }, replyToParent: false }],
    });
    expect(types.call.resume!(ctx({ type: 'call', process: 'rpc', next: 'ok' }), {}, 'CRM down')).toEqual({ kind: 'fail', error: 'process "rpc" failed: CRM down' });
  });
  it('reply, final and error', () => {
    expect(run({ type: 'reply', data: { id: '{{id}}' } }, { id: 5 })).toEqual({ kind: 'end', status: 'done', reply: { id: 5 } });
    expect(run({ type: 'final' })).toEqual({ kind: 'end', status: 'done' });
    expect(run({ type: 'error', reason: 'bad phone {{p}}' }, { p: '1' })).toEqual({ kind: 'end', status: 'error', reason: 'bad phone 1' });
  });
});
