import type { HttpResponse } from '../../util/http-client.ts';
import { parseRetryAfter } from '../../engine/retry-policy.ts';
import { ServiceFailure, type Exchange } from '../service-failure.ts';

/** Pipedrive's error answer: `{"success": false, "error": "…", "error_info": "…", "errorCode": 4xx}`. */
export interface PipedriveError {
  success: false;
  error?: string;
  error_info?: string;
  errorCode?: number | string;
}

/** When the 2-second window is used up and no reset is given, wait one window. */
const WINDOW_MS = 2000;

export function isPipedriveError(json: unknown): json is PipedriveError {
  const j = json as Partial<PipedriveError> | undefined;
  return !!j && typeof j === 'object' && !Array.isArray(j) && j.success === false;
}

/** Milliseconds from `now` to the next 00:00 UTC, when Pipedrive's daily budget starts again. */
export function msToUtcMidnight(now: number): number {
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1) - now;
}

/** `x-ratelimit-reset` is seconds until the window resets (not an epoch time, unlike some APIs). */
function resetMs(headers: Record<string, string>): number | undefined {
  const s = Number(headers['x-ratelimit-reset']);
  return headers['x-ratelimit-reset'] !== undefined && Number.isFinite(s) && s >= 0 ? Math.round(s * 1000) : undefined;
}

function dailyUsedUp(headers: Record<string, string>): boolean {
  const left = headers['x-daily-requests-left'];
  return left !== undefined && left.trim() !== '' && Number(left) <= 0;
}

/**
 * How long the whole connection should hold back after an answer that went through, read from
 * Pipedrive's headers: the 2-second window is used up (`x-ratelimit-remaining: 0`) → until it resets;
 * the day's budget is used up (`x-daily-requests-left: 0`) → until midnight UTC. Undefined: go on.
 */
export function pauseFromHeaders(headers: Record<string, string>, now: number): number | undefined {
  const waits: number[] = [];
  if (dailyUsedUp(headers)) waits.push(msToUtcMidnight(now));
  const remaining = headers['x-ratelimit-remaining'];
  if (remaining !== undefined && remaining.trim() !== '' && Number(remaining) <= 0) waits.push(resetMs(headers) ?? WINDOW_MS);
  return waits.length ? Math.max(...waits) : undefined;
}

/**
 * A failed Pipedrive answer → a classified ServiceFailure. Only Pipedrive's own JSON error is trusted
 * to say "your token is wrong": a 401 (or 502/503) with an HTML page or nothing is a front that is
 * down, so it is retried.
 */
export function pipedriveFailure(res: HttpResponse, exchange: Exchange, now: number): ServiceFailure {
  const status = res.status;
  const j = isPipedriveError(res.json) ? res.json : undefined;
  const said = j?.error ? String(j.error) : undefined;
  const code = j?.errorCode ?? status;
  const opts = { code, exchange };
  if (status === 429) {
    const daily = dailyUsedUp(res.headers);
    const given = parseRetryAfter(res.headers['retry-after'], now) ?? resetMs(res.headers);
    const retryAfterMs = daily ? Math.max(msToUtcMidnight(now), given ?? 0) : given ?? WINDOW_MS;
    const why = daily ? 'Pipedrive: the day\'s request budget is used up' : 'Pipedrive: too many requests';
    return new ServiceFailure('retry', said ? `${why} (${said})` : why, { ...opts, retryAfterMs, slowDown: true });
  }
  if (!j) {
    // No Pipedrive JSON: a proxy page, an outage, an empty answer. Retry what a down service answers;
    // anything else (a 404 page from a wrong api_url) will not pass by waiting.
    const down = status === 401 || status === 408 || status >= 500 || (status >= 200 && status < 300);
    return new ServiceFailure(down ? 'retry' : 'fail', `Pipedrive answered HTTP ${status} without its JSON${down ? ' (service down?)' : ''}`, opts);
  }
  const text = said ?? `error ${status}`;
  if (status >= 500 || status === 408) return new ServiceFailure('retry', `Pipedrive: ${text}`, opts);
  // 400/422 validation, 401 bad token, 402 account frozen, 403 no permission, 404 missing, 410 deleted.
  return new ServiceFailure('fail', `Pipedrive: ${text}`, opts);
}
