import type { NodeContext, NodeType, Outcome } from '../../engine/node-type.ts';
import type { NodeDefinition } from '../../model/process-definition.ts';
import { MAX_CAPTION, MEDIA_KINDS, fileProblems, sendMediaNode as telegramMedia } from '../../connectors/telegram/send-media.ts';
import { sendMessageNode as telegramSend } from '../../connectors/telegram/send-message.ts';
import { vkSendFileNode as vkSendFile } from '../../connectors/vk/send-file.ts';
import { vkSendMessageNode as vkSend } from '../../connectors/vk/send-message.ts';
import { NODE_ID, fieldEdges } from '../../nodes/edges.ts';

/** The platform node that sends for each platform a contact may be on. */
const SENDERS: Record<string, NodeType> = { telegram: telegramSend, vk: vkSend };

/** `media:` of a chat.send: one file, by URL or file_id for Telegram and as a VK attachment for VK. */
interface Media {
  type: keyof typeof MEDIA_KINDS;
  url?: string;
  file_id?: string;
  vk?: string;
  caption?: string;
}

/**
 * Set in the task's data (to this node's id) once the text of a text-then-file send went out, so a
 * retry of the file does not send the text again; cleared when the file is sent.
 */
const TEXT_SENT = 'chat_send_text_sent';

/**
 * `chat.send`: a message to the person of this funnel task, in the bot they came through, whatever
 * the platform (the task's `platform`, `bot` and `chat_id`, set by the trigger; for a Telegram
 * Business chat also `business_connection_id`). A person who blocked the bot is marked blocked there
 * and the task takes `on_unreachable`.
 *
 * With `media`, a photo, document or video: on Telegram the text becomes its caption; a text longer
 * than a caption may be (1024 characters), or a text next to an explicit `media.caption`, goes first
 * as its own message, and the file follows (the task enters this node again in between, so each send
 * is paced and retried on its own). On VK the file is the message's attachment: `media.vk` as given, else
 * `media.url` uploaded to the community (once per bot and URL; a video as a document).
 */
export const chatSendNode: NodeType = {
  type: 'chat.send',
  description: 'Send a message (text, buttons, a photo, document or video) to the funnel\'s person in their bot.',
  async: true,
  paramsSchema: {
    required: ['next'],
    properties: {
      text: { type: 'string', minLength: 1, description: 'Message text (templates: {{name}}, {{reply}}…); with media, its caption when short enough. Required unless media is given.' },
      media: {
        type: 'object', required: ['type'], additionalProperties: false,
        properties: {
          type: { enum: Object.keys(MEDIA_KINDS), description: 'photo, document (any file as is) or video.' },
          url: { type: 'string', minLength: 1, description: 'An http(s) URL of the file: Telegram downloads it (photos up to 5 MB, files 20 MB); for VK Conveyor downloads it (up to 20 MB) and uploads it to the community once per bot. A video goes to VK as a document.' },
          file_id: { type: 'string', minLength: 1, description: 'Telegram: the file_id of a file the bot sent before (a send\'s result keeps it as file_id).' },
          vk: { type: 'string', minLength: 1, description: 'VK: the attachment of the same file uploaded to the community, e.g. photo-123_456, doc-123_789.' },
          caption: { type: 'string', minLength: 1, description: 'The file\'s own caption; the text, if any, then goes first as a separate message.' },
        },
      },
      buttons: { type: 'array', items: { type: 'array', items: { type: 'object' } }, description: 'Rows of buttons {text, callback_data | url} (Telegram) / {text, payload} (VK); on the file when there is one.' },
      parse_mode: { enum: ['HTML', 'MarkdownV2'] },
      protect_content: { type: 'boolean', description: 'Telegram: the message cannot be forwarded or saved.' },
      timeout: { type: ['string', 'number'] },
      retry: { type: 'object' },
      next: NODE_ID,
      on_unreachable: NODE_ID,
    },
  },
  check: mediaProblems,
  edges: (n) => fieldEdges(n, 'next', 'on_unreachable'),
  pace(ctx) {
    const inner = delegate(ctx);
    return inner && 'type' in inner ? inner.type.pace?.(inner.ctx) : undefined;
  },
  async run(ctx): Promise<Outcome> {
    const inner = delegate(ctx);
    if (!inner) return noteSendError(ctx, { kind: 'fail', error: `chat.send: the task has no ${ctx.task.data.platform ? `sender for platform "${String(ctx.task.data.platform)}"` : 'platform (it was not started by a bot trigger)'}` });
    if ('error' in inner) return noteSendError(ctx, { kind: 'fail', error: inner.error });
    const out = await inner.type.run(inner.ctx);
    if (out.kind === 'fail') return noteSendError(ctx, out);
    // connectorNode's failure() marks a person the platform cannot reach, whichever edge it then took.
    if ('detail' in out && out.detail?.failure === 'unreachable') {
      const contactId = Number(ctx.task.data.contact_id);
      if (contactId) await ctx.contacts.setBotStatus(contactId, String(ctx.task.data.bot), 'blocked');
    }
    if (out.kind !== 'go') return out; // a retry or a failure keeps the mark: a retry of a failed task sends only the file
    // Leaving the node (sent, or unreachable): the mark of a text-then-file send is done with.
    if (ctx.task.data[TEXT_SENT] !== undefined && ctx.task.data[TEXT_SENT] !== null) out.patch = { ...out.patch, [TEXT_SENT]: null };
    if (out.to !== ctx.node.next) return out;
    // Marked so the daily report can count messages sent per funnel against the monthly limit.
    out.detail = { ...out.detail, sent: 1 };
    // The text of a text-then-file send went: this node again, for the file.
    if (inner.part === 'text') return { ...out, to: ctx.nodeId, patch: { ...out.patch, [TEXT_SENT]: ctx.nodeId }, detail: { ...out.detail, part: 'text, the file next' } };
    return out;
  },
};

/**
 * A send that failed for good (not a person who blocked the bot: that is their status) goes to the
 * admin inbox, so the team sees it without reading task histories.
 */
async function noteSendError(ctx: NodeContext, out: Extract<Outcome, { kind: 'fail' }>): Promise<Outcome> {
  const d = ctx.task.data;
  const who = `${typeof d.name === 'string' && d.name ? d.name : 'contact'}${d.contact_id ? ` (#${String(d.contact_id)})` : ''}`;
  const contactId = Number(d.contact_id) || null;
  await ctx.contacts.addAdminNote({
    at: Date.now(), kind: 'send_error', contactId,
    text: `${ctx.task.process}: the message of step "${ctx.nodeId}" was not sent to ${who}${d.bot ? ` in ${String(d.bot)}` : ''} (task ${ctx.task.id}): ${out.error}`,
  });
  return out;
}

/**
 * The platform node for this run and a context whose node is that platform's parameters; for a
 * Telegram file after a long text, which part this run sends. Null: no platform; `error`: this
 * node cannot send to this person (a file without a form for their platform).
 */
function delegate(ctx: NodeContext): { type: NodeType; ctx: NodeContext; part: 'text' | 'media' | 'message' } | { error: string } | null {
  const d = ctx.task.data;
  const platform = String(d.platform ?? '');
  if (!SENDERS[platform] || d.chat_id === undefined || d.bot === undefined) return null;
  const n = ctx.node;
  const media = n.media as Media | undefined;
  const common = {
    connection: String(d.bot), chat_id: String(d.chat_id), peer_id: String(d.chat_id),
    ...(n.protect_content !== undefined && { protect_content: n.protect_content }), ...(n.timeout !== undefined && { timeout: n.timeout }),
    ...(n.retry !== undefined && { retry: n.retry }), next: n.next, ...(n.on_unreachable !== undefined && { on_unreachable: n.on_unreachable }),
    ...(n.on_error !== undefined && { on_error: n.on_error }),
    // A person who wrote to a Telegram Business account is answered by that account, not the bot.
    ...(platform === 'telegram' && typeof d.business_connection_id === 'string' && { business_connection_id: d.business_connection_id }),
  };
  const buttons = n.buttons !== undefined ? { buttons: n.buttons, keyboard: n.buttons } : {};
  const parse = n.parse_mode !== undefined ? { parse_mode: n.parse_mode } : {};
  const as = (type: NodeType, node: Record<string, unknown>, part: 'text' | 'media' | 'message') =>
    ({ type, ctx: { ...ctx, node: { type: type.type, ...common, ...node } as NodeDefinition }, part });

  if (!media) return as(SENDERS[platform], { text: n.text, ...buttons, ...parse }, 'message');
  if (platform === 'vk') {
    const text = [n.text, media.caption].filter((t) => typeof t === 'string' && t).join('\n\n');
    if (media.vk) return as(vkSend, { ...(text && { text }), attachment: media.vk, ...buttons }, 'message');
    // Uploaded to the community from the URL once per bot and file (a video goes as a document).
    if (media.url) return as(vkSendFile, { ...(text && { text }), url: media.url, media: media.type, url_field: 'media.url', ...buttons }, 'message');
    return { error: 'media.url or media.vk: needed to send this file to a VK person (a file_id is Telegram\'s own)' };
  }
  const file = media.url ?? media.file_id;
  if (!file) return { error: 'media.url or media.file_id: needed to send this file to a Telegram person' };
  const text = n.text === undefined ? '' : String(ctx.render(n.text) ?? '');
  // The text rides as the caption when it fits; else (or beside a caption of its own) it goes first.
  const textFirst = text !== '' && (media.caption !== undefined || [...text].length > MAX_CAPTION) && d[TEXT_SENT] !== ctx.nodeId;
  if (textFirst) return as(telegramSend, { text: n.text, ...parse }, 'text');
  const caption = media.caption ?? (text !== '' && [...text].length <= MAX_CAPTION ? n.text : undefined);
  return as(telegramMedia, { media: media.type, file, ...(caption !== undefined && { caption, ...parse }), ...buttons }, 'media');
}

/** A chat.send needs a text or a file, and a file some form to send it in; each problem names its field. */
function mediaProblems(n: NodeDefinition): string[] {
  const media = n.media as Media | undefined;
  if (!media) return n.text === undefined ? ['text: is required (or media)'] : [];
  const out: string[] = [];
  if (media.url === undefined && media.file_id === undefined && media.vk === undefined) out.push('media: needs url or file_id (Telegram) and/or vk (VK)');
  if (media.url !== undefined && media.file_id !== undefined) out.push('media: url and file_id are alternatives, give one');
  if (media.url !== undefined && !/\{\{/.test(media.url) && !/^https?:\/\/\S+$/i.test(media.url)) out.push('media.url: must be an http(s) URL');
  out.push(...fileProblems(media.file_id, 'media.file_id'));
  return out;
}
