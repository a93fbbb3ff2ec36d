import type { NodeType } from '../../engine/node-type.ts';
import { NODE_ID, fieldEdges } from '../../nodes/edges.ts';
import type { Contact, ContactStore } from '../../storage/contact-store.ts';

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
    const purchase: Purchase = {
      product: String(ctx.render(ctx.node.product)), amount: ctx.node.amount === undefined ? null : Number(ctx.render(ctx.node.amount)),
      currency: ctx.node.currency === undefined ? null : String(ctx.render(ctx.node.currency)), at: new Date().toISOString(), task: ctx.task.id,
      // A funnel started by a payment (which recorded it already) does not record it twice.
      ...(typeof ctx.task.data.payment_id === 'string' && { payment_id: ctx.task.data.payment_id }),
    };
    const { tags } = await recordPurchase(ctx.contacts, contact, purchase, (ctx.node.tag as string | undefined) ?? 'bought');
    return { kind: 'go', to: ctx.node.next as string, patch: { tags }, detail: { purchase } };
  },
};

/** One entry of a contact's `purchases` variable. */
export interface Purchase {
  product: string;
  amount: number | null;
  currency: string | null;
  at: string;
  /** The task that recorded it (purchase.record), or the payment it came from (POST …/payments). */
  task?: number;
  payment_id?: string;
  refunded_at?: string;
}

/**
 * Appends the purchase to the contact's `purchases` and sets the tag. A purchase with a payment_id
 * already there is not appended again (a payment reported twice, or processed again after a crash).
 */
export async function recordPurchase(contacts: ContactStore, contact: Contact, purchase: Purchase, tag: string): Promise<{ tags: string[]; recorded: boolean }> {
  const purchases = Array.isArray(contact.vars.purchases) ? (contact.vars.purchases as Purchase[]) : [];
  const seen = purchase.payment_id !== undefined && purchases.some((p) => p?.payment_id === purchase.payment_id);
  if (!seen) await contacts.setVars(contact.id, { purchases: [...purchases, purchase] });
  const tags = await contacts.addTags(contact.id, [tag], Date.now());
  return { tags, recorded: !seen };
}
