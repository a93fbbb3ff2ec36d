import { Agent, request } from 'undici';
import { HttpFailure, type HttpClient, type HttpRequest, type HttpResponse } from '../../util/http-client.ts';
import { ServiceFailure } from '../service-failure.ts';
import { TelegramClient } from './telegram-client.ts';
import type { TelegramUpdate } from './telegram-updates.ts';
import { deleteWebhook, FUNNEL_UPDATES } from './telegram-webhook.ts';

export interface TelegramPollerOptions {
  /** The connection's settings: `bot_token`, optional `api_url`. */
  settings: Record<string, unknown>;
  /**
   * Stores a batch durably. The batch is acknowledged to Telegram (the offset moves past it) only
   * after this resolves; when it throws, the same updates come again after a back-off. Do not await
   * `stop()` in here: stop waits for this to finish.
   */
  onUpdates(updates: TelegramUpdate[]): Promise<void>;
  /** The first update_id not yet stored, as last saved; without it Telegram starts at its oldest unconfirmed update. */
  offset?: number;
  /** Keeps the offset across restarts; called after each stored batch. */
  saveOffset?(offset: number): Promise<void>;
  /** Default: the kinds funnels react to (FUNNEL_UPDATES). */
  allowedUpdates?: readonly string[];
  /** Seconds Telegram holds an empty getUpdates open (default 25). */
  timeoutSeconds?: number;
  limit?: number;
  /** On 409 "webhook is active": delete the webhook and poll (default: stop with an error). */
  deleteWebhookOnConflict?: boolean;
  /** Waits after failures: `firstMs` doubling up to `maxMs` (default 1 s to 30 s). */
  backoff?: { firstMs: number; maxMs: number };
  /** A failure the poller rides out (network, 5xx, 429, a throwing onUpdates), and how long it waits. */
  onError?(error: Error, retryInMs: number): void;
  /** Something worth a log line that is not a failure (the webhook was deleted). */
  onInfo?(message: string): void;
}

/** Why the poller gave up: it cannot go on without someone changing the bot or its setup. */
export class TelegramPollerError extends Error {
  override name = 'TelegramPollerError';
  constructor(readonly code: 'unauthorized' | 'webhook_active' | 'other_poller' | 'rejected', message: string) {
    super(message);
  }
}

/**
 * Long polling for a machine without a public URL: `getUpdates` in a loop, each batch handed to
 * `onUpdates` and acknowledged only once stored. Telegram keeps an update until a later getUpdates
 * names an offset past it, so a crash between receiving and storing loses nothing: the batch comes
 * again (duplicates are possible; `telegram:<update_id>` identifies them).
 */
export class TelegramPoller {
  private readonly http = new LongPollHttp();
  private readonly client: TelegramClient;
  private offset: number | undefined;
  private stopped = true;
  private running: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private failures = 0;

  constructor(private readonly opts: TelegramPollerOptions) {
    this.client = new TelegramClient(this.http, opts.settings);
    this.offset = opts.offset;
  }

  /** The next getUpdates offset: the first update not yet stored. */
  get currentOffset(): number | undefined {
    return this.offset;
  }

  /** Starts polling; resolves when stopped, rejects with TelegramPollerError when it gives up. */
  start(): Promise<void> {
    // Started again while a stop is still winding down: start afresh once it is over.
    if (this.running && this.stopped) return this.running.catch(() => undefined).then(() => this.start());
    if (this.running) return this.running;
    this.stopped = false;
    this.http.open();
    this.running = this.loop().finally(async () => {
      this.stopped = true;
      await this.http.close();
      this.running = null;
    });
    return this.running;
  }

  /**
   * Ends the held getUpdates at once (the request is aborted, nothing in it is acknowledged) and
   * resolves when the loop is over. A batch being stored is let finish and its offset saved.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.http.abort();
    this.wake?.();
    await this.running?.catch(() => undefined);
  }

  private async loop(): Promise<void> {
    const timeout = this.opts.timeoutSeconds ?? 25;
    while (!this.stopped) {
      let updates: TelegramUpdate[];
      try {
        const { result } = await this.client.call('getUpdates', {
          ...(this.offset !== undefined && { offset: this.offset }),
          limit: this.opts.limit ?? 100,
          timeout,
          allowed_updates: [...(this.opts.allowedUpdates ?? FUNNEL_UPDATES)],
        }, timeout * 1000 + 15_000); // Telegram answers by `timeout`; the margin is for a slow network
        if (!Array.isArray(result)) throw new ServiceFailure('retry', 'getUpdates answered without a list of updates');
        updates = result as TelegramUpdate[];
      } catch (e) {
        if (this.stopped) return;
        await this.handleFailure(e);
        continue;
      }
      if (updates.length > 0 && !(await this.store(updates))) continue;
      this.failures = 0;
    }
  }

  /** Hands a batch over and moves the offset past it; false when the batch is to come again. */
  private async store(updates: TelegramUpdate[]): Promise<boolean> {
    try {
      await this.opts.onUpdates(updates);
    } catch (e) {
      if (this.stopped) return false;
      await this.pause(this.nextBackoff(), e as Error);
      return false;
    }
    const ids = updates.map((u) => u.update_id).filter((id) => Number.isSafeInteger(id));
    if (ids.length === 0) return true;
    this.offset = Math.max(...ids) + 1;
    try {
      await this.opts.saveOffset?.(this.offset);
    } catch (e) {
      // The batch is stored, so acknowledging it is safe; after a restart from an older saved offset
      // Telegram has already dropped what we confirmed, or sends duplicates that the event ids catch.
      this.opts.onError?.(e as Error, 0);
    }
    return true;
  }

  private async handleFailure(e: unknown): Promise<void> {
    if (!(e instanceof ServiceFailure)) return this.pause(this.nextBackoff(), e as Error);
    const code = e.opts.code;
    if (code === 409) {
      if (/webhook/i.test(e.message)) {
        if (!this.opts.deleteWebhookOnConflict) {
          throw new TelegramPollerError('webhook_active', `a webhook is set for this bot, so getUpdates is refused (${e.message}); delete it, or let the poller do so with deleteWebhookOnConflict`);
        }
        try {
          await deleteWebhook(this.client); // updates queued for the webhook stay and come to getUpdates
          this.opts.onInfo?.('the bot had a webhook; it was deleted to poll for updates');
        } catch (d) {
          if (!this.stopped) await this.pause(this.nextBackoff(), d as Error);
        }
        return;
      }
      throw new TelegramPollerError('other_poller', `another process is polling this bot (${e.message}); only one may`);
    }
    // Only Telegram's own JSON 401 is a bad token; a bare 401 from a front that is down is ridden out.
    if (code === 401 && e.failure === 'fail') {
      throw new TelegramPollerError('unauthorized', `Telegram refused the bot token (${e.message}): it is wrong or was revoked`);
    }
    if (e.failure === 'fail' || e.failure === 'unreachable') {
      throw new TelegramPollerError('rejected', `Telegram refused getUpdates: ${e.message}`);
    }
    // 429 says when to come back; network errors, timeouts and 5xx back off.
    await this.pause(e.opts.retryAfterMs ?? this.nextBackoff(), e);
  }

  private nextBackoff(): number {
    const { firstMs, maxMs } = this.opts.backoff ?? { firstMs: 1000, maxMs: 30_000 };
    const ms = Math.min(firstMs * 2 ** Math.min(this.failures, 30), maxMs);
    this.failures += 1;
    return ms;
  }

  /** Reports the failure and waits, cut short by stop(). */
  private pause(ms: number, error: Error): Promise<void> {
    this.opts.onError?.(error, ms);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}

/**
 * The poller's own HTTP: one small pool and a request stop() can abort. The shared HttpClient has no
 * way to cancel, and a long poll left open would hold a pooled connection (and a closing pool) for
 * up to `timeout` seconds after stop.
 */
class LongPollHttp implements HttpClient {
  private agent: Agent | null = null;
  private stopped = false;
  private readonly inFlight = new Set<AbortController>();

  async request(req: HttpRequest): Promise<HttpResponse> {
    const agent = this.agent;
    if (this.stopped || !agent) throw new HttpFailure('network', 'the poller was stopped');
    const started = performance.now();
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), req.timeoutMs);
    this.inFlight.add(ctl);
    try {
      const res = await request(req.url, {
        method: 'POST', headers: req.headers, body: req.body, dispatcher: agent, signal: ctl.signal,
        headersTimeout: req.timeoutMs + 1000, bodyTimeout: req.timeoutMs + 1000,
      });
      const body = await res.body.text();
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : String(v);
      return { status: res.statusCode, headers, body, json: parse(body), durationMs: performance.now() - started };
    } catch (e) {
      if (this.stopped) throw new HttpFailure('network', 'the poller was stopped');
      if (ctl.signal.aborted) throw new HttpFailure('timeout', `no complete answer within ${req.timeoutMs} ms`);
      const err = e as Error & { code?: string };
      throw new HttpFailure('network', err.code ? `${err.code}: ${err.message}` : err.message);
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(ctl);
    }
  }

  open(): void {
    this.stopped = false;
    this.agent ??= new Agent({ connections: 2, keepAliveTimeout: 30_000 });
  }

  /** Cuts every request in flight (its connection closes, so Telegram drops the held poll) and refuses new ones. */
  abort(): void {
    this.stopped = true;
    for (const c of this.inFlight) c.abort();
  }

  /** Closes the pool's idle connections once the loop is over. */
  async close(): Promise<void> {
    const agent = this.agent;
    this.agent = null;
    await agent?.destroy().catch(() => undefined);
  }
}

function parse(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}
