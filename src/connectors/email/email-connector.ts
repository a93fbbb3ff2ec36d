import type { Connector } from '../connector.ts';
import { EMAIL_PACE, sendEmailNode } from './send-email.ts';

/** Email through any SMTP server (the company's mailbox, Gmail, Yandex, a transactional service). */
export const emailConnector: Connector = {
  name: 'email',
  description: 'Email: send messages through an SMTP server.',
  settingsSchema: {
    type: 'object',
    required: ['host', 'from'],
    properties: {
      host: { type: 'string', minLength: 1, description: 'SMTP server, e.g. smtp.yandex.ru or smtp.gmail.com.' },
      port: { type: 'integer', minimum: 1, maximum: 65535, description: 'SMTP port: 465 with secure, 587 (STARTTLS) without; the default follows `secure`.' },
      secure: { type: 'boolean', default: false, description: 'true: TLS from the start (port 465); false: STARTTLS when the server offers it.' },
      user: { type: 'string', description: 'Login, usually the mailbox address; no login when absent.' },
      password: { type: 'string', description: 'Password or app password for the login.' },
      from: { type: 'string', minLength: 3, description: 'Sender, e.g. "Shop <sales@example.com>"; most servers only allow the login\'s own address.' },
    },
  },
  secretFields: ['password'],
  pace: EMAIL_PACE,
  nodeTypes: [sendEmailNode],
};
