import type { NodeDefinition } from '../model/process-definition.ts';
import type { NodeType } from '../engine/node-type.ts';
import { parseDuration } from '../util/duration.ts';
import { checkWorkingHours, nextWorkingTime, type WorkingHours } from '../util/working-hours.ts';
import { checkDuration } from './call.ts';
import { DURATION, NODE_ID, fieldEdges } from './edges.ts';

const WORKING_HOURS = {
  type: 'object',
  required: ['from', 'to'],
  additionalProperties: false,
  properties: {
    from: { type: 'string' },
    to: { type: 'string' },
    timezone: { type: 'string', description: 'IANA name or template, e.g. "{{timezone}}"; default Europe/Moscow' },
    days: { type: 'array', items: { type: 'integer', minimum: 1, maximum: 7 } },
  },
};

/**
 * Sleeps the task durably (the timer is a row, not a JS timeout): a fixed `duration`, `until` a
 * computed time (ISO string or epoch ms), or until the next `working_hours` window in the task's
 * timezone. With several, the latest wins (e.g. "2h, then the next working hour").
 */
export const delayNode: NodeType = {
  type: 'delay',
  description: 'Sleep for a duration, until a time, or until working hours.',
  paramsSchema: {
    required: ['next'],
    properties: { duration: DURATION, until: { type: ['string', 'number'] }, working_hours: WORKING_HOURS, next: NODE_ID },
  },
  check: (n) => {
    const errs = checkDuration(n.duration, 'duration');
    if (n.duration === undefined && n.until === undefined && n.working_hours === undefined) {
      errs.push('needs duration, until or working_hours');
    }
    if (n.working_hours) {
      const wh = n.working_hours as Record<string, unknown>;
      // A templated timezone is checked when the task runs.
      const probe = { ...wh, timezone: String(wh.timezone ?? 'Europe/Moscow').includes('{{') ? 'UTC' : wh.timezone ?? 'Europe/Moscow' };
      errs.push(...checkWorkingHours(probe).map((m) => `working_hours: ${m}`));
    }
    return errs;
  },
  edges: (n) => fieldEdges(n, 'next'),
  run: (ctx) => {
    let until = ctx.now;
    if (ctx.node.duration !== undefined) until = ctx.now + parseDuration(ctx.node.duration as string | number);
    if (ctx.node.until !== undefined) {
      const at = toEpoch(ctx.render(ctx.node.until));
      if (at === null) return { kind: 'fail', error: `until: "${ctx.render(ctx.node.until)}" is not a time` };
      until = Math.max(until, at);
    }
    if (ctx.node.working_hours) until = nextWorkingTime(until, workingHours(ctx.node, ctx.render));
    return { kind: 'sleep', until };
  },
  wake: (ctx) => ({ kind: 'go', to: ctx.node.next as string }),
};

export function workingHours(node: NodeDefinition, render: (v: unknown) => unknown): WorkingHours {
  const wh = render(node.working_hours) as Record<string, unknown>;
  return {
    from: String(wh.from),
    to: String(wh.to),
    timezone: String(wh.timezone || 'Europe/Moscow'),
    fallbackTimezone: 'Europe/Moscow',
    days: wh.days as number[] | undefined,
  };
}

function toEpoch(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v) {
    const n = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}
