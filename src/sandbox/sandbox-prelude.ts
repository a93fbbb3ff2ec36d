// The JavaScript that runs inside every QuickJS context before user code: it freezes what user code can
// reach, removes code-from-strings, and encodes results. Kept apart so the host side reads on its own.

// Evaluated at global level on its own: code run by this direct eval sees only `eval` (a const) and the
// call's `arguments`, so whatever a source declares outside its function body dies with the call.
export const ISOLATED_EVAL = `(() => { const eval = globalThis.eval; return function () { return eval(arguments[0]); }; })()`;

// Runs once per context. Everything reachable from user code is frozen afterwards, and eval/Function are
// gone, so compiled functions can be reused across tasks without one run leaving state for the next.
export const PRELUDE = String.raw`(function (isolatedEval) {
  'use strict';
  const { freeze, getPrototypeOf, getOwnPropertyDescriptor, defineProperty } = Object;
  const { apply, ownKeys } = Reflect;
  const native = JSON.stringify, parse = JSON.parse, isArray = Array.isArray, fnToString = Function.prototype.toString;
  const DEPTH = 500, LOG_LINES = 100, LOG_CHARS = 1000, MSG_CHARS = 2000;
  const builtins = new Map(); // prototype → class name, to name what is not JSON (Map, Set, Error…)
  for (const name of ownKeys(globalThis)) {
    const v = globalThis[name];
    if (typeof v === 'function' && v.prototype && !['Object', 'Array', 'Number', 'String', 'Boolean'].includes(name)) builtins.set(v.prototype, name);
  }
  let logs = [], data, returned; // the current run's

  // Native JSON.stringify recurses without a stack check, so deep nesting could exhaust V8's stack under
  // the wasm: every stringify goes through a replacer that tracks the depth.
  const tooDeep = () => new RangeError('JSON nesting deeper than ' + DEPTH + ' levels');
  const tracker = (list, user) => {
    const objs = [];
    return function (key, value) {
      while (objs.length && objs[objs.length - 1] !== this) objs.pop();
      if (list && objs.length && !isArray(this) && !list.has(key)) return undefined;
      if (user) value = apply(user, this, [key, value]);
      if (typeof value === 'object' && value !== null) {
        if (objs.length >= DEPTH) throw tooDeep();
        objs.push(value);
      }
      return value;
    };
  };
  const stringify = function stringify(value, replacer, space) {
    const list = isArray(replacer) ? new Set(replacer.filter((k) => typeof k === 'string' || typeof k === 'number').map(String)) : null;
    return native(value, tracker(list, typeof replacer === 'function' ? replacer : null), space);
  };

  // The result: same tracking on a reused stack (encode never re-enters), refusing what JSON would drop.
  // Maps, Sets, Errors… would silently become {}, so their toJSON refuses while encoding.
  const notJson = {}, stack = [];
  let depth = 0, encoding = false;
  const strict = function (key, value) {
    while (depth && stack[depth - 1] !== this) depth--;
    const t = typeof value;
    if (t === 'object') {
      if (value !== null) { if (depth >= DEPTH) throw tooDeep(); stack[depth++] = value; }
    } else if (t === 'function' || t === 'symbol') throw notJson;
    return value;
  };
  const refuse = function toJSON() { if (encoding) throw notJson; return this; };
  for (const [proto, name] of builtins) if (name !== 'Date' && name !== 'Function') defineProperty(proto, 'toJSON', { value: refuse });
  const encode = () => {
    const result = { data, returned, logs };
    depth = 0;
    encoding = true;
    try { return native(result, strict); } catch (e) {
      if (e !== notJson && !(e instanceof TypeError)) throw e;
      encoding = false;
      throw explain(result.data, 'data', []) || explain(result.returned, 'returned', []) || e;
    } finally { encoding = false; stack.length = 0; }
  };
  // Only when the result is not JSON: walk it again to name the offending path.
  const explain = (value, path, parents) => {
    const t = typeof value;
    let bad = t === 'function' || t === 'symbol' ? 'a ' + t : t === 'bigint' ? 'a BigInt' : null;
    if (t === 'object' && value !== null) {
      const name = value.toJSON === refuse && (builtins.get(getPrototypeOf(value)) || 'object extending a builtin');
      if (name) bad = (/^[AEIOU]/.test(name) ? 'an ' : 'a ') + name;
      else if (parents.includes(value)) bad = 'a circular reference';
      else if (typeof value.toJSON !== 'function') for (const k of Object.keys(value)) {
        const found = explain(value[k], isArray(value) ? path + '[' + k + ']' : path + '.' + k, [...parents, value]);
        if (found) return found;
      }
    }
    return bad && new TypeError(path + ' is ' + bad + ', not JSON (only objects, arrays, strings, numbers, booleans and null can be kept)');
  };

  // Results cross to the host as one string: '{…}' is the JSON result, else a kind letter and a message.
  const fail = (kind, e) => {
    let msg;
    try {
      if (e instanceof InternalError && (e.message === 'out of memory' || e.message === 'stack overflow')) kind = 'M';
      msg = e instanceof Error ? String(e) : typeof e === 'string' ? e : stringify(e) ?? String(e);
      if (kind === 'S' && e instanceof SyntaxError && typeof e.lineNumber === 'number') msg += ' (line ' + (e.lineNumber - 1) + ')';
    } catch (_) { msg = 'an exception that cannot be described'; }
    return kind + (msg.length > MSG_CHARS ? msg.slice(0, MSG_CHARS) + '…' : msg);
  };
  const show = (v) => {
    if (typeof v === 'string') return v;
    try {
      const s = typeof v === 'object' && v !== null && !(v instanceof Error) ? stringify(v) : undefined;
      return s === undefined ? String(v) : s;
    } catch (_) { return '[unprintable]'; }
  };
  globalThis.console = { log: function log(...args) {
    if (logs.length >= LOG_LINES) return;
    const line = args.map(show).join(' ');
    logs.push(line.length > LOG_CHARS ? line.slice(0, LOG_CHARS) : line);
  } };
  JSON.stringify = stringify;

  // No code from strings: user code could otherwise re-parse a wrapper and keep state in its closure.
  const denied = (what) => function () { throw new EvalError(what + ' is not available in code nodes'); };
  const deny = (proto, name) => {
    const ctor = denied(name);
    defineProperty(ctor, 'prototype', { value: proto });
    defineProperty(proto, 'constructor', { value: ctor });
    return ctor;
  };
  globalThis.eval = denied('eval');
  globalThis.Function = deny(Function.prototype, 'Function');
  deny(getPrototypeOf(function* () {}), 'GeneratorFunction');
  deny(getPrototypeOf(async function () {}), 'AsyncFunction');
  deny(getPrototypeOf(async function* () {}), 'AsyncGeneratorFunction');

  // Frozen prototypes make 'o.toString = f' or 'this.name = …' in an Error subclass throw (the override
  // mistake); an accessor that defines the property on the receiver instead keeps those working.
  const enable = (obj, key) => {
    const d = getOwnPropertyDescriptor(obj, key);
    if (!d || !('value' in d)) return;
    defineProperty(obj, key, { enumerable: d.enumerable, configurable: false, get: function () { return d.value; },
      set: function (v) {
        if (this === obj) throw new TypeError("'" + key + "' is read-only");
        defineProperty(this, key, { value: v, writable: true, enumerable: true, configurable: true });
      } });
  };
  for (const k of ['constructor', 'toString', 'valueOf', 'toLocaleString']) enable(Object.prototype, k);
  for (const E of [Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError, InternalError, AggregateError]) {
    for (const k of ['constructor', 'name', 'message']) enable(E.prototype, k);
  }

  // Deep-freeze everything reachable, including intrinsics with no global name (iterator prototypes…).
  const seen = new Set();
  const todo = [globalThis, getPrototypeOf(function* () {}), getPrototypeOf(async function () {}),
    getPrototypeOf(async function* () {}), (function* () {})(), (async function* () {})(), [][Symbol.iterator](),
    new Map()[Symbol.iterator](), new Set()[Symbol.iterator](), ''[Symbol.iterator](), /x/[Symbol.matchAll]('')];
  while (todo.length) {
    const o = todo.pop();
    if ((typeof o !== 'object' && typeof o !== 'function') || o === null || seen.has(o)) continue;
    seen.add(o);
    freeze(o);
    todo.push(getPrototypeOf(o));
    for (const k of ownKeys(o)) { const d = getOwnPropertyDescriptor(o, k); todo.push(d.value, d.get, d.set); }
  }

  return {
    compile(source) {
      // This 'eval' hides the real one from the body (and from any code a source sneaks outside it).
      const head = "function (data) {'use strict';\n", tail = '\n}';
      let fn, text = null;
      try { fn = isolatedEval('const eval = globalThis.eval; (' + head + source + tail + ')'); } catch (e) { return fail('S', e); }
      // Only the whole wrapper parsed as one function has exactly this text; '}); …; (function () {' does not.
      try { if (typeof fn === 'function') text = apply(fnToString, fn, []); } catch (_) {}
      return text === head + source + tail ? fn : 'SSyntaxError: the code closes a brace it did not open';
    },
    call(fn, json) {
      logs = []; data = returned = undefined;
      try { data = parse(json); returned = fn(data); return encode(); } catch (e) { return fail('T', e); }
    },
    // After promise callbacks ran: they may have changed data or logged.
    finish() { try { return encode(); } catch (e) { return fail('T', e); } },
  };
})`;
