import addressparser from 'nodemailer/lib/addressparser';
import { parseDuration } from '../../util/duration.ts';
import { keepText, maskKnown } from '../../util/mask-secrets.ts';
import type { Pace } from '../connector.ts';
import { connectorNode } from '../connector-node.ts';
import { ServiceFailure, type Exchange } from '../service-failure.ts';
import { smtpFailure, type SmtpError } from './smtp-errors.ts';
import { smtpSettings, transportFor } from './smtp-transports.ts';

/** Mail providers throttle bursts from one login; 5 a second keeps well inside their limits. */
export const EMAIL_PACE: Pace = { perSecond: 5, burst: 10 };


const ADDRESSES = {
  type: ['string', 'array'],
  items: { type: 'string' },
  description: 'An address ("anna@example.com" or "Anna <anna@example.com>"), several separated by commas, or a list.',
};

function blank(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
}

/** An address param as given: a string or a list, blanks (empty templates) dropped. */
function given(v: unknown): string[] {
  return (Array.isArray(v) ? v : [v]).filter((x) => !blank(x)).map((x) => String(x).trim());
}

/** Every mailbox in an address param; one without an @ makes the whole send fail as a bad address. */
function mailboxes(v: unknown): string[] {
  const raw = given(v).join(', ');
  const flat = (list: ReturnType<typeof addressparser>): string[] =>
    list.flatMap((a) => ('group' in a && a.group ? flat(a.group) : [a.address ?? '']));
  return flat(addressparser(raw));
}

const cut = (s: unknown) => (typeof s === 'string' ? keepText(s) : s);

export const sendEmailNode = connectorNode({
  type: 'email.send',
  description: 'Send an email through the connection\'s SMTP server; result {message_id}.',
  connector: 'email',
  pace: EMAIL_PACE,
  required: ['to', 'subject'],
  params: {
    to: { ...ADDRESSES, description: 'Recipient(s), e.g. {{email}}; several separated by commas, or a list.' },
    subject: { type: 'string', description: 'Subject line (templates allowed).' },
    text: { type: 'string', description: 'Plain-text body; give text, html or both.' },
    html: { type: 'string', description: 'HTML body; mail apps that cannot show HTML show `text`.' },
    reply_to: { ...ADDRESSES, description: 'Where replies go, when not to the connection\'s `from`.' },
  },
  check: (n) => (n.text === undefined && n.html === undefined ? ['text or html: give the email a body'] : []),
  async call(ctx, connection, p) {
    const s = smtpSettings(connection.settings);
    const from = String(connection.settings.from ?? '');
    const timeoutMs = parseDuration((p.timeout as string | number | undefined) ?? '30s');
    const secrets = s.password ? [s.password, Buffer.from(`\u0000${s.user ?? ''}\u0000${s.password}`).toString('base64')] : [];
    const hide = (t: string) => maskKnown(t, secrets);

    const to = mailboxes(p.to);
    // Names stay in the headers ("Anna <anna@example.com>"); the exchange lists the mailboxes.
    const mail = {
      from, to: given(p.to), subject: blank(p.subject) ? '' : String(p.subject),
      ...(!blank(p.text) && { text: String(p.text) }),
      ...(!blank(p.html) && { html: String(p.html) }),
      ...(given(p.reply_to).length > 0 && { replyTo: given(p.reply_to) }),
    };
    const request: Exchange['request'] = {
      method: 'SMTP', url: `${s.secure ? 'smtps' : 'smtp'}://${s.host}:${s.port}`,
      body: { from, to, subject: mail.subject, ...(mail.replyTo && { reply_to: mailboxes(mail.replyTo) }), text: cut(mail.text), html: cut(mail.html) },
    };
    if (!s.host) throw new ServiceFailure('fail', 'the connection has no host', { code: 'no_host', exchange: { request } });
    if (!from) throw new ServiceFailure('fail', 'the connection has no from address', { code: 'no_from', exchange: { request } });
    if (!to.length) throw new ServiceFailure('fail', 'to: is empty after templates', { code: 'no_recipient', exchange: { request } });
    const bad = to.find((a) => !/^[^\s@]+@[^\s@]+$/.test(a));
    if (bad !== undefined) throw new ServiceFailure('unreachable', `to: "${bad}" is not an email address`, { code: 'bad_address', exchange: { request } });
    if (mail.text === undefined && mail.html === undefined) throw new ServiceFailure('fail', 'text or html: both are empty after templates', { code: 'no_body', exchange: { request } });

    // The socket timeouts end each wait at `timeoutMs`; this backstop ends a send that still drags on
    // (waiting in the pool's queue, a server trickling its replies).
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), timeoutMs + 1000);
    const started = performance.now();
    try {
      const info = await transportFor(connection, s, timeoutMs).sendMail({ ...mail, signal: ctl.signal });
      const durationMs = Math.round(performance.now() - started);
      const rejected = ((info.rejected ?? []) as Array<string | { address: string }>).map((r) => (typeof r === 'string' ? r : r.address));
      const exchange: Exchange = { request, response: { status: Number(/^\d{3}/.exec(info.response ?? '')?.[0] ?? 250), body: hide(String(info.response ?? '')), durationMs } };
      return { patch: { message_id: info.messageId, ...(rejected.length && { rejected }) }, exchange };
    } catch (e) {
      const err = e as SmtpError;
      const durationMs = Math.round(performance.now() - started);
      if (ctl.signal.aborted) {
        throw new ServiceFailure('retry', `mail server did not finish within ${timeoutMs} ms`, { code: 'timeout', exchange: { request } });
      }
      const response = err.responseCode ? { status: err.responseCode, body: hide(err.response ?? ''), durationMs } : undefined;
      throw smtpFailure(err, { request, ...(response && { response }) }, hide);
    } finally {
      clearTimeout(timer);
    }
  },
});
