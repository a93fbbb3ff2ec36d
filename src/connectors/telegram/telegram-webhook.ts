import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { TelegramClient } from './telegram-client.ts';

/** The header Telegram puts the webhook's secret_token in, on every delivery. */
export const SECRET_TOKEN_HEADER = 'x-telegram-bot-api-secret-token';

/**
 * The update kinds funnels react to (see telegram-updates.ts). Listed explicitly because an empty or
 * missing list means "Telegram's default", which leaves out chat_member and reactions and may change.
 * chat_member: joins by the bot's invite links; business_connection: the owner switching the bot off.
 */
export const FUNNEL_UPDATES = ['message', 'callback_query', 'my_chat_member', 'business_message', 'business_connection', 'chat_member'] as const;

const SECRET_TOKEN = /^[A-Za-z0-9_-]{1,256}$/;
const TIMEOUT_MS = 10_000;

export interface WebhookOptions {
  /** The HTTPS address Telegram POSTs updates to. */
  url: string;
  /** Sent back in `X-Telegram-Bot-Api-Secret-Token`: 1–256 of A–Z a–z 0–9 _ - (see webhookSecretToken). */
  secretToken: string;
  allowedUpdates?: readonly string[];
  /** Simultaneous deliveries Telegram may open, 1–100 (Telegram's default 40). */
  maxConnections?: number;
  /** Forget updates Telegram has queued so far (a bot that was down for days may not want them). */
  dropPendingUpdates?: boolean;
}

/**
 * Points the bot at our webhook. The secret token travels in the body, which TelegramClient masks
 * (its name holds "token"/"secret") before the exchange is kept anywhere.
 */
export async function setWebhook(client: TelegramClient, opts: WebhookOptions): Promise<void> {
  if (!SECRET_TOKEN.test(opts.secretToken)) {
    // Checked here too so a bad token never leaves the process inside a request that fails anyway.
    throw new Error('the webhook secret token must be 1–256 characters of A–Z a–z 0–9 _ -');
  }
  await client.call('setWebhook', {
    url: opts.url,
    secret_token: opts.secretToken,
    allowed_updates: [...(opts.allowedUpdates ?? FUNNEL_UPDATES)],
    ...(opts.maxConnections !== undefined && { max_connections: opts.maxConnections }),
    ...(opts.dropPendingUpdates !== undefined && { drop_pending_updates: opts.dropPendingUpdates }),
  }, TIMEOUT_MS);
}

/** Removes the webhook (needed before getUpdates works); queued updates stay unless dropped. */
export async function deleteWebhook(client: TelegramClient, opts: { dropPendingUpdates?: boolean } = {}): Promise<void> {
  await client.call('deleteWebhook', opts.dropPendingUpdates ? { drop_pending_updates: true } : {}, TIMEOUT_MS);
}

export interface WebhookInfo {
  url: string;
  pending_update_count: number;
  last_error_date?: number;
  last_error_message?: string;
  max_connections?: number;
  allowed_updates?: string[];
}

/** Where the bot's updates go now, how many wait, and the last delivery error Telegram saw. */
export async function getWebhookInfo(client: TelegramClient): Promise<WebhookInfo> {
  const { result } = await client.call('getWebhookInfo', {}, TIMEOUT_MS);
  return result as unknown as WebhookInfo;
}

/**
 * Whether a delivery carries the bot's secret token. Both sides are hashed first so the comparison
 * takes the same time whatever the lengths and wherever the first difference is. A missing header,
 * a repeated one, or an empty expected token never match.
 */
export function checkSecretToken(headerValue: string | string[] | undefined, expected: string): boolean {
  if (typeof headerValue !== 'string' || !expected) return false;
  const a = createHash('sha256').update(headerValue).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * The secret_token for one bot, derived from the server secret: nothing to store, stable across
 * restarts, different per bot (one bot's leaked token does not open another's webhook), and the
 * server secret cannot be recovered from it. base64url of HMAC-SHA256 is 43 characters of exactly
 * the alphabet Telegram allows.
 */
export function webhookSecretToken(serverSecret: string, botId: string): string {
  if (!serverSecret) throw new Error('a server secret is needed to derive webhook secret tokens');
  return createHmac('sha256', serverSecret).update(`telegram-webhook:${botId}`).digest('base64url');
}
