import { HttpFailure, type HttpClient, type HttpResponse } from '../../util/http-client.ts';
import { keepText, maskKnown, maskUrl, maskValue } from '../../util/mask-secrets.ts';
import type { Connection, ConnectionAccess, Pace } from '../connector.ts';
import { ServiceFailure, type Exchange } from '../service-failure.ts';
import { responseFailure } from './bitrix24-errors.ts';
import { refreshTokens } from './bitrix24-oauth.ts';

export { BITRIX24_OAUTH_URL } from './bitrix24-oauth.ts';

/** Bitrix24's leaky bucket: about 2 requests/s sustained per portal and caller, a burst of about 50. */
export const BITRIX24_PACE: Pace = { perSecond: 2, burst: 50 };
export const CONNECTOR = 'bitrix24';

const KEEP_JSON = 16_384; // characters of a JSON answer (a list page can hold 50 full records)

export interface Bitrix24Answer<T = unknown> {
  result: T;
  /** Lists: how many match, and the `start` of the next page (absent on the last page). */
  total?: number;
  next?: number;
  exchange: Exchange;
}

export interface Bitrix24ClientOptions {
  http: HttpClient;
  connection: Connection;
  /** Where refreshed OAuth tokens are saved. */
  connections: ConnectionAccess;
  timeoutMs: number;
}

/**
 * Bitrix24 REST calls through an incoming webhook (`webhook_url`, the secret code in the path) or an
 * OAuth app (`portal_url` + tokens, `?auth=` on each call). An expired access token is refreshed,
 * saved to the connection, and the call retried once. Exchanges keep no secret in clear.
 */
export class Bitrix24Client {
  private settings: Record<string, unknown>;

  constructor(private readonly opts: Bitrix24ClientOptions) {
    this.settings = opts.connection.settings;
  }

  get usesWebhook(): boolean {
    return typeof this.settings.webhook_url === 'string' && this.settings.webhook_url !== '';
  }

  /** `method` with `params` → Bitrix24's `result`; throws a classified ServiceFailure. */
  async call<T = unknown>(method: string, params: Record<string, unknown> = {}): Promise<Bitrix24Answer<T>> {
    try {
      return await this.attempt<T>(method, params);
    } catch (e) {
      if (!(e instanceof ServiceFailure) || e.failure !== 'refresh') throw e;
      if (this.usesWebhook) throw new ServiceFailure('fail', e.message, e.opts);
      await this.refresh(String(this.settings.access_token ?? ''));
      try {
        return await this.attempt<T>(method, params);
      } catch (again) {
        if (again instanceof ServiceFailure && again.failure === 'refresh') {
          throw new ServiceFailure('fail', `the access token was just refreshed and Bitrix24 still says: ${again.message}`, again.opts);
        }
        throw again;
      }
    }
  }

  /** The base every method is appended to: `https://portal/rest/1/code/` or `https://portal/rest/`. */
  private base(): string {
    if (this.usesWebhook) {
      const url = String(this.settings.webhook_url).trim();
      // People paste the sample call Bitrix24 shows (…/rest/1/code/profile.json): keep up to the code.
      const m = /^(.*?\/rest\/\d+\/[^/]+)(\/|$)/.exec(url);
      return `${m ? m[1] : url.replace(/\/+$/, '')}/`;
    }
    const portal = String(this.settings.portal_url ?? '').trim().replace(/\/+$/, '').replace(/\/rest$/, '');
    if (!portal) throw new ServiceFailure('fail', 'the connection needs webhook_url, or portal_url with OAuth tokens', { code: 'no_portal' });
    return `${portal}/rest/`;
  }

  private async attempt<T>(method: string, params: Record<string, unknown>): Promise<Bitrix24Answer<T>> {
    const url = new URL(`${this.base()}${method}.json`);
    if (!this.usesWebhook) {
      if (!this.settings.access_token) throw new ServiceFailure('fail', 'the connection has no access_token', { code: 'no_token' });
      url.searchParams.set('auth', String(this.settings.access_token));
    }
    const headers = { 'content-type': 'application/json', accept: 'application/json' };
    const request: Exchange['request'] = { method: 'POST', url: this.hide(maskUrl(url.toString())), headers, body: this.maskBody(params) };
    let res: HttpResponse;
    try {
      res = await this.opts.http.request({ method: 'POST', url: url.toString(), headers, body: JSON.stringify(params), timeoutMs: this.opts.timeoutMs });
    } catch (e) {
      const kind = e instanceof HttpFailure ? e.kind : 'network';
      throw new ServiceFailure('retry', `${kind}: ${this.hide((e as Error).message)}`, { code: kind, exchange: { request } });
    }
    const exchange: Exchange = { request, response: { status: res.status, body: this.responseBody(res), durationMs: Math.round(res.durationMs) } };
    const j = res.json as { result?: unknown; error?: unknown; total?: number; next?: number } | undefined;
    if (res.status >= 200 && res.status < 300 && j && typeof j === 'object' && 'result' in j && j.error === undefined) {
      return { result: j.result as T, exchange, ...(typeof j.total === 'number' && { total: j.total }), ...(typeof j.next === 'number' && { next: j.next }) };
    }
    const f = responseFailure(res, exchange);
    throw new ServiceFailure(f.failure, this.hide(f.message), f.opts);
  }

  /**
   * Gets new tokens with the refresh token and saves them. When another call already refreshed
   * (the connection holds a newer access token than the one refused), that one is used instead.
   */
  private async refresh(refused: string): Promise<void> {
    const { connection, connections } = this.opts;
    const current = connections.get(CONNECTOR, connection.name).settings;
    if (current.access_token && current.access_token !== refused) {
      this.settings = current;
      return;
    }
    const tokens = await refreshTokens(this.opts.http, current, this.opts.timeoutMs, (t) => this.hide(t));
    // Tasks sharing this refresh get the same pair: the first one saves it.
    const saved = connections.get(CONNECTOR, connection.name).settings;
    if (saved.access_token !== tokens.access_token || saved.refresh_token !== tokens.refresh_token) {
      try {
        await connections.update(CONNECTOR, connection.name, { ...tokens });
      } catch (e) {
        // Bitrix24 already retired the old refresh token; the new pair stays cached in memory for the retry.
        throw new ServiceFailure('retry', `could not save the refreshed Bitrix24 token: ${this.hide((e as Error).message)}`, { code: 'token_not_saved' });
      }
    }
    this.settings = { ...connections.get(CONNECTOR, connection.name).settings, ...tokens };
  }

  private maskBody(params: Record<string, unknown>): unknown {
    return maskValue(JSON.parse(this.hide(JSON.stringify(params))));
  }

  private responseBody(res: HttpResponse): unknown {
    if (res.json !== undefined) {
      const json = this.hide(JSON.stringify(res.json));
      if (json.length <= KEEP_JSON) return maskValue(JSON.parse(json));
      return `${JSON.stringify(maskValue(JSON.parse(json))).slice(0, KEEP_JSON)}… (${json.length} chars)`;
    }
    const text = this.hide(res.body);
    return keepText(text);
  }

  /** Every credential of the connection, wherever it shows up (an echoed URL, an error message). */
  private hide(text: string): string {
    const s = this.settings;
    const secrets = [s.access_token, s.refresh_token, s.client_secret, webhookCode(s.webhook_url)]
      .filter((v): v is string => typeof v === 'string' && v !== '');
    return maskKnown(text, [...secrets, ...secrets.map(encodeURIComponent)]);
  }
}

/** The secret part of an incoming webhook URL: `/rest/{user_id}/{code}/`. */
export function webhookCode(url: unknown): string | undefined {
  if (typeof url !== 'string') return undefined;
  return /\/rest\/\d+\/([^/?#]+)/.exec(url)?.[1];
}
