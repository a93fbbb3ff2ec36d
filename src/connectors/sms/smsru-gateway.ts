import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { HttpFailure, type HttpClient, type HttpResponse } from '../../util/http-client.ts';
import { keptResponse, maskKnown, maskUrl, maskValue } from '../../util/mask-secrets.ts';
import { ServiceFailure, type Exchange, type FailureClass } from '../service-failure.ts';
import type { SmsGateway, SmsSendOptions, SmsSent, SmsStatus } from './sms-gateway.ts';

export const SMSRU_API_URL = 'https://sms.ru';

const HOUR = 3_600_000;

interface CodeRule { failure: FailureClass; why: string; retryAfterMs?: number; slowDown?: boolean }

/**
 * SMS.ru's error codes (the same table for the whole request and for one number). Limits on one
 * number come back much later (a day's limit), so they wait an hour rather than the node's backoff;
 * the account's daily limit pauses the whole connection.
 */
const CODES: Record<number, CodeRule> = {
  [-1]: { failure: 'fail', why: 'no such message' },
  200: { failure: 'fail', why: 'wrong api_id' },
  201: { failure: 'fail', why: 'not enough money on the account' },
  202: { failure: 'unreachable', why: 'wrong recipient number, or no route to it' },
  203: { failure: 'fail', why: 'no message text' },
  204: { failure: 'fail', why: 'sender name not approved' },
  205: { failure: 'fail', why: 'message too long' },
  206: { failure: 'retry', why: 'the account\'s daily limit would be exceeded', retryAfterMs: HOUR, slowDown: true },
  207: { failure: 'unreachable', why: 'messages cannot be sent to this number' },
  208: { failure: 'fail', why: 'bad send time' },
  209: { failure: 'unreachable', why: 'the number is on the account\'s stop list' },
  210: { failure: 'fail', why: 'POST required' },
  211: { failure: 'fail', why: 'method not found' },
  212: { failure: 'fail', why: 'text must be UTF-8' },
  213: { failure: 'fail', why: 'more than 100 numbers' },
  220: { failure: 'retry', why: 'service temporarily unavailable' },
  230: { failure: 'retry', why: 'too many messages to this number today', retryAfterMs: HOUR },
  231: { failure: 'retry', why: 'too many identical messages to this number this minute', retryAfterMs: 60_000 },
  232: { failure: 'retry', why: 'too many identical messages to this number today', retryAfterMs: HOUR },
  300: { failure: 'fail', why: 'wrong token' },
  301: { failure: 'fail', why: 'wrong api_id or login/password' },
  302: { failure: 'fail', why: 'account not confirmed' },
  500: { failure: 'retry', why: 'SMS.ru server error' },
};

/** SMS.ru message statuses: 100–102 on the way, 103 delivered, 104–108 and 150 not delivered, 110 read. */
const DELIVERED = new Set([103, 110]);

/** SMS.ru's wording of a phone: digits with the country code, no "+" (79161234567). */
export function smsruPhone(to: string): string {
  const p = parsePhoneNumberFromString(to, 'RU'); // Russian sites write 8 916… as often as +7 916…
  return p?.isPossible() ? p.number.slice(1) : to.replace(/\D/g, '');
}

/** SMS.ru (`{api_url}/sms/send`, `/sms/status`, form POST with `json=1`). */
export class SmsRuGateway implements SmsGateway {
  private readonly apiId: string;
  private readonly base: string;

  constructor(private readonly http: HttpClient, settings: Record<string, unknown>) {
    this.apiId = String(settings.api_id ?? '');
    this.base = String(settings.api_url ?? SMSRU_API_URL).replace(/\/+$/, '');
  }

  async send(to: string, text: string, opts: SmsSendOptions): Promise<SmsSent> {
    const form: Record<string, string> = { api_id: this.apiId, to: smsruPhone(to), msg: text, json: '1' };
    if (opts.from) form.from = opts.from;
    if (opts.test) form.test = '1';
    const { json, exchange } = await this.post('/sms/send', form, opts.timeoutMs);
    const entry = firstEntry(json.sms);
    if (entry?.status === 'ERROR') throw this.failure(entry.status_code, entry.status_text, exchange);
    if (entry?.sms_id === undefined) throw new ServiceFailure('fail', 'SMS.ru accepted the request but returned no sms_id', { code: 'no_sms_id', exchange });
    return { smsId: String(entry.sms_id), exchange };
  }

  async status(id: string, opts: { timeoutMs: number }): Promise<SmsStatus> {
    const { json, exchange } = await this.post('/sms/status', { api_id: this.apiId, sms_id: id, json: '1' }, opts.timeoutMs);
    const sms = json.sms as Record<string, SmsEntry> | undefined;
    const entry = sms?.[id] ?? firstEntry(sms);
    if (!entry) throw new ServiceFailure('fail', 'SMS.ru returned no status for this message', { code: 'no_status', exchange });
    if (entry.status === 'ERROR') throw this.failure(entry.status_code, entry.status_text, exchange);
    const code = Number(entry.status_code);
    return { code, text: entry.status_text, delivered: DELIVERED.has(code), final: code >= 103, exchange };
  }

  /** One form POST; a top-level `"status": "ERROR"` is thrown classified. */
  private async post(path: string, form: Record<string, string>, timeoutMs: number): Promise<{ json: Record<string, unknown>; exchange: Exchange }> {
    const url = `${this.base}${path}`;
    const headers = { 'content-type': 'application/x-www-form-urlencoded' };
    const request: Exchange['request'] = { method: 'POST', url: maskUrl(url), headers, body: maskValue(form) };
    let res: HttpResponse;
    try {
      res = await this.http.request({ method: 'POST', url, headers, body: new URLSearchParams(form).toString(), timeoutMs });
    } catch (e) {
      const kind = e instanceof HttpFailure ? e.kind : 'network';
      throw new ServiceFailure('retry', `${kind}: ${this.hide((e as Error).message)}`, { code: kind, exchange: { request } });
    }
    const exchange: Exchange = { request, response: keptResponse(res, [this.apiId]) };
    const json = res.json as Record<string, unknown> | undefined;
    if (res.status === 429) throw new ServiceFailure('retry', 'SMS.ru: too many requests', { code: 429, slowDown: true, exchange });
    if (res.status >= 500) throw new ServiceFailure('retry', `SMS.ru answered HTTP ${res.status}`, { code: res.status, exchange });
    if (!json || typeof json !== 'object' || Array.isArray(json)) {
      // SMS.ru answers every request with 200 and JSON; anything else is a front that is down or a wrong api_url.
      const down = res.status < 300 || res.status === 401 || res.status === 403;
      throw new ServiceFailure(down ? 'retry' : 'fail', `SMS.ru answered HTTP ${res.status} without its JSON`, { code: res.status, exchange });
    }
    if (json.status === 'ERROR') throw this.failure(json.status_code, json.status_text, exchange);
    return { json, exchange };
  }

  private failure(code: unknown, text: unknown, exchange: Exchange): ServiceFailure {
    const n = Number(code);
    const rule = CODES[n] ?? { failure: n >= 500 ? 'retry' : 'fail', why: 'error' };
    const said = typeof text === 'string' && text ? `: ${this.hide(text)}` : '';
    return new ServiceFailure(rule.failure, `SMS.ru ${n} ${rule.why}${said}`, {
      code: Number.isFinite(n) ? n : String(code), retryAfterMs: rule.retryAfterMs, slowDown: rule.slowDown, exchange,
    });
  }


  private hide(text: string): string {
    return maskKnown(text, [this.apiId]);
  }
}

interface SmsEntry { status?: string; status_code?: number | string; status_text?: string; sms_id?: string | number }

function firstEntry(sms: unknown): SmsEntry | undefined {
  return sms && typeof sms === 'object' ? (Object.values(sms)[0] as SmsEntry | undefined) : undefined;
}
