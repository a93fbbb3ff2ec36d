import { DateTime, FixedOffsetZone, IANAZone, type Zone } from 'luxon';

export interface WorkingHours {
  /** "09:00"; the window is [from, to). */
  from: string;
  /** "21:00"; "24:00" is the end of the day. A `to` before `from` crosses midnight. Equal is refused by the
   *  check as ambiguous, and read as a 24-hour window at run time. */
  to: string;
  /** IANA name ("Europe/Moscow") or an offset ("UTC+3", "GMT+03:00", "+3"). */
  timezone: string;
  /** Used when `timezone` (often from task data) is not a valid zone. */
  fallbackTimezone?: string;
  /** ISO weekdays 1 (Monday) … 7 on which a window starts; default every day. */
  days?: number[];
}

const TIME = /^([01]?\d|2[0-3]):([0-5]\d)$/;
const OFFSET = /^(?:utc|gmt)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$/i;
const ZONE_HINT = 'use an IANA name such as Europe/Moscow or an offset such as UTC+3';

/** Minutes since midnight; `to` may also be "24:00". */
function minutes(t: string, field: 'from' | 'to'): number {
  const s = String(t).trim();
  if (field === 'to' && s === '24:00') return 1440;
  const m = TIME.exec(s);
  if (!m) throw new Error(`working hours: ${field}: bad time "${t}": use HH:MM`);
  return Number(m[1]) * 60 + Number(m[2]);
}

/** A luxon zone for an IANA name or a UTC offset; null when it is neither. */
export function zoneOf(name: unknown): Zone | null {
  if (typeof name !== 'string' || !name.trim()) return null;
  const s = name.trim();
  const off = OFFSET.exec(s);
  if (off) {
    const h = Number(off[2]), m = Number(off[3] ?? 0);
    // Real offsets run from -12:00 to +14:00; beyond that it is a typo, not a place.
    if (h > 14 || m > 59) return null;
    return FixedOffsetZone.instance((off[1] === '-' ? -1 : 1) * (h * 60 + m));
  }
  const z = IANAZone.create(s);
  return z.isValid ? z : null;
}

function zone(wh: WorkingHours): Zone {
  const z = zoneOf(wh.timezone) ?? zoneOf(wh.fallbackTimezone);
  if (!z) {
    const fb = wh.fallbackTimezone === undefined ? '' : ` (nor fallback "${wh.fallbackTimezone}")`;
    throw new Error(`working hours: unknown timezone "${wh.timezone}"${fb}: ${ZONE_HINT}`);
  }
  return z;
}

interface Window { from: number; to: number; days: Set<number> | null }

function windowOf(wh: WorkingHours): Window {
  let days: Set<number> | null = null;
  if (wh.days !== undefined && wh.days !== null) {
    // Task data may carry ["1", "2"]; numbers in strings are still weekdays.
    const list = (Array.isArray(wh.days) ? wh.days : [wh.days]).map(Number);
    if (!list.length || list.some((d) => !Number.isInteger(d) || d < 1 || d > 7)) {
      throw new Error(`working hours: bad days ${JSON.stringify(wh.days)}: ISO weekdays 1 (Monday) … 7`);
    }
    days = new Set(list);
  }
  return { from: minutes(wh.from, 'from'), to: minutes(wh.to, 'to'), days };
}

const startsOn = (w: Window, weekday: number) => !w.days || w.days.has(weekday);

function inside(dt: DateTime, w: Window): boolean {
  const m = dt.hour * 60 + dt.minute;
  if (w.from < w.to) return m >= w.from && m < w.to && startsOn(w, dt.weekday);
  // Crosses midnight (or all day when from = to): the part before `to` belongs to yesterday's window.
  if (m >= w.from) return startsOn(w, dt.weekday);
  if (m < w.to) return startsOn(w, dt.minus({ days: 1 }).weekday);
  return false;
}

export function isWithinWorkingHours(at: number, wh: WorkingHours): boolean {
  return inside(DateTime.fromMillis(at, { zone: zone(wh) }), windowOf(wh));
}

/** `at` when inside the window, else the start of the next window, in the given timezone. */
export function nextWorkingTime(at: number, wh: WorkingHours): number {
  const w = windowOf(wh);
  const now = DateTime.fromMillis(at, { zone: zone(wh) });
  if (inside(now, w)) return at;
  // Outside a window the next moment inside is always some day's `from`; a week and a day covers all.
  for (let i = 0; i <= 8; i++) {
    const start = now.startOf('day').plus({ days: i }).set({ hour: Math.floor(w.from / 60), minute: w.from % 60 });
    if (start.toMillis() > at && startsOn(w, start.weekday)) return start.toMillis();
  }
  throw new Error('working hours: no window found in the next week'); // unreachable with valid days
}

/** Problems with a working-hours setting, each naming its field; empty when it is fine. */
export function checkWorkingHours(input: unknown): string[] {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return ['must be an object with from, to and timezone'];
  const wh = input as Record<string, unknown>;
  const errs: string[] = [];
  const times: number[] = [];
  for (const f of ['from', 'to'] as const) {
    try {
      if (typeof wh[f] !== 'string') throw new Error(`working hours: ${f}: bad time "${wh[f] ?? ''}": use HH:MM`);
      times.push(minutes(wh[f] as string, f));
    } catch (e) {
      errs.push((e as Error).message.replace('working hours: ', ''));
    }
  }
  if (times.length === 2 && times[0] === times[1]) errs.push(`to: equals from ("${wh.from}"); for all day use from "00:00" to "24:00"`);
  if (wh.timezone === undefined) errs.push('timezone: missing');
  else if (!zoneOf(wh.timezone)) errs.push(`timezone: unknown timezone "${wh.timezone}": ${ZONE_HINT}`);
  if (wh.fallbackTimezone !== undefined && !zoneOf(wh.fallbackTimezone)) errs.push(`fallbackTimezone: unknown timezone "${wh.fallbackTimezone}"`);
  if (wh.days !== undefined) {
    const d = wh.days;
    if (!Array.isArray(d) || d.length === 0 || d.some((x) => !Number.isInteger(x) || x < 1 || x > 7)) {
      errs.push(`days: bad days ${JSON.stringify(d)}: a non-empty list of ISO weekdays 1 (Monday) … 7`);
    }
  }
  return errs;
}
