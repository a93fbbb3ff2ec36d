import type { NodeType } from '../../engine/node-type.ts';
import { NODE_ID, fieldEdges } from '../../nodes/edges.ts';
import { PRODUCT, paidPayload } from '../paid-link.ts';

/**
 * `link.paid`: makes the person's personal link into the paid bot for a product and keeps it in
 * `save_as` (default `paid_link`), e.g. for a `chat.send` next. Only this person can enter with it.
 */
export const paidLinkNode: NodeType = {
  type: 'link.paid',
  description: 'Make the person\'s signed deep link into the paid bot (a forwarded link does nothing).',
  refs: { usernames: [{ path: 'bot_username' }] },
  paramsSchema: {
    required: ['bot_username', 'product', 'next'],
    properties: {
      bot_username: { type: 'string', pattern: '^@?[A-Za-z][A-Za-z0-9_]{3,31}$', description: 'The paid bot\'s @username.' },
      product: { type: 'string', pattern: PRODUCT.source, description: 'What was bought, 1–16 letters or digits; the paid bot\'s trigger gets it as `product`.' },
      save_as: { type: 'string', minLength: 1 },
      next: NODE_ID,
    },
  },
  edges: (n) => fieldEdges(n, 'next'),
  run(ctx) {
    const contactId = Number(ctx.task.data.contact_id);
    if (!contactId) return { kind: 'fail', error: 'the task has no contact_id (it was not started by a bot trigger)' };
    const bot = String(ctx.node.bot_username).replace(/^@/, '');
    const link = `https://t.me/${bot}?start=${paidPayload(contactId, String(ctx.node.product), ctx.sign)}`;
    return { kind: 'go', to: ctx.node.next as string, patch: { [(ctx.node.save_as as string | undefined) ?? 'paid_link']: link } };
  },
};
