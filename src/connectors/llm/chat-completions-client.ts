import { parseRetryAfter } from '../../engine/retry-policy.ts';
import { HttpFailure, type HttpClient, type HttpResponse } from '../../util/http-client.ts';
import { keepText, keptResponse, maskHeaders, maskKnown, maskUrl, maskValue } from '../../util/mask-secrets.ts';
import type { Pace } from '../connector.ts';
import { ServiceFailure, type Exchange } from '../service-failure.ts';

export const LLM_API_URL = 'https://api.openai.com';
/** Small accounts get a few requests a second; a local model serves one at a time anyway. */
export const LLM_PACE: Pace = { perSecond: 3, burst: 5 };


/** OpenAI's error answer: `{"error": {"message", "type", "param", "code"}}` (Ollama, vLLM and LM Studio copy it). */
interface ApiError { message?: string; type?: string; param?: string | null; code?: string | null }

export interface ChatAnswer {
  /** The assistant message's text; null when the model refused (then `refusal` says why). */
  content: string | null;
  refusal: string | null;
  finishReason: string | null;
  model: string | null;
  usage: unknown;
  exchange: Exchange;
}

/** `POST {api_url}/v1/chat/completions` of an OpenAI-compatible server, answers classified, the key masked. */
export class ChatCompletionsClient {
  private readonly base: string;
  private readonly key: string;

  constructor(private readonly http: HttpClient, settings: Record<string, unknown>) {
    // People paste the base with or without the /v1 their SDK wants; either works.
    this.base = String(settings.api_url ?? LLM_API_URL).replace(/\/+$/, '').replace(/\/v1$/, '');
    this.key = String(settings.api_key ?? '');
  }

  async complete(body: Record<string, unknown>, timeoutMs: number): Promise<ChatAnswer> {
    const url = `${this.base}/v1/chat/completions`;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.key) headers.authorization = `Bearer ${this.key}`;
    const request: Exchange['request'] = { method: 'POST', url: this.hide(maskUrl(url)), headers: maskHeaders(headers), body: this.shown(body) };
    let res: HttpResponse;
    try {
      res = await this.http.request({ method: 'POST', url, headers, body: JSON.stringify(body), timeoutMs });
    } catch (e) {
      const kind = e instanceof HttpFailure ? e.kind : 'network';
      throw new ServiceFailure('retry', `${kind}: ${this.hide((e as Error).message)}`, { code: kind, exchange: { request } });
    }
    const exchange: Exchange = { request, response: keptResponse(res, [this.key]) };
    if (res.status < 200 || res.status >= 300) throw this.failure(res, exchange);
    const j = res.json as { model?: string; usage?: unknown; choices?: Array<{ message?: { content?: unknown; refusal?: unknown }; finish_reason?: string }> } | undefined;
    const choice = Array.isArray(j?.choices) ? j.choices[0] : undefined;
    if (!choice?.message) {
      // A proxy's or a captive portal's page with 200: not the model speaking, so it may pass later.
      throw new ServiceFailure('retry', `the server answered HTTP ${res.status} without a chat completion`, { code: 'no_completion', exchange });
    }
    const { content, refusal } = choice.message;
    return {
      content: typeof content === 'string' ? content : null,
      refusal: typeof refusal === 'string' ? refusal : null,
      finishReason: choice.finish_reason ?? null,
      model: j?.model ?? null,
      usage: j?.usage ?? null,
      exchange,
    };
  }

  /** A non-2xx answer → retry (rate limit, overload, 5xx) or fail (key, access, request, model, quota). */
  private failure(res: HttpResponse, exchange: Exchange): ServiceFailure {
    const err = (res.json as { error?: ApiError } | undefined)?.error;
    const apiError = err && typeof err === 'object' ? err : undefined;
    const code = apiError?.code ?? apiError?.type ?? res.status;
    const message = this.hide(apiError?.message ? `HTTP ${res.status} ${code}: ${apiError.message}` : `HTTP ${res.status} without an API error body`).slice(0, 500);
    const opts = { code, exchange };
    const s = res.status;
    if (s === 429) {
      // "You exceeded your current quota": money, not speed; waiting will not pay the bill.
      if (apiError?.code === 'insufficient_quota' || apiError?.type === 'insufficient_quota') return new ServiceFailure('fail', message, opts);
      return new ServiceFailure('retry', message, { ...opts, retryAfterMs: retryAfterMs(res), slowDown: true });
    }
    // 503 "Slow Down" asks for a lower rate for a while, not just a later attempt.
    if (s === 503 && /slow down/i.test(apiError?.message ?? '')) return new ServiceFailure('retry', message, { ...opts, retryAfterMs: retryAfterMs(res), slowDown: true });
    if (s >= 500 || s === 408 || s === 409) return new ServiceFailure('retry', message, { ...opts, retryAfterMs: retryAfterMs(res) });
    // 400 bad request (a schema the server refuses, a context too long), 401 bad key, 403 region or
    // permission, 404 unknown model, 422: the same request will fail the same way.
    return new ServiceFailure('fail', message, opts);
  }

  /** The request as kept in history: the schema (the same every time) named rather than repeated, texts cut. */
  private shown(body: Record<string, unknown>): unknown {
    const format = body.response_format as { type?: string; json_schema?: { name?: string; strict?: boolean } } | undefined;
    const slim = format?.json_schema ? { ...body, response_format: { type: format.type, json_schema: { name: format.json_schema.name, strict: format.json_schema.strict } } } : body;
    return maskValue(JSON.parse(this.hide(JSON.stringify(slim, (_k, v) => (typeof v === 'string' ? keepText(v) : v)))));
  }


  /** The key wherever it shows up (an error message echoing it, a proxy's page). */
  private hide(text: string): string {
    return maskKnown(text, [this.key]);
  }
}

/** Retry-After (seconds or a date), else OpenAI's `x-ratelimit-reset-requests` ("1s", "6m0s", "120ms"). */
function retryAfterMs(res: HttpResponse): number | undefined {
  const now = Date.now();
  const given = parseRetryAfter(res.headers['retry-after'], now);
  if (given !== null) return given;
  const ms = Number(res.headers['retry-after-ms']);
  if (Number.isFinite(ms) && ms >= 0 && res.headers['retry-after-ms'] !== undefined) return ms;
  const reset = res.headers['x-ratelimit-reset-requests'] ?? res.headers['x-ratelimit-reset-tokens'];
  return reset ? goDuration(reset) : undefined;
}

function goDuration(text: string): number | undefined {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (!parts.length) return undefined;
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  return Math.round(parts.reduce((sum, [, n, u]) => sum + Number(n) * unit[u], 0));
}
