import { Agent, request } from 'undici';

export interface HttpRequest { method: string; url: string; headers?: Record<string, string>; body?: string; timeoutMs: number }
export interface HttpResponse {
  status: number;
  /** Lower-cased names. */
  headers: Record<string, string>;
  body: string;
  /** The body parsed, when it is JSON. */
  json: unknown;
  durationMs: number;
}

/** No response: the deadline passed (`timeout`) or the connection failed (`network`). */
export class HttpFailure extends Error {
  constructor(readonly kind: 'timeout' | 'network', message: string) {
    super(message);
  }
}

export interface HttpClient { request(req: HttpRequest): Promise<HttpResponse> }

/**
 * Outbound HTTP on one keep-alive pool. One deadline covers connect, headers and body, so a server
 * that accepts and never answers, or stalls mid-body, ends as a timeout (the seed's "no answer at all").
 */
export function createHttpClient(opts: { maxResponseBytes?: number; connections?: number } = {}): HttpClient & { close(): Promise<void> } {
  const max = opts.maxResponseBytes ?? 1024 * 1024;
  const agent = new Agent({ connections: opts.connections ?? 256, keepAliveTimeout: 10_000, pipelining: 1 });
  return {
    async request(req) {
      const started = performance.now();
      const signal = AbortSignal.timeout(req.timeoutMs);
      try {
        const res = await request(req.url, {
          method: req.method as 'GET', headers: req.headers, body: req.body, dispatcher: agent, signal,
          headersTimeout: req.timeoutMs, bodyTimeout: req.timeoutMs,
        });
        const chunks: Buffer[] = [];
        let size = 0;
        let cut = false;
        for await (const chunk of res.body) {
          if (size < max) chunks.push(chunk as Buffer);
          size += (chunk as Buffer).length;
          if (size >= max) cut = true;
        }
        let body = Buffer.concat(chunks).toString('utf8');
        if (cut) body = body.slice(0, max) + `… (cut at ${max} bytes of ${size})`;
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
        let json: unknown;
        if (!cut && body && /json/i.test(headers['content-type'] ?? '') || /^\s*[[{]/.test(body)) {
          try {
            json = JSON.parse(body);
          } catch {
            json = undefined;
          }
        }
        return { status: res.statusCode, headers, body, json, durationMs: performance.now() - started };
      } catch (err) {
        const e = err as Error & { code?: string; cause?: { code?: string } };
        if (signal.aborted || e.name === 'TimeoutError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT') {
          throw new HttpFailure('timeout', `no answer within ${req.timeoutMs} ms`);
        }
        const code = e.code ?? e.cause?.code ?? e.name;
        throw new HttpFailure('network', `${code}: ${e.cause instanceof Error ? e.cause.message : e.message}`);
      }
    },
    close: () => agent.close(),
  };
}
