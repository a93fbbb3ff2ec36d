import type { NodeType } from '../../engine/node-type.ts';
import { TelegramClient } from '../../connectors/telegram/telegram-client.ts';
import { NODE_ID, fieldEdges } from '../../nodes/edges.ts';

/**
 * `admin.notify`: a note in the project's admin inbox (GET /api/v1/projects/P/admin-inbox), and, with
 * `telegram: {chat_id, connection}`, the same text to that Telegram chat (else to the project's
 * `admin_chat`, as every note). The note is kept
 * even when the chat cannot be reached (the failure is in the task's history).
 */
export const adminNotifyNode: NodeType = {
  type: 'admin.notify',
  description: 'Leave a note for the project\'s admins (paid but not entered, stuck, anything), optionally also in their Telegram chat.',
  async: true,
  refs: { connections: [{ path: 'telegram.connection', connector: 'telegram', default: 'default' }] },
  paramsSchema: {
    required: ['text', 'next'],
    properties: {
      text: { type: 'string', minLength: 1 },
      kind: { enum: ['note', 'paid_not_entered', 'stuck', 'send_error'] },
      telegram: {
        type: 'object', required: ['chat_id'], additionalProperties: false,
        properties: { chat_id: { type: ['string', 'integer'] }, connection: { type: 'string', description: 'A telegram connection; default "default".' } },
      },
      next: NODE_ID,
    },
  },
  edges: (n) => fieldEdges(n, 'next'),
  async run(ctx) {
    const contactId = Number(ctx.task.data.contact_id) || null;
    const text = String(ctx.render(ctx.node.text));
    const tg = ctx.node.telegram as { chat_id: string | number; connection?: string } | undefined;
    // With a chat of its own the node sends it there; else the project's admin chat gets it (admin-relay).
    const id = await ctx.contacts.addAdminNote({ at: Date.now(), kind: (ctx.node.kind as 'note' | undefined) ?? 'note', contactId, text, relayed: tg !== undefined });
    let telegram: string | undefined;
    if (tg) {
      try {
        const conn = ctx.connections.get('telegram', tg.connection ?? 'default');
        await new TelegramClient(ctx.services.http, conn.settings).sendMessage({ chat_id: String(ctx.render(tg.chat_id)), text }, 10_000);
        telegram = 'sent';
      } catch (e) {
        telegram = `not sent: ${(e as Error).message}`;
      }
    }
    return { kind: 'go', to: ctx.node.next as string, detail: { note: id, ...(telegram && { telegram }) } };
  },
};
