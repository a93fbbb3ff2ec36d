import type { HttpResponse } from '../../util/http-client.ts';
import { ServiceFailure, type Exchange } from '../service-failure.ts';

/** Telegram's error answer: `{"ok": false, "error_code", "description", "parameters": {"retry_after"}}`. */
export interface TelegramError {
  ok: false;
  error_code: number;
  description?: string;
  parameters?: { retry_after?: number; migrate_to_chat_id?: number };
}

// 403s that mean this person (or chat) cannot get messages from the bot, not that the bot is wrong.
const UNREACHABLE_403 = [
  'bot was blocked by the user',
  'user is deactivated',
  'bot was kicked from',
  "bot can't initiate conversation with a user",
  'bot is not a member of the',
];
// 400s that name a chat the bot cannot see: a wrong or deleted id is a contact we cannot reach.
const UNREACHABLE_400 = ['chat not found', 'user not found', 'peer_id_invalid'];

export function isTelegramError(json: unknown): json is TelegramError {
  const j = json as Partial<TelegramError> | undefined;
  return !!j && typeof j === 'object' && j.ok === false && typeof j.error_code === 'number';
}

/**
 * A failed Bot API answer → a classified ServiceFailure. Only Telegram's own JSON is trusted to say
 * "will not pass": an HTML page or an empty body (a proxy, an outage) is retried whatever its status.
 */
export function telegramFailure(res: HttpResponse, exchange: Exchange): ServiceFailure {
  const j = res.json;
  if (!isTelegramError(j)) {
    return new ServiceFailure('retry', `Telegram answered HTTP ${res.status} without a Bot API answer`, { code: res.status, exchange });
  }
  const code = j.error_code;
  const text = j.description ?? `error ${code}`;
  const lower = text.toLowerCase();
  const opts = { code, exchange };
  if (code === 429) {
    const s = Number(j.parameters?.retry_after);
    return new ServiceFailure('retry', text, { ...opts, retryAfterMs: Number.isFinite(s) && s >= 0 ? s * 1000 : undefined, slowDown: true });
  }
  if (code === 403 && UNREACHABLE_403.some((p) => lower.includes(p))) return new ServiceFailure('unreachable', text, opts);
  if (code === 400 && UNREACHABLE_400.some((p) => lower.includes(p))) return new ServiceFailure('unreachable', text, opts);
  if (code >= 500) return new ServiceFailure('retry', text, opts);
  // 400 bad request, 401 bad token, 403 other, 404 bad method or token, 409 conflict: will not pass.
  return new ServiceFailure('fail', text, opts);
}
