import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * The HTTP server under every fake service: 127.0.0.1 on a free port, and a close that also ends
 * connections left open on purpose (a hung request, keep-alive), so tests and the demo stop at once.
 */
export class LoopbackServer {
  private server: Server | null = null;
  /** Open connections, for fakes that cut them (a `reset` outage). */
  readonly sockets = new Set<Socket>();

  constructor(private readonly handler: (req: IncomingMessage, res: ServerResponse) => void) {}

  /** Listens; answers the base URL, e.g. http://127.0.0.1:40123. */
  async start(): Promise<string> {
    const server = (this.server = createServer(this.handler));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}

/** A request's whole body as text; null when the client went away mid-body (nothing to answer). */
export async function readBody(req: IncomingMessage): Promise<string | null> {
  let raw = '';
  try {
    for await (const c of req) raw += c;
  } catch {
    return null;
  }
  return raw;
}
