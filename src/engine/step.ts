import type { NodeDefinition } from '../model/process-definition.ts';
import type { Transition } from '../storage/project-store.ts';
import type { Outcome } from './node-type.ts';
import type { HistoryEntry, NewTask, TaskData, TaskRecord } from './task.ts';

/** A reply owed to a parent task, delivered in the same transaction as this step. */
export interface OwedReply {
  parentId: number;
  payload: TaskData;
  error?: string;
}

/**
 * What happens to one task in one engine turn: the outcomes of the nodes it passed, folded into the
 * task's new state, its history, the tasks it starts and the reply it owes. Committed as one
 * transition, so a crash leaves the task where it was before the turn.
 */
export class Step {
  readonly history: HistoryEntry[] = [];
  readonly spawn: NewTask[] = [];
  waitForFirstSpawn = false;
  reply: OwedReply | null = null;
  /** Run the task's async node right after the commit (it stays leased meanwhile). */
  startAsync = false;
  /** The task now waits at a node that takes callbacks: look for one that came early. */
  checkInbox = false;
  /** A parent resumed by this step's reply; committed together. */
  parent: Step | null = null;
  changed = false;

  constructor(readonly task: TaskRecord, readonly now: number) {}

  log(nodeId: string, event: HistoryEntry['event'], detail?: Record<string, unknown>): void {
    this.history.push({ at: this.now, nodeId, event, detail });
    this.changed = true;
  }

  /** The task stays where it is, due again at `at` (its turn at a paced service); no history. */
  defer(at: number): void {
    this.task.runAt = at;
    this.changed = true;
  }

  /** Folds a node's outcome into the task. `resolveSpawn` turns a spawn into a new task or throws. */
  apply(nodeId: string, node: NodeDefinition, outcome: Outcome, resolveSpawn: (s: NonNullable<Extract<Outcome, { kind: 'go' }>['spawn']>[number], parentId: number) => NewTask): void {
    const t = this.task;
    this.changed = true;
    if ('patch' in outcome && outcome.patch) Object.assign(t.data, outcome.patch);
    const changed = 'patch' in outcome && outcome.patch && Object.keys(outcome.patch).length ? outcome.patch : undefined;
    const spawn = 'spawn' in outcome ? outcome.spawn ?? [] : [];
    for (const s of spawn) this.spawn.push(resolveSpawn(s, t.id));
    switch (outcome.kind) {
      case 'go':
        this.log(outcome.to, 'entered', { from: nodeId, ...(changed && { changed }), ...outcome.detail });
        this.moveTo(outcome.to);
        if (outcome.reply) this.owe(outcome.reply);
        return;
      case 'sleep':
        t.status = 'sleeping';
        t.runAt = outcome.until;
        this.log(nodeId, 'slept', { until: new Date(outcome.until).toISOString(), ...(changed && { changed }), ...outcome.detail });
        return;
      case 'wait':
        t.status = 'waiting';
        t.runAt = outcome.timeoutAt;
        this.waitForFirstSpawn = spawn.some((s) => s.replyToParent);
        this.checkInbox = !this.waitForFirstSpawn;
        this.log(nodeId, 'waiting', { until: new Date(outcome.timeoutAt).toISOString(), ...outcome.detail });
        return;
      case 'retry':
        t.attempt += 1;
        t.status = 'active';
        t.runAt = outcome.at;
        t.error = outcome.error;
        this.log(nodeId, 'retry', { error: outcome.error, next: new Date(outcome.at).toISOString(), ...outcome.detail });
        return;
      case 'fail':
        this.log(nodeId, 'failed', { error: outcome.error, ...(changed && { changed }), ...outcome.detail });
        if (typeof node.on_error === 'string') {
          this.log(node.on_error, 'entered', { from: nodeId, via: 'on_error' });
          this.moveTo(node.on_error);
          t.error = outcome.error; // kept for `{{$task.error}}` in the error edge's node
          t.data.last_error = outcome.error; // and for the rest of the branch (notify, dead letter)
        } else {
          t.attempt += 1;
          if (outcome.parkAt) t.nodeId = outcome.parkAt;
          t.status = 'failed';
          t.runAt = null;
          t.error = outcome.error;
        }
        return;
      case 'end':
        t.status = outcome.status;
        t.runAt = null;
        t.error = outcome.reason ?? (outcome.status === 'done' ? null : t.error);
        this.log(nodeId, 'ended', { status: outcome.status, ...(outcome.reason && { reason: outcome.reason }) });
        if (outcome.reply) this.owe(outcome.reply);
        // A child that ends without replying still answers its caller: its data, or its error.
        if (t.parentId !== null) this.owe(structuredClone(t.data), outcome.status === 'error' ? t.error ?? 'error' : undefined);
        return;
    }
  }

  moveTo(nodeId: string): void {
    const t = this.task;
    t.nodeId = nodeId;
    t.status = 'active';
    t.runAt = this.now;
    t.attempt = 0;
    t.error = null;
    t.waitingFor = null;
    this.changed = true;
  }

  private owe(payload: TaskData, error?: string): void {
    if (this.task.parentId === null) return;
    this.reply = { parentId: this.task.parentId, payload, error };
    this.task.parentId = null; // one reply per call
    this.log(this.task.nodeId, 'replied', { parent: this.reply.parentId, ...(error && { error }) });
  }

  toTransition(): Transition {
    return {
      task: this.task,
      history: this.history,
      spawn: this.spawn.length ? this.spawn : undefined,
      waitForFirstSpawn: this.waitForFirstSpawn,
      keepLease: this.startAsync,
      also: this.parent ? [this.parent.toTransition()] : undefined,
    };
  }
}
