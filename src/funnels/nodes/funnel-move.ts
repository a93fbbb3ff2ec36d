import type { NodeType } from '../../engine/node-type.ts';

/** What a funnel's task keeps for undoing its own trigger: meaningless in the funnel it moves to. */
const TRIGGER_ONLY = ['stopped_tasks', 'tags_added', 'match'];

/**
 * `funnel.move`: the person goes on in another funnel — it starts for them at its first step, with
 * this task's data (who they are, their bot and chat, what they answered) — and this funnel ends for
 * them, both in one commit. The new task's ref is the person's, as a trigger's would be, so a person
 * already in that funnel is not started twice there.
 */
export const funnelMoveNode: NodeType = {
  type: 'funnel.move',
  description: 'Move the person to another funnel: start it for them and end this one.',
  paramsSchema: {
    required: ['process'],
    properties: { process: { type: 'string', minLength: 1, description: 'The funnel (process) to go on in.' } },
  },
  edges: () => [],
  run(ctx) {
    const id = Number(ctx.task.data.contact_id);
    if (!id) return { kind: 'fail', error: 'the task has no contact_id (it was not started by a bot trigger)' };
    const data = structuredClone(ctx.task.data);
    for (const k of TRIGGER_ONLY) delete data[k];
    data.moved_from = ctx.task.process;
    return {
      kind: 'end', status: 'done',
      spawn: [{ process: String(ctx.node.process), ref: `contact-${id}`, data, replyToParent: false }],
    };
  },
};
