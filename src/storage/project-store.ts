import type { ProcessDefinition, ProcessVersion } from '../model/process-definition.ts';
import type { CreateResult, HistoryEntry, NewTask, TaskRecord, TaskStatus } from '../engine/task.ts';

/**
 * Everything durable about one project. The SQLite adapter is the embedded default; a PostgreSQL
 * adapter implements the same contract for several engine processes on one database. All SQL and
 * all claim logic live in adapters; the engine only speaks this interface.
 *
 * Guarantees every adapter keeps:
 * - `createTasks` resolves only after the tasks are durable, and a live task's ref is unique per process.
 * - `commit` applies each transition atomically (task row, history, spawned tasks, resumed parent),
 *   and only if the task's `rev` is still the one the engine read; otherwise that transition is
 *   rejected with `StaleTaskError` and nothing of it is written.
 * - `claimDue` hands a due task to one caller at a time until its lease ends.
 */
export interface ProjectStore {
  readonly project: string;
  /** The project's chatbot audience (contacts, tags, inbound events, admin inbox). */
  readonly contacts: import('./contact-store.ts').ContactStore;
  /** Where the project's timer triggers stand (last tick fired). */
  readonly timerTicks: import('./timer-tick-store.ts').TimerTickStore;

  /** Saves the next version; `publicId` is decided by the caller, who knows every project. */
  deployProcess(definition: ProcessDefinition, publicId: string): Promise<ProcessVersion>;
  getProcess(name: string, version?: number): Promise<ProcessVersion | undefined>;
  listProcesses(): Promise<ProcessSummary[]>;
  listVersions(name: string): Promise<Array<{ version: number; deployedAt: number }>>;
  /** Public create URL credentials; generated on first deploy. */
  getPublicAccess(name: string): Promise<PublicAccess | undefined>;

  listConnections(): Promise<StoredConnection[]>;
  /** Inserts or replaces the connection (connector, name). */
  putConnection(c: StoredConnection): Promise<void>;
  /** false when there was none. */
  deleteConnection(connector: string, name: string): Promise<boolean>;

  /**
   * Atomically: the task that claimed any of `keys` at or after `since`, if one did (other than
   * `taskId`); else `taskId` claims them all (at `now`) and the answer is null.
   */
  claimDedupeKeys(keys: string[], taskId: number, since: number, now: number): Promise<number | null>;
  /** Adds an entry to a task's history without changing the task (a duplicate merged into it). */
  addHistory(taskId: number, entry: HistoryEntry): Promise<void>;
  /** Forgets dedupe keys claimed before `before`. */
  purgeDedupeKeys(before: number): Promise<number>;

  getConfig(): Promise<Record<string, unknown>>;
  setConfig(values: Record<string, unknown>): Promise<void>;

  /**
   * Inserts tasks (a live duplicate ref inserts nothing). A task whose data has an integer
   * `contact_id` (a funnel's person) is indexed under it, for ContactStore.liveTasksOf.
   * With `advance`, each new task is handed over inside the same transaction, and the transition it
   * returns (its first sync steps) is applied there too (only transitions without spawned or resumed tasks; others are ignored and the task waits at
   * its start node for the engine). `CreateResult.advanced` says it was applied.
   */
  createTasks(tasks: NewTask[], historyAt: number, advance?: AdvanceNew): Promise<CreateResult[]>;
  getTask(id: number): Promise<TaskRecord | undefined>;
  /** The latest `limit` entries, oldest first. Creation is not an entry: the task row says when. */
  getHistory(id: number, limit: number): Promise<HistoryEntry[]>;
  listTasks(filter: TaskFilter): Promise<TaskRecord[]>;
  /** Tasks whose runAt has come, leased to the caller until now + leaseMs. */
  claimDue(now: number, limit: number, leaseMs: number): Promise<TaskRecord[]>;
  /** Applies transitions; each one on its own (a stale one fails alone). Returns per-transition errors.
   *  On success a transition's `task.rev` (and its `also` tasks') is advanced to the stored rev. */
  commit(transitions: Transition[]): Promise<Array<Error | null>>;
  /** Stores an early callback for a task not yet waiting, if its rev is still `rev` (else false);
   *  `takeInbox` hands it over once. */
  putInbox(taskId: number, rev: number, payload: unknown): Promise<boolean>;
  takeInbox(taskId: number): Promise<unknown | undefined>;
  /** Tasks per node for a process (all versions), ended ones included until purged. */
  countByNode(process: string): Promise<Record<string, number>>;
  countByStatus(process: string): Promise<Record<string, number>>;
  /** For funnel statistics, per node of a process: live tasks there now, tasks that entered it, failures there. */
  nodeFlow(process: string): Promise<Record<string, { now: number; passed: number; errors: number }>>;
  /** Live tasks of a process not changed since `before` (people stuck on a step), oldest first. */
  /** Live tasks on their step since before `before`; with `now`, only those with no timer ahead of it (nothing scheduled). */
  stuckTasks(process: string, before: number, limit: number, now?: number): Promise<TaskRecord[]>;
  /** Active tasks due before `until` (backlog, in flight, retrying soon) per process and node. */
  countActiveByNode(until: number): Promise<Array<{ process: string; nodeId: string; count: number }>>;
  /** Earliest runAt among tasks, or null: the scheduler sleeps until then. */
  nextDueAt(): Promise<number | null>;
  /** Deletes ended tasks (and their history) that ended before `before` in `process`. */
  purgeEnded(process: string, before: number): Promise<number>;
  close(): Promise<void>;
}

export interface ProcessSummary {
  name: string;
  title?: string;
  version: number;
  deployedAt: number;
  publicId: string;
  alive: number;
}

export interface PublicAccess {
  process: string;
  publicId: string;
  secret: string;
}

/** A connection as stored: `secrets` is ciphertext (see connectors/secret-box.ts), never clear text. */
export interface StoredConnection {
  connector: string;
  name: string;
  settings: Record<string, unknown>;
  secrets: string;
  updatedAt: number;
}

export interface TaskFilter {
  process?: string;
  node?: string;
  status?: TaskStatus;
  limit: number;
}

/** One atomic step of one task, as the engine decided it. */
export interface Transition {
  /** The task's new state; written only if the stored rev equals `task.rev` (then rev + 1). */
  task: TaskRecord;
  history: HistoryEntry[];
  /** Tasks created in the same transaction (copy, call); a call's child gets `parentId`. */
  spawn?: NewTask[];
  /** For a call: the parent waits for the first spawned child (its id is stored as `waitingFor`). */
  waitForFirstSpawn?: boolean;
  /** Keep the task leased (runAt is the lease end): the engine runs its async node right after. */
  keepLease?: boolean;
  /** Another task changed in the same transaction (a parent resumed by its child's reply). */
  also?: Transition[];
}

/** Decides a new task's first steps while its insert is still open; undefined leaves it at its start. */
export type AdvanceNew = (task: TaskRecord) => Transition | undefined;

export class StaleTaskError extends Error {
  constructor(readonly taskId: number) {
    super(`task ${taskId} changed meanwhile`);
  }
}
