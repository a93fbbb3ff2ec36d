import { randomBytes } from 'node:crypto';
import { person } from './fake-telegram-updates.ts';
import type { UpdateDraft } from './fake-telegram-updates.ts';
import type { TelegramUser } from './telegram-updates.ts';
import type { FakeAnswer } from './fake-telegram-inbox.ts';

/** What the bot may do in a channel or group the fake knows. */
export type FakeChatRights = 'admin' | 'admin_without_invite' | 'member';

/** A ChatInviteLink as createChatInviteLink answers it, with how many joined by it. */
export interface FakeInviteLink {
  invite_link: string;
  creator: TelegramUser;
  creates_join_request: boolean;
  is_primary: boolean;
  is_revoked: boolean;
  name?: string;
  expire_date?: number;
  member_limit?: number;
  chat_id: string;
  joined: number[];
}

const ok = (result: unknown): FakeAnswer => ({ status: 200, body: { ok: true, result } });
const bad = (description: string): FakeAnswer => ({ status: 400, body: { ok: false, error_code: 400, description: `Bad Request: ${description}` } });

/**
 * Private channels and groups for the fake: createChatInviteLink with Telegram's checks and answer,
 * and the `chat_member` update Telegram sends when someone joins by a link.
 */
export class FakeInviteLinks {
  readonly links: FakeInviteLink[] = [];
  private readonly chats = new Map<string, { title: string; rights: FakeChatRights }>();
  /** Who is in each channel (joined by a link) and who is banned from it, by chat id. */
  readonly members = new Map<string, Set<number>>();
  readonly banned = new Map<string, Set<number>>();

  constructor(private readonly bot: () => TelegramUser) {}

  /** A private channel (-100…) the bot is in, with these rights. */
  addChannel(chatId: string | number, rights: FakeChatRights = 'admin', title = 'Private course channel'): void {
    this.chats.set(String(chatId), { title, rights });
  }

  create(p: Record<string, unknown>): FakeAnswer {
    const chatId = p.chat_id === undefined ? '' : String(p.chat_id);
    if (!chatId) return bad('chat_id is empty');
    const chat = this.chats.get(chatId);
    if (!chat) return bad('chat not found');
    if (chat.rights !== 'admin') return bad('not enough rights to manage chat invite link');
    const name = p.name === undefined ? undefined : String(p.name);
    if (name !== undefined && [...name].length > 32) return bad('invite link name is too long');
    const expire = p.expire_date === undefined ? undefined : Number(p.expire_date);
    if (expire !== undefined && (!Number.isInteger(expire) || (expire !== 0 && expire <= Date.now() / 1000))) return bad('EXPIRE_DATE_INVALID');
    const limit = p.member_limit === undefined ? undefined : Number(p.member_limit);
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 99_999)) return bad('USAGE_LIMIT_INVALID');
    const link: FakeInviteLink = {
      invite_link: `https://t.me/+${randomBytes(12).toString('base64url').slice(0, 16)}`, creator: this.bot(),
      creates_join_request: false, is_primary: false, is_revoked: false,
      ...(name && { name }), ...(expire && { expire_date: expire }), ...(limit !== undefined && { member_limit: limit }),
      chat_id: chatId, joined: [],
    };
    this.links.push(link);
    return ok(shown(link));
  }

  /**
   * The person joins by the link: the `chat_member` update (left → member, with the link). Throws when
   * Telegram would not let them in (unknown, expired or full link).
   */
  join(userId: number, inviteLink: string): UpdateDraft {
    const link = this.links.find((l) => l.invite_link === inviteLink);
    if (!link) throw new Error(`no such invite link: ${inviteLink}`);
    if (link.expire_date && link.expire_date <= Date.now() / 1000) throw new Error('the invite link has expired');
    if (link.member_limit !== undefined && link.joined.length >= link.member_limit) throw new Error('the invite link is used up (member_limit)');
    if (this.banned.get(link.chat_id)?.has(userId)) throw new Error('the user is banned in this chat');
    link.joined.push(userId);
    setOf(this.members, link.chat_id).add(userId);
    const user = person(userId);
    const chat = { id: Number(link.chat_id), title: this.chats.get(link.chat_id)?.title ?? 'Channel', type: 'channel' };
    return {
      chat_member: {
        chat, from: user, date: Math.floor(Date.now() / 1000),
        old_chat_member: { user, status: 'left' }, new_chat_member: { user, status: 'member' }, invite_link: shown(link),
      },
    };
  }

  /** banChatMember: the person leaves the chat and cannot come back by a link until unbanned. */
  ban(p: Record<string, unknown>): FakeAnswer {
    const target = this.target(p);
    if ('status' in target) return target;
    this.members.get(target.chatId)?.delete(target.userId);
    setOf(this.banned, target.chatId).add(target.userId);
    return ok(true);
  }

  /**
   * unbanChatMember: the person may join again by a link. Without only_if_banned Telegram also removes
   * a current member ("guarantees that after the call the user is not a member"); with it, a member stays.
   */
  unban(p: Record<string, unknown>): FakeAnswer {
    const target = this.target(p);
    if ('status' in target) return target;
    const wasBanned = this.banned.get(target.chatId)?.delete(target.userId) ?? false;
    if (!wasBanned && p.only_if_banned !== true && p.only_if_banned !== 'true') this.members.get(target.chatId)?.delete(target.userId);
    return ok(true);
  }

  /** The chat and user of a ban/unban, with Telegram's errors for a bad one. */
  private target(p: Record<string, unknown>): { chatId: string; userId: number } | FakeAnswer {
    const chatId = p.chat_id === undefined ? '' : String(p.chat_id);
    if (!chatId) return bad('chat_id is empty');
    const chat = this.chats.get(chatId);
    if (!chat) return bad('chat not found');
    const userId = Number(p.user_id);
    if (p.user_id === undefined || p.user_id === '') return bad('user_id is empty'); // Telegram names the missing parameter
    if (!Number.isSafeInteger(userId) || userId <= 0) return bad('invalid user_id specified');
    if (chat.rights !== 'admin' && chat.rights !== 'admin_without_invite') return bad('not enough rights to restrict/unrestrict chat member');
    if (userId === this.bot().id) return bad("can't restrict self");
    return { chatId, userId };
  }
}

function setOf(m: Map<string, Set<number>>, key: string): Set<number> {
  let s = m.get(key);
  if (!s) m.set(key, (s = new Set()));
  return s;
}

function shown(l: FakeInviteLink): Record<string, unknown> {
  const { chat_id: _c, joined: _j, ...link } = l;
  return link;
}
