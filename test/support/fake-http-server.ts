import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface RecordedRequest { method: string; path: string; query: Record<string, string>; headers: IncomingMessage['headers']; body: string; json: any; at: number }
export type Answer =
  | { status: number; body?: unknown; headers?: Record<string, string>; delayMs?: number }
  | 'hang'
  | 'destroy';
type Handler = (req: RecordedRequest) => Answer | Promise<Answer>;

/**
 * A real HTTP server on 127.0.0.1 that answers as a test scripts it: statuses, Retry-After,
 * slow answers, connections that hang or are cut. Answers queued per route are used in order.
 */
export async function startFakeServer() {
  const requests: RecordedRequest[] = [];
  const routes = new Map<string, Handler>();
  const queues = new Map<string, Answer[]>();
  const sockets = new Set<Socket>();
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', 'http://x');
    const body = Buffer.concat(chunks).toString('utf8');
    let json: unknown;
    try {
      json = body ? JSON.parse(body) : undefined;
    } catch {
      json = undefined;
    }
    const rec = { method: req.method ?? 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams), headers: req.headers, body, json, at: Date.now() };
    requests.push(rec);
    const key = `${rec.method} ${rec.path}`;
    const queued = queues.get(key);
    const answer: Answer = queued?.length ? queued.shift()! : routes.has(key) ? await routes.get(key)!(rec) : { status: 404, body: { error: 'not found' } };
    if (answer === 'hang') return;
    if (answer === 'destroy') return req.socket.destroy();
    if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
    res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
    res.end(answer.body === undefined ? '' : typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    on(method: string, path: string, handler: Handler | Answer) {
      routes.set(`${method} ${path}`, typeof handler === 'function' ? handler : () => handler);
    },
    queue(method: string, path: string, ...answers: Answer[]) {
      queues.set(`${method} ${path}`, [...(queues.get(`${method} ${path}`) ?? []), ...answers]);
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
