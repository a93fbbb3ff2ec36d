import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../src/util/duration.ts';

describe('parseDuration', () => {
  it('numbers are milliseconds', () => {
    expect(parseDuration(0)).toBe(0);
    expect(parseDuration(1500)).toBe(1500);
    expect(parseDuration(2.4)).toBe(2);
  });
  it('units', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('30m')).toBe(1_800_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration('1w')).toBe(604_800_000);
    expect(parseDuration('0s')).toBe(0);
    expect(parseDuration('1.5h')).toBe(5_400_000);
  });
  it('combined units and spaces', () => {
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('1d 2h')).toBe(93_600_000);
    expect(parseDuration(' 2m30s ')).toBe(150_000);
    expect(parseDuration('1s500ms')).toBe(1500);
  });
  it('ISO 8601', () => {
    expect(parseDuration('PT2H')).toBe(7_200_000);
    expect(parseDuration('PT1H30M')).toBe(5_400_000);
    expect(parseDuration('P1D')).toBe(86_400_000);
    expect(parseDuration('P1W')).toBe(604_800_000);
    expect(parseDuration('pt15m')).toBe(900_000);
    expect(parseDuration('PT0.5S')).toBe(500);
  });
  it('bad input says what is accepted', () => {
    for (const bad of ['2x', '', '  ', '300', 'soon', '-5s', '5 s x', 'h', '2H', '1h30', 'P', 'PT', 'PTX', '1,5h']) {
      expect(() => parseDuration(bad), bad).toThrow(`bad duration "${bad}": use e.g. 30s, 15m, 2h, 1d or PT2H`);
    }
    expect(() => parseDuration(-1)).toThrow(/bad duration -1: must be a non-negative number/);
    expect(() => parseDuration(Number.NaN)).toThrow(/bad duration NaN/);
    expect(() => parseDuration(Infinity)).toThrow(/bad duration Infinity/);
  });
});

describe('formatDuration', () => {
  it('readable', () => {
    expect(formatDuration(9_000_000)).toBe('2h 30m');
    expect(formatDuration(250)).toBe('250ms');
    expect(formatDuration(0)).toBe('0ms');
    expect(formatDuration(30_000)).toBe('30s');
    expect(formatDuration(90_061_000)).toBe('1d 1h 1m 1s');
    expect(formatDuration(7 * 86_400_000)).toBe('7d');
    expect(formatDuration(59_700)).toBe('1m');
    expect(formatDuration(-5000)).toBe('-5s');
  });
  it('round-trips through parseDuration', () => {
    for (const ms of [1000, 61_000, 5_400_000, 93_600_000, 450]) expect(parseDuration(formatDuration(ms))).toBe(ms);
  });
});
