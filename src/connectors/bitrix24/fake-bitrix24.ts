import { randomBytes } from 'node:crypto';
import { LoopbackServer, readBody } from '../loopback-server.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FakeBitrixError, FakeTable, asObject, parseBracketQuery, type FakeRecord } from './fake-bitrix24-crm.ts';

/** How the portal is down: 503 page, 401 with an HTML page or nothing, no answer, a cut connection. */
export type Bitrix24DownMode = '503' | '401-html' | '401-empty' | 'hang' | 'reset';

export interface FakeBitrix24Options {
  /** Leaky bucket: requests drained per second and the bucket's size (Bitrix24: 2 and 50). */
  ratePerSecond?: number;
  burst?: number;
  userId?: number;
  webhookCode?: string;
  clientId?: string;
  clientSecret?: string;
}

const STATUS_OF: Record<string, number> = {
  QUERY_LIMIT_EXCEEDED: 503, OPERATION_TIME_LIMIT: 503, OVERLOAD_LIMIT: 503, expired_token: 401, invalid_token: 401,
  NO_AUTH_FOUND: 401, INVALID_CREDENTIALS: 401, ACCESS_DENIED: 403, insufficient_scope: 403, ERROR_METHOD_NOT_FOUND: 404,
  INTERNAL_SERVER_ERROR: 500,
};
const DESCRIPTION_OF: Record<string, string> = {
  QUERY_LIMIT_EXCEEDED: 'Too many requests', OPERATION_TIME_LIMIT: 'Method is blocked due to operation time limit.',
  OVERLOAD_LIMIT: 'REST API is blocked due to overload.', expired_token: 'The access token provided has expired.',
  invalid_token: 'The access token provided is invalid.', NO_AUTH_FOUND: 'Wrong authorization data',
  INVALID_CREDENTIALS: 'Invalid request credentials', ACCESS_DENIED: 'Access denied.', insufficient_scope: 'The request requires higher privileges than provided by the access token.',
  ERROR_METHOD_NOT_FOUND: 'Method not found!', INTERNAL_SERVER_ERROR: 'Internal server error',
};
const PAGE_503 = '<html><head><title>503 Service Temporarily Unavailable</title></head><body><center><h1>503 Service Temporarily Unavailable</h1></center><hr><center>nginx</center></body></html>';
const PAGE_401 = '<html><head><title>401 Authorization Required</title></head><body><center><h1>401 Authorization Required</h1></center><hr><center>nginx</center></body></html>';
const BATCH_MAX = 50;

/**
 * A Bitrix24 portal on 127.0.0.1 for tests, the demo and the benchmark: REST by incoming webhook
 * (`/rest/{user}/{code}/{method}.json`) or OAuth (`/rest/{method}.json?auth=`), the OAuth server's
 * `/oauth/token/`, leads and contacts in memory, `batch`, and Bitrix24's leaky-bucket rate limit.
 */
export class FakeBitrix24 {
  readonly leadTable = new FakeTable();
  readonly contactTable = new FakeTable();
  /** REST requests that reached the portal (any answer; a batch is one). */
  requests = 0;
  refreshes = 0;
  readonly byMethod = new Map<string, number>();
  ratePerSecond: number;
  burst: number;
  readonly userId: number;
  readonly webhookCode: string;
  readonly clientId: string;
  readonly clientSecret: string;
  accessToken = token();
  refreshToken = token();
  private readonly expired = new Set<string>();
  private url = '';
  private readonly http = new LoopbackServer((req, res) => void this.handle(req, res));
  private mode: Bitrix24DownMode | null = null;
  private failing: { left: number; error: string; status: number; description: string } | null = null;
  private level = 0;
  private drainedAt = Date.now();

  constructor(opts: FakeBitrix24Options = {}) {
    this.ratePerSecond = opts.ratePerSecond ?? 2;
    this.burst = opts.burst ?? 50;
    this.userId = opts.userId ?? 1;
    this.webhookCode = opts.webhookCode ?? 'x7k2m9q4w1e8r5t3';
    this.clientId = opts.clientId ?? 'local.65f0c1d2e3a4b5.12345678';
    this.clientSecret = opts.clientSecret ?? 'FakeClientSecret0123456789abcdefghijklmnopqrstuv';
  }

  get leads(): readonly FakeRecord[] {
    return this.leadTable.rows;
  }

  get contacts(): readonly FakeRecord[] {
    return this.contactTable.rows;
  }

  /** The incoming webhook's URL (after `start`). */
  get webhookUrl(): string {
    return `${this.url}/rest/${this.userId}/${this.webhookCode}/`;
  }

  async start(): Promise<string> {
    const url = await this.http.start();
    this.url = url;
    return this.url;
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  down(mode: Bitrix24DownMode = '503'): void {
    this.mode = mode;
  }

  up(): void {
    this.mode = null;
  }

  /** The next `count` REST requests get `{"error": code}` with `status` (by default the code's real one). */
  failNext(count: number, error: string, status = STATUS_OF[error] ?? 400, description = DESCRIPTION_OF[error] ?? 'Error'): void {
    this.failing = { left: count, error, status, description };
  }

  /** The access token's hour is over: calls get `expired_token` until the app refreshes. */
  expireTokens(): void {
    this.expired.add(this.accessToken);
  }

  /** Empties the bucket (as after a quiet spell). */
  resetBucket(): void {
    this.level = 0;
    this.drainedAt = Date.now();
  }

  addLead(fields: Record<string, unknown>): number {
    return this.leadTable.add(fields);
  }

  addContact(fields: Record<string, unknown>): number {
    return this.contactTable.add(fields);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    if (raw === null) return;
    if (this.mode === 'hang') return;
    if (this.mode === 'reset') return void req.socket.destroy();
    if (this.mode === '503') return send(res, 503, PAGE_503, 'text/html');
    if (this.mode === '401-html') return send(res, 401, PAGE_401, 'text/html');
    if (this.mode === '401-empty') return send(res, 401, '', 'text/html');
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (/^\/oauth\/token\/?$/.test(url.pathname)) return this.token(res, url.searchParams);
    const hook = /^\/rest\/(\d+)\/([^/]+)\/([A-Za-z0-9_.]+?)(?:\.json)?\/?$/.exec(url.pathname);
    const app = hook ? null : /^\/rest\/([A-Za-z0-9_.]+?)(?:\.json)?\/?$/.exec(url.pathname);
    if (!hook && !app) return send(res, 404, '<html><body><h1>404 Not Found</h1></body></html>', 'text/html');
    this.requests += 1;
    const method = (hook ? hook[3] : app![1]).toLowerCase();
    this.byMethod.set(method, (this.byMethod.get(method) ?? 0) + 1);
    try {
      const params: Record<string, unknown> = { ...parseBracketQuery(url.search.slice(1)), ...parseBody(raw, req.headers['content-type']) };
      if (this.failing && this.failing.left > 0) {
        this.failing.left -= 1;
        throw new FakeBitrixError(this.failing.status, this.failing.error, this.failing.description);
      }
      if (hook) this.checkWebhook(Number(hook[1]), hook[2]);
      else this.checkToken(params.auth);
      delete params.auth;
      if (!this.take()) throw new FakeBitrixError(503, 'QUERY_LIMIT_EXCEEDED', DESCRIPTION_OF.QUERY_LIMIT_EXCEEDED);
      const started = Date.now();
      const answer = method === 'batch' ? { result: this.batch(params) } : this.run(method, params);
      json(res, 200, { ...answer, time: timing(started) });
    } catch (e) {
      if (!(e instanceof FakeBitrixError)) return json(res, 500, { error: 'INTERNAL_SERVER_ERROR', error_description: String(e) });
      json(res, e.status, { error: e.code, error_description: e.description });
    }
  }

  private checkWebhook(user: number, code: string): void {
    if (user !== this.userId || code !== this.webhookCode) throw new FakeBitrixError(401, 'INVALID_CREDENTIALS', DESCRIPTION_OF.INVALID_CREDENTIALS);
  }

  private checkToken(auth: unknown): void {
    const fail = (code: string) => new FakeBitrixError(401, code, DESCRIPTION_OF[code]);
    if (typeof auth !== 'string' || !auth) throw fail('NO_AUTH_FOUND');
    if (this.expired.has(auth)) throw fail('expired_token');
    if (auth !== this.accessToken) throw fail('invalid_token');
  }

  /** The leaky bucket: each request adds one, it drains at `ratePerSecond`; full means 503. */
  private take(): boolean {
    const now = Date.now();
    this.level = Math.max(0, this.level - ((now - this.drainedAt) / 1000) * this.ratePerSecond);
    this.drainedAt = now;
    if (this.level + 1 > this.burst) return false;
    this.level += 1;
    return true;
  }

  /** `GET /oauth/token/?grant_type=refresh_token&client_id&client_secret&refresh_token`; old tokens retire. */
  private token(res: ServerResponse, q: URLSearchParams): void {
    const refuse = (error: string, description: string) => json(res, 400, { error, error_description: description });
    if (q.get('grant_type') !== 'refresh_token') return refuse('invalid_request', 'Unsupported grant type');
    if (q.get('client_id') !== this.clientId || q.get('client_secret') !== this.clientSecret) return refuse('invalid_client', 'Invalid client credentials');
    if (q.get('refresh_token') !== this.refreshToken) return refuse('invalid_grant', 'Invalid refresh token');
    this.refreshes += 1;
    this.expired.add(this.accessToken);
    this.accessToken = token();
    this.refreshToken = token();
    const host = new URL(this.url).host;
    json(res, 200, {
      access_token: this.accessToken, expires: Math.floor(Date.now() / 1000) + 3600, expires_in: 3600, scope: 'crm',
      domain: host, server_endpoint: `${this.url}/rest/`, status: 'L', client_endpoint: `${this.url}/rest/`,
      member_id: 'a1b2c3d4e5f60718293a4b5c6d7e8f90', user_id: this.userId, refresh_token: this.refreshToken,
    });
  }

  /** `batch {halt, cmd}`: each command `method?query` in bracket notation, `$result[key]` referring back. */
  private batch(p: Record<string, unknown>): Record<string, unknown> {
    const cmd = asObject(Array.isArray(p.cmd) ? { ...p.cmd } : p.cmd);
    const keys = Object.keys(cmd);
    if (keys.length > BATCH_MAX) throw new FakeBitrixError(400, 'ERROR_BATCH_LENGTH_EXCEEDED', 'Max batch length exceeded');
    const halt = p.halt === true || String(p.halt ?? '0') === '1';
    const result: Record<string, unknown> = {};
    const errors: Record<string, unknown> = {};
    const totals: Record<string, unknown> = {};
    const nexts: Record<string, unknown> = {};
    const times: Record<string, unknown> = {};
    for (const key of keys) {
      const text = String(cmd[key]);
      const q = text.indexOf('?');
      const method = (q < 0 ? text : text.slice(0, q)).replace(/\.json$/, '').toLowerCase();
      const params = substitute(parseBracketQuery(q < 0 ? '' : text.slice(q + 1)), result) as Record<string, unknown>;
      const started = Date.now();
      try {
        if (method === 'batch') throw new FakeBitrixError(400, 'ERROR_BATCH_METHOD_NOT_ALLOWED', 'Batch call is not allowed in batch');
        const answer = this.run(method, params);
        result[key] = answer.result;
        if (answer.total !== undefined) totals[key] = answer.total;
        if (answer.next !== undefined) nexts[key] = answer.next;
      } catch (e) {
        const err = e instanceof FakeBitrixError ? e : new FakeBitrixError(500, 'INTERNAL_SERVER_ERROR', String(e));
        errors[key] = { error: err.code, error_description: err.description };
      }
      times[key] = timing(started);
      if (halt && errors[key]) break;
    }
    // PHP answers an empty map as [].
    const map = (o: Record<string, unknown>) => (Object.keys(o).length ? o : []);
    return { result: map(result), result_error: map(errors), result_total: map(totals), result_next: map(nexts), result_time: map(times) };
  }

  private run(method: string, p: Record<string, unknown>): { result: unknown; total?: number; next?: number } {
    const table = method.startsWith('crm.lead.') ? this.leadTable : method.startsWith('crm.contact.') ? this.contactTable : null;
    const action = method.split('.').pop();
    if (table && action === 'add') return { result: table.add(checkFields(p.fields)) };
    if (table && action === 'update') {
      table.update(Number(p.id ?? p.ID), checkFields(p.fields));
      return { result: true };
    }
    if (table && action === 'get') return { result: table.get(Number(p.id ?? p.ID)) };
    if (table && action === 'list') return table.list(p);
    if (method === 'crm.duplicate.findbycomm') return { result: this.findByComm(p) };
    if (method === 'profile') return { result: { ID: String(this.userId), ADMIN: true, NAME: 'Fake', LAST_NAME: 'Admin' } };
    throw new FakeBitrixError(404, 'ERROR_METHOD_NOT_FOUND', DESCRIPTION_OF.ERROR_METHOD_NOT_FOUND);
  }

  private findByComm(p: Record<string, unknown>): unknown {
    const type = String(p.type ?? '').toUpperCase();
    if (type !== 'PHONE' && type !== 'EMAIL') throw new FakeBitrixError(400, '', 'Communication type is not defined or invalid.');
    const values = (Array.isArray(p.values) ? p.values : []).map(String);
    if (!values.length) throw new FakeBitrixError(400, '', 'Communication values is not defined.');
    if (values.length > 20) throw new FakeBitrixError(400, '', 'Too many communication values. Maximum is 20.');
    const entity = p.entity_type ? String(p.entity_type).toUpperCase() : '';
    const out: Record<string, number[]> = {};
    if (!entity || entity === 'LEAD') out.LEAD = this.leadTable.findByComm(type, values);
    if (!entity || entity === 'CONTACT') out.CONTACT = this.contactTable.findByComm(type, values);
    for (const k of Object.keys(out)) if (!out[k].length) delete out[k];
    return Object.keys(out).length ? out : [];
  }
}

/** Validation as Bitrix24 does it: `fields` must be given; multi-field values need a VALUE; e-mails must look like e-mails. */
function checkFields(v: unknown): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new FakeBitrixError(400, '', 'Parameter \'fields\' must be array.');
  const fields = v as Record<string, unknown>;
  for (const type of ['PHONE', 'EMAIL']) {
    if (fields[type] === undefined) continue;
    if (!Array.isArray(fields[type])) throw new FakeBitrixError(400, '', `Field ${type} must be a list of {VALUE, VALUE_TYPE}.<br>`);
    for (const e of fields[type] as Array<Record<string, unknown>>) {
      const value = String(e?.VALUE ?? '');
      if (type === 'EMAIL' && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value)) throw new FakeBitrixError(400, '', `E-mail address "${value}" is incorrect.<br>`);
      if (type === 'PHONE' && !/\d/.test(value)) throw new FakeBitrixError(400, '', `Phone number "${value}" is incorrect.<br>`);
    }
  }
  return fields;
}

/** `$result[key]` and `$result[key][FIELD]…` in command params → the earlier command's result. */
function substitute(v: unknown, results: Record<string, unknown>): unknown {
  if (typeof v === 'string') {
    const m = /^\$result\[([^\]]+)\]((?:\[[^\]]*\])*)$/.exec(v);
    if (!m || !(m[1] in results)) return v;
    let cur: unknown = results[m[1]];
    for (const [, seg] of m[2].matchAll(/\[([^\]]*)\]/g)) cur = (cur as Record<string, unknown> | undefined)?.[seg];
    return cur === undefined || cur === null ? '' : cur;
  }
  if (Array.isArray(v)) return v.map((x) => substitute(x, results));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substitute(x, results)]));
  return v;
}

function parseBody(raw: string, type: string | undefined): Record<string, unknown> {
  if (!raw) return {};
  if (/json/i.test(type ?? '') || /^\s*\{/.test(raw)) {
    try {
      return asObject(JSON.parse(raw));
    } catch {
      throw new FakeBitrixError(400, 'ERROR_ARGUMENT', 'Bad JSON');
    }
  }
  return parseBracketQuery(raw);
}

function timing(started: number): Record<string, unknown> {
  const now = Date.now();
  const iso = (ms: number) => new Date(ms).toISOString().replace('Z', '+00:00');
  const s = (now - started) / 1000;
  return { start: started / 1000, finish: now / 1000, duration: s, processing: s, date_start: iso(started), date_finish: iso(now), operating: 0 };
}

function token(): string {
  return randomBytes(35).toString('hex');
}

function json(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, JSON.stringify(body), 'application/json; charset=utf-8');
}

function send(res: ServerResponse, status: number, body: string, type: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}
