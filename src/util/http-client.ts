import { Agent, request } from 'undici';

export interface HttpRequest {
  method: string; url: string; headers?: Record<string, string>; body?: string; timeoutMs: number;
  /** A binary body (a file upload), sent instead of `body`. */
  bodyBytes?: Uint8Array;
  /** Files (a VK upload): keep the body as bytes in `bytes`, not decoded; `body` then only says its size. */
  binary?: boolean;
  /** This request's cap on the body, instead of the client's maxResponseBytes (e.g. 20 MB for a file). */
  maxBytes?: number;
}
export interface HttpResponse {
  status: number;
  /** Lower-cased names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: string;
  /** The body parsed, when it is JSON (and was not cut); else undefined. */
  json: unknown;
  durationMs: number;
  /** Set when the body was longer than maxResponseBytes and `body` holds only its start. */
  truncated?: boolean;
  /** The body's bytes, for a `binary` request. */
  bytes?: Buffer;
}

/** No response: the deadline passed (`timeout`) or the connection failed (`network`). */
export class HttpFailure extends Error {
  override name = 'HttpFailure';
  constructor(readonly kind: 'timeout' | 'network', message: string) {
    super(message);
  }
}

export interface HttpClient { request(req: HttpRequest): Promise<HttpResponse> }

// undici computes or refuses these itself; a template that sets them would fail every attempt.
const DROPPED = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'content-length', 'expect']);

/**
 * Outbound HTTP on one keep-alive pool. One deadline covers connect, headers and body, so a server
 * that accepts and never answers, or stalls mid-body, ends as a timeout near `timeoutMs`.
 */
export function createHttpClient(opts: { maxResponseBytes?: number; connections?: number } = {}): HttpClient & { close(): Promise<void> } {
  const maxDefault = opts.maxResponseBytes ?? 1024 * 1024;
  const agent = new Agent({ connections: opts.connections ?? 256, keepAliveTimeout: 10_000, pipelining: 1 });

  async function send(req: HttpRequest): Promise<HttpResponse> {
    const max = req.maxBytes ?? maxDefault;
    const started = performance.now();
    const ctl = new AbortController();
    // Our own timer (not AbortSignal.timeout) so it is cleared as soon as the exchange ends.
    const timer = setTimeout(() => ctl.abort(), req.timeoutMs);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers ?? {})) if (!DROPPED.has(k.toLowerCase())) headers[k] = v;
    try {
      const res = await request(req.url, {
        method: req.method.toUpperCase() as 'GET', headers, body: req.bodyBytes ?? req.body, dispatcher: agent, signal: ctl.signal,
        // Backstops only: undici's own timers are coarse, so the abort above decides.
        headersTimeout: req.timeoutMs + 1000, bodyTimeout: req.timeoutMs + 1000,
      });
      const resHeaders: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) {
        if (v !== undefined) resHeaders[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
      }
      const chunks: Buffer[] = [];
      let size = 0;
      let truncated = false;
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        chunks.push(chunk);
        size += chunk.length;
        if (size > max) {
          // Stop downloading: the rest is never used, and reading it could run past the deadline.
          truncated = true;
          res.body.destroy();
          break;
        }
      }
      const raw = Buffer.concat(chunks).subarray(0, max);
      if (req.binary) {
        return { status: res.statusCode, headers: resHeaders, body: `(${raw.length} bytes)`, json: undefined, bytes: raw, durationMs: performance.now() - started, ...(truncated ? { truncated } : {}) };
      }
      let body = decode(raw, resHeaders['content-type'], truncated);
      let json: unknown;
      if (truncated) {
        const total = Number(resHeaders['content-length']) || undefined;
        body += `… (cut at ${max} bytes${total ? ` of ${total}` : ''})`;
      } else {
        json = parseJson(body, resHeaders['content-type']);
      }
      return { status: res.statusCode, headers: resHeaders, body, json, durationMs: performance.now() - started, ...(truncated ? { truncated } : {}) };
    } catch (err) {
      throw toFailure(err, ctl.signal.aborted, req.timeoutMs);
    } finally {
      clearTimeout(timer);
    }
  }

  return { request: send, close: () => agent.close() };
}

function toFailure(err: unknown, aborted: boolean, timeoutMs: number): HttpFailure {
  if (err instanceof HttpFailure) return err;
  const e = err as Error & { code?: string; cause?: { code?: string; message?: string }; errors?: { code?: string }[] };
  if (aborted || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT') {
    return new HttpFailure('timeout', `no complete answer within ${timeoutMs} ms`);
  }
  // undici's connect timeout (10 s) is shorter than long deadlines; it is still "no answer in time".
  if (e.code === 'UND_ERR_CONNECT_TIMEOUT') return new HttpFailure('timeout', `UND_ERR_CONNECT_TIMEOUT: ${e.message}`);
  // Happy-eyeballs failures arrive as an AggregateError whose parts carry the code.
  const code = e.code ?? e.cause?.code ?? e.errors?.find((x) => x?.code)?.code ?? e.name;
  const message = e.message || e.cause?.message || String(err);
  return new HttpFailure('network', message.includes(code) ? message : `${code}: ${message}`);
}

function decode(raw: Buffer, contentType: string | undefined, cut: boolean): string {
  const charset = /charset=["']?([\w-]+)/i.exec(contentType ?? '')?.[1];
  if (charset && !/^utf-?8$/i.test(charset)) {
    try {
      return new TextDecoder(charset).decode(raw); // e.g. windows-1251 from older Russian APIs
    } catch {
      // Unknown charset: fall through to UTF-8.
    }
  }
  // A cut may split a UTF-8 sequence; drop the broken tail rather than show a replacement char.
  const text = raw.toString('utf8');
  return cut ? text.replace(/\uFFFD+$/, '') : text;
}

function parseJson(body: string, contentType: string | undefined): unknown {
  const text = body.replace(/^\uFEFF/, '');
  if (!/json/i.test(contentType ?? '') && !/^\s*[[{]/.test(text)) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
