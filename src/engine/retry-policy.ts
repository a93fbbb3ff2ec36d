import { parseDuration } from '../util/duration.ts';

export interface RetryPolicy { attempts: number; baseMs: number; multiplier: number; maxMs: number; jitter: number }

/** Our users' defaults: 5 attempts, 5 s doubling to at most 300 s, ±20 % jitter. Frozen so no caller can change it for all. */
export const DEFAULT_RETRY: RetryPolicy = Object.freeze({ attempts: 5, baseMs: 5000, multiplier: 2, maxMs: 300_000, jitter: 0.2 });

const DAY = 24 * 3600_000;

/** Delay before the next attempt after `failedAttempts` failures: min(max, base·mult^(n-1)) ± jitter. */
export function backoffMs(policy: RetryPolicy, failedAttempts: number, random: () => number = Math.random): number {
  const raw = Math.min(policy.maxMs, policy.baseMs * policy.multiplier ** Math.max(0, failedAttempts - 1));
  // Jitter spreads retries of many tasks that failed together (one CRM outage) so they do not return together.
  return Math.max(0, Math.round(raw * (1 + policy.jitter * (2 * random() - 1))));
}

// An HTTP date names a month and has a hh:mm:ss time; Date.parse alone reads "-5" or "abc 5" as 2001.
const HTTP_DATE = /\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b.*\b\d{1,2}:\d{2}:\d{2}\b/i;

/** Retry-After as seconds or an HTTP date → ms from now (never negative); null when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number): number | null {
  const v = value?.trim();
  if (!v) return null;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  if (!HTTP_DATE.test(v)) return null;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

export type FailureClass = 'retry' | 'fail';

/** 429, 408, 5xx, network errors and timeouts may pass; other statuses will not. */
export function classifyHttp(outcome: { status: number } | { failure: 'timeout' | 'network' }): FailureClass {
  if ('failure' in outcome) return 'retry';
  const s = outcome.status;
  return s === 429 || s === 408 || (s >= 500 && s <= 599) ? 'retry' : 'fail';
}

/** When to try again, or null when the attempts are used up. Retry-After replaces the backoff. */
export function nextAttemptAt(
  policy: RetryPolicy, failedAttempts: number, now: number, retryAfterMs?: number | null, random?: () => number,
): number | null {
  if (failedAttempts >= policy.attempts) return null;
  const given = typeof retryAfterMs === 'number' && !Number.isNaN(retryAfterMs);
  // Retry-After is the server's word, so maxMs does not cut it; a day bounds a silly value.
  const wait = given ? Math.min(Math.max(0, retryAfterMs), DAY) : backoffMs(policy, failedAttempts, random);
  return now + wait;
}

/** A node's `retry` parameter over the defaults; throws naming the field. */
export function retryPolicyFrom(param: unknown): RetryPolicy {
  if (param === undefined || param === null) return { ...DEFAULT_RETRY };
  if (typeof param !== 'object' || Array.isArray(param)) throw new Error('retry: must be an object');
  const p = param as Record<string, unknown>;
  const known = ['attempts', 'base', 'multiplier', 'max', 'jitter'];
  for (const k of Object.keys(p)) if (!known.includes(k)) throw new Error(`retry.${k}: unknown; use ${known.join(', ')}`);
  const policy = { ...DEFAULT_RETRY };
  if (p.attempts !== undefined) {
    if (!Number.isInteger(p.attempts) || (p.attempts as number) < 1 || (p.attempts as number) > 100) throw new Error('retry.attempts: an integer from 1 to 100');
    policy.attempts = p.attempts as number;
  }
  if (p.base !== undefined) policy.baseMs = duration('base', p.base);
  if (p.max !== undefined) policy.maxMs = duration('max', p.max);
  if (policy.maxMs < policy.baseMs) {
    // Only one given: it wins over the other's default. Both given and crossed: a mistake.
    if (p.max === undefined) policy.maxMs = policy.baseMs;
    else if (p.base === undefined) policy.baseMs = policy.maxMs;
    else throw new Error(`retry.max: ${p.max} is less than retry.base (${p.base})`);
  }
  if (p.multiplier !== undefined) {
    if (typeof p.multiplier !== 'number' || !(p.multiplier >= 1 && p.multiplier <= 10)) throw new Error('retry.multiplier: a number from 1 to 10');
    policy.multiplier = p.multiplier;
  }
  if (p.jitter !== undefined) {
    if (typeof p.jitter !== 'number' || !(p.jitter >= 0 && p.jitter <= 1)) throw new Error('retry.jitter: a fraction from 0 to 1');
    policy.jitter = p.jitter;
  }
  return policy;
}

function duration(field: string, v: unknown): number {
  if (typeof v !== 'string' && typeof v !== 'number') throw new Error(`retry.${field}: a duration such as "5s" or "5m"`);
  try {
    return parseDuration(v);
  } catch (e) {
    throw new Error(`retry.${field}: ${(e as Error).message}`);
  }
}

/** Deploy-time check of a node's `retry`: the problem naming the field, or nothing. */
export function checkRetry(param: unknown): string[] {
  try {
    retryPolicyFrom(param);
    return [];
  } catch (e) {
    return [(e as Error).message];
  }
}
