import { createHash } from 'node:crypto';
import type { NodeContext } from '../../engine/node-type.ts';
import type { NodeDefinition } from '../../model/process-definition.ts';
import { parseDuration } from '../../util/duration.ts';
import type { Connection } from '../connector.ts';
import { connectorNode, type ServiceResult } from '../connector-node.ts';
import { ServiceFailure } from '../service-failure.ts';
import { VK_PACE, VkClient } from './vk-client.ts';
import { KEYBOARD_SCHEMA, toVkKeyboard } from './vk-keyboard.ts';

const MAX_TEXT = 4096;

/** `vk.send_message`: one message from the community to one person or chat. Result `{message_id}`. */
export const vkSendMessageNode = connectorNode({
  type: 'vk.send_message',
  description: 'Send a VK message from the community to a person (or a chat), with optional buttons and attachments.',
  connector: 'vk',
  pace: VK_PACE,
  required: ['peer_id'],
  params: {
    peer_id: { type: ['string', 'integer'], description: 'The person\'s VK id (or 2000000000 + chat number); templates allowed.' },
    text: { type: 'string', description: `Message text, at most ${MAX_TEXT} characters after templates; may be empty when there is an attachment.` },
    keyboard: KEYBOARD_SCHEMA,
    attachment: { type: 'string', description: 'VK attachments, comma-separated: photo-1_2,doc-1_3…' },
    repeat_key: {
      type: ['string', 'integer'],
      description: 'Only for a loop that sends from this node to the same person again within an hour: a template that differs per pass (e.g. {{round}}). '
        + 'VK drops a repeated random_id for an hour, and random_id is the same on every attempt of one task at one node.',
    },
  },
  check: (n: NodeDefinition) => (n.keyboard !== undefined && typeof n.keyboard !== 'string' ? toVkKeyboard(n.keyboard).problems : []),
  call: sendVkMessage,
});

/** messages.send for one node's rendered parameters (also the last step of vk.send_file). */
export async function sendVkMessage(ctx: NodeContext, connection: Connection, p: Record<string, unknown>): Promise<ServiceResult> {
  const peer = p.peer_id === undefined || p.peer_id === null ? '' : String(p.peer_id).trim();
  if (!peer) throw new ServiceFailure('fail', 'peer_id: is empty after templates', { code: 'no_peer_id' });
  const text = p.text === undefined || p.text === null ? '' : String(p.text);
  const attachment = p.attachment ? String(p.attachment) : '';
  if (!text.trim() && !attachment) throw new ServiceFailure('fail', 'text: is empty and there is no attachment', { code: 'empty_message' });
  const { keyboard, problems } = toVkKeyboard(p.keyboard);
  if (problems.length) throw new ServiceFailure('fail', problems.join('; '), { code: 'bad_keyboard' });
  const randomId = stableRandomId(ctx, peer, p.repeat_key);
  const params: Record<string, unknown> = {
    peer_id: peer,
    random_id: randomId,
    ...(text && { message: text }),
    ...(attachment && { attachment }),
    ...(keyboard && { keyboard }),
  };
  // VK echoes every message the community sends as message_reply, possibly before messages.send
  // answers: noting the random_id first lets that echo be told from an operator's code word.
  // (`contacts` is absent only in contexts built for unit tests of this node.)
  const sent = { platform: 'vk' as const, connection: connection.name, chatId: peer, randomId };
  await ctx.contacts?.rememberSent(sent);
  const client = new VkClient(ctx.services.http, connection.settings);
  const { response, exchange } = await client.call('messages.send', params, parseDuration((p.timeout as string | number | undefined) ?? '30s'));
  const id = messageId(response);
  if (id !== null) await ctx.contacts?.rememberSent({ ...sent, messageId: id });
  return { patch: { message_id: id }, exchange };
}

/**
 * messages.send's `random_id`: the same for every attempt of this task at this node, so a retry after a
 * lost answer (timeout, cut connection) gets VK's "already sent" answer with the first message's id
 * instead of a second message. A positive int32 (0 would switch VK's check off).
 */
export function stableRandomId(ctx: Pick<NodeContext, 'task' | 'nodeId'>, peer: string, repeatKey?: unknown): number {
  const key = [ctx.task.process, ctx.task.id, ctx.nodeId, peer, repeatKey === undefined || repeatKey === null ? '' : String(repeatKey)].join('\n');
  const n = createHash('sha256').update(key).digest().readUInt32BE(0) & 0x7fffffff;
  return n === 0 ? 1 : n;
}

/** messages.send answers the message id; with `peer_ids` (not used here) an array of `{peer_id, message_id}`. */
function messageId(response: unknown): number | null {
  if (typeof response === 'number') return response;
  const first = Array.isArray(response) ? (response[0] as { message_id?: unknown } | undefined) : undefined;
  return typeof first?.message_id === 'number' ? first.message_id : null;
}
