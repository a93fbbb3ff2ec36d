import type { NodeType } from '../engine/node-type.ts';
import { parseDuration } from '../util/duration.ts';
import { DURATION, NODE_ID, fieldEdges } from './edges.ts';
import { SPAWN_PARAMS, spawnFrom } from './copy.ts';
import { mergeResult } from './merge-result.ts';

/**
 * RPC into another process: starts a child task and waits for its `reply` node (or its end: a final
 * node replies with the child's data, an error node fails this node). The reply is merged into this
 * task's data, or put under `save_to`.
 */
export const callNode: NodeType = {
  type: 'call',
  description: 'Run a task in another process and wait for its reply.',
  paramsSchema: {
    required: ['process', 'next'],
    properties: {
      ...SPAWN_PARAMS,
      timeout: DURATION,
      save_to: { type: 'string' },
      next: NODE_ID,
      on_timeout: NODE_ID,
    },
  },
  check: (n) => checkDuration(n.timeout, 'timeout'),
  edges: (n) => fieldEdges(n, 'next', 'on_timeout'),
  run: (ctx) => ({
    kind: 'wait',
    timeoutAt: ctx.now + parseDuration((ctx.node.timeout as string | number | undefined) ?? '1m'),
    spawn: [spawnFrom(ctx, true)],
  }),
  wake: (ctx) =>
    ctx.node.on_timeout
      ? { kind: 'go', to: ctx.node.on_timeout as string, detail: { timeout: true } }
      : { kind: 'fail', error: `no reply from process "${ctx.node.process}" in time` },
  resume: (ctx, payload, error) =>
    error !== undefined
      ? { kind: 'fail', error: `process "${ctx.node.process}" failed: ${error}` }
      : { kind: 'go', to: ctx.node.next as string, patch: mergeResult(ctx.node.save_to, payload) },
};

export function checkDuration(value: unknown, field: string): string[] {
  if (value === undefined) return [];
  try {
    parseDuration(value as string | number);
    return [];
  } catch (e) {
    return [`${field}: ${(e as Error).message}`];
  }
}
