import type { NodeType } from '../engine/node-type.ts';
import type { TaskData } from '../engine/task.ts';
import { NODE_ID, fieldEdges } from './edges.ts';

/** Answers the `call` that started this task; then goes on to `next`, or ends when there is none. */
export const replyNode: NodeType = {
  type: 'reply',
  description: 'Reply to the process that called this one.',
  paramsSchema: {
    properties: {
      data: { type: 'object', description: 'The reply (templates); default: this task\'s data.' },
      next: NODE_ID,
    },
  },
  edges: (n) => fieldEdges(n, 'next'),
  run: (ctx) => {
    const reply = (ctx.node.data === undefined ? structuredClone(ctx.task.data) : ctx.render(ctx.node.data)) as TaskData;
    return ctx.node.next ? { kind: 'go', to: ctx.node.next as string, reply } : { kind: 'end', status: 'done', reply };
  },
};
