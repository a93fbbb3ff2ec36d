import type { TelegramChat, TelegramUpdate, TelegramUser } from './telegram-updates.ts';

/** An update before the fake numbers it (`update_id` is given on push, in push order, as Telegram does). */
export type UpdateDraft = Omit<TelegramUpdate, 'update_id'> & { update_id?: number };

let messageId = 1000;
let queryId = 4_000_000_000_000_000_000n;

/** A person as Telegram describes them in `from`; override names to test how they are read. */
export function person(id: number, extra: Partial<TelegramUser> = {}): TelegramUser {
  return { id, is_bot: false, first_name: 'Test', last_name: `User ${id}`, username: `user${id}`, language_code: 'ru', ...extra };
}

/** The person's private chat with the bot: its id is the person's id. */
export function privateChat(user: TelegramUser): TelegramChat {
  return {
    id: user.id, type: 'private',
    ...(user.first_name && { first_name: user.first_name }),
    ...(user.last_name && { last_name: user.last_name }),
    ...(user.username && { username: user.username }),
  };
}

const now = () => Math.floor(Date.now() / 1000);

/** The person wrote `text` to the bot. */
export function messageUpdate(userId: number, text: string, user: Partial<TelegramUser> = {}): UpdateDraft {
  const from = person(userId, user);
  const command = /^\/[A-Za-z0-9_]+/.exec(text)?.[0];
  return {
    message: {
      message_id: ++messageId, from, chat: privateChat(from), date: now(), text,
      ...(command && { entities: [{ type: 'bot_command', offset: 0, length: command.length }] }),
    },
  };
}

/** The person opened `t.me/bot?start=<payload>` (or pressed Start without one) and Telegram sent `/start <payload>`. */
export function startUpdate(userId: number, payload?: string, user: Partial<TelegramUser> = {}): UpdateDraft {
  return messageUpdate(userId, payload ? `/start ${payload}` : '/start', user);
}

/** The person pressed an inline button with `callback_data` = `data` under one of the bot's messages. */
export function callbackUpdate(userId: number, data: string, bot: TelegramUser, user: Partial<TelegramUser> = {}): UpdateDraft {
  const from = person(userId, user);
  return {
    callback_query: {
      id: String(++queryId), from,
      message: { message_id: ++messageId, from: bot, chat: privateChat(from), date: now() - 5, text: 'Choose one:' },
      chat_instance: String(-(4_611_686_018_427_387_904n + BigInt(userId))), data,
    },
  };
}

/** The person blocked the bot (or deleted the chat with it): `my_chat_member` member → kicked. */
export function blockedUpdate(userId: number, bot: TelegramUser): UpdateDraft {
  return membershipUpdate(userId, bot, 'member', 'kicked');
}

/** The person unblocked the bot: `my_chat_member` kicked → member. */
export function unblockedUpdate(userId: number, bot: TelegramUser): UpdateDraft {
  return membershipUpdate(userId, bot, 'kicked', 'member');
}

function membershipUpdate(userId: number, bot: TelegramUser, was: string, is: string): UpdateDraft {
  const from = person(userId);
  const member = (status: string) => ({ user: bot, status, ...(status === 'kicked' && { until_date: 0 }) });
  return { my_chat_member: { chat: privateChat(from), from, date: now(), old_chat_member: member(was), new_chat_member: member(is) } };
}

/**
 * A message in a chat of a Telegram Business account connected to the bot. The chat is the owner's
 * private chat with the customer, so `chat.id` is the customer whoever wrote; `from` tells who wrote.
 */
export function businessUpdate(customerId: number, authorId: number, text: string, ownerId: number): UpdateDraft {
  const customer = person(customerId);
  return {
    business_message: {
      business_connection_id: `BConn${ownerId}`, message_id: ++messageId,
      from: authorId === customerId ? customer : person(authorId, { first_name: 'Owner', last_name: undefined, username: `owner${authorId}` }),
      chat: privateChat(customer), date: now(), text,
    },
  };
}

/** The business owner (or their employee) wrote `text` to the customer, e.g. a code word. */
export function businessOperatorUpdate(customerId: number, ownerId: number, text: string): UpdateDraft {
  return businessUpdate(customerId, ownerId, text, ownerId);
}

/** The customer wrote to the business account. */
export function businessCustomerUpdate(customerId: number, ownerId: number, text: string): UpdateDraft {
  return businessUpdate(customerId, customerId, text, ownerId);
}

/** The update's kind: its one field besides update_id (what allowed_updates filters on). */
export function updateKind(u: UpdateDraft): string {
  return Object.keys(u).find((k) => k !== 'update_id') ?? '';
}
