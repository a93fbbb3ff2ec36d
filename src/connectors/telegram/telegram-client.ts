import { HttpFailure, type HttpClient, type HttpResponse } from '../../util/http-client.ts';
import { keptResponse, maskKnown, maskUrl, maskValue } from '../../util/mask-secrets.ts';
import type { Pace } from '../connector.ts';
import { ServiceFailure, type Exchange } from '../service-failure.ts';
import { telegramFailure } from './telegram-errors.ts';

/** About 30 messages/s for a bot in total (Telegram's broadcast limit). */
export const TELEGRAM_PACE: Pace = { perSecond: 30, burst: 30 };
export const TELEGRAM_API_URL = 'https://api.telegram.org';


/**
 * Spaces messages to one chat: Telegram allows about one a second per chat, and a burst to one chat
 * ends in 429s that pause the whole bot. Slots live in memory; a send waits for its slot when it is
 * at most `maxWaitMs` away, else it is handed back as a retry for when the slot frees.
 */
export class ChatSpacer {
  private readonly nextAt = new Map<string, number>();
  constructor(readonly intervalMs = 1000, readonly maxWaitMs = 1000, private readonly clock: () => number = Date.now) {}

  /** Reserves the chat's next slot: ms to wait for it, or null with `busyForMs` when the chat is booked too far. */
  reserve(chat: string): { waitMs: number } | { waitMs: null; busyForMs: number } {
    const now = this.clock();
    const at = Math.max(now, this.nextAt.get(chat) ?? 0);
    if (at - now > this.maxWaitMs) return { waitMs: null, busyForMs: at - now - this.maxWaitMs };
    this.nextAt.set(chat, at + this.intervalMs);
    if (this.nextAt.size > 10_000) for (const [k, t] of this.nextAt) if (t < now) this.nextAt.delete(k);
    return { waitMs: at - now };
  }
}

/** One spacer for the process: every connection sending as the same bot shares its chats' slots. */
export const chatSpacer = new ChatSpacer();

export interface TelegramSettings {
  bot_token: string;
  api_url?: string;
}

/** Bot API calls with answers classified and exchanges masked (the token sits in the URL path). */
export class TelegramClient {
  private readonly token: string;
  private readonly base: string;

  constructor(private readonly http: HttpClient, settings: Record<string, unknown>, private readonly spacer = chatSpacer) {
    this.token = String(settings.bot_token ?? '');
    this.base = String(settings.api_url ?? TELEGRAM_API_URL).replace(/\/+$/, '');
  }

  /** The bot's own id (the token's part before ':'): not secret, keys the per-chat spacing. */
  get botId(): string {
    return this.token.split(':')[0] ?? '';
  }

  /** `sendMessage` in the chat's turn; resolves to Telegram's `result` (a Message). */
  async sendMessage(body: Record<string, unknown>, timeoutMs: number): Promise<{ result: Record<string, unknown>; exchange: Exchange }> {
    return this.sendToChat('sendMessage', body, timeoutMs);
  }

  /** A send method (sendMessage, sendPhoto, sendDocument, sendVideo) in the chat's turn: all share its slots. */
  async sendToChat(method: string, body: Record<string, unknown>, timeoutMs: number): Promise<{ result: Record<string, unknown>; exchange: Exchange }> {
    const slot = this.spacer.reserve(`${this.botId}:${String(body.chat_id)}`);
    if (slot.waitMs === null) {
      throw new ServiceFailure('retry', 'too many messages to this chat at once (about 1 a second is allowed)', {
        code: 'chat_pace', retryAfterMs: slot.busyForMs + 100,
      });
    }
    if (slot.waitMs > 0) await new Promise((r) => setTimeout(r, slot.waitMs));
    return this.call(method, body, timeoutMs);
  }

  async call(method: string, body: Record<string, unknown>, timeoutMs: number): Promise<{ result: Record<string, unknown>; exchange: Exchange }> {
    if (!this.token) throw new ServiceFailure('fail', 'the connection has no bot_token', { code: 'no_token' });
    const url = `${this.base}/bot${this.token}/${method}`;
    const request: Exchange['request'] = {
      method: 'POST', url: this.hide(maskUrl(url)), headers: { 'content-type': 'application/json' }, body: maskValue(body),
    };
    let res: HttpResponse;
    try {
      res = await this.http.request({ method: 'POST', url, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), timeoutMs });
    } catch (e) {
      const kind = e instanceof HttpFailure ? e.kind : 'network';
      throw new ServiceFailure('retry', `${kind}: ${this.hide((e as Error).message)}`, { code: kind, exchange: { request } });
    }
    const exchange: Exchange = { request, response: keptResponse(res, [this.token]) };
    const j = res.json as { ok?: boolean; result?: unknown } | undefined;
    if (res.status >= 200 && res.status < 300 && j?.ok === true) {
      return { result: (j.result ?? {}) as Record<string, unknown>, exchange };
    }
    const f = telegramFailure(res, exchange);
    throw new ServiceFailure(f.failure, this.hide(f.message), f.opts);
  }


  /** The token wherever it shows up (an error message, an echoed URL). */
  private hide(text: string): string {
    return maskKnown(text, [this.token]);
  }
}
