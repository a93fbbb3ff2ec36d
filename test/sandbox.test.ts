import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CodeSandbox, SandboxError } from '../src/sandbox/code-sandbox.ts';

let sandbox: CodeSandbox;
beforeAll(async () => { sandbox = await CodeSandbox.create(); });
afterAll(() => sandbox.dispose());

/** The SandboxError a run throws (fails the test if it does not throw one). */
function failure(source: string, input: unknown = {}, limits?: Parameters<CodeSandbox['run']>[2]): SandboxError {
  try {
    sandbox.run(source, input, limits);
  } catch (e) {
    if (e instanceof SandboxError) return e;
    throw e;
  }
  throw new Error('expected a SandboxError');
}

const stillWorks = () => expect(sandbox.run('return data.a + 1', { a: 1 }).returned).toBe(2);

describe('code sandbox', () => {
  it('runs the phone example', () => {
    const code = `data.phone = String(data.phone).replace(/\\D/g, '');
if (data.phone.length === 10 && data.phone[0] === '9') data.phone = '7' + data.phone;
return { phone_len: data.phone.length };`;
    expect(sandbox.run(code, { phone: '(916) 123-45-67', name: 'Ann' })).toEqual({
      data: { phone: '79161234567', name: 'Ann' }, returned: { phone_len: 11 }, logs: [],
    });
    expect(sandbox.run(code, { phone: 84951234567 }).data).toEqual({ phone: '84951234567' });
  });

  it('keeps mutations of data apart from the return value', () => {
    const res = sandbox.run('data.count += 1; delete data.drop; data.list.push(3); return [data.count, "x"]',
      { count: 1, drop: true, list: [1, 2] });
    expect(res.data).toEqual({ count: 2, list: [1, 2, 3] });
    expect(res.returned).toEqual([2, 'x']);
    expect(sandbox.run('data.x = 1', {})).toEqual({ data: { x: 1 }, returned: undefined, logs: [] });
    expect(sandbox.run('return null', {}).returned).toBeNull();
    expect(sandbox.run('return { when: new Date(0), n: NaN }', {}).returned).toEqual({ when: '1970-01-01T00:00:00.000Z', n: null });
  });

  it('gives the body a deep copy of the input', () => {
    const input = { nested: { list: [1, { deep: true }] } };
    const res = sandbox.run('data.nested.list[1].deep = false; data.nested.list.push(9); data.added = 1', input);
    expect(input).toEqual({ nested: { list: [1, { deep: true }] } });
    expect(res.data).toEqual({ nested: { list: [1, { deep: false }, 9] }, added: 1 });
  });

  it('reports a throw with the error message', () => {
    const e = failure('return data.missing.x');
    expect(e.kind).toBe('throw');
    expect(e.message).toBe("TypeError: cannot read property 'x' of undefined");
    expect(failure("throw new RangeError('too big')").message).toBe('RangeError: too big');
    expect(failure("throw 'plain string'").message).toBe('plain string');
    expect(failure('throw { code: 42 }').message).toBe('{"code":42}');
    // Frozen prototypes must not break assigning inherited names (the "override mistake").
    expect(failure("class E extends Error { constructor(m) { super(m); this.name = 'E'; } } throw new E('boom')").message).toBe('E: boom');
    expect(sandbox.run("const o = {}; o.toString = () => 'hi'; return String(o)", {}).returned).toBe('hi');
  });

  it('reports code that does not compile as a syntax error, with its line', () => {
    const e = failure('const a = 1;\nreturn a +;');
    expect(e.kind).toBe('syntax');
    expect(e.message).toMatch(/^SyntaxError: .* \(line 2\)$/);
    expect(failure('with (data) {}').kind).toBe('syntax'); // strict mode
    expect(failure('return ' + '('.repeat(5000) + '1' + ')'.repeat(5000)).kind).toBe('syntax');
    stillWorks();
  });

  it('rejects a source that closes the function body to run code outside it', () => {
    const escape = '}); let shared = { n: 0 }; (function () { return ++shared.n;';
    expect(failure(escape).message).toMatch(/closes a brace it did not open/);
    expect(failure(escape).kind).toBe('syntax');
    expect(sandbox.run('return typeof shared', {}).returned).toBe('undefined');
  });

  it('stops an endless loop at the time limit and works afterwards', () => {
    const started = Date.now();
    const e = failure('while (true) {}', {}, { timeMs: 200 });
    expect(e.kind).toBe('timeout');
    expect(e.message).toBe('code ran longer than 200 ms');
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(Date.now() - started).toBeLessThan(1500);
    stillWorks();
  });

  it('stops a loop of costly native calls near the time limit too', () => {
    // QuickJS asks the interrupt handler only every 10,000 polls; here that alone would be ~40 s.
    const started = Date.now();
    expect(failure('for (;;) "x".repeat(1e6).indexOf("y")', {}, { timeMs: 200 }).kind).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(2000);
    stillWorks();
  });

  it('stops a catastrophic regular expression at the time limit', () => {
    // (a+)+$ against 40 a's and a b backtracks 2^40 times: hours, unless the regex engine polls the interrupt.
    const started = Date.now();
    expect(failure(`return /^(a+)+$/.test('a'.repeat(40) + 'b')`, {}, { timeMs: 200 }).kind).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(2000);
    stillWorks();
  });

  it('stops allocation at the memory limit and works afterwards', () => {
    const huge = failure('const a = new Array(1e8).fill(0); return a.length', {}, { memoryBytes: 8 << 20 });
    expect(huge.kind).toBe('memory');
    expect(huge.message).toMatch(/more than 8 MiB/);
    stillWorks();
    // Many medium allocations: QuickJS's own limit misses these in wasm builds; the heap cap catches them.
    expect(failure('const a = []; for (;;) a.push("x".repeat(1e6) + a.length)', {}, { memoryBytes: 8 << 20 }).kind).toBe('memory');
    stillWorks();
    expect(sandbox.run('return "x".repeat(1e6).length', {}, { memoryBytes: 4 << 20 }).returned).toBe(1e6);
  });

  it('reports runaway recursion and keeps working', () => {
    const e = failure('function f() { return f() + 1 } return f()');
    expect(e.kind).toBe('memory');
    expect(e.message).toMatch(/stack overflow/);
    stillWorks();
    expect(sandbox.run('function f(n) { return n ? f(n - 1) + 1 : 0 } return f(200)', {}).returned).toBe(200);
  });

  it('survives the host stack running out inside the wasm', () => {
    // Near the end of V8's stack, QuickJS's own stack check comes too late; the sandbox must abandon
    // that wasm module for its spare instead of freeing a half-updated runtime (which aborts).
    const code = 'function f(n) { return n ? f(n - 1) + 1 : 0 } return f(300)';
    const at = (depth: number): unknown => (depth > 0 ? at(depth - 1) : sandbox.run(code, {}).returned);
    let abandoned = false;
    for (let depth = 0; depth < 100_000 && !abandoned; depth += 50) {
      try {
        expect(at(depth)).toBe(300);
      } catch (e) {
        if (e instanceof SandboxError) {
          expect(e.message).toMatch(/native stack ran out/);
          abandoned = true;
        } else if (e instanceof RangeError) break; // ran out in the host before reaching the wasm
        else throw e;
      }
    }
    expect(abandoned).toBe(true);
    stillWorks();
  });

  it('exposes no host objects, timers, modules or code from strings', () => {
    const probe = sandbox.run(`return {
      require: typeof require, process: typeof process, fetch: typeof fetch, setTimeout: typeof setTimeout,
      setInterval: typeof setInterval, queueMicrotask: typeof queueMicrotask, std: typeof std, os: typeof os,
      Buffer: typeof Buffer, XMLHttpRequest: typeof XMLHttpRequest, WebAssembly: typeof WebAssembly,
    }`, {}).returned as Record<string, string>;
    for (const [name, type] of Object.entries(probe)) expect(`${name}: ${type}`).toBe(`${name}: undefined`);
    expect(failure('return eval("1 + 1")').message).toBe('EvalError: eval is not available in code nodes');
    expect(failure('return Function("return 1")()').message).toMatch(/^EvalError: Function is not available/);
    expect(failure('return (function () {}).constructor("return this")()').kind).toBe('throw');
    expect(failure('return Object.getPrototypeOf(async function () {}).constructor("")').kind).toBe('throw');
    // import() only yields a promise that rejects: there is no module loader.
    const imported = sandbox.run("import('fs').then(() => console.log('loaded'), (e) => console.log('failed: ' + e))", {});
    expect(imported.logs).toEqual(["failed: ReferenceError: could not load module 'fs'"]);
  });

  it('does not let one run see state left by another', () => {
    expect(failure('globalThis.leak = 1').kind).toBe('throw');
    expect(failure('Array.prototype.leak = 1').kind).toBe('throw');
    expect(failure('Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())).leak = 1').kind).toBe('throw');
    expect(failure('JSON.parse = () => 1').kind).toBe('throw');
    expect(failure('Math.random = () => 4').kind).toBe('throw');
    expect(sandbox.run('return [typeof leak, "leak" in [], JSON.parse("1"), Math.random() < 1]', {}).returned)
      .toEqual(['undefined', false, 1, true]);
    // Everything user code can reach is frozen: nothing can carry a value from one task to the next.
    const unfrozen = sandbox.run(`const proto = Object.getPrototypeOf, seen = new Set(), open = [];
      const todo = [globalThis, proto(function* () {}), proto(async function () {}), proto([][Symbol.iterator]()),
        proto(new Map().entries()), proto(new Set().values()), proto(''[Symbol.iterator]()), proto(/x/[Symbol.matchAll](''))];
      while (todo.length) {
        const o = todo.pop();
        if ((typeof o !== 'object' && typeof o !== 'function') || o === null || seen.has(o)) continue;
        seen.add(o);
        if (!Object.isFrozen(o)) open.push(String(o));
        todo.push(proto(o));
        for (const k of Reflect.ownKeys(o)) { const d = Object.getOwnPropertyDescriptor(o, k); todo.push(d.value, d.get, d.set); }
      }
      return [seen.size > 500, open]`, {}).returned;
    expect(unfrozen).toEqual([true, []]);
    // The same compiled function serves many tasks; its locals start fresh on every run.
    const counter = 'let n = 0; const bump = () => ++n; bump(); return { n: bump(), id: data.id }';
    expect(sandbox.run(counter, { id: 1 }).returned).toEqual({ n: 2, id: 1 });
    expect(sandbox.run(counter, { id: 2 }).returned).toEqual({ n: 2, id: 2 });
  });

  it('captures console.log, one line per call, capped', () => {
    const res = sandbox.run("console.log('phone', data.phone, { ok: true }, [1, 2], undefined, null); console.log(new Error('e'))", { phone: '79161234567' });
    expect(res.logs).toEqual(['phone 79161234567 {"ok":true} [1,2] undefined null', 'Error: e']);
    const many = sandbox.run("for (let i = 0; i < 500; i++) console.log('x'.repeat(5000))", {});
    expect(many.logs).toHaveLength(100);
    expect(many.logs.every((line) => line.length === 1000)).toBe(true);
    expect(sandbox.run('return 1', {}).logs).toEqual([]); // logs belong to one run
  });

  it('refuses results that JSON cannot hold, naming where', () => {
    const message = (source: string) => failure(source).message;
    expect(message('return function () {}')).toMatch(/^TypeError: returned is a function, not JSON/);
    expect(message('return { list: [1, { cb() {} }] }')).toMatch(/^TypeError: returned\.list\[1\]\.cb is a function, not JSON/);
    expect(message('data.self = data')).toMatch(/^TypeError: data\.self is a circular reference, not JSON/);
    expect(message('return new Map([[1, 2]])')).toMatch(/^TypeError: returned is a Map, not JSON/);
    expect(message('return { big: 10n }')).toMatch(/^TypeError: returned\.big is a BigInt, not JSON/);
    expect(message('return (async () => 1)()')).toMatch(/^TypeError: returned is a Promise, not JSON/);
    expect(message('let a = []; for (let i = 0; i < 10000; i++) a = [a]; return a')).toMatch(/nesting deeper than 500/);
    // Inside the body JSON.stringify keeps its usual meaning.
    expect(sandbox.run('return JSON.stringify({ m: new Map(), f() {}, a: [1] }, null, 0)', {}).returned).toBe('{"m":{},"a":[1]}');
    stillWorks();
  });

  it('runs promise callbacks before reading the result', () => {
    const res = sandbox.run("Promise.resolve().then(() => { data.later = true; console.log('then') }); return 1", {});
    expect(res).toEqual({ data: { later: true }, returned: 1, logs: ['then'] });
    expect(failure('Promise.resolve().then(() => { for (;;) {} })', {}, { timeMs: 100 }).kind).toBe('timeout');
    stillWorks();
  });

  it('compiles each source once and survives evicting the cache', () => {
    for (let i = 0; i < 600; i++) expect(sandbox.run(`return data.x + ${i}`, { x: 1 }).returned).toBe(1 + i);
    expect(sandbox.run('return data.x + 0', { x: 5 }).returned).toBe(5);
  });
});
