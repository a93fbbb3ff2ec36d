import type { NodeType } from '../engine/node-type.ts';
import { NODE_ID } from './edges.ts';

/**
 * The end of a lead that could not be delivered: appends it to the project's dead-letter CSV and parks
 * the task `failed` at `retry_from` (the node that failed), so a requeue — one, or all failed tasks of
 * the process in bulk — delivers it from there. Notify managers on the way here (telegram, sms nodes).
 */
export const deadLetterNode: NodeType = {
  type: 'dead_letter',
  description: 'Append the task to the dead-letter CSV and park it failed at the node to retry from.',
  async: true, // writes the CSV file
  paramsSchema: { required: ['retry_from'], properties: { retry_from: NODE_ID } },
  // retry_from is where a requeue goes, so the graph checks treat it as an edge.
  edges: (n) => (typeof n.retry_from === 'string' ? [{ field: 'retry_from', to: n.retry_from }] : []),
  async run(ctx) {
    const t = ctx.task;
    const error = t.error ?? (typeof t.data.last_error === 'string' ? t.data.last_error : 'undelivered');
    await ctx.deadLetters.append({
      at: new Date().toISOString(), task_id: t.id, ref: t.ref, process: t.process, node: ctx.node.retry_from as string,
      error, data: JSON.stringify(t.data),
    });
    return { kind: 'fail', error, parkAt: ctx.node.retry_from as string, detail: { dead_letter: true } };
  },
};
