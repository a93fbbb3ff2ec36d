import type { NodeContext } from '../../engine/node-type.ts';
import { parseDuration } from '../../util/duration.ts';
import type { Connection } from '../connector.ts';
import { ServiceFailure } from '../service-failure.ts';
import { PipedriveClient } from './pipedrive-client.ts';

/** Shared by every Pipedrive node: the client for this connection, pausing the connection's pace key. */
export function clientFor(ctx: NodeContext, connection: Connection, p: Record<string, unknown>): PipedriveClient {
  return new PipedriveClient(ctx.services.http, connection.settings, {
    timeoutMs: parseDuration((p.timeout as string | number | undefined) ?? '30s'),
    onPause: (ms) => ctx.slowDown(`pipedrive:${connection.name}`, ms),
  });
}

export const ID = { type: ['integer', 'string'], description: 'A Pipedrive id (a number), or a template giving one.' };
export const CUSTOM_FIELDS = {
  type: ['object', 'string'],
  description: 'Custom fields by their API key (the 40-character hash in Pipedrive\'s field settings) → value.',
};
export const CONTACT = {
  type: ['string', 'array'],
  items: { type: 'string' },
  description: 'One value or a list; the first is the primary one.',
};

function bad(field: string, why: string): ServiceFailure {
  return new ServiceFailure('fail', `${field}: ${why}`, { code: 'bad_param' });
}

/** True for what a template renders when the task has no such field. */
export function blank(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
}

/** A Pipedrive integer id from a number or a rendered string; undefined when blank. */
export function idOf(v: unknown, field: string): number | undefined {
  if (blank(v)) return undefined;
  const n = typeof v === 'number' ? v : Number(String(v).trim());
  if (!Number.isInteger(n) || n <= 0) throw bad(field, `must be a positive whole number, got ${JSON.stringify(v)}`);
  return n;
}

export function requiredId(v: unknown, field: string): number {
  const id = idOf(v, field);
  if (id === undefined) throw bad(field, 'is empty after templates');
  return id;
}

export function requiredText(v: unknown, field: string): string {
  if (blank(v)) throw bad(field, 'is empty after templates');
  return String(v).trim();
}

export function numberOf(v: unknown, field: string): number | undefined {
  if (blank(v)) return undefined;
  const n = typeof v === 'number' ? v : Number(String(v).replace(/\s/g, '').replace(',', '.'));
  if (!Number.isFinite(n)) throw bad(field, `must be a number, got ${JSON.stringify(v)}`);
  return n;
}

/** A string or a list of strings (blank ones dropped), e.g. a form's one phone or a CRM's several. */
export function listOf(v: unknown): string[] {
  const items = Array.isArray(v) ? v : [v];
  return items.filter((x) => !blank(x)).map((x) => String(x).trim());
}

/** Pipedrive's v2 contact arrays: `[{value, primary, label}]`, the first value primary. */
export function contactList(values: string[], label = 'work'): Array<{ value: string; primary: boolean; label: string }> {
  return values.map((value, i) => ({ value, primary: i === 0, label }));
}

export function customFieldsOf(v: unknown): Record<string, unknown> | undefined {
  if (blank(v)) return undefined;
  if (typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  throw bad('custom_fields', 'must be an object {field key: value}');
}

/** Copies the defined values of `fields` into a request body. */
export function defined(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
}

/** Digits of a phone; two phones are the same when their last ten digits are (+7 916… and 8 916…). */
export function phoneKey(phone: string): string {
  const digits = phone.replace(/\D/g, '');
  return digits.length > 10 ? digits.slice(-10) : digits;
}

export function emailKey(email: string): string {
  return email.trim().toLowerCase();
}

/** A date (YYYY-MM-DD) and, for a full timestamp such as `{{$now}}`, the time (HH:MM, UTC). */
export function dueOf(v: unknown): { due_date?: string; due_time?: string } {
  if (blank(v)) return {};
  const s = String(v).trim();
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) return { due_date: s };
  const t = Date.parse(s);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(s) || Number.isNaN(t)) throw bad('due_date', `must be YYYY-MM-DD or an ISO time, got ${JSON.stringify(v)}`);
  const iso = new Date(t).toISOString();
  return { due_date: iso.slice(0, 10), due_time: iso.slice(11, 16) };
}
