import { getPath, splitPath } from '../util/template.ts';
import { isWithinWorkingHours } from '../util/working-hours.ts';
import { workingHours } from './delay.ts';

/**
 * Clauses of `condition` branches: `{ path, op, value }` over task data (value may be a template),
 * or `{ op: working_hours, from, to, timezone, days }` about the current time in the task's timezone.
 * A branch's `when` is one clause or a list (all must hold); `any` is a list (one must hold).
 */
export const OPS = [
  'eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'not_in', 'exists', 'missing', 'empty', 'not_empty',
  'contains', 'starts_with', 'ends_with', 'matches', 'working_hours',
] as const;
export type Op = (typeof OPS)[number];

export interface Clause {
  path?: string;
  op: Op;
  value?: unknown;
  from?: string; to?: string; timezone?: string; days?: number[];
}

export const CLAUSE_SCHEMA = {
  type: 'object',
  required: ['op'],
  additionalProperties: false,
  properties: {
    path: { type: 'string' },
    op: { enum: OPS },
    value: {},
    from: { type: 'string' }, to: { type: 'string' }, timezone: { type: 'string' },
    days: { type: 'array', items: { type: 'integer', minimum: 1, maximum: 7 } },
  },
};

export function checkClause(c: Clause, field: string): string[] {
  if (c.op === 'working_hours') return c.from && c.to ? [] : [`${field}: working_hours needs from and to`];
  if (!c.path) return [`${field}.path: is required for op "${c.op}"`];
  if (c.op === 'matches') {
    try {
      new RegExp(String(c.value));
    } catch (e) {
      return [`${field}.value: bad regular expression: ${(e as Error).message}`];
    }
  }
  if ((c.op === 'in' || c.op === 'not_in') && !Array.isArray(c.value) && !String(c.value ?? '').includes('{{')) {
    return [`${field}.value: must be a list for op "${c.op}"`];
  }
  return [];
}

const numeric = (v: unknown) => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN);

function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  const na = numeric(a), nb = numeric(b);
  if (!Number.isNaN(na) && !Number.isNaN(nb) && (typeof a === 'number' || typeof b === 'number')) return na === nb;
  if (a && b && typeof a === 'object') return JSON.stringify(a) === JSON.stringify(b);
  return false;
}

function compare(a: unknown, b: unknown): number | null {
  const na = numeric(a), nb = numeric(b);
  if (!Number.isNaN(na) && !Number.isNaN(nb)) return na - nb;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  return null;
}

const isEmpty = (v: unknown) =>
  v === undefined || v === null || v === '' || (Array.isArray(v) ? v.length === 0 : typeof v === 'object' && Object.keys(v).length === 0);

const regexCache = new Map<string, RegExp>();

export function holds(c: Clause, data: Record<string, unknown>, render: (v: unknown) => unknown, now: number): boolean {
  if (c.op === 'working_hours') return isWithinWorkingHours(now, workingHours({ type: '', working_hours: c }, render));
  const actual = getPath(data, splitPath(c.path!));
  const expected = typeof c.value === 'string' ? render(c.value) : c.value;
  switch (c.op) {
    case 'eq': return equal(actual, expected);
    case 'ne': return !equal(actual, expected);
    case 'gt': { const r = compare(actual, expected); return r !== null && r > 0; }
    case 'gte': { const r = compare(actual, expected); return r !== null && r >= 0; }
    case 'lt': { const r = compare(actual, expected); return r !== null && r < 0; }
    case 'lte': { const r = compare(actual, expected); return r !== null && r <= 0; }
    case 'in': return Array.isArray(expected) && expected.some((e) => equal(actual, e));
    case 'not_in': return !(Array.isArray(expected) && expected.some((e) => equal(actual, e)));
    case 'exists': return actual !== undefined && actual !== null;
    case 'missing': return actual === undefined || actual === null;
    case 'empty': return isEmpty(actual);
    case 'not_empty': return !isEmpty(actual);
    case 'contains':
      return Array.isArray(actual) ? actual.some((e) => equal(e, expected)) : typeof actual === 'string' && actual.includes(String(expected));
    case 'starts_with': return typeof actual === 'string' && actual.startsWith(String(expected));
    case 'ends_with': return typeof actual === 'string' && actual.endsWith(String(expected));
    case 'matches': {
      const src = String(expected);
      let re = regexCache.get(src);
      if (!re) {
        re = new RegExp(src);
        if (regexCache.size > 1000) regexCache.clear();
        regexCache.set(src, re);
      }
      return actual !== undefined && actual !== null && re.test(String(actual));
    }
  }
}
