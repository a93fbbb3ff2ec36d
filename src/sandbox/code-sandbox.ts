import {
  getQuickJS, shouldInterruptAfterDeadline,
  type QuickJSContext, type QuickJSHandle, type QuickJSRuntime, type QuickJSWASMModule,
} from 'quickjs-emscripten';
import { SandboxError } from './sandbox-error.ts';

export { SandboxError };
export interface SandboxLimits { timeMs: number; memoryBytes: number }
export interface CodeResult { data: unknown; returned: unknown; logs: string[] }

const DEFAULTS: SandboxLimits = { timeMs: 1000, memoryBytes: 32 * 1024 * 1024 };
const CACHE = 500;

// Runs inside QuickJS once per context. Data crosses as JSON text; intrinsics are frozen afterwards
// so that no run can leave state for the next one (functions are reused across tasks for speed).
const PRELUDE = `
(() => {
  let logs = [];
  const str = (v) => { try { return typeof v === 'string' ? v : JSON.stringify(v); } catch (e) { return String(v); } };
  globalThis.console = Object.freeze({ log: (...a) => { if (logs.length < 100) logs.push(a.map(str).join(' ').slice(0, 1000)); } });
  globalThis.__call = (fn, json) => {
    logs = [];
    const data = JSON.parse(json);
    const returned = fn(data);
    return JSON.stringify({ data, returned, logs });
  };
  for (const name of Object.getOwnPropertyNames(globalThis)) {
    const v = globalThis[name];
    if (v && (typeof v === 'object' || typeof v === 'function')) {
      Object.freeze(v);
      if (v.prototype) Object.freeze(v.prototype);
    }
  }
  Object.freeze(Object.getPrototypeOf(function* () {}));
  Object.freeze(globalThis);
})();
`;

/**
 * User JavaScript in QuickJS compiled to WebAssembly: no file system, network, timers or host
 * objects exist inside. One runtime and context are reused, each distinct source compiled once;
 * a run that hits the time or memory limit throws the context away, since QuickJS may be left broken.
 */
export class CodeSandbox {
  private runtime!: QuickJSRuntime;
  private vm!: QuickJSContext;
  private call!: QuickJSHandle;
  private readonly compiled = new Map<string, QuickJSHandle>();
  private memoryLimit = -1;

  private constructor(private readonly module: QuickJSWASMModule, private readonly defaults: SandboxLimits) {
    this.reset();
  }

  static async create(defaults: Partial<SandboxLimits> = {}): Promise<CodeSandbox> {
    return new CodeSandbox(await getQuickJS(), { ...DEFAULTS, ...defaults });
  }

  private reset(): void {
    if (this.vm) this.dispose();
    this.runtime = this.module.newRuntime();
    this.runtime.setMaxStackSize(1024 * 1024);
    this.memoryLimit = -1;
    this.vm = this.runtime.newContext();
    this.vm.unwrapResult(this.vm.evalCode(PRELUDE)).dispose();
    this.call = this.vm.getProp(this.vm.global, '__call');
  }

  private compile(source: string): QuickJSHandle {
    const hit = this.compiled.get(source);
    if (hit) {
      this.compiled.delete(source); // LRU: most recent last
      this.compiled.set(source, hit);
      return hit;
    }
    const res = this.vm.evalCode(`(function (data) {\n'use strict';\n${source}\n})`, 'code.js');
    if (res.error) {
      const err = this.vm.dump(res.error);
      res.error.dispose();
      throw new SandboxError('syntax', describe(err));
    }
    if (this.compiled.size >= CACHE) {
      const [oldest, handle] = this.compiled.entries().next().value!;
      handle.dispose();
      this.compiled.delete(oldest);
    }
    this.compiled.set(source, res.value);
    return res.value;
  }

  run(source: string, input: unknown, limits: Partial<SandboxLimits> = {}): CodeResult {
    const timeMs = limits.timeMs ?? this.defaults.timeMs;
    const memory = limits.memoryBytes ?? this.defaults.memoryBytes;
    if (memory !== this.memoryLimit) {
      this.runtime.setMemoryLimit(memory);
      this.memoryLimit = memory;
    }
    const fn = this.compile(source);
    const json = this.vm.newString(JSON.stringify(input ?? {}));
    this.runtime.setInterruptHandler(shouldInterruptAfterDeadline(Date.now() + timeMs));
    const res = this.vm.callFunction(this.call, this.vm.undefined, fn, json);
    json.dispose();
    this.runtime.removeInterruptHandler();
    if (res.error) {
      const err = this.vm.dump(res.error) as { name?: string; message?: string } | undefined;
      res.error.dispose();
      const msg = describe(err);
      if (/interrupted/i.test(msg)) {
        this.reset();
        throw new SandboxError('timeout', `code ran longer than ${timeMs} ms`);
      }
      if (/out of memory/i.test(msg) || /stack overflow/i.test(msg)) {
        this.reset();
        throw new SandboxError('memory', `code used more than ${Math.round(memory / 1048576)} MiB (${msg})`);
      }
      throw new SandboxError('throw', msg);
    }
    const text = this.vm.getString(res.value);
    res.value.dispose();
    const out = JSON.parse(text) as CodeResult;
    return { data: out.data, returned: out.returned, logs: out.logs };
  }

  dispose(): void {
    for (const h of this.compiled.values()) h.dispose();
    this.compiled.clear();
    this.call?.dispose();
    this.vm?.dispose();
    this.runtime?.dispose();
  }
}

function describe(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { name?: string; message?: string };
    return e.name && e.message ? `${e.name}: ${e.message}` : e.message ?? JSON.stringify(err);
  }
  return String(err);
}
