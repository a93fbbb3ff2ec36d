import { describe, expect, it } from 'vitest';
import { checkWorkingHours, isWithinWorkingHours, nextWorkingTime, type WorkingHours } from '../src/util/working-hours.ts';

/** Epoch ms of an ISO time with its offset, e.g. "2026-03-09T09:00+03:00". */
const t = (iso: string) => {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`bad test time ${iso}`);
  return ms;
};
const MSK: WorkingHours = { from: '09:00', to: '21:00', timezone: 'Europe/Moscow' };
const VVO: WorkingHours = { from: '09:00', to: '21:00', timezone: 'Asia/Vladivostok' };

describe('Moscow, 09:00–21:00 every day (UTC+3 all year, no DST)', () => {
  it('window edges: from is inside, to is not', () => {
    expect(isWithinWorkingHours(t('2026-03-09T08:59:59.999+03:00'), MSK)).toBe(false);
    expect(isWithinWorkingHours(t('2026-03-09T09:00+03:00'), MSK)).toBe(true);
    expect(isWithinWorkingHours(t('2026-03-09T20:59:59.999+03:00'), MSK)).toBe(true);
    expect(isWithinWorkingHours(t('2026-03-09T21:00+03:00'), MSK)).toBe(false);
  });
  it('inside → the same instant; before → today 09:00; after → tomorrow 09:00', () => {
    const inside = t('2026-03-09T12:34:56.789+03:00');
    expect(nextWorkingTime(inside, MSK)).toBe(inside);
    expect(nextWorkingTime(t('2026-03-09T03:00+03:00'), MSK)).toBe(t('2026-03-09T09:00+03:00'));
    expect(nextWorkingTime(t('2026-03-09T21:00+03:00'), MSK)).toBe(t('2026-03-10T09:00+03:00'));
    expect(nextWorkingTime(t('2026-03-09T23:59+03:00'), MSK)).toBe(t('2026-03-10T09:00+03:00'));
  });
  it('winter and summer are the same UTC hours (no DST)', () => {
    expect(nextWorkingTime(t('2026-01-15T00:00Z'), MSK)).toBe(t('2026-01-15T06:00Z'));
    expect(nextWorkingTime(t('2026-07-01T00:00Z'), MSK)).toBe(t('2026-07-01T06:00Z'));
  });
  it('offsets name the same zone', () => {
    const at = t('2026-03-09T05:30Z');
    for (const timezone of ['UTC+3', 'utc+3', 'GMT+03:00', '+3', 'UTC+0300', 'Etc/GMT-3']) {
      expect(nextWorkingTime(at, { ...MSK, timezone }), timezone).toBe(t('2026-03-09T06:00Z'));
    }
    expect(nextWorkingTime(at, { ...MSK, timezone: 'UTC-5' })).toBe(t('2026-03-09T14:00Z'));
    expect(nextWorkingTime(at, { ...MSK, timezone: 'UTC+5:30' })).toBe(t('2026-03-09T05:30Z'));
  });
});

describe('a task in Asia/Vladivostok (UTC+10)', () => {
  it('its morning is Moscow\'s night', () => {
    const at = t('2026-03-10T00:30Z'); // 10:30 in Vladivostok, 03:30 in Moscow
    expect(isWithinWorkingHours(at, VVO)).toBe(true);
    expect(isWithinWorkingHours(at, MSK)).toBe(false);
  });
  it('after 21:00 local the next window is 09:00 local = 23:00 UTC the day before', () => {
    expect(nextWorkingTime(t('2026-03-10T11:30Z'), VVO)).toBe(t('2026-03-10T23:00Z'));
    expect(nextWorkingTime(t('2026-03-10T11:30Z'), VVO)).toBe(t('2026-03-11T09:00+10:00'));
  });
  it('weekdays are the local ones: Friday 22:00 UTC is already Saturday there', () => {
    const weekdays = { ...VVO, days: [1, 2, 3, 4, 5] };
    const fridayUtc = t('2026-03-06T22:00Z'); // Saturday 08:00 in Vladivostok
    expect(isWithinWorkingHours(t('2026-03-06T01:00Z'), weekdays)).toBe(true); // Friday 11:00 local
    expect(nextWorkingTime(fridayUtc, weekdays)).toBe(t('2026-03-09T09:00+10:00'));
  });
});

describe('windows crossing midnight (22:00–06:00)', () => {
  const night: WorkingHours = { from: '22:00', to: '06:00', timezone: 'Europe/Moscow' };
  it('inside on both sides of midnight, outside by day', () => {
    expect(isWithinWorkingHours(t('2026-03-09T22:00+03:00'), night)).toBe(true);
    expect(isWithinWorkingHours(t('2026-03-09T23:59+03:00'), night)).toBe(true);
    expect(isWithinWorkingHours(t('2026-03-10T00:00+03:00'), night)).toBe(true);
    expect(isWithinWorkingHours(t('2026-03-10T05:59:59+03:00'), night)).toBe(true);
    expect(isWithinWorkingHours(t('2026-03-10T06:00+03:00'), night)).toBe(false);
    expect(isWithinWorkingHours(t('2026-03-10T21:59+03:00'), night)).toBe(false);
  });
  it('by day the next window starts at 22:00 the same day', () => {
    expect(nextWorkingTime(t('2026-03-10T06:00+03:00'), night)).toBe(t('2026-03-10T22:00+03:00'));
    expect(nextWorkingTime(t('2026-03-10T21:59+03:00'), night)).toBe(t('2026-03-10T22:00+03:00'));
  });
  it('days name the evening a window starts: Friday night runs into Saturday morning', () => {
    const friday = { ...night, days: [5] };
    expect(isWithinWorkingHours(t('2026-03-07T03:00+03:00'), friday)).toBe(true); // Saturday 03:00
    expect(isWithinWorkingHours(t('2026-03-06T03:00+03:00'), friday)).toBe(false); // Friday 03:00: Thursday's night
    expect(nextWorkingTime(t('2026-03-06T03:00+03:00'), friday)).toBe(t('2026-03-06T22:00+03:00'));
    expect(nextWorkingTime(t('2026-03-07T07:00+03:00'), friday)).toBe(t('2026-03-13T22:00+03:00'));
  });
});

describe('days and special windows', () => {
  const weekdays = { ...MSK, days: [1, 2, 3, 4, 5] };
  it('weekend and Friday evening go to Monday 09:00', () => {
    expect(isWithinWorkingHours(t('2026-03-07T12:00+03:00'), weekdays)).toBe(false);
    for (const at of ['2026-03-06T21:00+03:00', '2026-03-07T12:00+03:00', '2026-03-08T23:59+03:00', '2026-03-09T08:00+03:00']) {
      expect(nextWorkingTime(t(at), weekdays), at).toBe(t('2026-03-09T09:00+03:00'));
    }
  });
  it('a single day a week: up to seven days ahead', () => {
    expect(nextWorkingTime(t('2026-03-09T21:00+03:00'), { ...MSK, days: [1] })).toBe(t('2026-03-16T09:00+03:00'));
  });
  it('days from task data may be strings', () => {
    expect(nextWorkingTime(t('2026-03-07T12:00+03:00'), { ...MSK, days: ['1', '2'] as unknown as number[] })).toBe(t('2026-03-09T09:00+03:00'));
  });
  it('"24:00" ends the day; equal from and to is a 24-hour window at run time', () => {
    const allDay = { from: '00:00', to: '24:00', timezone: 'Europe/Moscow' };
    expect(isWithinWorkingHours(t('2026-03-09T23:59:59+03:00'), allDay)).toBe(true);
    expect(isWithinWorkingHours(t('2026-03-09T00:00+03:00'), allDay)).toBe(true);
    expect(isWithinWorkingHours(t('2026-03-09T08:00+03:00'), { ...MSK, to: '09:00' })).toBe(true);
  });
  it('a DST zone: a window start inside the spring-forward gap moves to the first real minute', () => {
    const berlin: WorkingHours = { from: '02:30', to: '04:00', timezone: 'Europe/Berlin' };
    const next = nextWorkingTime(t('2026-03-29T01:00+01:00'), berlin);
    expect(next).toBe(t('2026-03-29T03:30+02:00'));
    expect(isWithinWorkingHours(next, berlin)).toBe(true);
  });
});

describe('bad timezones at run time', () => {
  it('a garbage timezone falls back to fallbackTimezone', () => {
    const at = t('2026-03-09T05:30Z');
    for (const timezone of ['Mars/Olympus', '', '{{tz}}', 'UTC+25']) {
      expect(nextWorkingTime(at, { ...MSK, timezone, fallbackTimezone: 'Europe/Moscow' }), timezone).toBe(t('2026-03-09T06:00Z'));
    }
    expect(nextWorkingTime(at, { ...MSK, timezone: 42 as unknown as string, fallbackTimezone: 'UTC+3' })).toBe(t('2026-03-09T06:00Z'));
  });
  it('without a usable fallback it throws naming the timezone', () => {
    expect(() => isWithinWorkingHours(0, { ...MSK, timezone: 'Mars/Olympus' })).toThrow(/unknown timezone "Mars\/Olympus"/);
    expect(() => nextWorkingTime(0, { ...MSK, timezone: 'Mars/Olympus', fallbackTimezone: 'Venus' })).toThrow(/unknown timezone "Mars\/Olympus" \(nor fallback "Venus"\)/);
  });
  it('bad times and days at run time throw naming the field', () => {
    expect(() => isWithinWorkingHours(0, { ...MSK, from: '25:00' })).toThrow(/from: bad time "25:00"/);
    expect(() => nextWorkingTime(0, { ...MSK, days: [] })).toThrow(/bad days \[\]/);
    expect(() => nextWorkingTime(0, { ...MSK, days: [0, 8] })).toThrow(/bad days/);
  });
});

describe('checkWorkingHours', () => {
  it('a good setting has no messages', () => {
    expect(checkWorkingHours(MSK)).toEqual([]);
    expect(checkWorkingHours({ from: '9:00', to: '24:00', timezone: 'UTC+3', days: [1, 7] })).toEqual([]);
    expect(checkWorkingHours({ from: '22:00', to: '06:00', timezone: 'Asia/Vladivostok', fallbackTimezone: 'Europe/Moscow' })).toEqual([]);
  });
  it('each problem names its field', () => {
    expect(checkWorkingHours({ from: '25:00', to: '9', timezone: 'Mars/Olympus', days: [0] })).toEqual([
      'from: bad time "25:00": use HH:MM',
      'to: bad time "9": use HH:MM',
      'timezone: unknown timezone "Mars/Olympus": use an IANA name such as Europe/Moscow or an offset such as UTC+3',
      'days: bad days [0]: a non-empty list of ISO weekdays 1 (Monday) … 7',
    ]);
    expect(checkWorkingHours({ from: '24:00', to: '10:00', timezone: 'UTC' })).toEqual(['from: bad time "24:00": use HH:MM']);
    expect(checkWorkingHours({ to: '10:00', timezone: 'UTC', days: [] })).toEqual(['from: bad time "": use HH:MM', 'days: bad days []: a non-empty list of ISO weekdays 1 (Monday) … 7']);
    expect(checkWorkingHours({ from: '10:00', to: '10:00', timezone: 'UTC' })).toEqual(['to: equals from ("10:00"); for all day use from "00:00" to "24:00"']);
    expect(checkWorkingHours({ from: '10:00', to: '11:00' })).toEqual(['timezone: missing']);
    expect(checkWorkingHours('9-21')).toEqual(['must be an object with from, to and timezone']);
  });
});

describe('property: the next working time is the first minute inside', () => {
  it('for random windows, zones and instants', () => {
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const hhmm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
    for (let i = 0; i < 120; i++) {
      const from = Math.floor(rnd() * 96) * 15;
      let to = Math.floor(rnd() * 96) * 15;
      if (to === from) to = (from + 60) % 1440;
      const days = rnd() < 0.5 ? undefined : [1, 2, 3, 4, 5, 6, 7].filter(() => rnd() < 0.5);
      const wh: WorkingHours = { from: hhmm(from), to: hhmm(to), timezone: rnd() < 0.5 ? 'Europe/Moscow' : 'Asia/Vladivostok', days: days?.length ? days : [3] };
      const at = t('2026-03-01T00:00Z') + Math.floor(rnd() * 30 * 86400_000);
      const next = nextWorkingTime(at, wh);
      const label = JSON.stringify({ wh, at: new Date(at).toISOString() });
      expect(next, label).toBeGreaterThanOrEqual(at);
      expect(isWithinWorkingHours(next, wh), label).toBe(true);
      for (let m = next - 60_000; m >= at && m > next - 8 * 86400_000; m -= 15 * 60_000) {
        expect(isWithinWorkingHours(m, wh), `${label} ${new Date(m).toISOString()}`).toBe(false);
      }
    }
  });
});
