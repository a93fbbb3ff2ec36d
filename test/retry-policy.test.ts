import { describe, expect, it } from 'vitest';
import { backoffMs, classifyHttp, DEFAULT_RETRY, nextAttemptAt, parseRetryAfter, retryPolicyFrom } from '../src/engine/retry-policy.ts';

describe('retry schedule (the seed\'s defaults)', () => {
  it('5 s doubling to at most 300 s, without jitter', () => {
    const p = { ...DEFAULT_RETRY, jitter: 0 };
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffMs(p, n))).toEqual([5000, 10000, 20000, 40000, 80000, 160000, 300000, 300000]);
  });
  it('jitter stays within ±20 %', () => {
    expect(backoffMs(DEFAULT_RETRY, 1, () => 0)).toBe(4000);
    expect(backoffMs(DEFAULT_RETRY, 1, () => 1)).toBe(6000);
    for (let i = 0; i < 200; i++) {
      const d = backoffMs(DEFAULT_RETRY, 3);
      expect(d).toBeGreaterThanOrEqual(16000);
      expect(d).toBeLessThanOrEqual(24000);
    }
  });
  it('5 attempts: after the 5th failure there is no next attempt', () => {
    expect(nextAttemptAt(DEFAULT_RETRY, 4, 0, null, () => 0.5)).toBe(40000);
    expect(nextAttemptAt(DEFAULT_RETRY, 5, 0)).toBeNull();
  });
  it('Retry-After (seconds or HTTP date) replaces the backoff', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:30 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(undefined, now)).toBeNull();
    expect(nextAttemptAt(DEFAULT_RETRY, 1, now, 120000)).toBe(now + 120000);
  });
  it('429, 408, 5xx, timeouts and network errors are retried; other 4xx are not', () => {
    expect([429, 408, 500, 502, 503, 504].map((status) => classifyHttp({ status }))).toEqual(Array(6).fill('retry'));
    expect([400, 401, 403, 404, 422].map((status) => classifyHttp({ status }))).toEqual(Array(5).fill('fail'));
    expect(classifyHttp({ failure: 'timeout' })).toBe('retry');
    expect(classifyHttp({ failure: 'network' })).toBe('retry');
  });
  it('a node overrides the policy; bad values name the field', () => {
    expect(retryPolicyFrom({ attempts: 3, base: '1s', max: '1m', multiplier: 3, jitter: 0 })).toEqual({ attempts: 3, baseMs: 1000, maxMs: 60000, multiplier: 3, jitter: 0 });
    expect(() => retryPolicyFrom({ attempts: 0 })).toThrow(/retry.attempts/);
    expect(() => retryPolicyFrom({ base: 'soon' })).toThrow(/bad duration "soon"/);
    expect(() => retryPolicyFrom({ tries: 3 })).toThrow(/retry.tries: unknown/);
  });
});
