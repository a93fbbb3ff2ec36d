import { createHmac, timingSafeEqual } from 'node:crypto';
import { StaleTaskError } from '../storage/project-store.ts';
import { parseDuration } from '../util/duration.ts';
import { DEDUPE_KEEP, TaskError } from './engine-options.ts';
import { Step } from './step.ts';
import type { CreateResult, HistoryEntry, NewTask, TaskData, TaskRecord } from './task.ts';
import { isAlive } from './task.ts';
import { TaskRunner, errorMessage, startNode } from './task-runner.ts';

export { DEFAULT_ENGINE_OPTIONS, TaskError, type EngineOptions } from './engine-options.ts';
export { startNode } from './task-runner.ts';

/**
 * One project's engine as the API and CLI see it: the task runner, plus creating tasks, signed callback URLs,
 * operations by hand (move, requeue, cancel), history and stats.
 */
export class ProjectEngine extends TaskRunner {
  // ---- creating tasks ----

  async createTasks(process: string, items: Array<{ ref?: string | null; data?: TaskData }>): Promise<CreateResult[]> {
    const v = this.latest.get(process);
    if (!v) throw new TaskError(404, `process "${process}" is not deployed in project "${this.project}"`);
    const start = startNode(v.definition);
    const tasks: NewTask[] = items.map((i) => ({
      process, version: v.version, ref: i.ref ?? null, data: i.data ?? {}, nodeId: start,
    }));
    // A few new tasks (a lead from a form) take their first sync steps inside the create transaction:
    // no claim and no second commit before the first call. Big batches are left to the loop, which
    // moves them 512 at a time for less work per task. So are steps that start or answer other tasks.
    const startAsync = new Set<number>();
    const now = Date.now();
    const res = await this.store.createTasks(tasks, now, items.length > ADVANCE_AT_CREATE ? undefined : (task) => {
      const step = this.advance(task, now);
      if ((!step.changed && !step.startAsync) || step.reply || step.parent || step.spawn.length) return undefined;
      if (step.startAsync) startAsync.add(task.id);
      return step.toTransition();
    });
    const fresh = res.filter((r) => r.created);
    if (fresh.length) this.observer.created(this.project, process, fresh.length);
    for (const r of fresh) if (r.advanced) this.observeEnd(r.advanced);
    for (const r of res) if (r.advanced && startAsync.has(r.id)) this.launch(r.advanced);
    this.signal();
    return res.map(({ advanced: _, ...r }) => r);
  }

  // ---- callbacks and hand operations ----

  /** The URL that resumes the task's wait number `waitSeq` (its next wait, or the one it is in). */
  callbackUrl(taskId: number, waitSeq: number): string {
    return `${this.opts.publicUrl()}/callbacks/${encodeURIComponent(this.project)}/${taskId}/${waitSeq}-${this.callbackToken(`${taskId}:${waitSeq}`)}`;
  }

  private callbackToken(subject: string): string {
    return createHmac('sha256', this.opts.callbackSecret).update(`${this.project}:${subject}`).digest('base64url').slice(0, 32);
  }

  /**
   * The wait a callback token was made for; `'any'` for a token of an older version (one per task,
   * handed out before tokens named their wait); null when the token is not ours.
   */
  verifyCallbackToken(taskId: number, token: string): number | 'any' | null {
    const m = /^(\d{1,9})-(.+)$/.exec(token);
    const [subject, given] = m ? [`${taskId}:${m[1]}`, m[2]] : [String(taskId), token];
    const want = Buffer.from(this.callbackToken(subject));
    const got = Buffer.from(given);
    if (want.length !== got.length || !timingSafeEqual(want, got)) return null;
    return m ? Number(m[1]) : 'any';
  }

  /**
   * A callback resumes a waiting task, or is kept until the task reaches its wait node. With
   * `waitSeq`, only the wait it was made for: an answer to a wait the task has left is refused (410).
   */
  async deliverCallback(taskId: number, payload: TaskData, waitSeq?: number): Promise<'resumed' | 'queued'> {
    return this.withTask(taskId, async (task) => {
      if (!isAlive(task.status)) throw new TaskError(410, `task ${taskId} has ended (${task.status})`);
      if (waitSeq !== undefined && waitSeq !== task.waitSeq) {
        throw new TaskError(410, `this callback URL was for an earlier wait of task ${taskId}, which it has left (now at "${task.nodeId}")`);
      }
      const node = this.definition(task).nodes[task.nodeId];
      if (task.status === 'waiting' && node && this.registry.get(node.type)?.callbacks) {
        const step = this.advance(task, Date.now(), { payload });
        await this.commitOrThrow(step);
        return 'resumed';
      }
      if (!(await this.store.putInbox(taskId, task.rev, payload))) throw new StaleTaskError(taskId);
      return 'queued';
    });
  }

  protected async deliverInbox(taskId: number): Promise<void> {
    try {
      const payload = await this.store.takeInbox(taskId);
      if (payload !== undefined) await this.deliverCallback(taskId, payload as TaskData);
    } catch (err) {
      this.log.error({ err, task: taskId }, 'early callback delivery failed');
    }
  }

  async move(taskId: number, nodeId: string): Promise<TaskRecord> {
    return this.withTask(taskId, async (task) => {
      if (!(nodeId in this.definition(task).nodes)) {
        throw new TaskError(400, `node: "${nodeId}" is not a node of ${task.process} v${task.version}`);
      }
      const step = new Step(task, Date.now());
      if (task.status === 'waiting') task.waitSeq += 1; // moved out of a wait: its callback URL is spent
      step.log(nodeId, 'moved', { from: task.nodeId, status: task.status });
      step.moveTo(nodeId);
      await this.commitOrThrow(step);
      this.signal();
      return task;
    });
  }

  async requeue(taskId: number): Promise<TaskRecord> {
    return this.withTask(taskId, async (task) => {
      if (task.status !== 'failed') throw new TaskError(409, `task ${taskId} is ${task.status}, not failed`);
      const step = new Step(task, Date.now());
      step.log(task.nodeId, 'requeued', { error: task.error });
      step.moveTo(task.nodeId);
      await this.commitOrThrow(step);
      this.signal();
      return task;
    });
  }

  /** Requeues every failed task of a process (at one node, if given): the dead-letter list's "retry all". */
  async requeueFailed(process: string, node?: string): Promise<number> {
    // One list up front: a task that fails again during the run is not picked up twice.
    const failed = await this.store.listTasks({ process, node, status: 'failed', limit: 100_000 });
    let n = 0;
    for (const t of failed) {
      try {
        await this.requeue(t.id);
        n++;
      } catch (err) {
        if (!(err instanceof TaskError && err.statusCode === 409)) throw err; // moved on meanwhile: fine
      }
    }
    return n;
  }

  async cancel(taskId: number): Promise<TaskRecord> {
    return this.withTask(taskId, async (task) => {
      if (!isAlive(task.status)) throw new TaskError(409, `task ${taskId} has already ended (${task.status})`);
      const step = new Step(task, Date.now());
      step.log(task.nodeId, 'cancelled', { status: task.status });
      task.status = 'cancelled';
      task.runAt = null;
      await this.commitOrThrow(step);
      return task;
    });
  }

  protected cancelTask(taskId: number): Promise<TaskRecord> {
    return this.cancel(taskId);
  }

  private async commitOrThrow(step: Step): Promise<void> {
    if (step.reply) await this.attachParent(step);
    const [err] = await this.store.commit([step.toTransition()]);
    if (err instanceof StaleTaskError) throw err;
    if (err) throw new TaskError(409, errorMessage(err));
    this.observeEnd(step.task);
    if (step.checkInbox) void this.deliverInbox(step.task.id);
    if (step.startAsync) this.launch(step.task);
    if (step.parent?.startAsync) this.launch(step.parent.task);
    this.signal();
  }

  /** Loads a task fresh and runs `fn`; a concurrent change (stale rev) makes it try again. */
  private async withTask<T>(taskId: number, fn: (task: TaskRecord) => Promise<T>): Promise<T> {
    for (let i = 0; ; i++) {
      const task = await this.store.getTask(taskId);
      if (!task) throw new TaskError(404, `task ${taskId} not found in project "${this.project}"`);
      await this.ensureVersions([task]);
      try {
        return await fn(task);
      } catch (err) {
        if (!(err instanceof StaleTaskError) || i >= 5) throw err;
      }
    }
  }

  /** The node definition a task stands at (in its own process version), if it still exists. */
  async nodeOfTask(task: TaskRecord): Promise<import('../model/process-definition.ts').NodeDefinition | undefined> {
    await this.ensureVersions([task]);
    return this.definition(task).nodes[task.nodeId];
  }

  /** A task's history, oldest first; when it reaches back to the start, it begins with `created`. */
  async history(task: TaskRecord, limit: number): Promise<HistoryEntry[]> {
    const rows = await this.store.getHistory(task.id, limit);
    if (rows.length >= limit) return rows;
    await this.ensureVersions([task]);
    const start = startNode(this.definition(task));
    return [{ at: task.createdAt, nodeId: start, event: 'created', ...(task.ref !== null && { detail: { ref: task.ref } }) }, ...rows];
  }

  /** Tasks queued in memory per pace key (a connection), waiting for their turn. */
  pacedWaiting(): Record<string, number> {
    return this.pacer.queued();
  }

  // ---- stats ----

  async stats(process: string): Promise<Record<string, number>> {
    const v = this.latest.get(process);
    if (!v) throw new TaskError(404, `process "${process}" is not deployed in project "${this.project}"`);
    const counts = await this.store.countByNode(process);
    const nodes: Record<string, number> = {};
    for (const id of Object.keys(v.definition.nodes)) nodes[id] = counts[id] ?? 0;
    for (const [id, n] of Object.entries(counts)) nodes[id] ??= n; // nodes of older versions
    return nodes;
  }

  protected async purge(): Promise<void> {
    const now = Date.now();
    for (const v of this.latest.values()) {
      const keep = parseDuration(v.definition.settings?.retention ?? this.opts.defaultRetention);
      await this.store.purgeEnded(v.name, now - keep);
    }
    await this.store.purgeDedupeKeys(now - DEDUPE_KEEP);
    // Chatbot updates as received (raw JSON): kept for audits, then forgotten; project config `inbound_retention`.
    const inboundKeep = parseDuration((this.config.inbound_retention as string | undefined) ?? INBOUND_KEEP);
    while ((await this.store.contacts.purgeInbound(now - inboundKeep, 5000)) === 5000) { /* the next 5,000 */ }
    await this.store.contacts.purgeSent(now - SENT_KEEP_MS);
  }
}

/** How long our sends are remembered to tell their VK echoes from operators' messages (VK retries a callback for hours at most). */
const SENT_KEEP_MS = 7 * 86_400_000;

/** How long processed inbound events are kept unless the project says otherwise. */
const INBOUND_KEEP = '30d';

/** Largest create request whose tasks take their first steps in the create transaction. */
const ADVANCE_AT_CREATE = 16;
