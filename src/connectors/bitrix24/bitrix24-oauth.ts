import { createHash } from 'node:crypto';
import { HttpFailure, type HttpClient, type HttpResponse } from '../../util/http-client.ts';
import { maskUrl, maskValue } from '../../util/mask-secrets.ts';
import { ServiceFailure, type Exchange } from '../service-failure.ts';
import { isBitrix24Error } from './bitrix24-errors.ts';

export interface Bitrix24Tokens {
  access_token: string;
  refresh_token: string;
}

export const BITRIX24_OAUTH_URL = 'https://oauth.bitrix.info';

/**
 * Refreshes by refresh token, once per refresh token in this process. Bitrix24 retires a refresh token
 * when it is used, so tasks that meet `expired_token` together must share one refresh, and a pair got
 * but not yet saved must be reused rather than asked for again with the retired token.
 */
const byRefreshToken = new Map<string, Promise<Bitrix24Tokens>>();
const REMEMBERED = 1000;

export function refreshTokens(http: HttpClient, settings: Record<string, unknown>, timeoutMs: number, hide: (t: string) => string): Promise<Bitrix24Tokens> {
  const refresh = String(settings.refresh_token ?? '');
  if (!refresh) return Promise.reject(new ServiceFailure('fail', 'the access token expired and the connection has no refresh_token', { code: 'no_refresh_token' }));
  const key = createHash('sha256').update(refresh).digest('hex');
  let flight = byRefreshToken.get(key);
  if (!flight) {
    flight = requestTokens(http, settings, timeoutMs, hide);
    byRefreshToken.set(key, flight);
    // A failed refresh may be tried again later; a successful one is remembered (bounded).
    flight.catch(() => byRefreshToken.delete(key));
    if (byRefreshToken.size > REMEMBERED) byRefreshToken.delete(byRefreshToken.keys().next().value!);
  }
  return flight;
}

/** `GET {oauth_url}/oauth/token/?grant_type=refresh_token&client_id&client_secret&refresh_token`. */
async function requestTokens(http: HttpClient, settings: Record<string, unknown>, timeoutMs: number, hide: (t: string) => string): Promise<Bitrix24Tokens> {
  const base = String(settings.oauth_url || BITRIX24_OAUTH_URL).replace(/\/+$/, '');
  const url = new URL(`${base}/oauth/token/`);
  url.searchParams.set('grant_type', 'refresh_token');
  url.searchParams.set('client_id', String(settings.client_id ?? ''));
  url.searchParams.set('client_secret', String(settings.client_secret ?? ''));
  url.searchParams.set('refresh_token', String(settings.refresh_token ?? ''));
  const request: Exchange['request'] = { method: 'GET', url: hide(maskUrl(url.toString())) };
  let res: HttpResponse;
  try {
    res = await http.request({ method: 'GET', url: url.toString(), headers: { accept: 'application/json' }, timeoutMs });
  } catch (e) {
    const kind = e instanceof HttpFailure ? e.kind : 'network';
    throw new ServiceFailure('retry', `refreshing the Bitrix24 token: ${kind}: ${hide((e as Error).message)}`, { code: kind, exchange: { request } });
  }
  const body = res.json !== undefined ? maskValue(JSON.parse(hide(JSON.stringify(res.json)))) : hide(res.body).slice(0, 4096);
  const exchange: Exchange = { request, response: { status: res.status, body, durationMs: Math.round(res.durationMs) } };
  const j = res.json as Partial<Bitrix24Tokens> | undefined;
  if (res.status === 200 && typeof j?.access_token === 'string' && typeof j.refresh_token === 'string') {
    return { access_token: j.access_token, refresh_token: j.refresh_token };
  }
  if (isBitrix24Error(res.json) && res.status < 500) {
    // invalid_grant (refresh token used or older than ~28 days), invalid_client: the app must be re-authorized.
    const text = `${res.json.error}${res.json.error_description ? `: ${res.json.error_description}` : ''}`;
    throw new ServiceFailure('fail', `refreshing the Bitrix24 token was refused: ${hide(text)}`, { code: res.json.error, exchange });
  }
  throw new ServiceFailure('retry', `refreshing the Bitrix24 token: the OAuth server answered HTTP ${res.status}`, { code: res.status, exchange });
}
