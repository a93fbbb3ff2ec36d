import { createHash } from 'node:crypto';
import { HttpFailure, type HttpClient, type HttpResponse } from '../../util/http-client.ts';
import { keptResponse, maskHeaders, maskKnown, maskUrl, maskValue } from '../../util/mask-secrets.ts';
import type { Pace } from '../connector.ts';
import { ServiceFailure, type Exchange } from '../service-failure.ts';
import { pauseFromHeaders, pipedriveFailure } from './pipedrive-errors.ts';

/** Pipedrive allows 20 requests per 2-second window on the smallest plan: 10/s, a burst of 20. */
export const PIPEDRIVE_PACE: Pace = { perSecond: 10, burst: 20 };
export const PIPEDRIVE_API_URL = 'https://api.pipedrive.com';

/** A node making several calls (upsert) waits out a short pause itself; a longer one is a retry. */
const MAX_INLINE_WAIT_MS = 3000;

export interface PipedriveClientOptions {
  timeoutMs: number;
  /** Pipedrive's headers say to hold back (window or day used up): pause the connection for `ms`. */
  onPause?(ms: number): void;
  now?(): number;
}

export interface PipedriveAnswer<T = Record<string, unknown>> {
  data: T;
  additional?: Record<string, unknown>;
  exchange: Exchange;
}

export type Query = Record<string, string | number | boolean | undefined>;

/**
 * Pipedrive REST calls with answers classified and exchanges masked. v2 endpoints get the token in
 * the `x-api-token` header; v1 ones (leads) only take `?api_token=`, which is masked in history.
 */
export class PipedriveClient {
  private readonly token: string;
  readonly base: string;
  private readonly now: () => number;
  private pausedUntil = 0;

  constructor(private readonly http: HttpClient, settings: Record<string, unknown>, private readonly opts: PipedriveClientOptions) {
    this.token = String(settings.api_token ?? '');
    this.base = String(settings.api_url ?? PIPEDRIVE_API_URL).replace(/\/+$/, '');
    this.now = opts.now ?? Date.now;
  }

  /** Names the account (base URL and a hash of the token) for in-memory state shared across calls. */
  get account(): string {
    return `${this.base}|${createHash('sha256').update(this.token).digest('hex').slice(0, 16)}`;
  }

  get<T>(path: string, query: Query = {}): Promise<PipedriveAnswer<T>> {
    return this.call<T>('GET', path, query);
  }

  post<T>(path: string, body: Record<string, unknown>): Promise<PipedriveAnswer<T>> {
    return this.call<T>('POST', path, {}, body);
  }

  patch<T>(path: string, body: Record<string, unknown>): Promise<PipedriveAnswer<T>> {
    return this.call<T>('PATCH', path, {}, body);
  }

  async call<T>(method: string, path: string, query: Query = {}, body?: Record<string, unknown>): Promise<PipedriveAnswer<T>> {
    if (!this.token) throw new ServiceFailure('fail', 'the connection has no api_token', { code: 'no_token' });
    const wait = this.pausedUntil - this.now();
    if (wait > MAX_INLINE_WAIT_MS) {
      throw new ServiceFailure('retry', `Pipedrive asked to wait ${Math.ceil(wait / 1000)} s before the next request`, { code: 'paced', retryAfterMs: wait });
    }
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const url = new URL(`${this.base}${path}`);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (path.startsWith('/api/v1/')) url.searchParams.set('api_token', this.token);
    else headers['x-api-token'] = this.token;
    if (body) headers['content-type'] = 'application/json';
    const request: Exchange['request'] = {
      method, url: this.hide(maskUrl(url.toString())), headers: maskHeaders(headers), ...(body && { body: maskValue(body) }),
    };
    let res: HttpResponse;
    try {
      res = await this.http.request({ method, url: url.toString(), headers, body: body && JSON.stringify(body), timeoutMs: this.opts.timeoutMs });
    } catch (e) {
      const kind = e instanceof HttpFailure ? e.kind : 'network';
      throw new ServiceFailure('retry', `${kind}: ${this.hide((e as Error).message)}`, { code: kind, exchange: { request } });
    }
    const exchange: Exchange = { request, response: keptResponse(res, [this.token, encodeURIComponent(this.token)]) };
    const now = this.now();
    // A 429 pauses the connection through its ServiceFailure (slowDown); any other answer may still
    // say the window or the day is used up, so the next calls wait instead of collecting 429s.
    if (res.status !== 429) {
      const pause = pauseFromHeaders(res.headers, now);
      if (pause !== undefined) {
        this.pausedUntil = now + pause;
        this.opts.onPause?.(pause);
      }
    }
    const j = res.json as { success?: boolean; data?: unknown; additional_data?: Record<string, unknown> } | undefined;
    if (res.status >= 200 && res.status < 300 && j && j.success !== false && 'data' in j) {
      return { data: j.data as T, additional: j.additional_data ?? undefined, exchange };
    }
    const f = pipedriveFailure(res, exchange, now);
    throw new ServiceFailure(f.failure, this.hide(f.message), f.opts);
  }

  /** The token wherever it shows up (an echoed URL, an error message). */
  private hide(text: string): string {
    return maskKnown(text, [this.token, encodeURIComponent(this.token)]);
  }
}
