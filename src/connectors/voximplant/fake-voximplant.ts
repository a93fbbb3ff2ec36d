import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoopbackServer, readBody } from '../loopback-server.ts';
import type { CallOutcome } from './voximplant-connector.ts';

/** How the fake is down: a 503 page, a 401 page from the front, no answer, a cut connection. */
export type VoxDownMode = 'outage' | 'unauthorized' | 'hang' | 'reset';

/** What the scenario reports: an outcome word, or the full body (`{outcome, code, duration}`). */
export type VoxResult = CallOutcome | { outcome?: string; code?: number; duration?: number; [k: string]: unknown };

export interface FakeVoxCall {
  ruleId: string;
  phone: string;
  /** `script_custom_data` parsed (the raw string when it is not JSON). */
  customData: Record<string, unknown> | string;
  callbackUrl: string | null;
  callSessionHistoryId: number;
  /** Set once the outcome was posted to the callback URL. */
  reported?: { status: number; payload: Record<string, unknown> } | { error: string; payload: Record<string, unknown> };
}

/**
 * VoxImplant's HTTP API on 127.0.0.1 (`/platform_api/StartScenarios/`) plus the part of a VoxEngine
 * scenario that matters to Conveyor: `complete()` posts the call's outcome to the callback URL found
 * in the custom data, as scenario.js does; `autoAnswer()` does it by itself shortly after each start.
 */
export class FakeVoximplant {
  readonly calls: FakeVoxCall[] = [];
  private readonly http = new LoopbackServer((req, res) => void this.handle(req, res));
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly nextErrors: Array<{ code: number; msg: string }> = [];
  private tooManyLeft = 0;
  private mode: VoxDownMode | null = null;
  private auto: { byPhone: Record<string, VoxResult>; delayMs: number } | null = null;
  private seq = 7_000_000;

  constructor(
    readonly accountId = '4242001',
    readonly apiKey = 'fake-vox-key-3b1f7e9a-6c2d-4e8f',
    readonly ruleIds: string[] = ['3030303'],
  ) {}

  private base = '';

  async start(): Promise<string> {
    this.base = await this.http.start();
    return this.base;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.http.close();
  }

  /** The next `count` StartScenarios answer `{"error": {"code", "msg"}}` (HTTP 200, as VoxImplant does). */
  failNext(code: number, msg = 'Internal error', count = 1): void {
    for (let i = 0; i < count; i++) this.nextErrors.push({ code, msg });
  }

  /** The next `count` requests get HTTP 429 (over 200 simultaneous requests). */
  tooMany(count = 1): void {
    this.tooManyLeft = count;
  }

  down(mode: VoxDownMode = 'outage'): void {
    this.mode = mode;
  }

  up(): void {
    this.mode = null;
  }

  /** Reports call `index`'s outcome to its callback URL like the scenario would; resolves to the HTTP status. */
  async complete(index: number, result: VoxResult): Promise<number> {
    const call = this.calls[index];
    if (!call) throw new Error(`no call #${index}; ${this.calls.length} started`);
    if (!call.callbackUrl) throw new Error(`call #${index} has no callback_url in its custom data`);
    const payload = { ...(typeof result === 'string' ? { outcome: result } : result), phone: call.phone };
    try {
      const res = await fetch(call.callbackUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
      await res.arrayBuffer();
      call.reported = { status: res.status, payload };
      return res.status;
    } catch (e) {
      call.reported = { error: (e as Error).message, payload };
      throw e;
    }
  }

  /** From now on each started call to a listed phone reports its outcome after `delayMs`; others stay unanswered. */
  autoAnswer(outcomeByPhone: Record<string, VoxResult>, delayMs = 20): void {
    this.auto = { byPhone: outcomeByPhone, delayMs };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    if (raw === null) return;
    if (this.mode === 'hang') return;
    if (this.mode === 'reset') return void req.socket.destroy();
    if (this.mode === 'outage') return send(res, 503, '<html><body><h1>503 Service Unavailable</h1></body></html>', 'text/html');
    if (this.mode === 'unauthorized') return send(res, 401, '<html><body><h1>401 Authorization Required</h1></body></html>', 'text/html');
    if (this.tooManyLeft > 0) {
      this.tooManyLeft -= 1;
      return json(res, 429, { error: { msg: 'Too many requests', code: 429 } });
    }

    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const p = { ...Object.fromEntries(url.searchParams), ...Object.fromEntries(new URLSearchParams(raw)) };
    if (!/^\/platform_api\/StartScenarios\/?$/.test(url.pathname)) return json(res, 200, { error: { msg: 'Unknown command', code: 103 } });
    if (p.account_id !== this.accountId || p.api_key !== this.apiKey) return json(res, 200, { error: { msg: 'Authorization failed', code: 100 } });
    const queued = this.nextErrors.shift();
    if (queued) return json(res, 200, { error: queued });
    if (!this.ruleIds.includes(String(p.rule_id))) return json(res, 200, { error: { msg: "The 'rule_id' parameter is invalid.", code: 147 } });

    let customData: Record<string, unknown> | string = p.script_custom_data ?? '';
    try {
      customData = JSON.parse(String(customData)) as Record<string, unknown>;
    } catch {
      // kept as the raw string, as a scenario would see it
    }
    const fields = typeof customData === 'object' && customData ? customData : {};
    const call: FakeVoxCall = {
      ruleId: String(p.rule_id), phone: String(fields.phone ?? ''), customData,
      callbackUrl: typeof fields.callback_url === 'string' ? fields.callback_url : null, callSessionHistoryId: ++this.seq,
    };
    const index = this.calls.push(call) - 1;
    this.scheduleAuto(index);
    const base = `${this.base.replace(/^http:\/\//, '')}/media/${call.callSessionHistoryId}`;
    json(res, 200, {
      result: 1, media_session_access_url: `http://${base}`, media_session_access_secure_url: `https://${base}`,
      call_session_history_id: call.callSessionHistoryId,
    });
  }

  private scheduleAuto(index: number): void {
    const result = this.auto?.byPhone[this.calls[index].phone];
    if (!this.auto || result === undefined) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.complete(index, result).catch(() => undefined); // kept in `reported`
    }, this.auto.delayMs);
    this.timers.add(t);
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, JSON.stringify(body), 'application/json');
}

function send(res: ServerResponse, status: number, body: string, type: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}
