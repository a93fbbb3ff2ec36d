import type { NodeType } from '../../engine/node-type.ts';
import { NODE_ID, fieldEdges } from '../../nodes/edges.ts';

/**
 * `purchase.record`: the person bought `product`: the purchase is appended to the contact's
 * `purchases` variable and the `tag` (default `bought`) is set — permanent, so open-bot sales
 * (`tags_absent: [bought]`) never reach them again.
 */
export const purchaseNode: NodeType = {
  type: 'purchase.record',
  description: 'Record a purchase on the person (variable purchases) and tag them bought.',
  async: true,
  refs: { tags: [{ path: 'tag', default: 'bought' }] },
  paramsSchema: {
    required: ['product', 'next'],
    properties: {
      product: { type: 'string', minLength: 1 }, amount: { type: ['number', 'string'] }, currency: { type: 'string' },
      tag: { type: 'string', minLength: 1, description: 'Default "bought".' }, next: NODE_ID,
    },
  },
  edges: (n) => fieldEdges(n, 'next'),
  async run(ctx) {
    const id = Number(ctx.task.data.contact_id);
    if (!id) return { kind: 'fail', error: 'the task has no contact_id (it was not started by a bot trigger)' };
    const contact = await ctx.contacts.getContact(id);
    if (!contact) return { kind: 'fail', error: `contact ${id} does not exist` };
    const purchase = {
      product: String(ctx.render(ctx.node.product)), amount: ctx.node.amount === undefined ? null : Number(ctx.render(ctx.node.amount)),
      currency: ctx.node.currency === undefined ? null : String(ctx.render(ctx.node.currency)), at: new Date().toISOString(), task: ctx.task.id,
    };
    const purchases = Array.isArray(contact.vars.purchases) ? contact.vars.purchases : [];
    await ctx.contacts.setVars(id, { purchases: [...purchases, purchase] });
    const tags = await ctx.contacts.addTags(id, [(ctx.node.tag as string | undefined) ?? 'bought'], Date.now());
    return { kind: 'go', to: ctx.node.next as string, patch: { tags }, detail: { purchase } };
  },
};
