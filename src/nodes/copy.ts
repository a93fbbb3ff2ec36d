import type { NodeContext, NodeType, Spawn } from '../engine/node-type.ts';
import type { TaskData } from '../engine/task.ts';
import { NODE_ID, fieldEdges } from './edges.ts';

/** Parameters of nodes that start a task in another process (copy, call). */
export const SPAWN_PARAMS = {
  process: { type: 'string' },
  data: { type: 'object', description: 'The new task\'s data (templates); default: a copy of this task\'s data.' },
  ref: { type: 'string', description: 'The new task\'s ref (template).' },
};

/** Starts a task in another process (in the same transaction) and goes on without waiting. */
export const copyNode: NodeType = {
  type: 'copy',
  description: 'Start a task in another process and go on without waiting.',
  paramsSchema: {
    required: ['process', 'next'],
    properties: { ...SPAWN_PARAMS, next: NODE_ID },
  },
  edges: (n) => fieldEdges(n, 'next'),
  run: (ctx) => ({ kind: 'go', to: ctx.node.next as string, spawn: [spawnFrom(ctx, false)] }),
};

/** The task a copy or call node starts: `process`, rendered `ref`, rendered `data` or a copy of ours. */
export function spawnFrom(ctx: NodeContext, replyToParent: boolean): Spawn {
  return {
    process: ctx.node.process as string,
    ref: ctx.node.ref === undefined ? null : String(ctx.render(ctx.node.ref)),
    data: (ctx.node.data === undefined ? structuredClone(ctx.task.data) : ctx.render(ctx.node.data)) as TaskData,
    replyToParent,
  };
}
