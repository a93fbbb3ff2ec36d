/**
 * A task: one lead, one registration, one chatbot subscriber moving through a process.
 *
 * States: `active` (runs at `runAt`, which is also the retry time), `sleeping` (in a delay node until
 * `runAt`), `waiting` (for a callback or a child's reply; `runAt` is the timeout), and the ends:
 * `done` (a final node), `error` (an error node), `cancelled` (by hand). `failed` is parked: a failure
 * with no error edge, visible with its reason and requeueable. A task with a ref is "alive" until it ends.
 */
export type TaskStatus = 'active' | 'sleeping' | 'waiting' | 'failed' | 'done' | 'error' | 'cancelled';

export const ENDED_STATUSES: readonly TaskStatus[] = ['done', 'error', 'cancelled'];
export const isAlive = (s: TaskStatus) => !ENDED_STATUSES.includes(s);

export type TaskData = Record<string, unknown>;

export interface TaskRecord {
  id: number;
  process: string;
  version: number;
  ref: string | null;
  data: TaskData;
  nodeId: string;
  status: TaskStatus;
  /** When the engine next looks at the task (run, retry, wake, timeout); null when nothing is due. */
  runAt: number | null;
  /** Attempts made at the current node (reset when the task moves on). */
  attempt: number;
  /** The reason of the last failure (failed / error states), else null. */
  error: string | null;
  /** For a child started by a `call` node: the parent waiting for its reply. */
  parentId: number | null;
  /** For a parent at a `call` node: the child it waits for. */
  waitingFor: number | null;
  /**
   * Waits the task has left (resumed, timed out, moved on by hand). A callback URL names the wait it
   * was made for, so a late answer to an earlier wait (a retried robot call) cannot resume a later one.
   */
  waitSeq: number;
  /** Optimistic-concurrency counter: every committed change increments it. */
  rev: number;
  createdAt: number;
  updatedAt: number;
}

export interface NewTask {
  process: string;
  version: number;
  ref: string | null;
  data: TaskData;
  nodeId: string;
  parentId?: number | null;
  runAt?: number;
}

export interface CreateResult {
  id: number;
  ref: string | null;
  created: boolean;
  /** The new task as it stands after the steps taken in its create transaction, if any were. */
  advanced?: TaskRecord;
}

export type HistoryEvent =
  | 'created' | 'entered' | 'changed' | 'request' | 'retry' | 'failed' | 'ended' | 'slept'
  | 'woke' | 'waiting' | 'resumed' | 'timeout' | 'moved' | 'requeued' | 'cancelled' | 'spawned' | 'replied'
  | 'callback' | 'merged';

export interface HistoryEntry {
  at: number;
  nodeId: string;
  event: HistoryEvent;
  detail?: Record<string, unknown>;
}
