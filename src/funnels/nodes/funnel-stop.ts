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

/** `admin.notify`: a note in the project's admin inbox (GET /api/v1/projects/P/admin-inbox). */
export const adminNotifyNode: NodeType = {
  type: 'admin.notify',
  description: 'Leave a note for the project\'s admins (paid but not entered, stuck, anything).',
  async: true,
  paramsSchema: { required: ['text', 'next'], properties: { text: { type: 'string', minLength: 1 }, kind: { enum: ['note', 'paid_not_entered', 'stuck', 'send_error'] }, next: NODE_ID } },
  edges: (n) => fieldEdges(n, 'next'),
  async run(ctx) {
    const contactId = Number(ctx.task.data.contact_id) || null;
    const id = await ctx.contacts.addAdminNote({ at: Date.now(), kind: (ctx.node.kind as 'note' | undefined) ?? 'note', contactId, text: String(ctx.render(ctx.node.text)) });
    return { kind: 'go', to: ctx.node.next as string, detail: { note: id } };
  },
};
