import type { InboundEvent } from '../../funnels/inbound-event.ts';

/** A Bot API Update as it arrives (webhook body or one element of getUpdates' result). */
export interface TelegramUpdate {
  update_id: number;
  [kind: string]: unknown;
}

export interface TelegramUser {
  id: number;
  is_bot?: boolean;
  first_name?: string;
  last_name?: string;
  username?: string;
  language_code?: string;
}

export interface TelegramChat {
  id: number;
  type: 'private' | 'group' | 'supergroup' | 'channel';
  first_name?: string;
  last_name?: string;
  username?: string;
  title?: string;
}

export interface TelegramMessage {
  message_id: number;
  from?: TelegramUser;
  chat: TelegramChat;
  date: number;
  text?: string;
  caption?: string;
  business_connection_id?: string;
  /** Set on a business message that a bot sent on the owner's behalf (ours included). */
  sender_business_bot?: TelegramUser;
  /** Set on greeting/away messages and scheduled ones: sent by the account, not typed then by a person. */
  is_from_offline?: boolean;
}

/** Deep-link payload as Telegram allows it in `t.me/bot?start=…`. */
const PAYLOAD = /^[A-Za-z0-9_-]{1,64}$/;
/** `/start`, `/start@some_bot`, with an optional rest after whitespace; `/started` is not a command. */
const START = /^\/start(?:@[A-Za-z0-9_]+)?(?:\s+([\s\S]*))?$/;

/**
 * One Telegram update → the platform-independent event funnels react to, or null when it is
 * nothing a funnel reacts to. Pure: `now` is only used for button presses, which carry no date.
 *
 * Ignored on purpose (null):
 * - `edited_message` (and edited business messages): an edit is not a new answer. Reacting would run
 *   a trigger twice for one message, or count a corrected typo as the answer to the next question.
 * - Groups, supergroups and channels: a funnel is a one-to-one conversation with a person. In a group
 *   every member's message would start funnels for people who never wrote to the bot, and the
 *   answers would land in the group. Button presses under group messages are ignored for the same reason.
 * - Messages from bots, and business messages sent by a bot on the owner's behalf
 *   (`sender_business_bot`): our own replies through a business account come back as business
 *   messages, and treating them as an operator's code word would loop.
 * - Automatic business messages (`is_from_offline`: greeting, away, scheduled): no operator typed them.
 * - `chat_member` of groups and channels, except a person joining by an invite link this bot made
 *   (telegram.invite_link): that is `joined`, with the link's name as payload. Other joins would make
 *   contacts of people who never wrote to the bot.
 * - Everything else (inline queries, polls, reactions, payments…).
 *
 * A `business_connection` (the owner connected, switched off or reconnected the bot) is kept as a
 * settled event: recorded in the inbound log with what it means, with nothing reacting to it.
 */
export function updateToEvent(update: unknown, botId: string, now: number = Date.now()): InboundEvent | null {
  if (!isObject(update) || !Number.isSafeInteger(update.update_id)) return null;
  const u = update as TelegramUpdate;
  const base = { platform: 'telegram' as const, botId, eventId: `telegram:${u.update_id}` };

  if (isMessage(u.message)) return fromPersonMessage(u.message, base);
  if (isMessage(u.business_message)) return fromBusinessMessage(u.business_message, base);
  if (isObject(u.callback_query)) return fromCallback(u.callback_query, base, now);
  if (isObject(u.my_chat_member)) return fromMembership(u.my_chat_member, base);
  if (isObject(u.chat_member)) return fromJoinByLink(u.chat_member, base);
  if (isObject(u.business_connection)) return fromBusinessConnection(u.business_connection, base);
  return null;
}

type Base = Pick<InboundEvent, 'platform' | 'botId' | 'eventId'>;

function fromPersonMessage(m: TelegramMessage, base: Base): InboundEvent | null {
  if (m.chat.type !== 'private' || !isPerson(m.from)) return null;
  const event: InboundEvent = {
    ...base, userId: String(m.from.id), chatId: String(m.chat.id), kind: 'message', at: m.date * 1000, ...names(m.from),
  };
  const text = m.text ?? m.caption;
  // A command only counts as text of a message, not as a photo's caption (Telegram does the same).
  const start = m.text !== undefined ? START.exec(m.text.trim()) : null;
  if (start) {
    const rest = start[1]?.trim() ?? '';
    // Only a deep-link-shaped payload is a payload: "/start hello there" typed by hand is not one.
    return { ...event, kind: 'start', ...(rest && { text: rest }), ...(PAYLOAD.test(rest) && { payload: rest }) };
  }
  return text !== undefined ? { ...event, text } : event;
}

function fromBusinessMessage(m: TelegramMessage, base: Base): InboundEvent | null {
  // A business chat is always the owner's private chat with one customer; chat.id is the customer.
  if (m.chat.type !== 'private' || !m.from || m.from.is_bot || m.sender_business_bot || m.is_from_offline) return null;
  const text = m.text ?? m.caption;
  const common = {
    ...base, chatId: String(m.chat.id), at: m.date * 1000, ...(text !== undefined && { text }),
    ...(typeof m.business_connection_id === 'string' && m.business_connection_id && { businessConnectionId: m.business_connection_id }),
  };
  if (m.from.id !== m.chat.id) {
    // The account owner (or their employee) wrote: the event is about the customer, named by the chat.
    return { ...common, userId: String(m.chat.id), kind: 'operator_message', ...names(m.chat) };
  }
  return { ...common, userId: String(m.from.id), kind: 'message', ...names(m.from) };
}

function fromCallback(q: Record<string, unknown>, base: Base, now: number): InboundEvent | null {
  const from = q.from;
  if (!isPerson(from) || typeof q.id !== 'string' || typeof q.data !== 'string') return null; // no data: a game button
  const message = isMessage(q.message) ? q.message : null;
  // Inline-mode messages have no chat: the press came from the person, so their private chat answers.
  if (message && message.chat.type !== 'private') return null;
  return {
    ...base, userId: String(from.id), chatId: String(message?.chat.id ?? from.id), kind: 'button',
    payload: q.data, callbackQueryId: q.id, at: now, ...names(from),
  };
}

function fromMembership(c: Record<string, unknown>, base: Base): InboundEvent | null {
  const chat = c.chat as TelegramChat | undefined;
  if (!isObject(chat) || chat.type !== 'private' || !isPerson(c.from)) return null;
  const was = (c.old_chat_member as { status?: string } | undefined)?.status;
  const now = (c.new_chat_member as { status?: string } | undefined)?.status;
  let kind: 'blocked' | 'unblocked';
  if (now === 'kicked') kind = 'blocked';
  else if (now === 'member' && (was === 'kicked' || was === 'left')) kind = 'unblocked';
  else return null;
  const at = typeof c.date === 'number' ? c.date * 1000 : 0;
  return { ...base, userId: String(c.from.id), chatId: String(chat.id), kind, at, ...names(c.from) };
}

/** Someone joined a group or channel by an invite link of this bot: `joined`, payload = the link's name. */
function fromJoinByLink(c: Record<string, unknown>, base: Base): InboundEvent | null {
  const link = c.invite_link as { creator?: { id?: unknown }; name?: unknown } | undefined;
  const member = c.new_chat_member as { status?: string; is_member?: boolean; user?: unknown } | undefined;
  const was = (c.old_chat_member as { status?: string } | undefined)?.status;
  if (!isObject(link) || String(link.creator?.id) !== base.botId || !isObject(member) || !isPerson(member.user)) return null;
  const joined = member.status === 'member' || member.status === 'administrator' || (member.status === 'restricted' && member.is_member === true);
  if (!joined || (was !== 'left' && was !== 'kicked')) return null;
  const user = member.user;
  const name = typeof link.name === 'string' && link.name ? link.name : undefined;
  const at = typeof c.date === 'number' ? c.date * 1000 : 0;
  // Answers go to the person's private chat with the bot (its id is the person's id), not the channel.
  return { ...base, userId: String(user.id), chatId: String(user.id), kind: 'joined', at, ...(name && { payload: name }), ...names(user) };
}

/** The owner connected, switched off or reconnected the bot to their Telegram Business account. */
function fromBusinessConnection(b: Record<string, unknown>, base: Base): InboundEvent | null {
  if (typeof b.id !== 'string' || !b.id || !isPerson(b.user)) return null;
  const enabled = b.is_enabled === true;
  const owner = b.user;
  const who = `${names(owner).name ?? 'the owner'} (Telegram user ${owner.id})`;
  return {
    ...base, userId: String(owner.id), chatId: String(typeof b.user_chat_id === 'number' ? b.user_chat_id : owner.id),
    kind: enabled ? 'unblocked' : 'blocked', at: typeof b.date === 'number' ? b.date * 1000 : 0, businessConnectionId: b.id, ...names(owner),
    settled: enabled
      ? `business connection ${b.id} of ${who} is enabled: the bot answers in the account's chats`
      : `business connection ${b.id} of ${who} was switched off: replies in its chats fail until the owner connects the bot again`,
  };
}

/** `name`: first + last name, or the username when there is no name; `username` as is. */
function names(p: { first_name?: string; last_name?: string; username?: string }): Pick<InboundEvent, 'name' | 'username'> {
  const name = [p.first_name, p.last_name].filter((s) => typeof s === 'string' && s.trim()).join(' ').trim() || p.username;
  return { ...(name && { name }), ...(p.username && { username: p.username }) };
}

function isPerson(u: unknown): u is TelegramUser {
  return isObject(u) && typeof u.id === 'number' && u.is_bot !== true;
}

function isMessage(m: unknown): m is TelegramMessage {
  return isObject(m) && isObject(m.chat) && typeof m.chat.id === 'number' && typeof m.date === 'number';
}

function isObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
