import type { NodeType } from '../../engine/node-type.ts';
import { checkDuration } from '../../nodes/call.ts';
import { DURATION, NODE_ID, fieldEdges } from '../../nodes/edges.ts';
import { parseDuration } from '../../util/duration.ts';
import { WAIT_REPLY } from '../funnel-runtime.ts';

/**
 * `chat.wait_reply`: waits for the person's next message (or button press) in this bot. Answered →
 * `next` with the text in `save_to` (default `reply`) and a button's payload in `<save_to>_payload`;
 * nothing within `timeout` → `on_timeout` (not answered).
 */
export const waitReplyNode: NodeType = {
  type: WAIT_REPLY,
  description: 'Wait for the person\'s reply, with a timeout (answered / not answered).',
  callbacks: true,
  paramsSchema: {
    required: ['timeout', 'next', 'on_timeout'],
    properties: { timeout: DURATION, save_to: { type: 'string', minLength: 1 }, next: NODE_ID, on_timeout: NODE_ID },
  },
  check: (n) => checkDuration(n.timeout, 'timeout'),
  edges: (n) => fieldEdges(n, 'next', 'on_timeout'),
  run: (ctx) => ({ kind: 'wait', timeoutAt: ctx.now + parseDuration(ctx.node.timeout as string | number) }),
  wake: (ctx) => ({ kind: 'go', to: ctx.node.on_timeout as string, detail: { answered: false } }),
  resume: (ctx, payload) => {
    const to = (ctx.node.save_to as string | undefined) ?? 'reply';
    const reply = (payload.reply ?? {}) as { text?: string | null; payload?: string | null };
    return { kind: 'go', to: ctx.node.next as string, patch: { [to]: reply.text ?? null, [`${to}_payload`]: reply.payload ?? null } };
  },
};
