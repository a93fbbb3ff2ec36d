/** How a project engine runs, and the error type its operations answer with (an HTTP status). */

export interface EngineOptions {
  /** Tasks claimed per turn. */
  batchSize: number;
  /** How long a claimed task is ours; a longer async node keeps it by its own timeout. */
  leaseMs: number;
  /** Async node runs (HTTP calls) in flight at once per project. */
  maxInFlight: number;
  /** Longest sleep of the scheduler between looks at the store. */
  pollMs: number;
  /** Sync nodes one task may pass in one turn (a loop guard; the task goes on next turn). */
  maxChainSteps: number;
  /** Base of callback URLs, e.g. http://host:8080. */
  publicUrl: () => string;
  callbackSecret: Buffer;
  defaultRetention: string;
}

export const DEFAULT_ENGINE_OPTIONS: Omit<EngineOptions, 'publicUrl' | 'callbackSecret'> = {
  batchSize: 512, leaseMs: 5 * 60_000, maxInFlight: 512, pollMs: 1000, maxChainSteps: 200, defaultRetention: '7d',
};

/** A refused operation on a task or process; `statusCode` is what the API answers. */
export class TaskError extends Error {
  constructor(readonly statusCode: number, message: string) {
    super(message);
  }
}

/** Dedupe keys older than this are forgotten: the longest window a dedupe node may use. */
export const DEDUPE_KEEP = 7 * 24 * 3600_000;
