import type { NodeType } from '../../engine/node-type.ts';
import { NODE_ID, fieldEdges } from '../../nodes/edges.ts';

/**
 * `funnel.stop`: ends the person's other funnels — in this bot (`scope: bot`, default) or in every
 * bot of the project (`scope: all`) — e.g. when they bought. This task goes on to `next`.
 */
export const funnelStopNode: NodeType = {
  type: 'funnel.stop',
  description: 'Stop the person\'s other funnels, in this bot or in all bots of the project.',
  async: true,
  paramsSchema: { required: ['next'], properties: { scope: { enum: ['bot', 'all'] }, next: NODE_ID } },
  edges: (n) => fieldEdges(n, 'next'),
  async run(ctx) {
    const id = Number(ctx.task.data.contact_id);
    if (!id) return { kind: 'fail', error: 'the task has no contact_id (it was not started by a bot trigger)' };
    const all = ctx.node.scope === 'all';
    const stopped: number[] = [];
    for (const t of await ctx.contacts.liveTasksOf(id)) {
      if (t.id === ctx.task.id) continue;
      if (!all && t.bot !== ctx.task.data.bot) continue;
      if (await ctx.cancelTask(t.id)) stopped.push(t.id);
    }
    return { kind: 'go', to: ctx.node.next as string, detail: { stopped } };
  },
};
