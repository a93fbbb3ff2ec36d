import type { ServerResponse } from 'node:http';
import type { TelegramUpdate } from './telegram-updates.ts';
import { updateKind, type UpdateDraft } from './fake-telegram-updates.ts';

/** A Bot API answer for the fake's HTTP layer to write. */
export interface FakeAnswer { status: number; body: Record<string, unknown> }

export interface WebhookDelivery { update_id: number; attempt: number; status?: number; error?: string }

interface Webhook { url: string; secretToken?: string; maxConnections: number }
interface HeldPoll { res: ServerResponse; timer: NodeJS.Timeout; limit: number }

// Telegram's default when allowed_updates is empty or never given.
const NOT_BY_DEFAULT = new Set(['chat_member', 'message_reaction', 'message_reaction_count']);
const SECRET = /^[A-Za-z0-9_-]{1,256}$/;
const WEBHOOK_CONFLICT = "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first";
const OTHER_POLL = 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running';

const ok = (result: unknown, description?: string): FakeAnswer => ({ status: 200, body: { ok: true, result, ...(description && { description }) } });
const err = (status: number, description: string): FakeAnswer => ({ status, body: { ok: false, error_code: status, description } });

/**
 * The update side of the fake Bot API: the queue Telegram keeps for a bot (until a getUpdates offset
 * confirms an update, or a webhook answers 2xx for it), long polling, and webhook delivery with
 * redelivery on non-2xx answers.
 */
export class FakeUpdateInbox {
  /** Every webhook POST attempt and how it ended. */
  readonly deliveries: WebhookDelivery[] = [];
  /** Callback queries answered through answerCallbackQuery. */
  readonly answeredCallbacks: Array<{ callback_query_id: string; text?: string; show_alert?: boolean }> = [];
  /** getUpdates requests the client gave up on (closed the connection) while the fake held them. */
  abandonedPolls = 0;
  /** Tries per update before the fake gives up for now (it stays pending, as on Telegram). */
  webhookAttempts = 4;
  webhookRetryMs = 30;

  private queue: TelegramUpdate[] = [];
  private nextUpdateId = 700_000_001;
  private allowed: string[] = [];
  private webhook: Webhook | null = null;
  private lastError: { date: number; message: string } | null = null;
  private held: HeldPoll | null = null;
  private readonly openCallbacks = new Set<string>();
  private readonly gaveUp = new Set<number>();
  private draining: Promise<void> | null = null;
  private drainRunning = false;

  /** Updates Telegram still keeps (not confirmed by an offset, not delivered to the webhook). */
  get pending(): readonly TelegramUpdate[] {
    return this.queue;
  }

  /** Whether a getUpdates is being held open waiting for an update. */
  get polling(): boolean {
    return this.held !== null;
  }

  /**
   * Queues an update as Telegram would create it: numbered, dropped when allowed_updates excludes its
   * kind, then handed to a held getUpdates or POSTed to the webhook.
   */
  push(draft: UpdateDraft): TelegramUpdate {
    const update = { ...draft, update_id: draft.update_id ?? this.nextUpdateId++ } as TelegramUpdate;
    this.nextUpdateId = Math.max(this.nextUpdateId, update.update_id + 1);
    if (!this.allows(updateKind(update))) return update;
    const q = update.callback_query as { id?: string } | undefined;
    if (q?.id) this.openCallbacks.add(q.id);
    this.queue.push(update);
    if (this.webhook) this.kickDelivery();
    else this.answerHeld();
    return update;
  }

  /** Resolves when no webhook delivery is in progress (every pushed update delivered or given up). */
  async settled(): Promise<void> {
    while (this.draining) await this.draining;
  }

  /** Forgets a held poll (the fake's close() destroys its socket). */
  close(): void {
    if (this.held) clearTimeout(this.held.timer);
    this.held = null;
  }

  getUpdates(res: ServerResponse, p: Record<string, unknown>): FakeAnswer | null {
    if (this.webhook) return err(409, WEBHOOK_CONFLICT);
    const offset = p.offset === undefined ? undefined : Number(p.offset);
    if (offset !== undefined && Number.isFinite(offset)) {
      // A positive offset confirms everything before it; a negative one keeps only the last -offset.
      this.queue = offset >= 0 ? this.queue.filter((u) => u.update_id >= offset) : this.queue.slice(offset);
    }
    const allowed = list(p.allowed_updates);
    if (allowed) this.allowed = allowed;
    const limit = Math.min(Math.max(Number(p.limit ?? 100) || 100, 1), 100);
    const timeout = Math.max(Number(p.timeout ?? 0) || 0, 0);
    // A newer getUpdates takes over: the held one is ended the way Telegram ends it.
    if (this.held) this.endHeld(err(409, OTHER_POLL));
    if (this.queue.length > 0 || timeout === 0) return ok(this.queue.slice(0, limit));
    const held: HeldPoll = { res, limit, timer: setTimeout(() => this.endHeld(ok([])), timeout * 1000) };
    this.held = held;
    res.on('close', () => {
      if (res.writableEnded || this.held !== held) return;
      clearTimeout(held.timer);
      this.held = null;
      this.abandonedPolls += 1;
    });
    return null; // answered later
  }

  setWebhook(p: Record<string, unknown>): FakeAnswer {
    const url = String(p.url ?? '');
    if (!url) return this.deleteWebhook(p);
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return err(400, 'Bad Request: invalid webhook URL specified');
    }
    // Telegram wants HTTPS; plain HTTP is let through only to loopback, where tests listen.
    const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname);
    if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && loopback)) {
      return err(400, 'Bad Request: bad webhook: An HTTPS URL must be provided for webhook');
    }
    const secret = p.secret_token === undefined || p.secret_token === '' ? undefined : String(p.secret_token);
    if (secret !== undefined && !SECRET.test(secret)) return err(400, 'Bad Request: secret token contains unallowed characters');
    const max = p.max_connections === undefined ? 40 : Number(p.max_connections);
    if (!Number.isInteger(max) || max < 1 || max > 100) return err(400, 'Bad Request: bad max_connections specified');
    const allowed = list(p.allowed_updates);
    if (allowed) this.allowed = allowed;
    if (truthy(p.drop_pending_updates)) this.queue = [];
    this.webhook = { url, ...(secret && { secretToken: secret }), maxConnections: max };
    this.lastError = null;
    this.gaveUp.clear();
    if (this.held) this.endHeld(err(409, WEBHOOK_CONFLICT));
    this.kickDelivery();
    return ok(true, 'Webhook was set');
  }

  deleteWebhook(p: Record<string, unknown>): FakeAnswer {
    const was = this.webhook !== null;
    this.webhook = null;
    this.gaveUp.clear();
    if (truthy(p.drop_pending_updates)) this.queue = [];
    return ok(true, was ? 'Webhook was deleted' : 'Webhook is already deleted');
  }

  getWebhookInfo(): FakeAnswer {
    const w = this.webhook;
    return ok({
      url: w?.url ?? '', has_custom_certificate: false, pending_update_count: this.queue.length,
      ...(this.lastError && { last_error_date: this.lastError.date, last_error_message: this.lastError.message }),
      ...(w && { max_connections: w.maxConnections, ip_address: '127.0.0.1' }),
      ...(w && this.allowed.length > 0 && { allowed_updates: this.allowed }),
    });
  }

  answerCallbackQuery(p: Record<string, unknown>): FakeAnswer {
    const id = p.callback_query_id === undefined ? '' : String(p.callback_query_id);
    if (!id) return err(400, 'Bad Request: query_id is empty');
    // Unknown, already answered and expired queries all get this one answer from Telegram.
    if (!this.openCallbacks.delete(id)) return err(400, 'Bad Request: query is too old and response timeout expired or query ID is invalid');
    const text = p.text === undefined ? undefined : String(p.text);
    if (text !== undefined && [...text].length > 200) return err(400, 'Bad Request: MESSAGE_TOO_LONG');
    this.answeredCallbacks.push({ callback_query_id: id, ...(text !== undefined && { text }), ...(truthy(p.show_alert) && { show_alert: true }) });
    return ok(true);
  }

  private allows(kind: string): boolean {
    return this.allowed.length > 0 ? this.allowed.includes(kind) : !NOT_BY_DEFAULT.has(kind);
  }

  private answerHeld(): void {
    if (this.held && this.queue.length > 0) this.endHeld(ok(this.queue.slice(0, this.held.limit)));
  }

  private endHeld(answer: FakeAnswer): void {
    const held = this.held;
    if (!held) return;
    this.held = null;
    clearTimeout(held.timer);
    if (held.res.writable) writeAnswer(held.res, answer);
  }

  private kickDelivery(): void {
    if (this.drainRunning) return;
    this.drainRunning = true;
    this.draining = this.drain().finally(() => {
      if (!this.drainRunning) this.draining = null;
    });
  }

  /** One update at a time, in order, each tried `webhookAttempts` times; a 2xx removes it from the queue. */
  private async drain(): Promise<void> {
    try {
      for (;;) {
        const hook = this.webhook;
        const next = hook && this.queue.find((u) => !this.gaveUp.has(u.update_id));
        if (!hook || !next) return;
        if (await this.deliver(hook, next)) this.queue = this.queue.filter((u) => u !== next);
        else this.gaveUp.add(next.update_id);
      }
    } finally {
      this.drainRunning = false;
    }
  }

  private async deliver(hook: Webhook, update: TelegramUpdate): Promise<boolean> {
    for (let attempt = 1; attempt <= this.webhookAttempts && this.webhook === hook; attempt++) {
      if (attempt > 1) await new Promise((r) => setTimeout(r, this.webhookRetryMs));
      try {
        const res = await fetch(hook.url, {
          method: 'POST', body: JSON.stringify(update), signal: AbortSignal.timeout(5000),
          headers: { 'content-type': 'application/json', ...(hook.secretToken && { 'x-telegram-bot-api-secret-token': hook.secretToken }) },
        });
        await res.arrayBuffer().catch(() => undefined);
        this.deliveries.push({ update_id: update.update_id, attempt, status: res.status });
        if (res.status >= 200 && res.status < 300) return true;
        this.failed(`Wrong response from the webhook: ${res.status} ${res.statusText}`.trim());
      } catch (e) {
        const message = (e as Error).name === 'TimeoutError' ? 'Read timeout expired' : 'Connection refused';
        this.deliveries.push({ update_id: update.update_id, attempt, error: message });
        this.failed(message);
      }
    }
    return false;
  }

  private failed(message: string): void {
    this.lastError = { date: Math.floor(Date.now() / 1000), message };
  }
}

export function writeAnswer(res: ServerResponse, a: FakeAnswer): void {
  const body = JSON.stringify(a.body);
  res.writeHead(a.status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}

/** allowed_updates arrive as a JSON array, or a JSON string of one in form/query parameters. */
function list(v: unknown): string[] | null {
  const value = typeof v === 'string' ? safeParse(v) : v;
  return Array.isArray(value) ? value.map(String) : null;
}

/** JSON.parse, or undefined for text that is not JSON. */
export function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A flag as JSON (true) or as form/query text ('true'). */
export function truthy(v: unknown): boolean {
  return v === true || v === 'true';
}
