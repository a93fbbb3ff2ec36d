import type { NodeType } from '../engine/node-type.ts';

/** Failure end with a reason (a template), e.g. "bad phone {{phone}}". */
export const errorNode: NodeType = {
  type: 'error',
  description: 'The task ends as failed, with a reason.',
  paramsSchema: { properties: { reason: { type: 'string' } } },
  terminal: true,
  edges: () => [],
  run: (ctx) => ({ kind: 'end', status: 'error', reason: String(ctx.render(ctx.node.reason ?? ctx.task.error ?? 'error')) }),
};
