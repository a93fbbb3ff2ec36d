import { HttpFailure, type HttpClient, type HttpResponse } from '../../util/http-client.ts';
import { keepText, maskKnown, maskUrl, maskValue } from '../../util/mask-secrets.ts';
import { ServiceFailure, type Exchange, type FailureClass } from '../service-failure.ts';

export const VOXIMPLANT_API_URL = 'https://api.voximplant.com';


/**
 * HTTP API error codes (`{"error": {"code", "msg"}}`) that will not pass by waiting: credentials,
 * account state, and a request the API cannot take (wrong rule, missing field). Everything else —
 * internal, media, billing and call-service errors, "try later", concurrency limits — is retried.
 */
const WILL_NOT_PASS: Record<number, string> = {
  100: 'authorization failed (account_id / api_key)',
  101: 'invalid arguments',
  102: 'missing cmd',
  103: 'unknown command',
  104: 'forbidden command (the key may not start scenarios)',
  115: 'invalid account_id',
  127: 'insufficient money on the account',
  131: 'account not activated',
  134: 'a required parameter is empty',
  147: 'invalid rule_id',
};
/** Too many requests or concurrent sessions: the whole connection waits. */
const SLOW_DOWN = new Set([314, 429]);

export interface StartedScenario {
  callSessionHistoryId: number | string;
  exchange: Exchange;
}

/** VoxImplant HTTP API with the account's api_key; exchanges keep neither the key nor `hide` values. */
export class VoximplantClient {
  private readonly base: string;
  private readonly apiKey: string;

  constructor(private readonly http: HttpClient, private readonly settings: Record<string, unknown>) {
    this.base = String(settings.api_url ?? VOXIMPLANT_API_URL).replace(/\/+$/, '');
    this.apiKey = String(settings.api_key ?? '');
  }

  /**
   * Starts the scenario bound to `ruleId` with `customData` (read in VoxEngine by `VoxEngine.customData()`).
   * `hide` lists values to mask in the kept exchange besides the key (the callback token).
   */
  async startScenarios(ruleId: string, customData: string, timeoutMs: number, hide: string[] = []): Promise<StartedScenario> {
    const secrets = [this.apiKey, ...hide];
    const mask = (text: string) => maskKnown(text, secrets);
    const form = { account_id: String(this.settings.account_id ?? ''), api_key: this.apiKey, rule_id: ruleId, script_custom_data: customData };
    const url = `${this.base}/platform_api/StartScenarios/`;
    const headers = { 'content-type': 'application/x-www-form-urlencoded' };
    const request: Exchange['request'] = { method: 'POST', url: maskUrl(url), headers, body: maskValue({ ...form, script_custom_data: mask(customData) }) };
    let res: HttpResponse;
    try {
      res = await this.http.request({ method: 'POST', url, headers, body: new URLSearchParams(form).toString(), timeoutMs });
    } catch (e) {
      const kind = e instanceof HttpFailure ? e.kind : 'network';
      throw new ServiceFailure('retry', `${kind}: ${mask((e as Error).message)}`, { code: kind, exchange: { request } });
    }
    const exchange: Exchange = { request, response: { status: res.status, body: responseBody(res, mask), durationMs: Math.round(res.durationMs) } };
    const j = res.json as { result?: unknown; call_session_history_id?: number | string; error?: { code?: unknown; msg?: unknown } } | undefined;
    if (j && typeof j === 'object' && j.error) throw apiFailure(j.error, exchange, mask);
    if (res.status === 429) throw new ServiceFailure('retry', 'VoxImplant: too many requests', { code: 429, slowDown: true, exchange });
    if (res.status >= 500) throw new ServiceFailure('retry', `VoxImplant answered HTTP ${res.status}`, { code: res.status, exchange });
    if (res.status < 300 && j && j.result && j.call_session_history_id !== undefined) {
      return { callSessionHistoryId: j.call_session_history_id, exchange };
    }
    // No API answer: a front that is down (401/403 page, empty 200) may pass later; a wrong api_url will not.
    const passes = res.status < 300 || res.status === 401 || res.status === 403;
    throw new ServiceFailure(passes ? 'retry' : 'fail', `VoxImplant answered HTTP ${res.status} without a StartScenarios result`, { code: res.status, exchange });
  }
}

function apiFailure(error: { code?: unknown; msg?: unknown }, exchange: Exchange, mask: (s: string) => string): ServiceFailure {
  const code = Number(error.code);
  const said = mask(String(error.msg ?? 'error'));
  const why = WILL_NOT_PASS[code];
  const failure: FailureClass = why ? 'fail' : 'retry';
  return new ServiceFailure(failure, `VoxImplant ${Number.isFinite(code) ? code : '?'}: ${said}`, {
    code: Number.isFinite(code) ? code : String(error.code), slowDown: SLOW_DOWN.has(code) || undefined, exchange,
  });
}

/** The response as kept: JSON masked (the media session URLs can control the live call), text cut. */
function responseBody(res: HttpResponse, mask: (s: string) => string): unknown {
  if (res.json !== undefined) {
    const body = maskValue(JSON.parse(mask(JSON.stringify(res.json)))) as Record<string, unknown>;
    if (body && typeof body === 'object') {
      for (const k of ['media_session_access_url', 'media_session_access_secure_url']) if (k in body) body[k] = '***';
    }
    return body;
  }
  const text = mask(res.body);
  return keepText(text);
}
