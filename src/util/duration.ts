import { Duration } from 'luxon';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
// `ms` before `m` and `s`, so "500ms" is not read as 500 minutes and an "s".
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/y;

/**
 * "500ms", "30s", "15m", "2h", "1h30m", "7d", "1w", ISO "PT2H", or a number of ms → ms (rounded).
 * A bare digit string ("300") is refused: seconds or milliseconds is exactly the mistake to catch.
 */
export function parseDuration(text: string | number): number {
  if (typeof text === 'number') {
    if (Number.isFinite(text) && text >= 0) return Math.round(text);
    throw new Error(`bad duration ${text}: must be a non-negative number of milliseconds`);
  }
  const s = String(text).trim();
  if (/^P/i.test(s)) {
    // luxon takes "P" and "PT" alone as zero; a duration with no number in it is a typo.
    const d = /\d/.test(s) ? Duration.fromISO(s.toUpperCase()) : null;
    if (d?.isValid) return Math.round(d.toMillis());
  } else {
    const compact = s.replace(/\s+/g, '');
    let total = 0;
    let pos = 0;
    PART.lastIndex = 0;
    for (let m = PART.exec(compact); m; m = PART.exec(compact)) {
      total += Number(m[1]) * UNIT_MS[m[2]];
      pos = PART.lastIndex;
    }
    if (pos > 0 && pos === compact.length) return Math.round(total);
  }
  throw new Error(`bad duration "${text}": use e.g. 30s, 15m, 2h, 1d or PT2H`);
}

/** 9_000_000 → "2h 30m"; under a second → "250ms". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 0) return `-${formatDuration(-ms)}`;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join(' ');
}
