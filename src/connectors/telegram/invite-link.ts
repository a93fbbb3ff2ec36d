import type { NodeDefinition } from '../../model/process-definition.ts';
import { parseDuration } from '../../util/duration.ts';
import { connectorNode } from '../connector-node.ts';
import { ServiceFailure } from '../service-failure.ts';
import { TELEGRAM_PACE, TelegramClient } from './telegram-client.ts';

/** Telegram's bounds: a link's name is 0–32 characters; member_limit 1–99999. */
const MAX_NAME = 32;
const MAX_MEMBERS = 99_999;

/**
 * `telegram.invite_link`: a personal invite link into a private channel or group (the bot must be an
 * admin there with the right to invite), by default for one person (`member_limit: 1`), kept in the
 * task's `invite_link`. Someone joining by it comes back as a `joined` event of this bot with the
 * link's name as payload, so a trigger `on: joined, payload: <name>` can react.
 */
export const inviteLinkNode = connectorNode({
  type: 'telegram.invite_link',
  description: 'Create an invite link into a private Telegram channel or group, by default for one person; saves `invite_link`.',
  connector: 'telegram',
  pace: TELEGRAM_PACE,
  required: ['chat_id'],
  params: {
    chat_id: { type: ['string', 'integer'], description: 'The channel or group: its id (-100…) or @username; the bot must be its admin.' },
    member_limit: { type: ['integer', 'string'], minimum: 1, maximum: MAX_MEMBERS, default: 1, description: 'How many people may join by the link, 1–99999 (default 1).' },
    name: {
      type: 'string',
      description: `The link's name, at most ${MAX_NAME} characters after templates (default: the process's name); `
        + 'it is the payload of the `joined` event when someone joins by the link.',
    },
    expires_in: { type: ['string', 'number'], description: 'The link stops working after this long, e.g. 3d, 12h.' },
    expire_date: { type: ['string', 'integer'], description: 'Or an exact end: Unix seconds or an ISO date-time; templates allowed.' },
  },
  check: (n: NodeDefinition) => staticProblems(n),
  async call(ctx, connection, p) {
    const chatId = p.chat_id === undefined || p.chat_id === null ? '' : String(p.chat_id).trim();
    if (!chatId) throw new ServiceFailure('fail', 'chat_id: is empty after templates', { code: 'no_chat_id' });
    const limit = p.member_limit === undefined || p.member_limit === '' ? 1 : Number(p.member_limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_MEMBERS) {
      throw new ServiceFailure('fail', `member_limit: must be a whole number 1–${MAX_MEMBERS}, got ${JSON.stringify(p.member_limit)}`, { code: 'bad_member_limit' });
    }
    const name = p.name === undefined || p.name === null ? ctx.task.process.slice(0, MAX_NAME) : String(p.name);
    if ([...name].length > MAX_NAME) throw new ServiceFailure('fail', `name: at most ${MAX_NAME} characters after templates, got ${[...name].length}`, { code: 'bad_name' });
    const expire = expireDate(p, ctx.now);
    const body: Record<string, unknown> = { chat_id: chatId, member_limit: limit, ...(name && { name }), ...(expire !== undefined && { expire_date: expire }) };
    const client = new TelegramClient(ctx.services.http, connection.settings);
    try {
      const { result, exchange } = await client.call('createChatInviteLink', body, parseDuration((p.timeout as string | number | undefined) ?? '30s'));
      if (typeof result.invite_link !== 'string') throw new ServiceFailure('retry', 'createChatInviteLink answered without invite_link', { code: 'no_link', exchange });
      return { patch: { invite_link: result.invite_link }, exchange };
    } catch (e) {
      // "chat not found" here names the channel, not the person: a setup error, not an unreachable contact.
      if (e instanceof ServiceFailure && e.failure === 'unreachable') throw new ServiceFailure('fail', `${e.message} (the channel ${chatId})`, e.opts);
      throw e;
    }
  },
});

/** expire_date for Telegram (Unix seconds), from `expires_in` or `expire_date`; undefined when neither. */
function expireDate(p: Record<string, unknown>, now: number): number | undefined {
  if (p.expires_in !== undefined && p.expires_in !== '') {
    let ms: number;
    try {
      ms = parseDuration(p.expires_in as string | number);
    } catch (e) {
      throw new ServiceFailure('fail', `expires_in: ${(e as Error).message}`, { code: 'bad_expiry' });
    }
    return Math.floor((now + ms) / 1000);
  }
  if (p.expire_date === undefined || p.expire_date === '' || p.expire_date === null) return undefined;
  const raw = p.expire_date;
  const at = typeof raw === 'number' || /^\d+$/.test(String(raw)) ? Number(raw) : Math.floor(Date.parse(String(raw)) / 1000);
  if (!Number.isFinite(at)) throw new ServiceFailure('fail', `expire_date: not Unix seconds or an ISO date-time: ${JSON.stringify(raw)}`, { code: 'bad_expiry' });
  return at;
}

/** Problems visible at deploy time (template values are checked when the node runs). */
function staticProblems(n: NodeDefinition): string[] {
  const out: string[] = [];
  const templated = (v: unknown) => typeof v === 'string' && v.includes('{{');
  if (typeof n.name === 'string' && !templated(n.name) && [...n.name].length > MAX_NAME) out.push(`name: at most ${MAX_NAME} characters`);
  if (n.expires_in !== undefined && !templated(n.expires_in)) {
    try {
      parseDuration(n.expires_in as string | number);
    } catch (e) {
      out.push(`expires_in: ${(e as Error).message}`);
    }
  }
  if (n.expires_in !== undefined && n.expire_date !== undefined) out.push('expires_in, expire_date: give one of them');
  return out;
}
