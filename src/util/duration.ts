import { Duration } from 'luxon';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const PART = /(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)/gy;

/** "500ms", "30s", "15m", "2h", "1h30m", "7d", "1w", ISO "PT2H", or a number of ms → ms. */
export function parseDuration(text: string | number): number {
  if (typeof text === 'number') {
    if (Number.isFinite(text) && text >= 0) return text;
    throw new Error(`bad duration ${text}: must be a non-negative number of milliseconds`);
  }
  const s = String(text).trim();
  if (/^P/i.test(s)) {
    const d = Duration.fromISO(s.toUpperCase());
    if (d.isValid) return d.toMillis();
  } else if (s) {
    let total = 0;
    PART.lastIndex = 0;
    let m: RegExpExecArray | null;
    let consumed = 0;
    while ((m = PART.exec(s.replace(/\s+/g, ''))) !== null) {
      total += Number(m[1]) * UNIT_MS[m[2]];
      consumed = PART.lastIndex;
    }
    if (consumed > 0 && consumed === s.replace(/\s+/g, '').length) return Math.round(total);
  }
  throw new Error(`bad duration "${text}": use e.g. 30s, 15m, 2h, 1d or PT2H`);
}

/** 9_000_000 → "2h 30m". */
export function formatDuration(ms: number): string {
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
