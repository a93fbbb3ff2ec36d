import { ServiceFailure, type Exchange } from '../service-failure.ts';

/** What nodemailer puts on a failed send: its own `code`, and the server's reply when there was one. */
export interface SmtpError extends Error {
  code?: string;
  /** The system error under nodemailer's code, e.g. ECONNREFUSED under ESOCKET. */
  originalCode?: string;
  /** The SMTP reply code, e.g. 550. */
  responseCode?: number;
  /** The server's whole reply line, e.g. "550 5.1.1 <x@y>: Recipient address rejected: User unknown". */
  response?: string;
  /** The command that got it: CONN, AUTH PLAIN, MAIL FROM, RCPT TO, DATA… */
  command?: string;
}

/** No answer, or a connection that broke: the server may be back in a moment. */
const NETWORK = new Set(['ETIMEDOUT', 'ESOCKET', 'ECONNECTION', 'EDNS', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
/** "No such mailbox / user not local / mailbox name not allowed": this address cannot get mail. */
const NO_MAILBOX = new Set([550, 551, 553]);

/** The enhanced status code of a reply ("5.1.1"), when the server gives one. */
function enhancedCode(response: string | undefined): string | undefined {
  return /^\d{3}[ -](\d\.\d{1,3}\.\d{1,3})\b/.exec(response ?? '')?.[1];
}

/**
 * A nodemailer error → a classified ServiceFailure, by the server's reply code first: 4xx (421, 450,
 * 451, 452) is temporary; 535 is a wrong login; 550/551/553 to RCPT TO means the recipient's mailbox
 * does not exist (unless the enhanced code is 5.7.x, a policy such as relaying denied: our setup);
 * other 5xx will not pass. Without a reply, a broken or refused connection is retried.
 */
export function smtpFailure(err: SmtpError, exchange: Exchange, hide: (s: string) => string): ServiceFailure {
  const rc = typeof err.responseCode === 'number' ? err.responseCode : undefined;
  const said = hide(err.response ?? err.message);
  const opts = { code: rc ?? err.originalCode ?? err.code ?? 'error', exchange };
  if (rc !== undefined) {
    if (rc >= 400 && rc < 500) return new ServiceFailure('retry', `mail server deferred the message: ${said}`, opts);
    if (err.code === 'EAUTH' || rc === 535 || rc === 534) return new ServiceFailure('fail', `mail server refused the login: ${said}`, opts);
    const atRecipient = err.command === 'RCPT TO' || (err.code === 'EENVELOPE' && !err.command);
    if (atRecipient && NO_MAILBOX.has(rc) && !enhancedCode(err.response)?.startsWith('5.7.')) {
      return new ServiceFailure('unreachable', `mailbox unavailable: ${said}`, opts);
    }
    return new ServiceFailure('fail', `mail server rejected the message: ${said}`, opts);
  }
  if (NETWORK.has(err.code ?? '') || NETWORK.has(err.originalCode ?? '')) {
    const why = err.originalCode && err.originalCode !== err.code ? `${err.originalCode}: ` : '';
    return new ServiceFailure('retry', `mail server not reachable: ${why}${said}`, opts);
  }
  if (err.code === 'EENVELOPE' && /invalid recipient/i.test(err.message)) return new ServiceFailure('unreachable', `bad address: ${said}`, opts);
  // EAUTH without a reply (no credentials), ETLS (secure on a STARTTLS port), EMESSAGE…: our setup.
  return new ServiceFailure('fail', `email not sent: ${said}`, opts);
}
