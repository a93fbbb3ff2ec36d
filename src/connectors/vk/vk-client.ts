import { HttpFailure, type HttpClient, type HttpResponse } from '../../util/http-client.ts';
import { keptResponse, maskKnown, maskUrl, maskValue } from '../../util/mask-secrets.ts';
import type { Pace } from '../connector.ts';
import { ServiceFailure, type Exchange } from '../service-failure.ts';
import { vkFailure } from './vk-errors.ts';

export const VK_API_URL = 'https://api.vk.com';
export const VK_API_VERSION = '5.199';
/** A community token may make about 20 requests a second. */
export const VK_PACE: Pace = { perSecond: 20, burst: 20 };

const FORM = 'application/x-www-form-urlencoded';

/**
 * VK API calls: `POST {api_url}/method/{method}` form-encoded with `access_token` and `v`; answers are
 * classified (vk-errors.ts) and exchanges kept with the token masked. The token travels in the body,
 * never in the URL, so it stays out of proxies' access logs.
 */
export class VkClient {
  private readonly token: string;
  private readonly base: string;
  private readonly version: string;

  constructor(private readonly http: HttpClient, settings: Record<string, unknown>) {
    this.token = String(settings.access_token ?? '');
    this.base = String(settings.api_url || VK_API_URL).replace(/\/+$/, '');
    this.version = String(settings.v || VK_API_VERSION);
  }

  /** Calls `method`; resolves to VK's `response` (a number, an object or an array, as the method answers). */
  async call(method: string, params: Record<string, unknown>, timeoutMs: number): Promise<{ response: unknown; exchange: Exchange }> {
    if (!this.token) throw new ServiceFailure('fail', 'the connection has no access_token', { code: 'no_token' });
    const url = `${this.base}/method/${method}`;
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
      if (v === undefined || v === null) continue;
      // Keyboards and other structured values travel as JSON text, as VK expects.
      form.set(k, typeof v === 'object' ? JSON.stringify(v) : String(v));
    }
    form.set('access_token', this.token);
    form.set('v', this.version);
    const request: Exchange['request'] = {
      method: 'POST', url: this.hide(maskUrl(url)), headers: { 'content-type': FORM },
      body: maskValue({ ...params, access_token: this.token, v: this.version }),
    };
    let res: HttpResponse;
    try {
      res = await this.http.request({ method: 'POST', url, headers: { 'content-type': FORM }, body: form.toString(), timeoutMs });
    } catch (e) {
      const kind = e instanceof HttpFailure ? e.kind : 'network';
      throw new ServiceFailure('retry', `${kind}: ${this.hide((e as Error).message)}`, { code: kind, exchange: { request } });
    }
    const exchange: Exchange = { request, response: keptResponse(res, [this.token]) };
    const j = res.json as { response?: unknown } | undefined;
    if (res.status >= 200 && res.status < 300 && j && typeof j === 'object' && 'response' in j) {
      return { response: j.response, exchange };
    }
    const f = vkFailure(res, exchange);
    throw new ServiceFailure(f.failure, this.hide(f.message), f.opts);
  }


  /** The token wherever it shows up (an error message, echoed request_params). */
  private hide(text: string): string {
    return maskKnown(text, [this.token]);
  }
}
