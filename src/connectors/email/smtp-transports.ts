import { createHash } from 'node:crypto';
import { createTransport } from 'nodemailer';
import type { Connection } from '../connector.ts';

export type SmtpTransport = ReturnType<typeof createTransport>;

export interface SmtpSettings {
  host: string;
  port: number;
  secure: boolean;
  user?: string;
  password?: string;
}

const MAX_TRANSPORTS = 100;
/** Pools by connection and settings: a send reuses an open, logged-in SMTP connection. */
const transports = new Map<string, SmtpTransport>();

export function smtpSettings(s: Record<string, unknown>): SmtpSettings {
  const secure = s.secure === true || s.secure === 'true';
  return {
    host: String(s.host ?? ''),
    // 465 is SMTP over TLS from the first byte; 587 is submission with STARTTLS.
    port: Number(s.port) || (secure ? 465 : 587),
    secure,
    user: s.user === undefined || s.user === '' ? undefined : String(s.user),
    password: s.password === undefined || s.password === '' ? undefined : String(s.password),
  };
}

/**
 * The pooled transport for this connection, these settings and this timeout. Changed settings (a new
 * password) get a new pool; the least recently used pool beyond the limit is closed once idle.
 */
export function transportFor(connection: Connection, s: SmtpSettings, timeoutMs: number): SmtpTransport {
  const key = `${connection.connector}:${connection.name}|${createHash('sha256').update(JSON.stringify([s, timeoutMs])).digest('hex')}`;
  let t = transports.get(key);
  if (t) {
    transports.delete(key); // re-insert: Map order is the LRU order
    transports.set(key, t);
    return t;
  }
  t = createTransport({
    pool: true,
    maxConnections: 3,
    host: s.host,
    port: s.port,
    secure: s.secure,
    ...(s.user !== undefined && { auth: { user: s.user, pass: s.password ?? '' } }),
    // Short waits from the node's timeout: a dead server is a retry later, not a task stuck for minutes.
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    idleTimeout: 30_000,
    logger: false,
    debug: false,
  });
  transports.set(key, t);
  if (transports.size > MAX_TRANSPORTS) {
    const [oldest, old] = transports.entries().next().value as [string, SmtpTransport];
    transports.delete(oldest);
    old.close();
  }
  return t;
}

/** Closes every pool (tests, shutdown). */
export function closeEmailTransports(): void {
  for (const t of transports.values()) t.close();
  transports.clear();
}
