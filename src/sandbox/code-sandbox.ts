import {
  newQuickJSWASMModule,
  type QuickJSContext, type QuickJSHandle, type QuickJSRuntime, type QuickJSWASMModule,
} from 'quickjs-emscripten';
import { SandboxError } from './sandbox-error.ts';
import { ISOLATED_EVAL, PRELUDE } from './sandbox-prelude.ts';

export { SandboxError };
export interface SandboxLimits { timeMs: number; memoryBytes: number }
export interface CodeResult { data: unknown; returned: unknown; logs: string[] }

const DEFAULTS: SandboxLimits = { timeMs: 1000, memoryBytes: 32 * 1024 * 1024 };
const CACHE = 500;
// QuickJS limits its C stack, but wasm frames mostly live on V8's stack: at QuickJS's default (256 KiB)
// deep JSON.parse or nesting overflows V8 first, which tears QuickJS apart. 64 KiB still allows ~350
// levels of JS recursion; the parser is the worst ratio, so compiling gets 24 KiB (~200 nested brackets).
const STACK = 64 * 1024;
const COMPILE_STACK = 24 * 1024;

let counterOffset: number | undefined; // where JSContext keeps interrupt_counter (same for every context)

/**
 * User JavaScript in QuickJS compiled to WebAssembly: no file system, network, timers or host objects
 * exist inside. One runtime and context are reused and each distinct source is compiled once; a run that
 * hits the time or memory limit throws the context away, since QuickJS may be left broken.
 */
export class CodeSandbox {
  private rt!: QuickJSRuntime;
  private vm!: QuickJSContext;
  private fns!: { compile: QuickJSHandle; call: QuickJSHandle; finish: QuickJSHandle };
  private readonly compiled = new Map<string, QuickJSHandle>();
  private memory!: WebAssembly.Memory;
  private heap = new Int32Array(0);
  private heapBase = 0;       // wasm heap bytes of a fresh module
  private heapCap = Infinity; // while user code runs: how far the wasm heap may grow
  private limit = -1;
  private deadline = Infinity;
  private counterAt = 0;      // byte address of this context's interrupt_counter, 0 if unknown
  private every = 1;
  private polled = 0;
  private disposed = false;

  private constructor(private module: QuickJSWASMModule, private spare: QuickJSWASMModule | undefined,
    private readonly defaults: SandboxLimits) {
    this.useModule(module);
  }

  static async create(defaults: Partial<SandboxLimits> = {}): Promise<CodeSandbox> {
    // A private wasm module plus a spare: if V8's stack still overflows inside QuickJS, the module is
    // abandoned whole (freeing it could abort) and the spare takes over synchronously.
    const [module, spare] = await Promise.all([newQuickJSWASMModule(), newQuickJSWASMModule()]);
    return new CodeSandbox(module, spare, { ...DEFAULTS, ...defaults });
  }

  run(source: string, input: unknown, limits: Partial<SandboxLimits> = {}): CodeResult {
    if (this.disposed) throw new Error('CodeSandbox is disposed');
    const timeMs = limits.timeMs ?? this.defaults.timeMs;
    const memory = limits.memoryBytes ?? this.defaults.memoryBytes;
    const json = JSON.stringify(input ?? {});
    this.deadline = performance.now() + timeMs;
    this.polled = performance.now();
    this.every = 1; // ask at the first poll, then adapt
    if (this.counterAt) this.words()[this.counterAt >> 2] = 1;
    try {
      const fn = this.compile(source, timeMs, memory);
      const arg = this.vm.newString(json);
      const res = this.capped(memory, () => this.vm.callFunction(this.fns.call, this.vm.undefined, fn, arg));
      arg.dispose();
      let out = this.text(res, timeMs, memory);
      if (this.rt.hasPendingJob()) {
        // Promise callbacks run now, within the same limits, so none is left over for the next run.
        const jobs = this.capped(memory, () => this.rt.executePendingJobs());
        if (jobs.error) this.fatal(jobs.error, timeMs, memory);
        // An interrupted callback only rejects its promise, so the deadline is checked here too.
        if (performance.now() > this.deadline) { this.reset(); throw new SandboxError('timeout', `code ran longer than ${timeMs} ms`); }
        if (out[0] === '{') out = this.text(this.capped(memory, () => this.vm.callFunction(this.fns.finish, this.vm.undefined)), timeMs, memory);
      }
      if (out[0] !== '{') throw this.error(out, memory);
      return JSON.parse(out) as CodeResult;
    } catch (e) {
      if (e instanceof SandboxError) throw e;
      this.replaceModule();
      throw new SandboxError('memory', 'code nested too deeply: the native stack ran out');
    } finally {
      this.deadline = Infinity;
      // A run with a raised limit may have grown the wasm heap; it never shrinks, so drop the module.
      if (this.spare && this.memory.buffer.byteLength > this.heapBase + 2 * this.defaults.memoryBytes) this.replaceModule();
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.release();
    this.spare = undefined;
  }

  private compile(source: string, timeMs: number, memory: number): QuickJSHandle {
    const hit = this.compiled.get(source);
    if (hit) {
      this.compiled.delete(source); // LRU: most recently used last
      this.compiled.set(source, hit);
      return hit;
    }
    const arg = this.vm.newString(source);
    this.rt.setMaxStackSize(COMPILE_STACK);
    const res = this.capped(memory, () => this.vm.callFunction(this.fns.compile, this.vm.undefined, arg));
    this.rt.setMaxStackSize(STACK);
    arg.dispose();
    if (res.error) this.fatal(res.error, timeMs, memory);
    const fn = res.value!;
    if (this.vm.typeof(fn) === 'string') {
      const err = this.error(this.vm.getString(fn), memory, fn);
      if (this.rt.hasPendingJob()) this.reset(); // jobs queued by code outside the body must not run later
      throw err;
    }
    if (this.compiled.size >= CACHE) {
      const [oldest, handle] = this.compiled.entries().next().value!;
      handle.dispose();
      this.compiled.delete(oldest);
    }
    this.compiled.set(source, fn);
    return fn;
  }

  /** The string a VM call returned, or a SandboxError for what escaped it (interrupt, out of memory). */
  private text(res: ReturnType<QuickJSContext['callFunction']>, timeMs: number, memory: number): string {
    if (res.error) this.fatal(res.error, timeMs, memory);
    const s = this.vm.getString(res.value!);
    res.value!.dispose();
    return s;
  }

  private error(out: string, memory: number, handle?: QuickJSHandle): SandboxError {
    handle?.dispose();
    const kind = out[0] === 'S' ? 'syntax' : out[0] === 'M' ? 'memory' : 'throw';
    if (kind !== 'memory') return new SandboxError(kind, out.slice(1));
    this.reset();
    return memoryError(out.slice(1), memory);
  }

  /** Errors that escape the prelude's try/catch: the interrupt (uncatchable) or memory exhaustion. */
  private fatal(err: QuickJSHandle, timeMs: number, memory: number): never {
    let msg = 'out of memory';
    if (this.vm.typeof(err) === 'object') {
      const m = this.vm.getProp(err, 'message');
      if (this.vm.typeof(m) === 'string') msg = this.vm.getString(m);
      m.dispose();
    }
    err.dispose();
    this.reset();
    if (/interrupted/.test(msg)) throw new SandboxError('timeout', `code ran longer than ${timeMs} ms`);
    throw memoryError(msg, memory);
  }

  // QuickJS built for wasm counts 8 bytes per allocation (malloc_usable_size is 0 there), so its own limit
  // only bounds single allocations; refusing to grow the wasm heap while user code runs bounds the total.
  private capped<T>(memory: number, call: () => T): T {
    if (memory !== this.limit) this.rt.setMemoryLimit((this.limit = memory));
    this.heapCap = this.heapBase + memory;
    try { return call(); } finally { this.heapCap = Infinity; }
  }

  private words(): Int32Array {
    if (this.heap.buffer !== this.memory.buffer) this.heap = new Int32Array(this.memory.buffer);
    return this.heap;
  }

  // QuickJS calls this every 10,000 polls (loop jumps and calls); with costly natives between polls that
  // is minutes. Rewriting the counter it has just reset aims for a call about every millisecond instead.
  private readonly interrupt = (): boolean => {
    const now = performance.now();
    if (now > this.deadline) return true;
    if (this.counterAt) {
      const spent = now - this.polled;
      this.every = Math.max(1, Math.min(10000, Math.round(spent > 0.01 ? this.every / spent : this.every * 100)));
      this.words()[this.counterAt >> 2] = this.every;
    }
    this.polled = now;
    return false;
  };

  private reset(): void {
    this.release();
    this.counterAt = 0;       // the old context's counter is freed memory now
    this.deadline = Infinity; // the prelude must not be interrupted by a run's expired deadline
    const rt = (this.rt = this.module.newRuntime());
    rt.setMaxStackSize(STACK);
    rt.setInterruptHandler(this.interrupt);
    const vm = (this.vm = rt.newContext());
    const isolated = vm.unwrapResult(vm.evalCode(ISOLATED_EVAL, 'isolated.js'));
    const prelude = vm.unwrapResult(vm.evalCode(PRELUDE, 'prelude.js'));
    const api = vm.unwrapResult(vm.callFunction(prelude, vm.undefined, isolated));
    this.fns = { compile: vm.getProp(api, 'compile'), call: vm.getProp(api, 'call'), finish: vm.getProp(api, 'finish') };
    for (const h of [isolated, prelude, api]) h.dispose();
    counterOffset ??= this.findCounter();
    this.counterAt = counterOffset >= 0 ? (vm as unknown as { ctx: { value: number } }).ctx.value + counterOffset : 0;
    this.limit = -1;
  }

  /** The int32 in the JSContext that drops by exactly the extra polls of a longer loop; -1 if none. */
  private findCounter(): number {
    const ctx = (this.vm as unknown as { ctx?: { value?: unknown } }).ctx?.value;
    if (typeof ctx !== 'number') return -1;
    const snap = () => this.words().slice(ctx >> 2, (ctx >> 2) + 128);
    const loop = (n: number) => this.vm.unwrapResult(this.vm.evalCode(`for (let i = 0; i < ${n}; i++);`)).dispose();
    for (let attempt = 0; attempt < 5; attempt++) {
      const polled = this.polled; // the handler moves it: a reset of the counter spoils the attempt
      loop(1); const a = snap(); loop(100); const b = snap(); loop(200); const c = snap();
      if (this.polled !== polled) continue;
      const hits = [...a.keys()].filter((i) => {
        const d1 = a[i] - b[i], d2 = b[i] - c[i];
        return d2 > d1 && (d2 - d1) % 100 === 0 && 2 * d1 - d2 >= 0 && 2 * d1 - d2 < 100 && c[i] > 0 && a[i] <= 10000;
      });
      return hits.length === 1 ? hits[0] * 4 : -1;
    }
    return -1;
  }

  /** Frees the runtime; `leak` only forgets it (a runtime a host exception tore through aborts when freed). */
  private release(leak = false): void {
    if (!this.rt) return;
    if (!leak) {
      for (const h of this.compiled.values()) h.dispose();
      for (const h of Object.values(this.fns)) h.dispose();
      this.vm.dispose();
      this.rt.dispose();
    }
    this.compiled.clear();
    this.rt = undefined!;
  }

  private useModule(module: QuickJSWASMModule): void {
    this.module = module;
    const memory = (this.memory = module.getWasmMemory());
    const grow = memory.grow.bind(memory);
    this.heapBase = memory.buffer.byteLength;
    Object.defineProperty(memory, 'grow', { value: (pages: number) => {
      if (memory.buffer.byteLength + pages * 65536 > this.heapCap) throw new RangeError('sandbox heap cap');
      return grow(pages);
    } });
    this.reset();
  }

  private replaceModule(): void {
    this.release(true);
    if (!this.spare) return this.reset(); // a second failure before the new spare loaded: best effort
    const spare = this.spare;
    this.spare = undefined;
    newQuickJSWASMModule().then((m) => { if (!this.disposed) this.spare = m; }, () => {});
    this.useModule(spare);
  }
}

function memoryError(msg: string, bytes: number): SandboxError {
  if (/stack overflow/.test(msg)) return new SandboxError('memory', `code recursed or nested too deeply (${msg})`);
  return new SandboxError('memory', `code used more than ${Math.round((bytes / 1048576) * 10) / 10} MiB (${msg})`);
}
