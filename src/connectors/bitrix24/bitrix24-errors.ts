import type { HttpResponse } from '../../util/http-client.ts';
import { ServiceFailure, type Exchange, type FailureClass } from '../service-failure.ts';

/** Bitrix24's error answer: `{"error": "CODE", "error_description": "…"}` (the code may be "" on validation errors). */
export interface Bitrix24Error {
  error: string;
  error_description?: string;
}

// The portal's leaky bucket is full: it drains at about 2 requests/s, so a second's pause frees room.
const RATE_LIMITED = new Set(['QUERY_LIMIT_EXCEEDED']);
// A method used more than ~480 s of processing in 10 minutes, or the portal blocked the caller:
// the block lasts minutes, so the connection waits longer than a bucket drain.
const BLOCKED_FOR_MS: Record<string, number> = { OPERATION_TIME_LIMIT: 60_000, OVERLOAD_LIMIT: 60_000 };
const TRANSIENT = new Set(['INTERNAL_SERVER_ERROR', 'ERROR_UNEXPECTED_ANSWER', 'TEMPORARY_UNAVAILABLE', 'PORTAL_DELETED_TEMPORARY']);
const EXPIRED = new Set(['expired_token']);
// Wrong or revoked credentials, a missing method or right: retrying the same call will not help.
const WILL_NOT_PASS = new Set([
  'invalid_token', 'NO_AUTH_FOUND', 'INVALID_CREDENTIALS', 'WRONG_AUTH_TYPE', 'ACCESS_DENIED', 'insufficient_scope',
  'ERROR_METHOD_NOT_FOUND', 'METHOD_NOT_FOUND', 'PAYMENT_REQUIRED', 'ERROR_BATCH_LENGTH_EXCEEDED', 'ERROR_BATCH_METHOD_NOT_ALLOWED',
  'invalid_grant', 'invalid_client', 'invalid_request',
]);

export function isBitrix24Error(json: unknown): json is Bitrix24Error {
  const j = json as Partial<Bitrix24Error> | undefined;
  return !!j && typeof j === 'object' && !Array.isArray(j) && typeof j.error === 'string';
}

/** The class of an error code (HTTP status when known: a batch command's error comes inside a 200). */
export function classOf(code: string, status?: number): { failure: FailureClass; slowDown?: boolean; pauseMs?: number } {
  if (RATE_LIMITED.has(code)) return { failure: 'retry', slowDown: true };
  if (code in BLOCKED_FOR_MS) return { failure: 'retry', slowDown: true, pauseMs: BLOCKED_FOR_MS[code] };
  if (EXPIRED.has(code)) return { failure: 'refresh' };
  if (WILL_NOT_PASS.has(code)) return { failure: 'fail' };
  if (TRANSIENT.has(code)) return { failure: 'retry' };
  if (status !== undefined && status >= 500) return { failure: 'retry' };
  // 400 validation ("", "ERROR_…" with a description) and anything unknown: the error edge.
  return { failure: 'fail' };
}

/** One Bitrix24 error (a whole answer's or a batch command's) → a classified ServiceFailure. */
export function bitrix24Failure(err: Bitrix24Error, exchange: Exchange | undefined, status?: number, retryAfterMs?: number): ServiceFailure {
  const code = err.error || (status ?? 'error');
  const text = describe(err, status);
  const c = classOf(err.error, status);
  return new ServiceFailure(c.failure, text, {
    code, exchange, ...(c.slowDown && { slowDown: true }),
    ...((retryAfterMs ?? c.pauseMs) !== undefined && { retryAfterMs: retryAfterMs ?? c.pauseMs }),
  });
}

/**
 * A failed HTTP answer → a ServiceFailure. Only Bitrix24's own JSON can say "will not pass": a portal
 * that is down answers 503 pages, or 401 with an HTML page or nothing, and those are retried.
 */
export function responseFailure(res: HttpResponse, exchange: Exchange): ServiceFailure {
  const retryAfterMs = retryAfter(res.headers['retry-after']);
  if (isBitrix24Error(res.json)) return bitrix24Failure(res.json, exchange, res.status, retryAfterMs);
  const s = res.status;
  const what = res.body.trim() ? 'a page that is not a Bitrix24 answer' : 'an empty body';
  const transient = s >= 500 || s < 300 || s === 401 || s === 403 || s === 408 || s === 429;
  return new ServiceFailure(transient ? 'retry' : 'fail', `Bitrix24 answered HTTP ${s} with ${what}`, {
    code: s, exchange, ...(retryAfterMs !== undefined && { retryAfterMs }), ...(s === 429 && { slowDown: true }),
  });
}

function describe(err: Bitrix24Error, status?: number): string {
  // Validation descriptions often end in "<br>" (Bitrix joins several messages with it).
  const text = (err.error_description ?? '').replace(/<br\s*\/?>/gi, '; ').replace(/[;\s]+$/, '').trim();
  if (err.error && text) return `${err.error}: ${text}`;
  return err.error || text || `HTTP ${status ?? '?'} error`;
}

function retryAfter(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const s = Number(value);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}
