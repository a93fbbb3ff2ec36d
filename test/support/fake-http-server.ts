import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** Lower-cased names, as node:http gives them. */
  headers: IncomingMessage['headers'];
  body: string;
  /** The body parsed when it is JSON, else undefined (typed `any` so tests can reach in). */
  json: any;
  at: number;
  /** The client's port: equal ports mean a reused keep-alive connection. */
  remotePort: number;
}

/**
 * How to answer one request:
 * - `{ status, headers, body, delayMs }`: a normal answer (object bodies are sent as JSON), after a delay;
 *   with `stall: true` the headers and `body` (if any) are sent and the response never ends.
 * - `'hang'`: accept the request and never answer.
 * - `'stall'`: 200 headers (content-length 1000) and nothing more.
 * - `'destroy'`: cut the connection without answering.
 */
export type Answer =
  | { status: number; body?: unknown; headers?: Record<string, string>; delayMs?: number; stall?: boolean }
  | 'hang'
  | 'stall'
  | 'destroy';
export type Handler = (req: RecordedRequest) => Answer | Promise<Answer>;
export type FakeServer = Awaited<ReturnType<typeof startFakeServer>>;

/** `n` copies of one answer, for `queue`: `queue('GET', '/x', times(2, limited), ok)`. */
export function times(n: number, answer: Answer): Answer[] {
  return Array.from({ length: n }, () => answer);
}

const NOT_FOUND: Answer = { status: 404, body: { error: 'not found' } };

/**
 * A real HTTP server on 127.0.0.1 (port 0) that answers as a test scripts it. Queued answers for a
 * route are used first, in order, then its `on` handler, then 404. `method` may be '*'.
 */
export async function startFakeServer() {
  const requests: RecordedRequest[] = [];
  const routes = new Map<string, Handler>();
  const queues = new Map<string, Answer[]>();
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const sleep = (ms: number) => new Promise<void>((r) => {
    const t = setTimeout(() => (timers.delete(t), r()), ms);
    timers.add(t);
  });

  async function choose(rec: RecordedRequest): Promise<Answer> {
    for (const key of [`${rec.method} ${rec.path}`, `* ${rec.path}`]) {
      const queued = queues.get(key);
      if (queued?.length) return queued.shift()!;
    }
    const handler = routes.get(`${rec.method} ${rec.path}`) ?? routes.get(`* ${rec.path}`);
    return handler ? handler(rec) : NOT_FOUND;
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    // The client may give up mid-upload (its own timeout); that is not the test's failure.
    try {
      for await (const c of req) chunks.push(c as Buffer);
    } catch {
      return;
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const body = Buffer.concat(chunks).toString('utf8');
    let json: unknown;
    try {
      json = body ? JSON.parse(body) : undefined;
    } catch {
      json = undefined;
    }
    const rec: RecordedRequest = {
      method: req.method ?? 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams),
      headers: req.headers, body, json, at: Date.now(), remotePort: req.socket.remotePort ?? 0,
    };
    requests.push(rec);
    let answer: Answer;
    try {
      answer = await choose(rec);
    } catch (e) {
      answer = { status: 500, body: { error: `fake server handler threw: ${(e as Error).message}` } };
    }
    if (answer === 'hang') return;
    if (answer === 'destroy') return void req.socket.destroy();
    if (answer === 'stall') answer = { status: 200, headers: { 'content-length': '1000' }, stall: true };
    if (answer.delayMs) await sleep(answer.delayMs);
    if (res.destroyed) return;
    const isText = typeof answer.body === 'string' || Buffer.isBuffer(answer.body);
    const payload = answer.body === undefined ? '' : isText ? (answer.body as string | Buffer) : JSON.stringify(answer.body);
    const headers: Record<string, string> = {
      'content-type': isText ? 'text/plain; charset=utf-8' : 'application/json',
      ...lower(answer.headers ?? {}),
    };
    if (answer.stall) {
      // Promise more than is sent so the client keeps waiting for the rest of the body.
      headers['content-length'] ??= String(Buffer.byteLength(payload) + 1000);
      res.writeHead(answer.status, headers);
      res.flushHeaders();
      if (payload.length) res.write(payload);
      return;
    }
    headers['content-length'] ??= String(Buffer.byteLength(payload));
    res.writeHead(answer.status, headers);
    res.end(payload);
  }

  const server = createServer((req, res) => void handle(req, res));
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    /** The standing answer (or handler) for a route, used when its queue is empty. */
    on(method: string, path: string, handler: Handler | Answer) {
      routes.set(`${method.toUpperCase()} ${path}`, typeof handler === 'function' ? handler : () => handler);
    },
    /** One-off answers for a route, used in order before its `on` answer; arrays are flattened. */
    queue(method: string, path: string, ...answers: (Answer | Answer[])[]) {
      const key = `${method.toUpperCase()} ${path}`;
      queues.set(key, [...(queues.get(key) ?? []), ...answers.flat()]);
    },
    /** Requests to one path (optionally one method). */
    hits(path: string, method?: string) {
      return requests.filter((r) => r.path === path && (!method || r.method === method.toUpperCase()));
    },
    /** Forget routes, queues and recorded requests (the `requests` array is emptied in place). */
    reset() {
      routes.clear();
      queues.clear();
      requests.length = 0;
    },
    /** Stops at once: hanging and stalled connections are destroyed, pending delays dropped. */
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function lower(h: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
}
