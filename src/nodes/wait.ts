import type { NodeType } from '../engine/node-type.ts';
import { parseDuration } from '../util/duration.ts';
import { checkDuration } from './call.ts';
import { DURATION, NODE_ID, fieldEdges } from './edges.ts';
import { mergeResult } from './merge-result.ts';

/**
 * Waits for an external callback: a POST to the task's `{{$task.callback_url}}` resumes it with the
 * posted JSON (merged into data, or under `save_to`). A callback that arrives before the task gets
 * here is kept and consumed on arrival. No callback within `timeout` → `on_timeout`.
 */
export const waitNode: NodeType = {
  type: 'wait',
  callbacks: true,
  description: 'Wait for a callback to the task\'s callback URL, with a timeout.',
  paramsSchema: {
    required: ['next', 'timeout'],
    properties: { timeout: DURATION, save_to: { type: 'string' }, next: NODE_ID, on_timeout: NODE_ID },
  },
  check: (n) => checkDuration(n.timeout, 'timeout'),
  edges: (n) => fieldEdges(n, 'next', 'on_timeout'),
  run: (ctx) => ({ kind: 'wait', timeoutAt: ctx.now + parseDuration(ctx.node.timeout as string | number) }),
  wake: (ctx) =>
    ctx.node.on_timeout
      ? { kind: 'go', to: ctx.node.on_timeout as string, detail: { timeout: true } }
      : { kind: 'fail', error: 'no callback in time' },
  resume: (ctx, payload) => ({ kind: 'go', to: ctx.node.next as string, patch: mergeResult(ctx.node.save_to, payload) }),
};
