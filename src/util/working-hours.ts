import { DateTime, IANAZone, FixedOffsetZone, type Zone } from 'luxon';

export interface WorkingHours {
  from: string;
  to: string;
  /** IANA name ("Europe/Moscow") or an offset ("UTC+3"). */
  timezone: string;
  /** Used when `timezone` (often from task data) is not a valid zone. */
  fallbackTimezone?: string;
  /** ISO weekdays 1 (Monday) … 7; default every day. */
  days?: number[];
}

const TIME = /^([01]?\d|2[0-3]):([0-5]\d)$/;

function minutes(t: string): number {
  const m = TIME.exec(t.trim());
  if (!m) throw new Error(`bad time "${t}": use HH:MM`);
  return Number(m[1]) * 60 + Number(m[2]);
}

function zoneOf(name: string): Zone | null {
  const z = /^(utc|gmt)?[+-]\d/i.test(name) ? FixedOffsetZone.parseSpecifier(name.toUpperCase().replace('GMT', 'UTC')) : IANAZone.create(name);
  return z && z.isValid ? z : null;
}

function zone(wh: WorkingHours): Zone {
  const z = zoneOf(wh.timezone) ?? (wh.fallbackTimezone ? zoneOf(wh.fallbackTimezone) : null);
  if (!z) throw new Error(`unknown timezone "${wh.timezone}"`);
  return z;
}

function inside(dt: DateTime, from: number, to: number, days?: number[]): boolean {
  const m = dt.hour * 60 + dt.minute;
  if (from <= to) return (!days || days.includes(dt.weekday)) && m >= from && m < to;
  // Crosses midnight: the part after midnight belongs to the previous day's window.
  if (m >= from) return !days || days.includes(dt.weekday);
  if (m < to) return !days || days.includes(dt.minus({ days: 1 }).weekday);
  return false;
}

export function isWithinWorkingHours(at: number, wh: WorkingHours): boolean {
  return inside(DateTime.fromMillis(at, { zone: zone(wh) }), minutes(wh.from), minutes(wh.to), wh.days);
}

/** `at` when inside the window, else the start of the next window, in the given timezone. */
export function nextWorkingTime(at: number, wh: WorkingHours): number {
  const z = zone(wh);
  const from = minutes(wh.from), to = minutes(wh.to);
  const now = DateTime.fromMillis(at, { zone: z });
  if (inside(now, from, to, wh.days)) return at;
  for (let i = 0; i <= 8; i++) {
    const day = now.startOf('day').plus({ days: i });
    const start = day.set({ hour: Math.floor(from / 60), minute: from % 60 });
    if (start.toMillis() > at && (!wh.days || wh.days.includes(start.weekday))) return start.toMillis();
  }
  throw new Error('working_hours: no working day in the week');
}

export function checkWorkingHours(input: unknown): string[] {
  const wh = input as Partial<WorkingHours>;
  const errs: string[] = [];
  for (const f of ['from', 'to'] as const) {
    if (typeof wh[f] !== 'string' || !TIME.test(wh[f]!)) errs.push(`${f}: bad time "${wh[f]}": use HH:MM`);
  }
  if (wh.timezone !== undefined && !zoneOf(String(wh.timezone))) errs.push(`timezone: unknown timezone "${wh.timezone}"`);
  if (wh.days !== undefined && (!Array.isArray(wh.days) || wh.days.length === 0 || wh.days.some((d) => !Number.isInteger(d) || d < 1 || d > 7))) {
    errs.push('days: a list of ISO weekdays 1 (Monday) … 7');
  }
  return errs;
}
