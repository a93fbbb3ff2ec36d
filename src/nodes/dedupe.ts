import type { NodeType } from '../engine/node-type.ts';
import { DEDUPE_KEEP } from '../engine/engine-options.ts';
import { parseDuration } from '../util/duration.ts';
import { normalizeEmail } from '../util/email.ts';
import { normalizePhone } from '../util/phone.ts';
import { checkDuration } from './call.ts';
import { DURATION, NODE_ID, fieldEdges } from './edges.ts';

/**
 * Deduplicates leads: a lead whose phone (normalized) or email matches one accepted within `window`
 * (default 30 minutes) goes to `on_duplicate` with `duplicate_of` set, and the first lead's history
 * records the merge with this lead's data; otherwise it claims its keys and goes on to `next`.
 * Keys are per project: the same phone coming through two processes is one lead.
 */
export const dedupeNode: NodeType = {
  type: 'dedupe',
  description: 'Merge a lead into one with the same phone or email accepted within a window.',
  async: true, // reads and claims keys in the project's store
  paramsSchema: {
    required: ['next', 'on_duplicate'],
    properties: {
      phone: { type: 'string', description: 'Template of the phone, e.g. {{phone}}; normalized (8… → 7…).' },
      email: { type: 'string', description: 'Template of the email; compared lower-cased.' },
      keys: { type: 'array', items: { type: 'string' }, description: 'Other templates that identify a lead (compared as is).' },
      window: { ...DURATION, description: 'How far back a match counts; default 30m, at most 7d.' },
      next: NODE_ID,
      on_duplicate: NODE_ID,
    },
  },
  check: (n) => {
    const errs = checkDuration(n.window, 'window');
    if (!errs.length && n.window !== undefined && parseDuration(n.window as string) > DEDUPE_KEEP) errs.push('window: at most 7d');
    if (n.phone === undefined && n.email === undefined && !(n.keys as unknown[] | undefined)?.length) errs.push('phone, email or keys: give at least one');
    return errs;
  },
  edges: (n) => fieldEdges(n, 'next', 'on_duplicate'),
  async run(ctx) {
    const keys: string[] = [];
    const phone = n(ctx.render(ctx.node.phone));
    const email = n(ctx.render(ctx.node.email));
    const p = phone ? normalizePhone(phone) : null;
    if (p) keys.push(`phone:${p.digits}`);
    const e = email ? normalizeEmail(email) : null;
    if (e) keys.push(`email:${e}`);
    for (const k of (ctx.node.keys as string[] | undefined) ?? []) {
      const v = n(ctx.render(k));
      if (v) keys.push(`key:${k}=${v}`);
    }
    if (!keys.length) return { kind: 'go', to: ctx.node.next as string, detail: { dedupe: 'no phone, email or key to compare' } };
    const windowMs = parseDuration((ctx.node.window as string | number | undefined) ?? '30m');
    const first = await ctx.dedupe.claim(keys, windowMs);
    if (first === null) return { kind: 'go', to: ctx.node.next as string, detail: { keys } };
    await ctx.dedupe.merged(first, { ref: ctx.task.ref, process: ctx.task.process, data: ctx.task.data, keys });
    return { kind: 'go', to: ctx.node.on_duplicate as string, patch: { duplicate_of: first }, detail: { merged_into: first, keys } };
  },
};

const n = (v: unknown) => (v === undefined || v === null || v === '' ? null : String(v).trim() || null);
