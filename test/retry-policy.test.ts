import { describe, expect, it } from 'vitest';
import { backoffMs, classifyHttp, DEFAULT_RETRY, nextAttemptAt, parseRetryAfter, retryPolicyFrom } from '../src/engine/retry-policy.ts';

describe('backoff (our users\' defaults)', () => {
  it('5 s doubling to at most 300 s, without jitter', () => {
    const p = { ...DEFAULT_RETRY, jitter: 0 };
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffMs(p, n))).toEqual([5000, 10000, 20000, 40000, 80000, 160000, 300000, 300000]);
  });
  it('jitter stays within ±20 %', () => {
    expect(backoffMs(DEFAULT_RETRY, 1, () => 0)).toBe(4000);
    expect(backoffMs(DEFAULT_RETRY, 1, () => 0.5)).toBe(5000);
    expect(backoffMs(DEFAULT_RETRY, 1, () => 1)).toBe(6000);
    for (let i = 0; i < 200; i++) {
      const d = backoffMs(DEFAULT_RETRY, 3);
      expect(d).toBeGreaterThanOrEqual(16000);
      expect(d).toBeLessThanOrEqual(24000);
    }
  });
  it('jitter applies after the cap; a huge attempt count does not overflow', () => {
    expect(backoffMs(DEFAULT_RETRY, 10, () => 1)).toBe(360000);
    expect(backoffMs({ ...DEFAULT_RETRY, jitter: 0 }, 5000)).toBe(300000);
  });
  it('n below 1 is treated as the first failure', () => {
    expect(backoffMs({ ...DEFAULT_RETRY, jitter: 0 }, 0)).toBe(5000);
  });
  it('the defaults cannot be changed by a caller', () => {
    expect(Object.isFrozen(DEFAULT_RETRY)).toBe(true);
    const p = retryPolicyFrom(undefined);
    p.attempts = 99;
    expect(DEFAULT_RETRY.attempts).toBe(5);
  });
});

describe('nextAttemptAt', () => {
  it('5 attempts: after the 5th failure there is no next attempt', () => {
    expect([1, 2, 3, 4].map((n) => nextAttemptAt(DEFAULT_RETRY, n, 1000, null, () => 0.5))).toEqual([6000, 11000, 21000, 41000]);
    expect(nextAttemptAt(DEFAULT_RETRY, 5, 0)).toBeNull();
    expect(nextAttemptAt(DEFAULT_RETRY, 6, 0, 1000)).toBeNull();
    expect(nextAttemptAt({ ...DEFAULT_RETRY, attempts: 1 }, 1, 0)).toBeNull();
  });
  it('Retry-After replaces the backoff, is not capped by maxMs, but is capped at 24 h', () => {
    expect(nextAttemptAt(DEFAULT_RETRY, 1, 1000, 120000)).toBe(121000);
    expect(nextAttemptAt(DEFAULT_RETRY, 1, 0, 0)).toBe(0);
    expect(nextAttemptAt(DEFAULT_RETRY, 1, 0, 3600_000)).toBe(3600_000);
    expect(nextAttemptAt(DEFAULT_RETRY, 1, 0, 7 * 86400_000)).toBe(86400_000);
  });
  it('a negative or NaN Retry-After is no excuse: negative means now, NaN means backoff', () => {
    expect(nextAttemptAt(DEFAULT_RETRY, 1, 500, -1000)).toBe(500);
    expect(nextAttemptAt(DEFAULT_RETRY, 1, 0, Number.NaN, () => 0.5)).toBe(5000);
    expect(nextAttemptAt(DEFAULT_RETRY, 1, 0, undefined, () => 0.5)).toBe(5000);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it('seconds', () => {
    expect(parseRetryAfter('120', now)).toBe(120000);
    expect(parseRetryAfter(' 1 ', now)).toBe(1000);
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter('1.5', now)).toBe(1500);
  });
  it('HTTP dates in all three forms; past dates mean now', () => {
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30000);
    expect(parseRetryAfter('Thursday, 01-Jan-26 00:01:00 GMT', now)).toBe(60000);
    expect(parseRetryAfter('Thu Jan  1 00:00:10 2026', now)).toBe(10000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:30 GMT', now)).toBe(0);
  });
  it('absent or unreadable → null (not a date in 2001)', () => {
    for (const v of [undefined, '', '  ', 'soon', '-5', 'abc 5', '12abc', '1e3', '+5']) expect(parseRetryAfter(v, now)).toBeNull();
  });
});

describe('classifyHttp', () => {
  it('429, 408, 5xx, timeouts and network errors are retried', () => {
    expect([429, 408, 500, 502, 503, 504, 599].map((status) => classifyHttp({ status }))).toEqual(Array(7).fill('retry'));
    expect(classifyHttp({ failure: 'timeout' })).toBe('retry');
    expect(classifyHttp({ failure: 'network' })).toBe('retry');
  });
  it('other 4xx and 3xx fail at once', () => {
    expect([300, 301, 304, 400, 401, 403, 404, 409, 422, 499, 600, 999].map((status) => classifyHttp({ status }))).toEqual(Array(12).fill('fail'));
  });
});

describe('retryPolicyFrom', () => {
  it('absent → the defaults; given fields override', () => {
    expect(retryPolicyFrom(undefined)).toEqual(DEFAULT_RETRY);
    expect(retryPolicyFrom(null)).toEqual(DEFAULT_RETRY);
    expect(retryPolicyFrom({})).toEqual(DEFAULT_RETRY);
    expect(retryPolicyFrom({ attempts: 3, base: '1s', max: '1m', multiplier: 3, jitter: 0 })).toEqual({ attempts: 3, baseMs: 1000, maxMs: 60000, multiplier: 3, jitter: 0 });
    expect(retryPolicyFrom({ base: 250, max: 'PT10M' })).toMatchObject({ baseMs: 250, maxMs: 600000, attempts: 5 });
  });
  it('only one of base/max given: it wins over the other\'s default', () => {
    expect(retryPolicyFrom({ base: '10m' })).toMatchObject({ baseMs: 600000, maxMs: 600000 });
    expect(retryPolicyFrom({ max: '1s' })).toMatchObject({ baseMs: 1000, maxMs: 1000 });
  });
  it('bad values name the field', () => {
    const bad: [unknown, RegExp][] = [
      [3, /^retry: must be an object/],
      [[1], /^retry: must be an object/],
      [{ attempts: 0 }, /^retry\.attempts: an integer from 1 to 100/],
      [{ attempts: 2.5 }, /^retry\.attempts/],
      [{ attempts: '3' }, /^retry\.attempts/],
      [{ base: 'soon' }, /^retry\.base: bad duration "soon"/],
      [{ max: true }, /^retry\.max: a duration/],
      [{ base: '1m', max: '10s' }, /^retry\.max: 10s is less than retry\.base \(1m\)/],
      [{ multiplier: 0.5 }, /^retry\.multiplier/],
      [{ multiplier: Number.NaN }, /^retry\.multiplier/],
      [{ jitter: 2 }, /^retry\.jitter/],
      [{ jitter: Number.NaN }, /^retry\.jitter/],
      [{ tries: 3 }, /^retry\.tries: unknown; use attempts, base, multiplier, max, jitter/],
    ];
    for (const [param, msg] of bad) expect(() => retryPolicyFrom(param), JSON.stringify(param)).toThrow(msg);
  });
});
