/**
 * How a connector's client reports a failed call, classified from the service's real error codes:
 * - `retry`: may pass later (rate limit, 5xx, timeout, network, a down service answering 401 or nothing);
 * - `refresh`: credentials expired; the client refreshes and retries once before giving this up as `fail`;
 * - `fail`: will not pass (validation error, wrong credentials, method missing): the error edge;
 * - `unreachable`: the service works but cannot reach this contact (bot blocked, number on a stop list,
 *   wrong number): the node's `on_unreachable` edge.
 */
export type FailureClass = 'retry' | 'refresh' | 'fail' | 'unreachable';

/** The exchange as kept in task history: secrets masked, bodies cut (see util/mask-secrets.ts). */
export interface Exchange {
  request: { method: string; url: string; headers?: Record<string, string>; body?: unknown };
  response?: { status: number; body?: unknown; durationMs?: number };
}

export class ServiceFailure extends Error {
  override name = 'ServiceFailure';
  constructor(
    readonly failure: FailureClass,
    message: string,
    readonly opts: {
      /** The service's own code, e.g. `QUERY_LIMIT_EXCEEDED`, 403, 207. */
      code?: string | number;
      /** The service said when to come back (Retry-After, `retry_after`). */
      retryAfterMs?: number;
      /** The service told us to slow down: the whole connection pauses, not only this task. */
      slowDown?: boolean;
      exchange?: Exchange;
    } = {},
  ) {
    super(message);
  }
}
