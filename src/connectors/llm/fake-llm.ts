import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoopbackServer, readBody } from '../loopback-server.ts';
import { extractLeadByRules } from './rule-based-lead.ts';

/** How the fake is down: 500 server_error, 503 overloaded, no answer at all, a cut connection. */
export type LlmDownMode = 'outage' | 'overloaded' | 'hang' | 'reset';

/** What the model "says" for a request: an object is sent as its JSON, a string as is (broken JSON too). */
export type LlmAnswer = string | object;
export type Answerer = (userText: string, request: ChatRequest) => LlmAnswer;

export interface ChatRequest {
  model?: unknown;
  messages?: Array<{ role?: string; content?: unknown }>;
  response_format?: { type?: string; json_schema?: { name?: string; schema?: Record<string, unknown>; strict?: boolean } };
  temperature?: unknown;
  [k: string]: unknown;
}

/**
 * An OpenAI-compatible chat completions server on 127.0.0.1 for tests and the demo: checks the bearer
 * key and the request the way OpenAI does, answers in the real `chat.completion` shape with content
 * from a deterministic function (by default the rule-based reading of the user's message) or a script,
 * and fails the way the real API fails.
 */
export class FakeLlm {
  /** Every request that reached the fake, with the Authorization header it carried. */
  readonly requests: Array<{ body: ChatRequest; authorization: string | undefined; at: number }> = [];
  private readonly http = new LoopbackServer((req, res) => void this.handle(req, res));
  private readonly scripted: Array<{ content: string | null; refusal?: string; finishReason?: string }> = [];
  private answerer: Answerer = (text) => ({ ...extractLeadByRules(text) });
  private limited: { retryAfter: number; left: number; quota: boolean } | null = null;
  private mode: LlmDownMode | null = null;
  private forbidden = false;
  private nextId = 1;
  readonly apiKey: string;
  private readonly models: string[] | null;

  /** `apiKey: ''` is a local server that takes any request; `models` limits the known models (404 otherwise). */
  constructor(opts: { apiKey?: string; models?: string[] } = {}) {
    this.apiKey = opts.apiKey ?? 'sk-test-FakeLlmKey0123456789abcdefXYZ';
    this.models = opts.models ?? null;
  }

  async start(): Promise<string> {
    return this.http.start();
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  /** The function that writes the content from the user's message (deterministic, like temperature 0). */
  answerWith(fn: Answerer): void {
    this.answerer = fn;
  }

  /** The next answers, in order, before the function is used again. */
  script(...answers: LlmAnswer[]): void {
    for (const a of answers) this.scripted.push({ content: typeof a === 'string' ? a : JSON.stringify(a) });
  }

  /** The next answer is not JSON at all: prose, as a model without structured outputs writes. */
  invalidContent(content = 'Конечно! Вот данные клиента: имя — Анна, телефон 8 916 123-45-67.'): void {
    this.scripted.push({ content });
  }

  /** The next answer is JSON cut at the token limit (finish_reason "length"). */
  truncated(): void {
    this.scripted.push({ content: '{"name": "Анна", "phone": "+7916', finishReason: 'length' });
  }

  /** The next answer is a structured-outputs refusal: content null, `refusal` set. */
  refuse(why = 'I\'m sorry, I can\'t help with that request.'): void {
    this.scripted.push({ content: null, refusal: why });
  }

  /** The next `count` requests get 429 rate_limit_exceeded with Retry-After and x-ratelimit-* headers. */
  rateLimit(retryAfterSeconds: number, count = 1): void {
    this.limited = { retryAfter: retryAfterSeconds, left: count, quota: false };
  }

  /** The next `count` requests get 429 insufficient_quota (the account is out of money). */
  quotaExceeded(count = 1): void {
    this.limited = { retryAfter: 0, left: count, quota: true };
  }

  /** 403 unsupported_country_region_territory, as OpenAI answers requests from where it does not serve. */
  forbid(on = true): void {
    this.forbidden = on;
  }

  down(mode: LlmDownMode = 'outage'): void {
    this.mode = mode;
  }

  /** Back to normal: up, no limits, no scripted answers, the default answerer. */
  reset(): void {
    this.mode = null;
    this.limited = null;
    this.forbidden = false;
    this.scripted.length = 0;
    this.answerer = (text) => ({ ...extractLeadByRules(text) });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    if (raw === null) return;
    if (this.mode === 'hang') return;
    if (this.mode === 'reset') return void req.socket.destroy();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method !== 'POST' || url.pathname !== '/v1/chat/completions') {
      return error(res, 404, `Invalid URL (${req.method} ${url.pathname})`, 'invalid_request_error', null);
    }
    const authorization = req.headers.authorization;
    let body: ChatRequest;
    try {
      body = JSON.parse(raw) as ChatRequest;
    } catch {
      return error(res, 400, 'We could not parse the JSON body of your request. (HINT: This likely means you aren\'t using your HTTP library correctly.)', 'invalid_request_error', null);
    }
    this.requests.push({ body, authorization, at: Date.now() });
    if (this.apiKey) {
      const given = /^Bearer\s+(.+)$/i.exec(authorization ?? '')?.[1]?.trim();
      if (!given) return error(res, 401, 'You didn\'t provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).', 'invalid_request_error', null);
      if (given !== this.apiKey) {
        return error(res, 401, `Incorrect API key provided: ${given.slice(0, 3)}*********${given.slice(-4)}. You can find your API key at https://platform.openai.com/account/api-keys.`, 'invalid_request_error', 'invalid_api_key');
      }
    }
    if (this.forbidden) return error(res, 403, 'Country, region, or territory not supported', 'request_forbidden', 'unsupported_country_region_territory');
    if (this.mode === 'outage') return error(res, 500, 'The server had an error while processing your request. Sorry about that!', 'server_error', null);
    if (this.mode === 'overloaded') return error(res, 503, 'The engine is currently overloaded, please try again later.', 'server_error', null);
    if (this.limited && this.limited.left > 0) {
      this.limited.left -= 1;
      if (this.limited.quota) {
        return error(res, 429, 'You exceeded your current quota, please check your plan and billing details.', 'insufficient_quota', 'insufficient_quota');
      }
      const s = this.limited.retryAfter;
      return error(res, 429, `Rate limit reached for ${String(body.model)} in organization org-fake on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in ${s}s.`, 'requests', 'rate_limit_exceeded', {
        'retry-after': String(s), 'x-ratelimit-limit-requests': '3', 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': `${s}s`,
      });
    }
    const problem = requestProblem(body);
    if (problem) return error(res, 400, problem.message, 'invalid_request_error', null, {}, problem.param);
    const model = String(body.model);
    if (this.models && !this.models.includes(model)) {
      return error(res, 404, `The model \`${model}\` does not exist or you do not have access to it.`, 'invalid_request_error', 'model_not_found');
    }
    if (body.response_format?.type === 'json_schema' && NO_STRUCTURED_OUTPUTS.includes(model)) {
      return error(res, 400, 'Invalid parameter: \'response_format\' of type \'json_schema\' is not supported with this model.', 'invalid_request_error', null, {}, 'response_format');
    }
    const user = [...(body.messages ?? [])].reverse().find((m) => m.role === 'user');
    const userText = typeof user?.content === 'string' ? user.content : '';
    const next = this.scripted.shift() ?? { content: toContent(this.answerer(userText, body)) };
    // Roughly four characters a token, as OpenAI's rule of thumb goes.
    const promptTokens = Math.ceil((body.messages ?? []).reduce((n, m) => n + String(m.content ?? '').length, 0) / 4);
    const completionTokens = Math.ceil((next.content ?? next.refusal ?? '').length / 4);
    json(res, 200, {
      id: `chatcmpl-fake${this.nextId++}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model,
      choices: [{
        index: 0,
        message: { role: 'assistant', content: next.content, refusal: next.refusal ?? null },
        logprobs: null,
        finish_reason: next.finishReason ?? 'stop',
      }],
      usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
      system_fingerprint: 'fp_fake',
    }, { 'x-request-id': `req_fake${this.nextId}`, 'openai-processing-ms': '42' });
  }
}

/** Models that predate structured outputs: OpenAI refuses a json_schema response format for them. */
export const NO_STRUCTURED_OUTPUTS = ['gpt-3.5-turbo', 'gpt-4'];

/** What OpenAI's request validation says about a body, including strict structured outputs' demands. */
function requestProblem(b: ChatRequest): { message: string; param: string | null } | null {
  if (typeof b.model !== 'string' || !b.model) return { message: 'you must provide a model parameter', param: null };
  if (!Array.isArray(b.messages) || !b.messages.length) return { message: `${JSON.stringify(b.messages ?? null)} is too short - 'messages'`, param: 'messages' };
  const bad = b.messages.findIndex((m) => !['system', 'developer', 'user', 'assistant', 'tool'].includes(String(m?.role)));
  if (bad >= 0) return { message: `Invalid value: '${String(b.messages[bad]?.role)}'. Supported values are: 'system', 'assistant', 'user', 'tool', and 'developer'.`, param: `messages[${bad}].role` };
  const f = b.response_format;
  if (f === undefined) return null;
  if (!['text', 'json_object', 'json_schema'].includes(String(f?.type))) return { message: `Invalid value: '${String(f?.type)}'. Supported values are: 'text', 'json_object', and 'json_schema'.`, param: 'response_format.type' };
  if (f.type !== 'json_schema') return null;
  const js = f.json_schema;
  if (!js?.name || !js.schema) return { message: 'Missing required parameter: \'response_format.json_schema.name\' or \'schema\'.', param: 'response_format.json_schema' };
  if (js.strict) {
    const s = js.schema as { properties?: Record<string, unknown>; required?: string[]; additionalProperties?: unknown };
    if (s.additionalProperties !== false) {
      return { message: `Invalid schema for response_format '${js.name}': In context=(), 'additionalProperties' is required to be supplied and to be false.`, param: 'response_format' };
    }
    const missing = Object.keys(s.properties ?? {}).find((k) => !s.required?.includes(k));
    if (missing) {
      return { message: `Invalid schema for response_format '${js.name}': In context=(), 'required' is required to be supplied and to be an array including every key in properties. Missing '${missing}'.`, param: 'response_format' };
    }
  }
  return null;
}

function toContent(a: LlmAnswer): string {
  return typeof a === 'string' ? a : JSON.stringify(a);
}

function error(
  res: ServerResponse, status: number, message: string, type: string, code: string | null,
  headers: Record<string, string> = {}, param: string | null = null,
): void {
  json(res, status, { error: { message, type, param, code } }, headers);
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}
