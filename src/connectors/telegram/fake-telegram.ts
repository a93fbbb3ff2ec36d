import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoopbackServer, readBody } from '../loopback-server.ts';
import { FakeBusinessAccounts } from './fake-telegram-business.ts';
import { FakeUpdateInbox, safeParse, truthy, writeAnswer, type FakeAnswer, type WebhookDelivery } from './fake-telegram-inbox.ts';
import { FakeInviteLinks } from './fake-telegram-invites.ts';
import { FAKE_MEDIA_METHODS, FakeMediaFiles } from './fake-telegram-media.ts';
import * as build from './fake-telegram-updates.ts';
import type { UpdateDraft } from './fake-telegram-updates.ts';
import type { TelegramUpdate } from './telegram-updates.ts';

/** How the fake is down: a 502 page from Telegram's front, a 401 with no Bot API body, no answer, a cut connection. */
export type TelegramDownMode = 'outage' | 'unauthorized' | 'hang' | 'reset';

export interface SentTelegramMessage {
  message_id: number;
  chat_id: string;
  text: string;
  parse_mode?: string;
  reply_markup?: { inline_keyboard: Array<Array<Record<string, unknown>>> };
  protect_content?: boolean;
  disable_notification?: boolean;
  /** Sent on behalf of a Telegram Business account through this connection. */
  business_connection_id?: string;
  date: number;
}

const MAX_TEXT = 4096;

/**
 * A Bot API server on 127.0.0.1 for tests and the demo: `POST /bot{token}/{method}` with JSON, form
 * or query parameters, answering in Telegram's shapes and failing the way Telegram fails. Updates
 * pushed by a test reach the bot through long polling (getUpdates) or the webhook, as on Telegram.
 */
export class FakeTelegram {
  readonly messages: SentTelegramMessage[] = [];
  /** Pending updates, long polls, the webhook and its deliveries (see fake-telegram-inbox.ts). */
  readonly inbox = new FakeUpdateInbox();
  /** Every call that reached the fake: its method and parameters (the token is only in the path). */
  readonly calls: Array<{ method: string; params: Record<string, unknown>; at: number }> = [];
  /** Telegram Business accounts that connected the bot (see fake-telegram-business.ts). */
  readonly business = new FakeBusinessAccounts();
  /** Private channels and the invite links made for them (see fake-telegram-invites.ts). */
  readonly invites = new FakeInviteLinks(() => this.bot());
  /** Photos, documents and videos sent (see fake-telegram-media.ts). */
  readonly media = new FakeMediaFiles();
  /** Every 429 the fake answered: when, and the retry_after it asked for (seconds). */
  readonly throttled: Array<{ at: number; retryAfter: number }> = [];
  private readonly http = new LoopbackServer((req, res) => void this.handle(req, res));
  private readonly blocked = new Set<string>();
  private readonly deactivated = new Set<string>();
  private readonly unknownChats = new Set<string>();
  private limited: { retryAfter: number; left: number; pass: number } | null = null;
  private mode: TelegramDownMode | null = null;
  private nextId = 1;

  constructor(readonly token = '123456789:AAFakeTokenForTests_abcdefghijklmno') {}

  async start(): Promise<string> {
    return this.http.start();
  }

  async close(): Promise<void> {
    this.inbox.close();
    await this.http.close();
  }

  /** The next `count` calls (after `afterCalls` more got through) get 429 "Too Many Requests: retry after N". */
  rateLimit(retryAfterSeconds: number, count = 1, afterCalls = 0): void {
    this.limited = { retryAfter: retryAfterSeconds, left: count, pass: afterCalls };
  }

  /**
   * The most calls of these methods that arrived within any one second (by the fake's clock): what
   * Telegram's flood control counts. Default: every method that sends into a chat.
   */
  busiestSecond(methods: string[] = ['sendMessage', ...Object.keys(FAKE_MEDIA_METHODS)]): number {
    const at = this.calls.filter((c) => methods.includes(c.method)).map((c) => c.at).sort((a, b) => a - b);
    let most = 0;
    for (let i = 0, j = 0; j < at.length; j++) {
      while (at[j] - at[i] >= 1000) i++;
      most = Math.max(most, j - i + 1);
    }
    return most;
  }

  /** Calls that arrived while an earlier 429's retry_after was still running: Telegram's rule broken. */
  callsDuringBan(): number {
    return this.calls.filter((c) => this.throttled.some((t) => c.at > t.at && c.at < t.at + t.retryAfter * 1000)).length;
  }

  /** The person blocked the bot: 403 "Forbidden: bot was blocked by the user". */
  block(chatId: string | number): void {
    this.blocked.add(String(chatId));
  }

  /** The person deleted their account: 403 "Forbidden: user is deactivated". */
  deactivate(chatId: string | number): void {
    this.deactivated.add(String(chatId));
  }

  /** The bot never saw this chat: 400 "Bad Request: chat not found". */
  forget(chatId: string | number): void {
    this.unknownChats.add(String(chatId));
  }

  down(mode: TelegramDownMode = 'outage'): void {
    this.mode = mode;
  }

  up(): void {
    this.mode = null;
  }

  /**
   * Something happened in Telegram for this bot: the update is numbered and queued, then handed to a
   * held getUpdates, or POSTed to the webhook (with X-Telegram-Bot-Api-Secret-Token) and POSTed again
   * while the answer is not 2xx. Build it with the helpers below or write it by hand.
   */
  pushUpdate(update: UpdateDraft): TelegramUpdate {
    return this.inbox.push(update);
  }

  /** Resolves once every webhook delivery under way has ended (delivered, or given up for now). */
  settled(): Promise<void> {
    return this.inbox.settled();
  }

  get pendingUpdates(): readonly TelegramUpdate[] {
    return this.inbox.pending;
  }

  get webhookDeliveries(): readonly WebhookDelivery[] {
    return this.inbox.deliveries;
  }

  get answeredCallbacks(): FakeUpdateInbox['answeredCallbacks'] {
    return this.inbox.answeredCallbacks;
  }

  messageUpdate(userId: number, text: string): UpdateDraft {
    return build.messageUpdate(userId, text);
  }

  startUpdate(userId: number, payload?: string): UpdateDraft {
    return build.startUpdate(userId, payload);
  }

  callbackUpdate(userId: number, data: string): UpdateDraft {
    return build.callbackUpdate(userId, data, this.bot());
  }

  blockedUpdate(userId: number): UpdateDraft {
    return build.blockedUpdate(userId, this.bot());
  }

  unblockedUpdate(userId: number): UpdateDraft {
    return build.unblockedUpdate(userId, this.bot());
  }

  businessOperatorUpdate(customerId: number, ownerId: number, text: string): UpdateDraft {
    this.business.ensure(ownerId);
    return build.businessOperatorUpdate(customerId, ownerId, text);
  }

  businessCustomerUpdate(customerId: number, ownerId: number, text: string): UpdateDraft {
    this.business.ensure(ownerId);
    return build.businessCustomerUpdate(customerId, ownerId, text);
  }

  /** The person joined a channel by one of the bot's invite links: the `chat_member` update. */
  joinedByLinkUpdate(userId: number, inviteLink: string): UpdateDraft {
    return this.invites.join(userId, inviteLink);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    if (raw === null) return;
    if (this.mode === 'hang') return;
    if (this.mode === 'reset') return void req.socket.destroy();
    if (this.mode === 'outage') return send(res, 502, '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>', 'text/html');
    if (this.mode === 'unauthorized') return send(res, 401, '', 'text/html');

    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const m = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(url.pathname);
    if (!m) return json(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
    const [, token, method] = m;
    const params = { ...Object.fromEntries(url.searchParams), ...parseBody(raw, req.headers['content-type']) };
    this.calls.push({ method, params, at: Date.now() });
    if (token !== this.token) return json(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
    if (this.limited && this.limited.pass > 0) this.limited.pass -= 1;
    else if (this.limited && this.limited.left > 0) {
      this.limited.left -= 1;
      const s = this.limited.retryAfter;
      this.throttled.push({ at: Date.now(), retryAfter: s });
      return json(res, 429, { ok: false, error_code: 429, description: `Too Many Requests: retry after ${s}`, parameters: { retry_after: s } });
    }
    if (method === 'getMe') return json(res, 200, { ok: true, result: this.bot() });
    if (method === 'sendMessage') return this.sendMessage(res, params);
    if (method in FAKE_MEDIA_METHODS) return this.sendMedia(res, method, params);
    if (method === 'getUpdates') {
      const answer = this.inbox.getUpdates(res, params);
      return void (answer && writeAnswer(res, answer));
    }
    if (method === 'setWebhook') return writeAnswer(res, this.inbox.setWebhook(params));
    if (method === 'deleteWebhook') return writeAnswer(res, this.inbox.deleteWebhook(params));
    if (method === 'getWebhookInfo') return writeAnswer(res, this.inbox.getWebhookInfo());
    if (method === 'answerCallbackQuery') return writeAnswer(res, this.inbox.answerCallbackQuery(params));
    if (method === 'createChatInviteLink') return writeAnswer(res, this.invites.create(params));
    if (method === 'banChatMember') return writeAnswer(res, this.invites.ban(params));
    if (method === 'unbanChatMember') return writeAnswer(res, this.invites.unban(params));
    return json(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
  }

  private sendMessage(res: ServerResponse, p: Record<string, unknown>): void {
    const bad = (description: string) => json(res, 400, { ok: false, error_code: 400, description: `Bad Request: ${description}` });
    const chat = p.chat_id === undefined || p.chat_id === null ? '' : String(p.chat_id);
    if (!chat) return bad('chat_id is empty');
    const text = typeof p.text === 'string' ? p.text : p.text === undefined ? '' : String(p.text);
    if (!text.trim()) return bad('message text is empty');
    if ([...text].length > MAX_TEXT) return bad('message is too long');
    if (p.parse_mode !== undefined && !['HTML', 'MarkdownV2', 'Markdown'].includes(String(p.parse_mode))) return bad('unsupported parse_mode');
    const markup = typeof p.reply_markup === 'string' ? safeParse(p.reply_markup) : p.reply_markup;
    const keyboardProblem = checkKeyboard(markup);
    if (keyboardProblem) return bad(keyboardProblem);
    const via = p.business_connection_id === undefined || p.business_connection_id === '' ? undefined : String(p.business_connection_id);
    const refused = this.chatRefusal(chat, via);
    if (refused) return writeAnswer(res, refused);
    const msg: SentTelegramMessage = {
      message_id: this.nextId++, chat_id: chat, text, date: Math.floor(Date.now() / 1000),
      ...(p.parse_mode !== undefined && { parse_mode: String(p.parse_mode) }),
      ...(markup !== undefined && { reply_markup: markup as SentTelegramMessage['reply_markup'] }),
      ...(truthy(p.protect_content) && { protect_content: true }),
      ...(truthy(p.disable_notification) && { disable_notification: true }),
      ...(via && { business_connection_id: via }),
    };
    this.messages.push(msg);
    if (via) return this.sentForBusiness(res, msg, via);
    const isChannel = chat.startsWith('@') || chat.startsWith('-100');
    json(res, 200, {
      ok: true,
      result: {
        message_id: msg.message_id, from: this.bot(),
        chat: isChannel ? { id: chat, title: 'Test channel', type: 'channel' } : { id: Number(chat) || chat, first_name: 'Test', type: 'private' },
        date: msg.date, text, ...(msg.reply_markup && { reply_markup: msg.reply_markup }),
      },
    });
  }

  /** Why Telegram will not deliver into this chat (through this business connection), or null. */
  private chatRefusal(chat: string, via: string | undefined): FakeAnswer | null {
    const bad = (description: string): FakeAnswer => ({ status: 400, body: { ok: false, error_code: 400, description: `Bad Request: ${description}` } });
    const forbidden = (description: string): FakeAnswer => ({ status: 403, body: { ok: false, error_code: 403, description: `Forbidden: ${description}` } });
    const refused = via === undefined ? null : this.business.refusal(via);
    if (refused) return bad(refused);
    if (this.unknownChats.has(chat)) return bad('chat not found');
    if (this.blocked.has(chat)) return forbidden('bot was blocked by the user');
    if (this.deactivated.has(chat)) return forbidden('user is deactivated');
    return null;
  }

  /** sendPhoto / sendDocument / sendVideo: the chat is checked as for a message, the file by fake-telegram-media.ts. */
  private sendMedia(res: ServerResponse, method: string, p: Record<string, unknown>): void {
    const chat = p.chat_id === undefined || p.chat_id === null ? '' : String(p.chat_id);
    if (!chat) return json(res, 400, { ok: false, error_code: 400, description: 'Bad Request: chat_id is empty' });
    const markup = typeof p.reply_markup === 'string' ? safeParse(p.reply_markup) : p.reply_markup;
    const keyboardProblem = checkKeyboard(markup);
    if (keyboardProblem) return json(res, 400, { ok: false, error_code: 400, description: `Bad Request: ${keyboardProblem}` });
    const via = p.business_connection_id === undefined || p.business_connection_id === '' ? undefined : String(p.business_connection_id);
    const refused = this.chatRefusal(chat, via);
    if (refused) return writeAnswer(res, refused);
    const isChannel = chat.startsWith('@') || chat.startsWith('-100');
    const common = {
      from: this.bot(),
      chat: isChannel ? { id: chat, title: 'Test channel', type: 'channel' } : { id: Number(chat) || chat, first_name: 'Test', type: 'private' },
    };
    const answer = this.media.send(method, p, { message_id: this.nextId, chat_id: chat, date: Math.floor(Date.now() / 1000), common }, markup);
    if (answer.status === 200) this.nextId++;
    writeAnswer(res, answer);
  }

  /**
   * A message sent on the owner's behalf: Telegram answers it as the account's message, and the
   * account's outgoing messages come back as `business_message` updates (ours marked sender_business_bot).
   */
  private sentForBusiness(res: ServerResponse, msg: SentTelegramMessage, via: string): void {
    const owner = this.business.get(via)!.owner;
    const customer = build.person(Number(msg.chat_id));
    const message = {
      business_connection_id: via, message_id: msg.message_id, from: owner, chat: build.privateChat(customer), date: msg.date,
      text: msg.text, sender_business_bot: this.bot(), ...(msg.reply_markup && { reply_markup: msg.reply_markup }),
    };
    json(res, 200, { ok: true, result: message });
    this.inbox.push({ business_message: message });
  }

  /** The bot as Telegram shows it (getMe, `from` of its messages). */
  bot() {
    return { id: Number(this.token.split(':')[0]), is_bot: true, first_name: 'Conveyor Test Bot', username: 'conveyor_test_bot' };
  }
}

function checkKeyboard(markup: unknown): string | null {
  if (markup === undefined) return null;
  const rows = (markup as { inline_keyboard?: unknown })?.inline_keyboard;
  if (!Array.isArray(rows) || rows.some((r) => !Array.isArray(r))) return 'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays';
  for (const row of rows as Array<Array<Record<string, unknown>>>) {
    for (const b of row) {
      if (typeof b?.text !== 'string' || !b.text) return 'can\'t parse inline keyboard button: Field "text" must be of type String';
      if (b.callback_data === undefined && b.url === undefined) return 'can\'t parse inline keyboard button: Text buttons are unallowed in the inline keyboard';
      if (typeof b.callback_data === 'string' && Buffer.byteLength(b.callback_data) > 64) return 'BUTTON_DATA_INVALID';
    }
  }
  return null;
}

function parseBody(raw: string, type: string | undefined): Record<string, unknown> {
  if (!raw) return {};
  if (/json/i.test(type ?? '')) return (safeParse(raw) as Record<string, unknown>) ?? {};
  return Object.fromEntries(new URLSearchParams(raw));
}

function json(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, JSON.stringify(body), 'application/json');
}

function send(res: ServerResponse, status: number, body: string, type: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}
