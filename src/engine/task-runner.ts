import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import type { ProcessDefinition, ProcessVersion } from '../model/process-definition.ts';
import { StaleTaskError, type ProjectStore } from '../storage/project-store.ts';
import { parseDuration } from '../util/duration.ts';
import { render as renderTemplate } from '../util/template.ts';
import type { NodeRegistry } from './node-registry.ts';
import type { NodeContext, NodeServices, Outcome, Spawn } from './node-type.ts';
import { Step } from './step.ts';
import type { NewTask, TaskData, TaskRecord } from './task.ts';
import { TaskError, type EngineOptions } from './engine-options.ts';
import { Pacer } from './pacer.ts';
import type { ProjectConnections } from '../connectors/project-connections.ts';
import type { DeadLetters } from '../projects/dead-letters.ts';
import { NO_OBSERVER, type EngineObserver } from './engine-observer.ts';


/**
 * The heart of a project engine: claims what is due, moves tasks through nodes, runs async nodes in
 * their turn, and commits each step. ProjectEngine adds callbacks, hand operations and stats on top.
 */
export abstract class TaskRunner {
  protected readonly versions = new Map<string, ProcessVersion>();
  protected readonly latest = new Map<string, ProcessVersion>();
  protected config: Record<string, unknown> = {};
  /** Per process version: its config under the project's, merged once (templates read it every step). */
  private readonly mergedConfig = new Map<string, Record<string, unknown>>();
  protected running = false;
  protected loopDone: Promise<void> = Promise.resolve();
  protected wakeUp: (() => void) | null = null;
  protected signalled = false;
  protected inFlight = 0;
  protected readonly inFlightDone = new Set<Promise<void>>();
  protected janitor: NodeJS.Timeout | null = null;
  protected readonly pacer = new Pacer<TaskRecord>((_key, tasks) => this.execute(tasks));

  constructor(
    readonly store: ProjectStore,
    protected readonly registry: NodeRegistry,
    protected readonly services: NodeServices,
    protected readonly opts: EngineOptions,
    protected readonly log: Logger,
    /** The project's connections to services (the API manages them through here). */
    readonly connections: ProjectConnections,
    /** Leads that finally failed, as CSV (the dead_letter node appends; the API serves it). */
    readonly deadLetters: DeadLetters,
    protected readonly observer: EngineObserver = NO_OBSERVER,
  ) {}

  /** The signed URL that resumes this task's wait (given to remote services). */
  abstract callbackUrl(taskId: number, waitSeq: number): string;
  /** Delivers a callback that came before the task reached its wait. */
  protected abstract deliverInbox(taskId: number): Promise<void>;
  /** A 12-character signature of `value` for this project (links, deep-link payloads). */
  sign(value: string): string {
    return createHmac('sha256', this.opts.callbackSecret).update(`${this.project}:sign:${value}`).digest('base64url').slice(0, 12);
  }

  /** Cancels a task (ProjectEngine.cancel). */
  protected abstract cancelTask(taskId: number): Promise<unknown>;
  /** Forgets what outlived its retention (ended tasks, dedupe keys); runs every minute. */
  protected abstract purge(): Promise<void>;

  get project(): string {
    return this.store.project;
  }

  async start(): Promise<void> {
    for (const p of await this.store.listProcesses()) this.remember((await this.store.getProcess(p.name))!);
    this.config = await this.store.getConfig();
    this.mergedConfig.clear();
    this.running = true;
    this.loopDone = this.loop();
    this.janitor = setInterval(() => void this.purge().catch((e) => this.log.error(e, 'purge failed')), 60_000).unref();
  }

  /** Stops claiming, lets in-flight calls finish (their results are committed), then returns. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.janitor) clearInterval(this.janitor);
    this.signal();
    await this.loopDone;
    this.pacer.stop(); // queued tasks stay leased in the store and run after the lease
    await Promise.allSettled([...this.inFlightDone]);
  }

  signal(): void {
    this.signalled = true;
    this.wakeUp?.();
  }

  // ---- processes ----

  latestVersion(name: string): ProcessVersion | undefined {
    return this.latest.get(name);
  }

  processNames(): string[] {
    return [...this.latest.keys()];
  }

  async deploy(def: ProcessDefinition, publicId: string): Promise<ProcessVersion> {
    const v = await this.store.deployProcess(def, publicId);
    this.remember(v);
    return v;
  }

  protected remember(v: ProcessVersion): void {
    this.versions.set(`${v.name}@${v.version}`, v);
    const cur = this.latest.get(v.name);
    if (!cur || cur.version < v.version) this.latest.set(v.name, v);
  }

  protected async ensureVersions(tasks: TaskRecord[]): Promise<void> {
    for (const t of tasks) {
      if (this.versions.has(`${t.process}@${t.version}`)) continue;
      const v = await this.store.getProcess(t.process, t.version);
      if (v) this.remember(v);
    }
  }

  async setConfig(values: Record<string, unknown>): Promise<void> {
    await this.store.setConfig(values);
    this.config = await this.store.getConfig();
    this.mergedConfig.clear();
  }

  getConfig(): Record<string, unknown> {
    return { ...this.config };
  }

  // ---- the loop ----

  protected async loop(): Promise<void> {
    while (this.running) {
      try {
        if (this.inFlight >= this.opts.maxInFlight) {
          // Wait for a slot: a finishing call signals. Clearing the flag first keeps this from spinning.
          this.signalled = false;
          await this.idle(this.opts.pollMs);
          continue;
        }
        this.signalled = false;
        const now = Date.now();
        const tasks = await this.store.claimDue(now, this.opts.batchSize, this.opts.leaseMs);
        if (tasks.length === 0) {
          const next = await this.store.nextDueAt();
          await this.idle(next === null ? this.opts.pollMs : Math.min(Math.max(next - Date.now(), 0), this.opts.pollMs));
          continue;
        }
        await this.ensureVersions(tasks);
        await this.commitSteps(tasks.map((t) => this.advance(t, now)));
      } catch (err) {
        this.log.error({ err, project: this.project }, 'engine turn failed');
        await this.idle(this.opts.pollMs);
      }
    }
  }

  protected idle(ms: number): Promise<void> {
    if (this.signalled || !this.running || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = () => {
        this.wakeUp = null;
        done();
      };
    });
  }

  // ---- moving a task ----

  protected context(task: TaskRecord, nodeId: string, now: number): NodeContext {
    const def = this.definition(task);
    const node = def.nodes[nodeId];
    const engine = this;
    const roots = {
      task: {
        id: task.id, ref: task.ref, process: task.process, version: task.version, error: task.error,
        get callback_url() {
          return engine.callbackUrl(task.id, task.waitSeq);
        },
      },
      config: this.configFor(task, def),
      get now() {
        return new Date(now).toISOString();
      },
      node: nodeId,
    };
    return {
      nodeId, node, task, now, services: this.services, connections: this.connections,
      slowDown: this.slowDown, deadLetters: this.deadLetters, contacts: this.store.contacts, sign: this.signFn, cancelTask: this.cancelFn,
      dedupe: {
        claim: (keys, windowMs) => this.store.claimDedupeKeys(keys, task.id, Date.now() - windowMs, Date.now()),
        merged: (into, detail) => this.store.addHistory(into, { at: Date.now(), nodeId: nodeId, event: 'merged', detail: { task: task.id, ...detail } }),
      },
      render: (value) => renderTemplate(value, { data: task.data, roots }),
    };
  }

  // The project-level services of a NodeContext, made once rather than for every step.
  private readonly slowDown = (key: string, ms: number) => this.pacer.slowDown(key, ms);
  private readonly signFn = (value: string) => this.sign(value);
  private readonly cancelFn = async (id: number): Promise<boolean> => {
    try {
      await this.cancelTask(id);
      return true;
    } catch (err) {
      if (err instanceof TaskError && err.statusCode === 409) return false; // it had ended
      throw err;
    }
  };

  private configFor(task: TaskRecord, def: ProcessDefinition): Record<string, unknown> {
    const key = `${task.process}@${task.version}`;
    let merged = this.mergedConfig.get(key);
    if (!merged) this.mergedConfig.set(key, (merged = { ...(def.config ?? {}), ...this.config }));
    return merged;
  }

  protected definition(task: TaskRecord): ProcessDefinition {
    const v = this.versions.get(`${task.process}@${task.version}`);
    if (!v) throw new Error(`process ${task.process} v${task.version} is not deployed`);
    return v.definition;
  }

  protected resolveSpawn = (s: Spawn, parentId: number): NewTask => {
    const v = this.latest.get(s.process);
    if (!v) throw new Error(`process "${s.process}" is not deployed`);
    return {
      process: s.process, version: v.version, ref: s.ref, data: s.data, nodeId: startNode(v.definition),
      parentId: s.replyToParent ? parentId : null,
    };
  };

  /** One engine turn for a task: wake / resume / run its node, then on through sync nodes. */
  protected advance(task: TaskRecord, now: number, resume?: { payload: TaskData; error?: string }): Step {
    const step = new Step(task, now);
    try {
      const ctx = this.context(task, task.nodeId, now);
      if (!ctx.node) {
        this.runOutcome(step, ctx, { kind: 'fail', error: `node "${task.nodeId}" does not exist in ${task.process} v${task.version}` });
        return step;
      }
      const type = this.registry.get(ctx.node.type)!;
      if (resume) {
        task.waitSeq += 1; // this wait's callback URL is spent
        step.log(task.nodeId, 'resumed', resume.error ? { error: resume.error } : undefined);
        this.runOutcome(step, ctx, () => type.resume!(ctx, resume.payload, resume.error));
      } else if (task.status === 'sleeping' || task.status === 'waiting') {
        if (task.status === 'waiting') task.waitSeq += 1;
        step.log(task.nodeId, task.status === 'sleeping' ? 'woke' : 'timeout');
        this.runOutcome(step, ctx, () => type.wake!(ctx));
      } else if (task.status !== 'active') {
        return step; // ended or failed meanwhile: nothing is due
      } else {
        task.runAt = now; // due: the claim's lease time is not a schedule
      }
      this.chain(step);
    } catch (err) {
      this.log.error({ err, task: task.id }, 'step failed');
    }
    return step;
  }

  protected runOutcome(step: Step, ctx: NodeContext, outcome: Outcome | (() => Outcome)): void {
    let o: Outcome;
    try {
      o = typeof outcome === 'function' ? outcome() : outcome;
    } catch (err) {
      o = { kind: 'fail', error: errorMessage(err) };
    }
    try {
      step.apply(ctx.nodeId, ctx.node ?? { type: '?' }, o, this.resolveSpawn);
    } catch (err) {
      step.apply(ctx.nodeId, ctx.node ?? { type: '?' }, { kind: 'fail', error: errorMessage(err) }, this.resolveSpawn);
    }
  }

  /** Runs sync nodes while the task is active and due; stops before an async node. */
  protected chain(step: Step): void {
    const t = step.task;
    for (let i = 0; i < this.opts.maxChainSteps; i++) {
      if (t.status !== 'active' || (t.runAt ?? Infinity) > step.now) return;
      const ctx = this.context(t, t.nodeId, step.now);
      if (!ctx.node) return this.runOutcome(step, ctx, { kind: 'fail', error: `node "${t.nodeId}" does not exist` });
      const type = this.registry.get(ctx.node.type)!;
      if (type.async) {
        if (this.inFlight >= this.opts.maxInFlight) return;
        if (type.pace) {
          let retryAt: number | null;
          try {
            const req = type.pace(ctx);
            retryAt = req ? this.pacer.admit(req) : null;
          } catch (err) {
            return this.runOutcome(step, ctx, { kind: 'fail', error: errorMessage(err) });
          }
          if (retryAt !== null) return step.defer(retryAt); // its turn at the service comes later
        }
        step.startAsync = true;
        t.runAt = step.now + this.leaseFor(ctx.node.request_timeout ?? ctx.node.timeout);
        return;
      }
      this.runOutcome(step, ctx, () => type.run(ctx) as Outcome);
    }
  }

  protected leaseFor(timeout: unknown): number {
    const ms = timeout === undefined ? 30_000 : parseDuration(timeout as string | number);
    return Math.max(this.opts.leaseMs, ms + 60_000);
  }

  protected async commitSteps(steps: Step[]): Promise<void> {
    for (const s of steps) if (s.reply) await this.attachParent(s);
    const changed = steps.filter((s) => s.changed);
    const errors = await this.store.commit(changed.map((s) => s.toTransition()));
    let wake = false;
    changed.forEach((s, i) => {
      const err = errors[i];
      if (err) {
        if (!(err instanceof StaleTaskError)) this.log.error({ err, task: s.task.id }, 'commit failed');
        else this.log.debug({ task: s.task.id }, 'stale commit skipped');
        return;
      }
      if (s.spawn.length || s.parent) wake = true;
      this.observeEnd(s.task);
      if (s.checkInbox) void this.deliverInbox(s.task.id);
      if (s.parent?.startAsync) this.launch(s.parent.task);
    });
    for (const s of steps) if (s.startAsync && (!s.changed || !errors[changed.indexOf(s)])) this.launch(s.task);
    if (wake) this.signal();
  }

  protected observeEnd(t: TaskRecord): void {
    if (t.status === 'done' || t.status === 'error' || t.status === 'failed' || t.status === 'cancelled') {
      this.observer.finished(this.project, t.process, t.nodeId, t.status);
    }
  }

  /** Puts the parent's resume into the child's transaction, if the parent still waits for it. */
  protected async attachParent(step: Step): Promise<void> {
    const r = step.reply!;
    const parent = await this.store.getTask(r.parentId);
    if (!parent || parent.status !== 'waiting' || parent.waitingFor !== step.task.id) return;
    await this.ensureVersions([parent]);
    step.parent = this.advance(parent, step.now, { payload: r.payload, error: r.error });
  }

  /** Runs the task's async node outside any transaction (in its turn, if the node is paced). */
  protected launch(task: TaskRecord): void {
    try {
      const ctx = this.context(task, task.nodeId, Date.now());
      const req = this.registry.get(ctx.node.type)!.pace?.(ctx);
      if (req) return this.pacer.enqueue(req, task, `${task.process}@${task.version}:${task.nodeId}`);
    } catch {
      // run() meets the same error and fails the task with it
    }
    this.execute([task]);
  }

  /** One call for these tasks (several only for a node with runBatch), then commits their outcomes. */
  protected execute(tasks: TaskRecord[]): void {
    this.inFlight++;
    const p = (async () => {
      try {
        const ctxs = tasks.map((t) => this.context(t, t.nodeId, Date.now()));
        const type = this.registry.get(ctxs[0].node.type)!;
        let outcomes: Outcome[];
        const started = performance.now();
        const attempts = tasks.map((t) => t.attempt);
        try {
          outcomes = tasks.length > 1 && type.runBatch ? await type.runBatch(ctxs) : [await type.run(ctxs[0])];
        } catch (err) {
          outcomes = tasks.map(() => ({ kind: 'fail', error: errorMessage(err) }));
        }
        const durationMs = performance.now() - started;
        tasks.forEach((t, i) => this.observer.called(this.project, {
          process: t.process, nodeId: t.nodeId, nodeType: ctxs[i].node.type, taskId: t.id, outcome: outcomes[i]?.kind ?? 'fail',
          attemptsBefore: attempts[i], durationMs, taskCreatedAt: t.createdAt,
        }));
        const steps = ctxs.map((ctx, i) => {
          const done = new Step(ctx.task, Date.now());
          this.runOutcome(done, ctx, outcomes[i] ?? { kind: 'fail', error: 'the node gave no outcome for this task' });
          this.chain(done);
          return done;
        });
        await this.commitSteps(steps);
      } catch (err) {
        this.log.error({ err, tasks: tasks.map((t) => t.id) }, 'async node failed');
      }
    })().finally(() => {
      this.inFlight--;
      this.inFlightDone.delete(p);
      this.signal();
    });
    this.inFlightDone.add(p);
  }

}

export function startNode(def: ProcessDefinition): string {
  return def.start ?? Object.keys(def.nodes)[0];
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
