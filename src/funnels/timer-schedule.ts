import { DateTime, type Zone } from 'luxon';
import { parseDuration } from '../util/duration.ts';
import { zoneOf } from '../util/working-hours.ts';

/**
 * When a timer trigger ticks: `every` a period (counted from when the trigger was first seen), or
 * daily `at` a local time in `timezone` (default Europe/Moscow), optionally only on `days` (ISO
 * weekdays 1 = Monday … 7). Ticks are points in time; the scheduler keeps the last one it fired.
 */
export interface TimerSpec {
  every?: string;
  at?: string;
  days?: number[];
  timezone?: string;
}

export const DEFAULT_TIMEZONE = 'Europe/Moscow';
/** Shorter periods would make a segment scan itself back to back. */
export const MIN_EVERY_MS = 1000;
const TIME = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** Problems of a timer trigger's timing, each as `field: message`; empty when it is fine. */
export function checkTimerSpec(t: TimerSpec): string[] {
  const errs: string[] = [];
  if (t.every === undefined && t.at === undefined) errs.push('every: a timer needs `every` (e.g. "1d") or `at` (e.g. "10:00")');
  if (t.every !== undefined && t.at !== undefined) errs.push('every: give either `every` or `at`, not both');
  if (t.every !== undefined) {
    try {
      if (parseDuration(t.every) < MIN_EVERY_MS) errs.push(`every: at least ${MIN_EVERY_MS / 1000}s`);
    } catch (e) {
      errs.push(`every: ${(e as Error).message}`);
    }
  }
  if (t.at !== undefined && !TIME.test(t.at)) errs.push(`at: bad time "${t.at}": use HH:MM, 00:00 … 23:59`);
  if (t.timezone !== undefined && !zoneOf(t.timezone)) errs.push(`timezone: unknown timezone "${t.timezone}": use an IANA name such as Europe/Moscow or an offset such as UTC+3`);
  if (t.days !== undefined && t.at === undefined) errs.push('days: only used with `at`');
  if (t.timezone !== undefined && t.at === undefined) errs.push('timezone: only used with `at`');
  return errs;
}

/** The timing as a string: a trigger whose timing changed starts counting afresh. */
export function specKey(t: TimerSpec): string {
  return JSON.stringify({ every: t.every ?? null, at: t.at ?? null, days: t.days ?? null, timezone: t.timezone ?? null });
}

/**
 * The tick to fire now: the latest tick at or before `now` that is after `last`, or null when none is.
 * Several missed ticks (the server was down) are one tick, the latest: a daily message is not sent
 * three times in a row after a weekend off.
 */
export function dueTick(t: TimerSpec, last: number, now: number): number | null {
  if (t.every !== undefined) {
    const period = Math.max(parseDuration(t.every), MIN_EVERY_MS);
    const k = Math.floor((now - last) / period);
    return k >= 1 ? last + k * period : null;
  }
  const tick = latestAt(t, now);
  return tick !== null && tick > last ? tick : null;
}

/** When the tick after `last` comes (for the scheduler's sleep and for people asking). */
export function nextTick(t: TimerSpec, last: number): number {
  if (t.every !== undefined) return last + Math.max(parseDuration(t.every), MIN_EVERY_MS);
  const { zone, hour, minute, days } = parseAt(t);
  const day = DateTime.fromMillis(last, { zone }).startOf('day');
  for (let i = 0; i <= 8; i++) {
    const c = day.plus({ days: i }).set({ hour, minute });
    if (c.toMillis() > last && (!days || days.has(c.weekday))) return c.toMillis();
  }
  throw new Error('timer: no tick in the next week'); // unreachable: days are checked at deploy
}

/** The latest `at` moment at or before `now` on an allowed day. */
function latestAt(t: TimerSpec, now: number): number | null {
  const { zone, hour, minute, days } = parseAt(t);
  const today = DateTime.fromMillis(now, { zone }).startOf('day');
  for (let i = 0; i <= 8; i++) {
    // Set the time on each day anew: a local time that does not exist (a DST gap) moves forward that day only.
    const c = today.minus({ days: i }).set({ hour, minute });
    if (c.toMillis() <= now && (!days || days.has(c.weekday))) return c.toMillis();
  }
  return null;
}

function parseAt(t: TimerSpec): { zone: Zone; hour: number; minute: number; days: Set<number> | null } {
  const m = TIME.exec(t.at ?? '');
  const zone = zoneOf(t.timezone ?? DEFAULT_TIMEZONE);
  if (!m || !zone) throw new Error(`timer: bad at "${t.at}" or timezone "${t.timezone}"`);
  return { zone, hour: Number(m[1]), minute: Number(m[2]), days: t.days?.length ? new Set(t.days) : null };
}
