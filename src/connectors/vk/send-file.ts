import type { NodeDefinition } from '../../model/process-definition.ts';
import { parseDuration } from '../../util/duration.ts';
import { connectorNode } from '../connector-node.ts';
import { ServiceFailure } from '../service-failure.ts';
import { sendVkMessage } from './send-message.ts';
import { VK_PACE, VkClient } from './vk-client.ts';
import { VK_ERROR } from './vk-errors.ts';
import { KEYBOARD_SCHEMA, toVkKeyboard } from './vk-keyboard.ts';
import { vkAttachmentFor, type VkFileKind } from './vk-upload.ts';

/** What a file is sent as: a photo shows inline; a document, and a video (VK's video upload is another flow), as a file. */
export const VK_FILE_KINDS: Record<string, VkFileKind> = { photo: 'photo', document: 'doc', video: 'doc' };

/**
 * `vk.send_file`: a file by its URL to one person, with an optional text and buttons. The file is
 * downloaded and uploaded to the community once per connection and URL (kept in the project's
 * uploaded_files), then sent as the message's attachment. Result `{message_id, attachment}`.
 */
export const vkSendFileNode = connectorNode({
  type: 'vk.send_file',
  description: 'Send a file (photo, document, video as a document) by its URL from the VK community to a person, uploaded once per file.',
  connector: 'vk',
  pace: VK_PACE,
  required: ['peer_id', 'url', 'media'],
  params: {
    peer_id: { type: ['string', 'integer'], description: 'The person\'s VK id; templates allowed.' },
    url: { type: 'string', minLength: 1, description: 'An http(s) URL of the file (at most 20 MB); templates allowed.' },
    media: { enum: Object.keys(VK_FILE_KINDS), description: 'photo (shown inline), document (any file), video (sent as a document).' },
    text: { type: 'string', description: 'The message with the file.' },
    keyboard: KEYBOARD_SCHEMA,
    repeat_key: { type: ['string', 'integer'], description: 'As vk.send_message\'s: for a loop that sends from this node to the same person within an hour.' },
    // Named in errors about the URL: chat.send passes `media.url`.
    url_field: { type: 'string' },
  },
  check: (n: NodeDefinition) => (n.keyboard !== undefined && typeof n.keyboard !== 'string' ? toVkKeyboard(n.keyboard).problems : []),
  async call(ctx, connection, p) {
    const field = typeof p.url_field === 'string' ? p.url_field : 'url';
    const url = p.url === undefined || p.url === null ? '' : String(p.url).trim();
    if (!url) throw new ServiceFailure('fail', `${field}: is empty after templates`, { code: 'no_url' });
    const kind = VK_FILE_KINDS[String(p.media)];
    if (!kind) throw new ServiceFailure('fail', `media: "${String(p.media)}" is not one of ${Object.keys(VK_FILE_KINDS).join(', ')}`, { code: 'bad_media' });
    const peer = p.peer_id === undefined || p.peer_id === null ? '' : String(p.peer_id).trim();
    if (!peer) throw new ServiceFailure('fail', 'peer_id: is empty after templates', { code: 'no_peer_id' });
    const timeoutMs = parseDuration((p.timeout as string | number | undefined) ?? '60s');
    const uploads = ctx.contacts.uploads;
    const { attachment, uploaded } = await vkAttachmentFor({
      http: ctx.services.http, client: new VkClient(ctx.services.http, connection.settings), uploads,
      connection: connection.name, peerId: peer, url, kind, field, timeoutMs,
    });
    const { url: _u, media: _m, url_field: _f, ...message } = p;
    try {
      const sent = await sendVkMessage(ctx, connection, { ...message, attachment });
      return { ...sent, patch: { ...sent.patch, attachment } };
    } catch (e) {
      // A remembered attachment VK no longer takes (the community deleted the file): forget it and try
      // again, which uploads the file afresh. A fresh upload refused is VK's word and stands.
      if (!uploaded && e instanceof ServiceFailure && e.opts.code === VK_ERROR.BAD_PARAMETER) {
        await uploads.forget({ platform: 'vk', connection: connection.name, url, kind });
        throw new ServiceFailure('retry', `${e.message} (the file uploaded before is forgotten: the next attempt uploads ${field} again)`, { ...e.opts });
      }
      throw e;
    }
  },
});
