import { parseDuration } from '../../util/duration.ts';
import { connectorNode } from '../connector-node.ts';
import { ServiceFailure } from '../service-failure.ts';
import { TELEGRAM_PACE, TelegramClient } from './telegram-client.ts';

/**
 * `telegram.remove_member`: the usual "kick" from a channel or group — banChatMember, then
 * unbanChatMember with only_if_banned, so the person is out but could come back by a new link. Seed 001:
 * someone who joined the paid channel by a forwarded personal link (a trigger `on: joined,
 * paid_link: refused` starts the funnel for them) is removed. The bot must be an admin able to ban.
 */
export const removeMemberNode = connectorNode({
  type: 'telegram.remove_member',
  description: 'Remove a person from a Telegram channel or group (ban, then unban: they may join again by a new link).',
  connector: 'telegram',
  pace: TELEGRAM_PACE,
  required: ['chat_id'],
  params: {
    chat_id: { type: ['string', 'integer'], description: 'The channel or group: its id (-100…) or @username; the bot must be its admin.' },
    user_id: { type: ['string', 'integer'], description: 'Whom to remove: a Telegram user id (default: the task\'s `user_id`, the person who triggered it).' },
  },
  async call(ctx, connection, p) {
    const chatId = p.chat_id === undefined || p.chat_id === null ? '' : String(p.chat_id).trim();
    if (!chatId) throw new ServiceFailure('fail', 'chat_id: is empty after templates', { code: 'no_chat_id' });
    const raw = p.user_id ?? ctx.task.data.user_id;
    const userId = Number(raw);
    if (!Number.isSafeInteger(userId) || userId <= 0) throw new ServiceFailure('fail', `user_id: not a Telegram user id: ${JSON.stringify(raw ?? null)}`, { code: 'bad_user_id' });
    const client = new TelegramClient(ctx.services.http, connection.settings);
    const timeout = parseDuration((p.timeout as string | number | undefined) ?? '30s');
    try {
      await client.call('banChatMember', { chat_id: chatId, user_id: userId }, timeout);
      // Both calls are idempotent, so a retry after a lost answer repeats them harmlessly.
      const { exchange } = await client.call('unbanChatMember', { chat_id: chatId, user_id: userId, only_if_banned: true }, timeout);
      return { patch: { removed_user_id: userId }, exchange };
    } catch (e) {
      // "chat not found" names the channel, not the person: a setup error, not an unreachable contact.
      if (e instanceof ServiceFailure && e.failure === 'unreachable') throw new ServiceFailure('fail', `${e.message} (the channel ${chatId})`, e.opts);
      throw e;
    }
  },
});
