import type { NodeContext } from '../../engine/node-type.ts';
import type { NodeDefinition } from '../../model/process-definition.ts';
import { parseDuration } from '../../util/duration.ts';
import { connectorNode } from '../connector-node.ts';
import { ServiceFailure } from '../service-failure.ts';
import { TELEGRAM_PACE, TelegramClient } from './telegram-client.ts';

export const FLAG = { type: ['boolean', 'string'], description: 'true / false, or a template.' };

export const BUTTON = {
  type: 'object',
  required: ['text'],
  additionalProperties: false,
  properties: {
    text: { type: 'string', minLength: 1 },
    callback_data: { type: 'string', description: 'Sent back to the bot when pressed; at most 64 bytes.' },
    url: { type: 'string', description: 'Opened when pressed (https://, tg://).' },
  },
};

/** `telegram.send_message`: one message to one chat, with optional inline buttons. Result `{message_id}`. */
export const sendMessageNode = connectorNode({
  type: 'telegram.send_message',
  description: 'Send a Telegram message from the bot to a chat, with optional inline buttons.',
  connector: 'telegram',
  pace: TELEGRAM_PACE,
  required: ['chat_id', 'text'],
  params: {
    chat_id: { type: ['string', 'integer'], description: 'Chat id (the person\'s Telegram id) or @channel username; templates allowed.' },
    text: { type: 'string', minLength: 1, description: 'Message text, at most 4096 characters after templates.' },
    parse_mode: { enum: ['HTML', 'MarkdownV2'], description: 'How Telegram reads markup in the text; plain text when absent.' },
    buttons: {
      type: ['array', 'string'],
      items: { type: 'array', items: BUTTON },
      description: 'Inline keyboard: rows of buttons {text, callback_data | url}; or a template giving such rows.',
    },
    protect_content: { ...FLAG, description: 'Forbid forwarding and saving the message.' },
    disable_notification: { ...FLAG, description: 'Deliver silently.' },
    business_connection_id: {
      type: 'string',
      description: 'Send on behalf of a Telegram Business account through this connection (the chat is one of the account\'s); '
        + 'chat.send passes the one the person wrote through. Empty after templates: sent by the bot itself.',
    },
  },
  check: (n: NodeDefinition) => (Array.isArray(n.buttons) ? buttonProblems(n.buttons) : []),
  lane: chatLane,
  async call(ctx, connection, p) {
    const problems = buttonProblems(p.buttons);
    if (problems.length) throw new ServiceFailure('fail', problems.join('; '), { code: 'bad_buttons' });
    const chatId = p.chat_id;
    if (chatId === undefined || chatId === null || String(chatId).trim() === '') {
      throw new ServiceFailure('fail', 'chat_id: is empty after templates', { code: 'no_chat_id' });
    }
    const body: Record<string, unknown> = { chat_id: chatId, text: String(p.text ?? '') };
    if (p.parse_mode) body.parse_mode = p.parse_mode;
    if (Array.isArray(p.buttons) && p.buttons.length) body.reply_markup = { inline_keyboard: p.buttons };
    if (flag(p.protect_content)) body.protect_content = true;
    if (flag(p.disable_notification)) body.disable_notification = true;
    if (typeof p.business_connection_id === 'string' && p.business_connection_id.trim()) body.business_connection_id = p.business_connection_id.trim();
    const client = new TelegramClient(ctx.services.http, connection.settings);
    const { result, exchange } = await client.sendMessage(body, parseDuration((p.timeout as string | number | undefined) ?? '30s'));
    return { patch: { message_id: result.message_id }, exchange };
  },
});

/**
 * Telegram allows about one message a second to a chat and 20 a minute to a group (negative ids): a
 * burst of notices to one seller waits its turn in the engine instead of failing as attempts.
 * Shared by every node that sends into a chat (text, media).
 */
export function chatLane(ctx: NodeContext): { lane: string; perSecond: number; burst: number } | undefined {
  const chat = String(ctx.render(ctx.node.chat_id) ?? '');
  if (!chat) return undefined;
  return chat.startsWith('-') ? { lane: `chat:${chat}`, perSecond: 20 / 60, burst: 1 } : { lane: `chat:${chat}`, perSecond: 1, burst: 1 };
}

/** What is wrong with a `buttons` value, each naming the button; empty when fine or absent. */
export function buttonProblems(buttons: unknown): string[] {
  if (buttons === undefined || buttons === null || buttons === '') return [];
  if (!Array.isArray(buttons)) return ['buttons: must be rows (arrays) of buttons'];
  const out: string[] = [];
  buttons.forEach((row, r) => {
    if (!Array.isArray(row)) return void out.push(`buttons[${r}]: must be an array of buttons`);
    row.forEach((b, i) => {
      const at = `buttons[${r}][${i}]`;
      const btn = b as Record<string, unknown>;
      if (!btn || typeof btn !== 'object') return void out.push(`${at}: must be an object {text, callback_data | url}`);
      if (typeof btn.text !== 'string' || !btn.text) out.push(`${at}.text: is required`);
      const kinds = ['callback_data', 'url'].filter((k) => btn[k] !== undefined);
      if (kinds.length !== 1) out.push(`${at}: needs exactly one of callback_data or url`);
      if (typeof btn.callback_data === 'string' && Buffer.byteLength(btn.callback_data) > 64) {
        out.push(`${at}.callback_data: at most 64 bytes`);
      }
    });
  });
  return out;
}

export function flag(v: unknown): boolean {
  return v === true || v === 'true' || v === 1 || v === '1';
}
