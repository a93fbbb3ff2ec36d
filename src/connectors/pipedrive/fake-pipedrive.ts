import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoopbackServer, readBody } from '../loopback-server.ts';
import { FakePipedriveData, errorAnswer, type Answer } from './fake-pipedrive-data.ts';

/** How the fake is down: a 503 page from the front, a 401 HTML page (not Pipedrive's JSON), no answer at all. */
export type PipedriveDownMode = '503' | '401-html' | 'hang';

export interface FakePipedriveOptions {
  /** Requests per window (Pipedrive's plans: 20, 40, 80, 120 per 2 s for an api_token). */
  burst?: number;
  windowMs?: number;
  /** Pipedrive blocks for longer once the window is overrun: x-ratelimit-reset and Retry-After say 10. */
  penaltySeconds?: number;
  /** POST/PUT/PATCH requests left today (x-daily-requests-left). */
  dailyRequests?: number;
}

export interface FakePipedriveCall {
  method: string;
  path: string;
  /** Query parameters, api_token masked. */
  query: Record<string, string>;
  /** How the token came: `header` (x-api-token), `query` (?api_token=) or none. */
  auth: 'header' | 'query' | null;
  body: unknown;
  status: number;
  /** The answer's headers, rate limit ones included. */
  headers: Record<string, string>;
  at: number;
}

const HTML_503 = '<!DOCTYPE html><html><head><title>503 Service Temporarily Unavailable</title></head><body><h1>Service Temporarily Unavailable</h1><p>Pipedrive is under maintenance.</p></body></html>';
const HTML_401 = '<html><head><title>401 Authorization Required</title></head><body><center><h1>401 Authorization Required</h1></center><hr><center>nginx</center></body></html>';

/**
 * Pipedrive's REST API on 127.0.0.1 for tests and the demo: persons (v2, with search), organizations,
 * deals and activities (v2), leads (v1). A token bucket per 2-second window answers 429 with
 * Pipedrive's headers; every answer carries `x-ratelimit-*` and `x-daily-requests-left`.
 */
export class FakePipedrive {
  readonly data = new FakePipedriveData();
  readonly calls: FakePipedriveCall[] = [];
  private readonly http = new LoopbackServer((req, res) => void this.handle(req, res));
  private mode: PipedriveDownMode | null = null;
  private failures: Array<{ status: number; body: unknown; headers: Record<string, string> }> = [];
  private limit = 80;
  private windowMs = 2000;
  private penaltyMs = 10_000;
  private tokens = 80;
  private refilledAt = Date.now();
  private blockedUntil = 0;
  private dailyLeft = 10_000;

  constructor(readonly token = 'pd0123456789abcdef0123456789abcdef01234567', opts: FakePipedriveOptions = {}) {
    this.setBurstLimit(opts.burst ?? 80, opts.windowMs ?? 2000, opts.penaltySeconds ?? 10);
    this.dailyLeft = opts.dailyRequests ?? 10_000;
  }

  get persons() { return this.data.persons; }
  get organizations() { return this.data.organizations; }
  get leads() { return this.data.leads; }
  get deals() { return this.data.deals; }
  get activities() { return this.data.activities; }

  async start(): Promise<string> {
    return this.http.start();
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  down(mode: PipedriveDownMode = '503'): void {
    this.mode = mode;
  }

  up(): void {
    this.mode = null;
    this.failures = [];
  }

  /** The next `count` requests get this answer (an object body is sent as JSON; a string as HTML). */
  failNext(count: number, status: number, body: unknown = errorAnswer(status, 'Internal server error').body, headers: Record<string, string> = {}): void {
    for (let i = 0; i < count; i++) this.failures.push({ status, body, headers });
  }

  /** A fresh, full bucket of `limit` requests per `windowMs`; overrunning it blocks for `penaltySeconds`. */
  setBurstLimit(limit: number, windowMs = 2000, penaltySeconds = 10): void {
    this.limit = limit;
    this.windowMs = windowMs;
    this.penaltyMs = penaltySeconds * 1000;
    this.tokens = limit;
    this.refilledAt = Date.now();
    this.blockedUntil = 0;
  }

  /** POST/PUT/PATCH requests left today; at 0 writes get 429 until midnight UTC. */
  setDailyLeft(n: number): void {
    this.dailyLeft = n;
  }

  /** The person was deleted: GET/PATCH on it answer 410. */
  deletePerson(id: number): void {
    this.data.deletePerson(id);
  }

  /** New persons stay out of search results this long, as Pipedrive's search index lags. */
  set indexDelayMs(ms: number) {
    this.data.indexDelayMs = ms;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    if (raw === null) return;
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const headerToken = req.headers['x-api-token'];
    const queryToken = url.searchParams.get('api_token');
    const query = Object.fromEntries(url.searchParams);
    if (queryToken !== null) query.api_token = '***';
    const body = safeJson(raw);
    const call: FakePipedriveCall = {
      method, path: url.pathname, query, auth: headerToken ? 'header' : queryToken ? 'query' : null, body, status: 0, headers: {}, at: Date.now(),
    };
    this.calls.push(call);
    // `front`: answered by the proxy in front of Pipedrive, so without Pipedrive's own headers.
    const reply = (status: number, payload: unknown, extra: Record<string, string> = {}, front = false) => {
      const isText = typeof payload === 'string';
      const text = isText ? payload : JSON.stringify(payload);
      const headers = { ...(front ? {} : this.limitHeaders()), ...extra, 'content-type': isText ? 'text/html; charset=utf-8' : 'application/json' };
      Object.assign(call, { status, headers });
      res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(text)) });
      res.end(text);
    };

    if (this.mode === 'hang') return;
    if (this.mode === '503') return reply(503, HTML_503, {}, true);
    if (this.mode === '401-html') return reply(401, HTML_401, {}, true);
    const failure = this.failures.shift();
    if (failure) return reply(failure.status, failure.body, failure.headers);

    const token = typeof headerToken === 'string' ? headerToken : queryToken;
    if (token !== this.token) return reply(401, errorAnswer(401, 'unauthorized access').body);
    const limited = this.takeToken();
    if (limited) return reply(429, errorAnswer(429, 'Request over limit').body, { 'retry-after': String(limited) });
    const write = method !== 'GET';
    if (write && this.dailyLeft <= 0) {
      return reply(429, errorAnswer(429, 'Daily request limit reached').body, { 'retry-after': String(Math.ceil(msToMidnight() / 1000)) });
    }
    const answer: Answer | null = body === undefined && raw.trim()
      ? errorAnswer(400, 'Request body is not valid JSON')
      : this.data.route(method, url.pathname, url.searchParams, (body as Record<string, unknown>) ?? {});
    if (!answer) return reply(404, errorAnswer(404, `Unknown method ${method} ${url.pathname}`).body);
    if (write && answer.status < 300) this.dailyLeft -= 1;
    reply(answer.status, answer.body);
  }

  /** Takes one request from the bucket; the seconds to wait when there is none (the penalty starts then). */
  private takeToken(): number | null {
    const now = Date.now();
    this.refill(now);
    if (now < this.blockedUntil) return Math.ceil((this.blockedUntil - now) / 1000);
    if (this.tokens < 1) {
      this.blockedUntil = now + this.penaltyMs;
      return Math.ceil(this.penaltyMs / 1000);
    }
    this.tokens -= 1;
    return null;
  }

  private refill(now: number): void {
    this.tokens = Math.min(this.limit, this.tokens + ((now - this.refilledAt) * this.limit) / this.windowMs);
    this.refilledAt = now;
  }

  private limitHeaders(): Record<string, string> {
    const now = Date.now();
    this.refill(now);
    const blocked = now < this.blockedUntil;
    const untilFull = ((this.limit - this.tokens) * this.windowMs) / this.limit;
    return {
      'x-ratelimit-limit': String(this.limit),
      'x-ratelimit-remaining': String(blocked ? 0 : Math.floor(this.tokens)),
      'x-ratelimit-reset': String(Math.max(1, Math.ceil((blocked ? this.blockedUntil - now : untilFull) / 1000))),
      'x-daily-requests-left': String(Math.max(0, this.dailyLeft)),
    };
  }
}

function msToMidnight(): number {
  const d = new Date();
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1) - d.getTime();
}

function safeJson(raw: string): unknown {
  if (!raw.trim()) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
