import { randomBytes } from 'node:crypto';
import { LoopbackServer, readBody } from '../loopback-server.ts';
import { FakeVkUploads } from './fake-vk-upload.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** How the fake is down: a 502 page from VK's front, no answer, a cut connection. */
export type VkDownMode = 'outage' | 'hang' | 'reset';

/** Codes `failUser` can give a person: as messages.send answers them for that peer. */
export type VkUserFailure = 7 | 15 | 18 | 900 | 901 | 902;

export interface SentVkMessage {
  id: number;
  peer_id: string;
  random_id: number;
  message: string;
  keyboard?: Record<string, unknown>;
  attachment?: string;
  date: number;
}

const HOUR_MS = 3600_000;
const MAX_TEXT = 4096;
const MESSAGES: Record<number, string> = {
  3: 'Unknown method passed',
  5: 'User authorization failed: invalid access_token (4).',
  6: 'Too many requests per second',
  7: 'Permission to perform this action is denied',
  8: 'Invalid request: v (version) is required',
  9: 'Flood control',
  10: 'Internal server error',
  14: 'Captcha needed',
  15: 'Access denied',
  18: 'User was deleted or banned',
  100: 'One of the parameters specified was missing or invalid',
  121: 'Invalid hash',
  900: "Can't send messages for users from blacklist",
  901: "Can't send messages for users without permission",
  902: "Can't send messages to this user due to their privacy settings",
  911: 'Keyboard format is invalid',
  914: 'Message is too long',
};
const BUTTON_TYPES = ['text', 'callback', 'open_link', 'location', 'vkpay', 'open_app'];

/**
 * The VK API on 127.0.0.1 for tests and the demo: `POST /method/{method}` form-encoded (or query
 * parameters), answering HTTP 200 with `{response}` or `{error}` as VK does, with messages.send's
 * random_id check, and helpers that build the Callback API calls VK would post to us.
 */
export class FakeVk {
  readonly messages: SentVkMessage[] = [];
  /** Every call that reached the fake: method and parameters (the access_token left out). */
  readonly calls: Array<{ method: string; params: Record<string, string>; at: number }> = [];
  readonly token: string;
  readonly groupId: number;
  readonly secret: string;
  readonly confirmation: string;
  private readonly http = new LoopbackServer((req, res) => void this.handle(req, res));
  private readonly userFailures = new Map<string, VkUserFailure>();
  /** Errors the next calls get, in order: flood / tooMany / captcha / internal switches. */
  private readonly queued: Array<{ code: number; left: number }> = [];
  /** `peer:random_id` → the message it sent and when: VK's one-hour duplicate check. */
  private readonly byRandomId = new Map<string, { id: number; at: number }>();
  /** Where VK posts message_reply for each sent message (the Callback server), and when. */
  private echo: { url: string; when: 'before' | 'after' } | null = null;
  private readonly echoing = new Set<Promise<unknown>>();
  /** Every message_reply posted for a sent message, and what our server answered. */
  readonly echoes: Array<{ id: number; status: number }> = [];
  private mode: VkDownMode | null = null;
  private dropAnswers = 0;
  private nextId = 1;
  private readonly now: () => number;
  private baseUrl = '';
  /** Files uploaded for messages (upload servers, photos.saveMessagesPhoto, docs.save): fake-vk-upload.ts. */
  readonly uploads: FakeVkUploads;

  constructor(opts: { token?: string; groupId?: number; secret?: string; confirmation?: string; now?: () => number } = {}) {
    this.token = opts.token ?? 'vk1.a.FakeCommunityTokenForTests_0123456789abcdefABCDEF';
    this.groupId = opts.groupId ?? 218_000_001;
    this.secret = opts.secret ?? 'FakeCallbackSecret42';
    this.confirmation = opts.confirmation ?? '1a2b3c4d';
    this.now = opts.now ?? Date.now;
    this.uploads = new FakeVkUploads(() => this.baseUrl, this.groupId);
  }

  /** The fake's base URL (the api_url of a connection to it), once started. */
  get url(): string {
    return this.baseUrl;
  }

  async start(): Promise<string> {
    this.baseUrl = await this.http.start();
    return this.baseUrl;
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  /** messages.send to this peer fails with `code` (901 not allowed, 902 privacy, 18 deleted…). */
  failUser(peerId: string | number, code: VkUserFailure): void {
    this.userFailures.set(String(peerId), code);
  }

  /**
   * As VK does for a community with a Callback server: every message messages.send sends comes back
   * as a `message_reply` event. `before`: posted (and answered) before messages.send answers, the
   * order VK does not promise either way.
   */
  echoTo(url: string, when: 'before' | 'after' = 'after'): void {
    this.echo = { url, when };
  }

  /** Resolves when every echo posted so far has been answered. */
  async echoesSettled(): Promise<void> {
    while (this.echoing.size) await Promise.all([...this.echoing]);
  }

  /** The `object` of a `message_reply` an admin typed in the community's messages (VK names them in admin_author_id). */
  operatorReplyObject(peerId: number, text: string, adminId: number): Record<string, unknown> {
    const id = this.nextId++;
    return {
      id, date: Math.floor(this.now() / 1000), peer_id: peerId, from_id: -this.groupId, out: 1, text, admin_author_id: adminId,
      conversation_message_id: id, random_id: randomBytes(4).readInt32BE(0) || 1, fwd_messages: [], attachments: [], important: false, is_hidden: false,
    };
  }

  /** The next `count` calls get error 9 "Flood control". */
  flood(count = 1): void {
    this.queued.push({ code: 9, left: count });
  }

  /** The next `count` calls get error 6 "Too many requests per second". */
  tooMany(count = 1): void {
    this.queued.push({ code: 6, left: count });
  }

  /** The next `count` calls get error 14 "Captcha needed" (with captcha_sid and captcha_img). */
  captcha(count = 1): void {
    this.queued.push({ code: 14, left: count });
  }

  /** The next `count` calls get error 10 "Internal server error". */
  internalError(count = 1): void {
    this.queued.push({ code: 10, left: count });
  }

  /** The next `count` messages.send calls send the message, then the connection is cut before the answer. */
  loseAnswers(count = 1): void {
    this.dropAnswers = count;
  }

  down(mode: VkDownMode = 'outage'): void {
    this.mode = mode;
  }

  /** Back up, with no queued errors and no failing users. */
  up(): void {
    this.mode = null;
    this.queued.length = 0;
    this.userFailures.clear();
    this.dropAnswers = 0;
  }

  /** The Callback API JSON VK would POST for an event of this community, secret included. */
  callbackBody(type: string, object: Record<string, unknown> = {}, opts: { secret?: string | null; groupId?: number } = {}): Record<string, unknown> {
    const body: Record<string, unknown> = { group_id: opts.groupId ?? this.groupId, type, event_id: randomBytes(20).toString('hex'), v: '5.199', object };
    const secret = opts.secret === undefined ? this.secret : opts.secret;
    if (secret !== null) body.secret = secret;
    return body;
  }

  /** The `object` of a `message_new` as API 5.199 shapes it: `{message, client_info}`. */
  messageNewObject(fromId: number, text: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      message: {
        id: this.nextId++, date: Math.floor(this.now() / 1000), from_id: fromId, peer_id: fromId, out: 0, text,
        conversation_message_id: this.nextId, fwd_messages: [], attachments: [], important: false, is_hidden: false, version: 1, ...extra,
      },
      client_info: { button_actions: ['text', 'vkpay', 'open_app', 'location', 'open_link', 'callback'], keyboard: true, inline_keyboard: true, carousel: true, lang_id: 0 },
    };
  }

  /** POSTs a Callback API call to our server as VK does (JSON); returns the status and the text answered. */
  async deliver(url: string, body: unknown): Promise<{ status: number; text: string }> {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, text: await res.text() };
  }

  private postEcho(m: SentVkMessage): Promise<void> {
    const url = this.echo!.url;
    const done = this.deliver(url, this.callbackBody('message_reply', replyObject(m, this.groupId)))
      .then((r) => void this.echoes.push({ id: m.id, status: r.status }), () => void this.echoes.push({ id: m.id, status: 0 }));
    this.echoing.add(done);
    return done.finally(() => this.echoing.delete(done));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // The upload server takes files (bytes, not text); VK runs it on other hosts, the fake on the same one.
    const upload = req.url?.startsWith('/upload/') ?? false;
    const bytes = upload ? await readBytes(req) : null;
    const raw = upload ? (bytes ? '' : null) : await readBody(req);
    if (raw === null) return;
    if (this.mode === 'hang') return;
    if (this.mode === 'reset') return void req.socket.destroy();
    if (this.mode === 'outage') return send(res, 502, '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>', 'text/html');

    if (upload) return json(res, await this.uploads.receive(req, bytes!));
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const m = /^\/method\/([A-Za-z]+\.[A-Za-z]+)$/.exec(url.pathname);
    const params: Record<string, string> = { ...Object.fromEntries(url.searchParams), ...Object.fromEntries(new URLSearchParams(raw)) };
    const { access_token: token, ...shown } = params;
    const method = m?.[1] ?? url.pathname;
    this.calls.push({ method, params: shown, at: this.now() });
    const fail = (code: number, detail?: string, extra: Record<string, unknown> = {}) => json(res, {
      error: {
        error_code: code, error_msg: detail ? `${MESSAGES[code]}: ${detail}` : MESSAGES[code], ...extra,
        // VK echoes the request's parameters, but never the token.
        request_params: [{ key: 'method', value: method }, { key: 'oauth', value: '1' }, ...Object.entries(shown).map(([key, value]) => ({ key, value }))],
      },
    });
    if (!m) return fail(3);
    if (!token) return fail(5, undefined, { error_msg: 'User authorization failed: no access_token passed.' });
    if (token !== this.token) return fail(5);
    if (!params.v) return fail(8);
    const q = this.queued.find((e) => e.left > 0);
    if (q) {
      q.left -= 1;
      if (q.code === 14) return fail(14, undefined, { captcha_sid: '548391021374', captcha_img: 'https://api.vk.com/captcha.php?sid=548391021374&s=1' });
      return fail(q.code);
    }
    if (method === 'messages.send') return this.send(params, fail, res);
    if (this.uploads.handles(method)) {
      const a = this.uploads.method(method, params);
      return 'response' in a ? json(res, a) : fail(a.error, a.detail);
    }
    if (method === 'messages.sendMessageEventAnswer') return json(res, { response: 1 });
    if (method === 'groups.getById') return json(res, { response: { groups: [{ id: this.groupId, name: 'Conveyor test community', screen_name: `club${this.groupId}`, type: 'group' }], profiles: [] } });
    return fail(3);
  }

  private async send(p: Record<string, string>, fail: (code: number, detail?: string) => void, res: ServerResponse): Promise<void> {
    const peer = p.peer_id ?? p.user_id ?? '';
    if (!/^-?[0-9]+$/.test(peer)) return fail(100, 'peer_id is undefined');
    if (p.random_id === undefined) return fail(100, 'random_id is a required parameter');
    const randomId = Number(p.random_id);
    if (!Number.isInteger(randomId) || randomId < -2147483648 || randomId > 2147483647) return fail(100, 'random_id is not int32');
    const text = p.message ?? '';
    if (!text.trim() && !p.attachment) return fail(100, 'message is empty or invalid');
    if ([...text].length > MAX_TEXT) return fail(914);
    // A photo or doc of this community must have been saved (others, e.g. photo-1_2 in tests, pass as given).
    const own = (p.attachment ?? '').split(',').filter((a) => new RegExp(`^(photo|doc)-${this.groupId}_`).test(a));
    const unknown = own.find((a) => !this.uploads.saved.some((f) => a === f.attachment || a === `${f.kind}${f.owner_id}_${f.id}`));
    if (unknown) return fail(100, `attachment ${unknown} is invalid`);
    let keyboard: Record<string, unknown> | undefined;
    if (p.keyboard !== undefined) {
      keyboard = parseKeyboard(p.keyboard);
      if (!keyboard) return fail(911);
    }
    const failure = this.userFailures.get(peer);
    if (failure) return fail(failure);
    // VK's duplicate check: the same random_id to the same peer within an hour sends nothing and
    // answers the first message's id (random_id 0 switches the check off).
    const key = `${peer}:${randomId}`;
    const seen = this.byRandomId.get(key);
    if (randomId !== 0 && seen && this.now() - seen.at < HOUR_MS) return json(res, { response: seen.id });
    const msg: SentVkMessage = {
      id: this.nextId++, peer_id: peer, random_id: randomId, message: text, date: Math.floor(this.now() / 1000),
      ...(keyboard && { keyboard }), ...(p.attachment && { attachment: p.attachment }),
    };
    this.messages.push(msg);
    if (randomId !== 0) this.byRandomId.set(key, { id: msg.id, at: this.now() });
    if (this.echo?.when === 'before') await this.postEcho(msg);
    else if (this.echo) setImmediate(() => void this.postEcho(msg));
    if (this.dropAnswers > 0) {
      this.dropAnswers -= 1;
      return void res.socket?.destroy();
    }
    json(res, { response: msg.id });
  }
}

/** message_reply's object: the sent message as VK shows an outgoing one (no admin_author_id for an API send). */
function replyObject(m: SentVkMessage, groupId: number): Record<string, unknown> {
  return {
    id: m.id, date: m.date, peer_id: Number(m.peer_id), from_id: -groupId, out: 1, text: m.message, conversation_message_id: m.id,
    random_id: m.random_id, fwd_messages: [], attachments: [], important: false, is_hidden: false,
    ...(m.keyboard && { keyboard: m.keyboard }),
  };
}

/** A keyboard VK would accept, or undefined (error 911): buttons in rows, known types, labels and payloads in bounds. */
function parseKeyboard(text: string): Record<string, unknown> | undefined {
  let kb: { buttons?: unknown; inline?: unknown };
  try {
    kb = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!kb || typeof kb !== 'object' || !Array.isArray(kb.buttons)) return undefined;
  const rows = kb.buttons as unknown[];
  const inline = kb.inline === true;
  const [maxRows, maxTotal] = inline ? [6, 10] : [10, 40];
  if (rows.length > maxRows || rows.some((r) => !Array.isArray(r) || r.length > 5)) return undefined;
  if ((rows as unknown[][]).flat().length > maxTotal) return undefined;
  for (const b of (rows as Array<Array<{ action?: Record<string, unknown> }>>).flat()) {
    const a = b?.action;
    if (!a || !BUTTON_TYPES.includes(String(a.type))) return undefined;
    if (['text', 'callback', 'open_link'].includes(String(a.type)) && (typeof a.label !== 'string' || !a.label || [...a.label].length > 40)) return undefined;
    if (a.type === 'open_link' && typeof a.link !== 'string') return undefined;
    if (a.payload !== undefined) {
      if (typeof a.payload !== 'string' || a.payload.length > 255) return undefined;
      try {
        JSON.parse(a.payload);
      } catch {
        return undefined;
      }
    }
  }
  return kb as Record<string, unknown>;
}

/** A request's whole body as bytes; null when the client went away mid-body. */
async function readBytes(req: IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  try {
    for await (const c of req) chunks.push(c as Buffer);
  } catch {
    return null;
  }
  return Buffer.concat(chunks);
}

function json(res: ServerResponse, body: unknown): void {
  // VK answers errors with HTTP 200 too.
  send(res, 200, JSON.stringify(body), 'application/json; charset=utf-8');
}

function send(res: ServerResponse, status: number, body: string, type: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}
