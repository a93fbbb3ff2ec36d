import type { InboundEvent } from '../funnels/inbound-event.ts';

/**
 * A project's chatbot audience: contacts (one per person and platform, across all bots of the
 * project), their permanent tags and variables, the inbound events from bots (stored before they are
 * acknowledged), and the admin inbox. Adapters hold the SQL; see the SQLite one.
 */
export interface ContactStore {
  /**
   * Stores an inbound event unless this bot (connection) stored one with the same id already; true when new.
   * Stored already processed (never pending): an event with `settled` (that outcome), and an echo of a
   * message we sent (`sent` ids recorded by rememberSent for this bot and chat: outcome 'own message').
   */
  putInbound(e: InboundEvent, connection: string, raw: unknown): Promise<boolean>;
  /**
   * Notes a message this bot sends to a chat: before the send with its random_id (the platform may echo
   * it before the send returns), again after with the message id. Kept a week; see putInbound.
   */
  rememberSent(m: SentMessage): Promise<void>;
  /** Forgets sent messages noted before `before` (echoes come within seconds; the engine's janitor keeps a week). */
  purgeSent(before: number): Promise<number>;
  /** Files the project's bots uploaded from a URL, uploaded once per bot (VK attachments). */
  readonly uploads: import('./uploaded-file-store.ts').UploadedFileStore;
  /** Unprocessed events, oldest first (only those after `afterId`: the ones not handed out yet). */
  pendingInbound(limit: number, afterId?: number): Promise<Array<{ id: number; connection: string; event: InboundEvent }>>;
  markInbound(id: number, outcome: string): Promise<void>;

  /** Finds or creates the contact for this person and notes the bot they wrote to; returns it. */
  touchContact(e: InboundEvent, connection: string): Promise<Contact>;
  getContact(id: number): Promise<Contact | undefined>;
  /** The contact of this person on this platform (Telegram / VK user id), if they ever wrote to a bot of the project. */
  findContact(platform: Contact['platform'], userId: string): Promise<Contact | undefined>;
  listContacts(filter: { tag?: string; status?: ContactStatus; limit: number; afterId?: number }): Promise<Contact[]>;
  /** Status in one bot (and the contact's overall status: active if active in any bot). */
  setBotStatus(contactId: number, connection: string, status: ContactStatus): Promise<void>;

  /** Tags are permanent: only these calls change them. Answers the contact's tags afterwards. */
  addTags(contactId: number, tags: string[], at: number): Promise<string[]>;
  removeTags(contactId: number, tags: string[]): Promise<string[]>;
  setVars(contactId: number, vars: Record<string, unknown>): Promise<void>;

  /** Live tasks of the contact (created with data.contact_id), optionally only in these processes. */
  liveTasksOf(contactId: number, processes?: string[]): Promise<Array<{ id: number; process: string; nodeId: string; status: string; bot: string | null }>>;

  /** The day's figures for the daily report: [from, to) in epoch ms. */
  dailyFigures(from: number, to: number, milestones: string[], boughtTag: string): Promise<DailyFigures>;
  /** Per week [from, to): contacts first seen, and contacts whose status became unsubscribed / blocked. */
  weeklyFigures(weeks: Array<{ from: number; to: number }>): Promise<WeeklyFigures[]>;
  /** Messages funnels sent (chat.send steps that succeeded) per process in [from, to). */
  messagesSent(from: number, to: number): Promise<Record<string, number>>;

  /**
   * The note's id; 0 when a note with the same `ref` exists (it is not added twice). `relayed`: it
   * already reached the admins' chat (its sender sent it), so the relay leaves it.
   */
  addAdminNote(note: Omit<AdminNote, 'id'> & { ref?: string; relayed?: boolean }): Promise<number>;
  /** Notes not yet relayed to the admins' chat, oldest first. */
  notesToRelay(limit: number): Promise<AdminNote[]>;
  markRelayed(ids: number[]): Promise<void>;
  /**
   * Forgets processed inbound events received before `before`, up to `limit` of them (the rest on the
   * next call). Payments stay: their id keeps a repeated payment from starting funnels again.
   */
  purgeInbound(before: number, limit: number): Promise<number>;
  listAdminNotes(limit: number): Promise<AdminNote[]>;
}

/** A message we sent, for recognising the platform's echo of it (VK message_reply). */
export interface SentMessage {
  platform: 'telegram' | 'vk';
  /** The bot's connection name. */
  connection: string;
  /** The chat it went to (VK peer_id). */
  chatId: string;
  randomId: number;
  messageId?: number | null;
}

export interface WeeklyFigures {
  new: number;
  /** Contacts that unsubscribed (left every bot) / blocked that week, each counted once per week. */
  unsubscribed: number;
  blocked: number;
}

export interface DailyFigures {
  /** Contacts first seen that day. */
  entered: number;
  /** All contacts by status now. */
  active: number;
  inactive: number;
  /** Contacts that got each milestone tag that day. */
  milestones: Record<string, number>;
  /** Of the day's new contacts, how many have the bought tag; and all contacts with it. */
  boughtAmongNew: number;
  boughtTotal: number;
}

export type ContactStatus = 'active' | 'unsubscribed' | 'blocked';

export interface Contact {
  id: number;
  platform: 'telegram' | 'vk';
  userId: string;
  name: string | null;
  username: string | null;
  status: ContactStatus;
  tags: string[];
  /** When each tag was set (epoch ms). */
  taggedAt: Record<string, number>;
  vars: Record<string, unknown>;
  /** The bots (connection names) the person wrote to, with the chat to answer in and the status there. */
  bots: Array<{ connection: string; chatId: string; status: ContactStatus; firstSeen: number }>;
  createdAt: number;
}

export interface AdminNote {
  id: number;
  at: number;
  kind: 'duplicate_trigger' | 'send_error' | 'stuck' | 'paid_not_entered' | 'note';
  contactId: number | null;
  text: string;
}
