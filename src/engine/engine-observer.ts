/**
 * What the engine reports as it works, for metrics and alerts. The engine calls these after the
 * change is durable; an observer must be cheap and must not throw.
 */
export interface EngineObserver {
  /** Tasks accepted into a process (new ones only, not duplicates). */
  created(project: string, process: string, count: number): void;
  /** An async node (an outbound call) finished one attempt. */
  called(project: string, e: CallEvent): void;
  /** A task reached an end (done / error), or was parked failed. */
  finished(project: string, process: string, nodeId: string, status: 'done' | 'error' | 'failed' | 'cancelled'): void;
}

export interface CallEvent {
  process: string;
  nodeId: string;
  nodeType: string;
  taskId: number;
  /** How the attempt came out: go (success), retry, fail, wait (started something that calls back)… */
  outcome: string;
  /** Attempts made before this one at this node (0 for the first). */
  attemptsBefore: number;
  durationMs: number;
  /** When the task was accepted, for time to first response. */
  taskCreatedAt: number;
}

export const NO_OBSERVER: EngineObserver = { created() {}, called() {}, finished() {} };
