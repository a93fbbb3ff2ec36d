import type { NodeDefinition } from '../../model/process-definition.ts';
import { parseDuration } from '../../util/duration.ts';
import { connectorNode } from '../connector-node.ts';
import { ServiceFailure } from '../service-failure.ts';
import { BUTTON, FLAG, buttonProblems, chatLane, flag } from './send-message.ts';
import { TELEGRAM_PACE, TelegramClient } from './telegram-client.ts';

/** What can be sent, and the Bot API method and parameter for each. */
export const MEDIA_KINDS = { photo: 'sendPhoto', document: 'sendDocument', video: 'sendVideo' } as const;
export type MediaKind = keyof typeof MEDIA_KINDS;

/** Telegram's limit on a caption (a message's text may be 4096). */
export const MAX_CAPTION = 1024;

const TEMPLATED = /\{\{/;

/**
 * `telegram.send_media`: a photo, document or video to one chat, by an HTTP(S) URL Telegram downloads
 * itself or by the file_id of a file the bot sent before, with an optional caption and buttons.
 * Result `{message_id, file_id}`: the file_id sends the same file again without downloading it.
 */
export const sendMediaNode = connectorNode({
  type: 'telegram.send_media',
  description: 'Send a photo, document or video from the bot to a chat (by URL or file_id), with an optional caption and inline buttons.',
  connector: 'telegram',
  pace: TELEGRAM_PACE,
  required: ['chat_id', 'media', 'file'],
  params: {
    chat_id: { type: ['string', 'integer'], description: 'Chat id (the person\'s Telegram id) or @channel username; templates allowed.' },
    media: { enum: Object.keys(MEDIA_KINDS), description: 'photo (shown inline, compressed), document (any file as is) or video.' },
    file: { type: 'string', minLength: 1, description: 'An http(s) URL Telegram downloads (photos up to 5 MB, other files 20 MB) or a file_id; templates allowed.' },
    caption: { type: 'string', description: `At most ${MAX_CAPTION} characters after templates.` },
    parse_mode: { enum: ['HTML', 'MarkdownV2'], description: 'How Telegram reads markup in the caption.' },
    buttons: { type: ['array', 'string'], items: { type: 'array', items: BUTTON }, description: 'Inline keyboard: rows of buttons {text, callback_data | url}.' },
    protect_content: { ...FLAG, description: 'Forbid forwarding and saving the file.' },
    disable_notification: { ...FLAG, description: 'Deliver silently.' },
    business_connection_id: { type: 'string', description: 'Send on behalf of a Telegram Business account through this connection.' },
  },
  check: (n: NodeDefinition) => [...(Array.isArray(n.buttons) ? buttonProblems(n.buttons) : []), ...fileProblems(n.file, 'file')],
  lane: chatLane,
  async call(ctx, connection, p) {
    const chatId = p.chat_id === undefined || p.chat_id === null ? '' : String(p.chat_id).trim();
    if (!chatId) throw new ServiceFailure('fail', 'chat_id: is empty after templates', { code: 'no_chat_id' });
    const kind = String(p.media) as MediaKind;
    const method = MEDIA_KINDS[kind];
    if (!method) throw new ServiceFailure('fail', `media: "${kind}" is not one of photo, document, video`, { code: 'bad_media' });
    const file = p.file === undefined || p.file === null ? '' : String(p.file).trim();
    const problems = [...fileProblems(file, 'file'), ...buttonProblems(p.buttons)];
    if (!file) problems.unshift('file: is empty after templates');
    const caption = p.caption === undefined || p.caption === null ? '' : String(p.caption);
    // Checked here rather than left to Telegram: the error then names our field, and no attempt is spent.
    if ([...caption].length > MAX_CAPTION) problems.push(`caption: ${[...caption].length} characters, Telegram allows at most ${MAX_CAPTION}`);
    if (problems.length) throw new ServiceFailure('fail', problems.join('; '), { code: 'bad_media' });
    const body: Record<string, unknown> = { chat_id: chatId, [kind]: file };
    if (caption) body.caption = caption;
    if (caption && p.parse_mode) body.parse_mode = p.parse_mode;
    if (Array.isArray(p.buttons) && p.buttons.length) body.reply_markup = { inline_keyboard: p.buttons };
    if (flag(p.protect_content)) body.protect_content = true;
    if (flag(p.disable_notification)) body.disable_notification = true;
    if (typeof p.business_connection_id === 'string' && p.business_connection_id.trim()) body.business_connection_id = p.business_connection_id.trim();
    const client = new TelegramClient(ctx.services.http, connection.settings);
    const { result, exchange } = await client.sendToChat(method, body, parseDuration((p.timeout as string | number | undefined) ?? '60s'));
    return { patch: { message_id: result.message_id, file_id: sentFileId(result, kind) }, exchange };
  },
});

/**
 * A file reference Telegram can take: an http(s) URL (Telegram fetches it; no other scheme) or a
 * file_id (letters, digits, - and _). A template is judged after rendering.
 */
export function fileProblems(file: unknown, field: string): string[] {
  if (file === undefined || file === null || file === '') return [];
  if (typeof file !== 'string') return [`${field}: must be a URL or a file_id`];
  if (TEMPLATED.test(file)) return [];
  if (/^[a-z][a-z0-9+.-]*:/i.test(file)) return /^https?:\/\/[^\s/]+/i.test(file) ? [] : [`${field}: only http(s) URLs can be sent by link (got "${file.slice(0, 40)}")`];
  return /^[A-Za-z0-9_-]{10,}$/.test(file) ? [] : [`${field}: neither an http(s) URL nor a Telegram file_id`];
}

/** The sent file's file_id in Telegram's answer (a photo comes in several sizes: the largest). */
function sentFileId(result: Record<string, unknown>, kind: MediaKind): string | null {
  const v = result[kind];
  const item = Array.isArray(v) ? v[v.length - 1] : v;
  const id = (item as { file_id?: unknown } | undefined)?.file_id;
  return typeof id === 'string' ? id : null;
}
