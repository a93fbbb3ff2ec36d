import type { NodeDefinition } from '../../model/process-definition.ts';
import { parseDuration } from '../../util/duration.ts';
import { connectorNode } from '../connector-node.ts';
import { ServiceFailure } from '../service-failure.ts';
import { TELEGRAM_PACE, TelegramClient } from './telegram-client.ts';
import { INVITE_NAME_MAX, PRODUCT, inviteName } from '../../funnels/paid-link.ts';

/** Telegram's bounds: a link's name is 0–32 characters; member_limit 1–99999. */
const MAX_NAME = INVITE_NAME_MAX;
const MAX_MEMBERS = 99_999;

/**
 * `telegram.invite_link`: a personal invite link into a private channel or group (the bot must be an
 * admin there with the right to invite), by default for one person (`member_limit: 1`), kept in the
 * task's `invite_link`. Someone joining by it comes back as a `joined` event of this bot with the
 * link's name as payload, so a trigger `on: joined, payload: <name>` can react.
 *
 * Personal (seed 001: a forwarded link must do nothing): the name is signed for the task's contact
 * (funnels/paid-link.ts inviteName), and a trigger `on: joined, paid_link: true` fires only when that
 * very contact joins. It is the default when the task has a contact (a bot trigger started it) and the
 * node gives no `name`; a named link stays a plain one, as before.
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
    personal: {
      type: 'boolean',
      description: 'Bind the link to the task\'s contact: its name is signed, and a `joined` trigger with `paid_link: true` fires only for '
        + 'that person (default: true when the task has a contact and no `name` is given).',
    },
    product: { type: 'string', description: 'A personal link\'s product, 1–16 letters or digits, given to the trigger as `product`; the whole name must fit 32 characters.' },
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
    const name = linkName(ctx.task.data.contact_id, ctx.task.process, p, ctx.sign);
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

/** The link's name: signed for the contact when personal, else `name` or the process's name. */
function linkName(contact: unknown, process: string, p: Record<string, unknown>, sign: (v: string) => string): string {
  const given = p.name !== undefined && p.name !== null;
  const contactId = Number(contact);
  const personal = p.personal === undefined ? Boolean(contactId) && !given : p.personal === true || p.personal === 'true';
  if (!personal) return given ? String(p.name) : process.slice(0, MAX_NAME);
  if (!Number.isSafeInteger(contactId) || contactId <= 0) {
    throw new ServiceFailure('fail', 'personal: the task has no contact_id (it was not started by a bot trigger)', { code: 'no_contact' });
  }
  const product = p.product === undefined || p.product === null || p.product === '' ? undefined : String(p.product);
  if (product !== undefined && !PRODUCT.test(product)) throw new ServiceFailure('fail', `product: 1–16 letters or digits, got ${JSON.stringify(product)}`, { code: 'bad_product' });
  const name = inviteName(contactId, product, sign);
  if (name.length > MAX_NAME) throw new ServiceFailure('fail', `product: too long for a ${MAX_NAME}-character link name with contact #${contactId}`, { code: 'bad_product' });
  return name;
}

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
  if (n.personal === true && n.name !== undefined) out.push('personal, name: a personal link\'s name is made for the contact; give one of them');
  if (n.product !== undefined && n.personal === false) out.push('product: only a personal link carries a product');
  if (typeof n.product === 'string' && !templated(n.product) && !PRODUCT.test(n.product)) out.push('product: 1–16 letters or digits');
  return out;
}
