import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerError } from 'smtp-server';

export interface ReceivedEmail {
  envelope: { from: string; to: string[] };
  /** The message as it came over DATA (headers and MIME body). */
  raw: string;
  /** The login used, when the client logged in. */
  user?: string;
  /** Decoded header fields and bodies, for assertions. */
  subject?: string;
  from?: string;
  to?: string;
  replyTo?: string;
  messageId?: string;
  text?: string;
  html?: string;
}

/** Reply texts as Postfix words them; the server adds the enhanced status code (5.1.1…). */
const REPLIES: Record<number, string> = {
  421: 'Service not available, closing transmission channel',
  450: 'Requested mail action not taken: mailbox unavailable (greylisted, try again later)',
  451: 'Requested action aborted: local error in processing',
  452: 'Requested action not taken: insufficient system storage',
  550: 'Recipient address rejected: User unknown in virtual mailbox table',
  551: 'User not local; please try a different path',
  552: 'Requested mail action aborted: exceeded storage allocation',
  553: 'Requested action not taken: mailbox name not allowed',
  554: 'Transaction failed',
};

function replyError(code: number, address?: string): SMTPServerError {
  const err: SMTPServerError = new Error(`${address ? `<${address}>: ` : ''}${REPLIES[code] ?? 'Error'}`);
  err.responseCode = code;
  return err;
}

/**
 * An SMTP server on 127.0.0.1 for tests and the demo (smtp-server, plain text: STARTTLS disabled, login
 * allowed without TLS, optional). Keeps what it received and fails the way mail servers fail.
 */
export class FakeSmtp {
  readonly messages: ReceivedEmail[] = [];
  /** SMTP connections opened so far (a pooled client reuses one for several messages). */
  connections = 0;
  readonly host = '127.0.0.1';
  port = 0;
  private server: SMTPServer | null = null;
  private readonly byRecipient = new Map<string, number>();
  private allRecipients: number | null = null;
  private authRefused = false;
  private hanging = false;

  constructor(readonly user = 'sales@example.com', readonly password = 'smtp-Secret-pass-42') {}

  async start(): Promise<{ host: string; port: number }> {
    this.server = new SMTPServer({
      name: 'fake-smtp.local',
      authOptional: true,
      allowInsecureAuth: true,
      disabledCommands: ['STARTTLS'],
      hideENHANCEDSTATUSCODES: false,
      disableReverseLookup: true,
      logger: false,
      closeTimeout: 100,
      onConnect: (_session, cb) => {
        this.connections += 1;
        if (!this.hanging) cb(); // hanging: never greet, as a firewalled or overloaded server
      },
      onAuth: (auth, _session, cb) => {
        if (this.authRefused || auth.username !== this.user || auth.password !== this.password) {
          const err: SMTPServerError = new Error('Authentication credentials invalid');
          err.responseCode = 535;
          return cb(err);
        }
        cb(null, { user: auth.username });
      },
      onRcptTo: (address, _session, cb) => {
        const code = this.byRecipient.get(address.address.toLowerCase()) ?? this.allRecipients;
        cb(code ? replyError(code, address.address) : null);
      },
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const env = session.envelope;
          this.messages.push({
            envelope: { from: env.mailFrom ? env.mailFrom.address : '', to: env.rcptTo.map((r) => r.address) },
            raw, ...(typeof session.user === 'string' && { user: session.user }), ...peek(raw),
          });
          cb(null);
        });
      },
    });
    this.server.on('error', () => {}); // a client cutting its connection is not the fake's failure
    await new Promise<void>((resolve) => this.server!.listen(0, this.host, () => resolve()));
    this.port = (this.server.server.address() as AddressInfo).port;
    return { host: this.host, port: this.port };
  }

  async close(): Promise<void> {
    if (this.server) await new Promise<void>((r) => this.server!.close(() => r()));
    this.server = null;
  }

  /** RCPT TO this address answers `code` (550 no such user, 451 try later…). */
  rejectRecipient(address: string, code = 550): void {
    this.byRecipient.set(address.toLowerCase(), code);
  }

  /** Every RCPT TO answers `code`, e.g. 451 while the server's queue is broken. */
  rejectAll(code = 451): void {
    this.allRecipients = code;
  }

  /** AUTH answers 535 whatever the password. */
  refuseAuth(): void {
    this.authRefused = true;
  }

  /** New connections are accepted and never greeted. */
  hang(): void {
    this.hanging = true;
  }

  /** Back to accepting everything. */
  reset(): void {
    this.byRecipient.clear();
    this.allRecipients = null;
    this.authRefused = false;
    this.hanging = false;
  }
}

/** The headers and text/html bodies of a message, decoded enough for tests (not a MIME parser). */
function peek(raw: string): Partial<ReceivedEmail> {
  const [head] = splitHead(raw);
  const h = headers(head);
  const out: Partial<ReceivedEmail> = {
    subject: h.subject, from: h.from, to: h.to, replyTo: h['reply-to'], messageId: h['message-id'],
  };
  for (const part of parts(raw)) {
    const [phead, body] = splitHead(part);
    const ph = headers(phead);
    const type = (ph['content-type'] ?? 'text/plain').toLowerCase();
    const text = decodeBody(body, (ph['content-transfer-encoding'] ?? '').toLowerCase());
    if (type.startsWith('text/plain') && out.text === undefined) out.text = text;
    if (type.startsWith('text/html') && out.html === undefined) out.html = text;
  }
  return out;
}

function splitHead(s: string): [string, string] {
  const i = s.search(/\r?\n\r?\n/);
  return i < 0 ? [s, ''] : [s.slice(0, i), s.slice(i).replace(/^\r?\n\r?\n/, '')];
}

function headers(head: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i).trim().toLowerCase()] ??= decodeWords(line.slice(i + 1).trim());
  }
  return out;
}

/** The leaf parts of a (possibly nested) multipart message; the message itself when it is not one. */
function parts(entity: string): string[] {
  const [head, body] = splitHead(entity);
  const boundary = /boundary="?([^";\r\n]+)"?/i.exec(headers(head)['content-type'] ?? '')?.[1];
  if (!boundary) return [entity];
  return body.split(`--${boundary}`).slice(1).filter((p) => !p.startsWith('--')).flatMap((p) => parts(p.replace(/^\r?\n/, '')));
}

function decodeBody(body: string, encoding: string): string {
  const trimmed = body.replace(/\r?\n$/, '');
  if (encoding === 'base64') return Buffer.from(trimmed.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (encoding === 'quoted-printable') return qp(trimmed.replace(/=\r?\n/g, ''));
  return trimmed;
}

function qp(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const hex = s.slice(i + 1, i + 3);
    if (s[i] === '=' && /^[0-9A-F]{2}$/i.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(s[i], 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** RFC 2047 encoded words (=?UTF-8?B?…?= / =?UTF-8?Q?…?=), adjacent ones joined. */
function decodeWords(s: string): string {
  return s.replace(/\?=\s+=\?/g, '?==?').replace(/=\?([^?]+)\?([BQ])\?([^?]*)\?=/gi, (_m, _cs: string, enc: string, data: string) =>
    enc.toUpperCase() === 'B' ? Buffer.from(data, 'base64').toString('utf8') : qp(data.replace(/_/g, ' ')));
}
