import type { NodeContext, NodeType, Outcome } from '../../engine/node-type.ts';
import { sendMessageNode as telegramSend } from '../../connectors/telegram/send-message.ts';
import { vkSendMessageNode as vkSend } from '../../connectors/vk/send-message.ts';
import { NODE_ID, fieldEdges } from '../../nodes/edges.ts';

/** The platform node that sends for each platform a contact may be on. */
const SENDERS: Record<string, NodeType> = { telegram: telegramSend, vk: vkSend };

/**
 * `chat.send`: a message to the person of this funnel task, in the bot they came through, whatever
 * the platform (the task's `platform`, `bot` and `chat_id`, set by the trigger). A person who blocked
 * the bot is marked blocked there and the task takes `on_unreachable`.
 */
export const chatSendNode: NodeType = {
  type: 'chat.send',
  description: 'Send a message (text, buttons) to the funnel\'s person in their bot.',
  async: true,
  paramsSchema: {
    required: ['text', 'next'],
    properties: {
      text: { type: 'string', minLength: 1, description: 'Message text (templates: {{name}}, {{reply}}…).' },
      buttons: { type: 'array', items: { type: 'array', items: { type: 'object' } }, description: 'Rows of buttons {text, callback_data | url} (Telegram) / {text, payload} (VK).' },
      parse_mode: { enum: ['HTML', 'MarkdownV2'] },
      protect_content: { type: 'boolean', description: 'Telegram: the message cannot be forwarded or saved.' },
      timeout: { type: ['string', 'number'] },
      retry: { type: 'object' },
      next: NODE_ID,
      on_unreachable: NODE_ID,
    },
  },
  edges: (n) => fieldEdges(n, 'next', 'on_unreachable'),
  pace(ctx) {
    const inner = delegate(ctx);
    return inner ? inner.type.pace?.(inner.ctx) : undefined;
  },
  async run(ctx): Promise<Outcome> {
    const inner = delegate(ctx);
    if (!inner) return { kind: 'fail', error: `chat.send: the task has no ${ctx.task.data.platform ? `sender for platform "${String(ctx.task.data.platform)}"` : 'platform (it was not started by a bot trigger)'}` };
    const out = await inner.type.run(inner.ctx);
    // Marked so the daily report can count messages sent per funnel against the monthly limit.
    if (out.kind === 'go' && out.to === ctx.node.next) out.detail = { ...out.detail, sent: 1 };
    // connectorNode's failure() marks a person the platform cannot reach, whichever edge it then took.
    if ('detail' in out && out.detail?.failure === 'unreachable') {
      const contactId = Number(ctx.task.data.contact_id);
      if (contactId) await ctx.contacts.setBotStatus(contactId, String(ctx.task.data.bot), 'blocked');
    }
    return out;
  },
};

/** The platform node and a context whose node is that platform's parameters. */
function delegate(ctx: NodeContext): { type: NodeType; ctx: NodeContext } | null {
  const d = ctx.task.data;
  const type = SENDERS[String(d.platform ?? '')];
  if (!type || d.chat_id === undefined || d.bot === undefined) return null;
  const n = ctx.node;
  const node = {
    type: type.type, connection: String(d.bot), chat_id: String(d.chat_id), peer_id: String(d.chat_id), text: n.text,
    ...(n.buttons !== undefined && { buttons: n.buttons, keyboard: n.buttons }), ...(n.parse_mode !== undefined && { parse_mode: n.parse_mode }),
    ...(n.protect_content !== undefined && { protect_content: n.protect_content }), ...(n.timeout !== undefined && { timeout: n.timeout }),
    ...(n.retry !== undefined && { retry: n.retry }), next: n.next, ...(n.on_unreachable !== undefined && { on_unreachable: n.on_unreachable }),
    ...(n.on_error !== undefined && { on_error: n.on_error }),
  };
  return { type, ctx: { ...ctx, node } };
}
