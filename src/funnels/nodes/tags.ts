import type { NodeContext, NodeType, Outcome } from '../../engine/node-type.ts';
import { NODE_ID, fieldEdges } from '../../nodes/edges.ts';

const TAGS = { type: 'array', minItems: 1, items: { type: 'string', minLength: 1, maxLength: 100 } };

function contactOf(ctx: NodeContext): number | null {
  const id = Number(ctx.task.data.contact_id);
  return Number.isInteger(id) && id > 0 ? id : null;
}

const noContact: Outcome = { kind: 'fail', error: 'the task has no contact_id (it was not started by a bot trigger)' };

function tagNode(type: 'tags.add' | 'tags.remove'): NodeType {
  return {
    type,
    description: type === 'tags.add' ? 'Add permanent tags to the person.' : 'Remove tags from the person (only this removes them).',
    async: true, // writes the project's contacts
    refs: { tags: [{ path: 'tags' }] },
    paramsSchema: { required: ['tags', 'next'], properties: { tags: TAGS, next: NODE_ID } },
    edges: (n) => fieldEdges(n, 'next'),
    async run(ctx) {
      const id = contactOf(ctx);
      if (!id) return noContact;
      const tags = (ctx.render(ctx.node.tags) as unknown[]).map(String);
      const before = (await ctx.contacts.getContact(id))?.tags ?? [];
      const now = type === 'tags.add' ? await ctx.contacts.addTags(id, tags, Date.now()) : await ctx.contacts.removeTags(id, tags);
      // What this funnel added, so an admin can undo a wrong trigger (see funnels/undo-trigger.ts).
      const added = type === 'tags.add' ? tags.filter((t) => !before.includes(t)) : [];
      const mine = Array.isArray(ctx.task.data.tags_added) ? (ctx.task.data.tags_added as string[]) : [];
      return { kind: 'go', to: ctx.node.next as string, patch: { tags: now, ...(added.length && { tags_added: [...mine, ...added] }) } };
    },
  };
}

export const tagsAddNode = tagNode('tags.add');
export const tagsRemoveNode = tagNode('tags.remove');

/** `tags.check`: `next` when the person has every tag in `has` and none in `lacks` (read now), else `else`. */
export const tagsCheckNode: NodeType = {
  type: 'tags.check',
  description: 'Branch on the person\'s tags as they are now (e.g. "bought", an "only once" tag).',
  async: true,
  refs: { tags: [{ path: 'has' }, { path: 'lacks' }] },
  paramsSchema: {
    required: ['next', 'else'],
    properties: { has: { type: 'array', items: { type: 'string' } }, lacks: { type: 'array', items: { type: 'string' } }, next: NODE_ID, else: NODE_ID },
  },
  edges: (n) => fieldEdges(n, 'next', 'else'),
  async run(ctx) {
    const id = contactOf(ctx);
    if (!id) return noContact;
    const contact = await ctx.contacts.getContact(id);
    if (!contact) return { kind: 'fail', error: `contact ${id} does not exist` };
    const has = ((ctx.node.has as string[] | undefined) ?? []).every((t) => contact.tags.includes(t));
    const lacks = ((ctx.node.lacks as string[] | undefined) ?? []).every((t) => !contact.tags.includes(t));
    return { kind: 'go', to: (has && lacks ? ctx.node.next : ctx.node.else) as string, patch: { tags: contact.tags } };
  },
};
