import type { NodeType } from '../../engine/node-type.ts';
import { NODE_ID, fieldEdges } from '../../nodes/edges.ts';

/**
 * `funnel.stop`: ends the person's other funnels — in this bot (`scope: bot`, default), in every
 * bot of the project (`scope: all`), or in the bots named (`bots: [open-bot]`: entering the free bot
 * stops the open bot's funnels, not a paid product under way) — e.g. when they bought. This task goes on to `next`.
 */
export const funnelStopNode: NodeType = {
  type: 'funnel.stop',
  description: 'Stop the person\'s other funnels, in this bot or in all bots of the project.',
  async: true,
  refs: { connections: [{ path: 'bots', connector: ['telegram', 'vk'] }] },
  paramsSchema: {
    required: ['next'],
    properties: {
      scope: { enum: ['bot', 'all'] },
      bots: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 }, description: 'Only the funnels in these bots (connection names); instead of scope.' },
      next: NODE_ID,
    },
  },
  check: (n) => (n.bots !== undefined && n.scope !== undefined ? ['bots: names the bots itself, drop scope'] : []),
  edges: (n) => fieldEdges(n, 'next'),
  async run(ctx) {
    const id = Number(ctx.task.data.contact_id);
    if (!id) return { kind: 'fail', error: 'the task has no contact_id (it was not started by a bot trigger)' };
    const all = ctx.node.scope === 'all';
    const bots = ctx.node.bots as string[] | undefined;
    const stopped: number[] = [];
    for (const t of await ctx.contacts.liveTasksOf(id)) {
      if (t.id === ctx.task.id) continue;
      if (bots ? !bots.includes(String(t.bot)) : !all && t.bot !== ctx.task.data.bot) continue;
      if (await ctx.cancelTask(t.id)) stopped.push(t.id);
    }
    return { kind: 'go', to: ctx.node.next as string, detail: { stopped } };
  },
};
