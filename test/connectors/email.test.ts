import { createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { emailConnector } from '../../src/connectors/email/email-connector.ts';
import { FakeSmtp } from '../../src/connectors/email/fake-smtp.ts';
import { sendEmailNode } from '../../src/connectors/email/send-email.ts';
import { closeEmailTransports } from '../../src/connectors/email/smtp-transports.ts';
import type { Outcome } from '../../src/engine/node-type.ts';
import { MemoryConnections, nodeContext } from '../support/node-context.ts';

const fake = new FakeSmtp();
let port = 0;

beforeAll(async () => {
  ({ port } = await fake.start());
});
afterEach(() => {
  fake.reset();
  closeEmailTransports();
});
afterAll(async () => {
  closeEmailTransports();
  await fake.close();
});

type Detail = Record<string, any>;
async function send(params: Record<string, unknown>, settings: Record<string, unknown> = {}, data: Record<string, unknown> = {}) {
  const slowed: Array<{ key: string; ms: number }> = [];
  const connections = new MemoryConnections([{
    name: 'default', connector: 'email',
    settings: { host: '127.0.0.1', port, secure: false, user: fake.user, password: fake.password, from: 'Shop <sales@example.com>', ...settings },
  }]);
  const ctx = nodeContext({ type: 'email.send', next: 'done', ...params }, { connections, slowed, data });
  const outcome = (await sendEmailNode.run(ctx)) as Outcome & { detail?: Detail; patch?: Record<string, any> };
  return { outcome, slowed };
}

function expectNoPassword(outcome: unknown, password = fake.password) {
  const text = JSON.stringify(outcome);
  expect(text).not.toContain(password);
  expect(text).not.toContain(Buffer.from(`\u0000${fake.user}\u0000${password}`).toString('base64'));
}

describe('email.send', () => {
  it('sends text and html with reply-to to several recipients, logged in, and returns the Message-ID', async () => {
    const { outcome } = await send({
      to: ['{{email}}', 'Boss <boss@example.com>'], subject: 'Заказ №{{order}} принят', text: 'Здравствуйте, {{name}}!',
      html: '<p>Здравствуйте, <b>{{name}}</b>!</p>', reply_to: 'manager@example.com',
    }, {}, { email: 'anna@example.com', name: 'Анна', order: 42 });
    const got = fake.messages.at(-1)!;
    expect(got.envelope).toEqual({ from: 'sales@example.com', to: ['anna@example.com', 'boss@example.com'] });
    expect(got).toMatchObject({
      user: fake.user, subject: 'Заказ №42 принят', text: 'Здравствуйте, Анна!', html: '<p>Здравствуйте, <b>Анна</b>!</p>',
      replyTo: 'manager@example.com',
    });
    expect(got.from).toContain('sales@example.com');
    expect(got.to).toBe('anna@example.com, Boss <boss@example.com>');
    expect(outcome).toMatchObject({ kind: 'go', to: 'done', patch: { message_id: got.messageId } });
    expect(outcome.detail).toMatchObject({
      request: { method: 'SMTP', url: `smtp://127.0.0.1:${port}`, body: { to: ['anna@example.com', 'boss@example.com'], subject: 'Заказ №42 принят' } },
      response: { status: 250 },
    });
    expectNoPassword(outcome);
  });

  it('reuses one pooled SMTP connection for the same connection and settings', async () => {
    const before = fake.connections;
    await send({ to: 'a@example.com', subject: 'one', text: '1' });
    await send({ to: 'b@example.com', subject: 'two', text: '2', save_as: 'mail' });
    expect(fake.connections - before).toBe(1);
    expect(fake.messages.slice(-2).map((m) => m.subject)).toEqual(['one', 'two']);
  });

  it('keeps the result under save_as, and reports recipients the server rejected when others got it', async () => {
    fake.rejectRecipient('ghost@example.com', 550);
    const { outcome } = await send({ to: 'real@example.com, ghost@example.com', subject: 's', text: 't', save_as: 'mail' });
    expect(outcome).toMatchObject({ kind: 'go', patch: { mail: { message_id: fake.messages.at(-1)!.messageId, rejected: ['ghost@example.com'] } } });
    expect(fake.messages.at(-1)!.envelope.to).toEqual(['real@example.com']);
  });

  it.each([550, 551, 553])('%i for the only recipient goes to on_unreachable', async (code) => {
    fake.rejectRecipient('nobody@example.com', code);
    const { outcome } = await send({ to: 'nobody@example.com', subject: 's', text: 't', on_unreachable: 'no_email' });
    expect(outcome).toMatchObject({ kind: 'go', to: 'no_email', detail: { failure: 'unreachable', code, response: { status: code } } });
    expect((outcome.patch as { unreachable: string }).unreachable).toContain(`${code} `);
    expectNoPassword(outcome);
  });

  it.each([421, 450, 451, 452])('%i (temporary) is retried', async (code) => {
    fake.rejectAll(code);
    const { outcome } = await send({ to: 'x@example.com', subject: 's', text: 't' });
    expect(outcome).toMatchObject({ kind: 'retry', detail: { failure: 'retry', code } });
    if (outcome.kind === 'retry') expect(outcome.error).toContain(`${code} 4.`);
  });

  it('other 5xx (552, 554) fail', async () => {
    for (const code of [552, 554]) {
      fake.rejectAll(code);
      const { outcome } = await send({ to: 'x@example.com', subject: 's', text: 't', on_unreachable: 'no_email' });
      expect(outcome).toMatchObject({ kind: 'fail', detail: { failure: 'fail', code } });
    }
  });

  it('535 (login refused, or a wrong password) fails, and the password is never shown', async () => {
    fake.refuseAuth();
    const refused = await send({ to: 'x@example.com', subject: 's', text: 't' });
    expect(refused.outcome).toMatchObject({ kind: 'fail', detail: { failure: 'fail', code: 535 } });
    if (refused.outcome.kind === 'fail') expect(refused.outcome.error).toContain('535 5.7.8');
    expectNoPassword(refused.outcome);
    fake.reset();
    const wrongPassword = 'Wrong-password-9876';
    const wrong = await send({ to: 'x@example.com', subject: 's', text: 't' }, { password: wrongPassword });
    expect(wrong.outcome).toMatchObject({ kind: 'fail', detail: { code: 535 } });
    expectNoPassword(wrong.outcome, wrongPassword);
  });

  it('a refused connection is retried', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const deadPort = (closed.address() as { port: number }).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const { outcome } = await send({ to: 'x@example.com', subject: 's', text: 't' }, { port: deadPort });
    expect(outcome).toMatchObject({ kind: 'retry', detail: { failure: 'retry', code: 'ECONNREFUSED' } });
    expectNoPassword(outcome);
  });

  it('a server that never greets is retried after the node timeout', async () => {
    fake.hang();
    const { outcome } = await send({ to: 'x@example.com', subject: 's', text: 't', timeout: '300ms' });
    expect(outcome).toMatchObject({ kind: 'retry', detail: { failure: 'retry', code: 'ETIMEDOUT' } });
    expectNoPassword(outcome);
  });

  it('an address without @ is unreachable, an empty one fails, both before connecting', async () => {
    const before = fake.connections;
    const bad = await send({ to: '{{email}}', subject: 's', text: 't', on_unreachable: 'no_email' }, {}, { email: 'anna.example.com' });
    expect(bad.outcome).toMatchObject({ kind: 'go', to: 'no_email', detail: { failure: 'unreachable', code: 'bad_address' } });
    const empty = await send({ to: '{{email}}', subject: 's', text: 't' });
    expect(empty.outcome).toMatchObject({ kind: 'fail', error: 'to: is empty after templates' });
    expect(fake.connections).toBe(before);
  });
});

describe('email connector', () => {
  it('declares its settings, secret, pace and described params', () => {
    expect(emailConnector.name).toBe('email');
    expect(emailConnector.secretFields).toEqual(['password']);
    expect(emailConnector.pace).toEqual({ perSecond: 5, burst: 10 });
    expect(Object.keys((emailConnector.settingsSchema as { properties: object }).properties)).toEqual(['host', 'port', 'secure', 'user', 'password', 'from']);
    expect(emailConnector.nodeTypes.map((t) => t.type)).toEqual(['email.send']);
    const props = sendEmailNode.paramsSchema.properties as Record<string, { description?: string }>;
    for (const p of ['to', 'subject', 'text', 'html', 'reply_to']) expect(props[p].description).toBeTruthy();
    expect(sendEmailNode.check!({ type: 'email.send', to: 'a@b.c', subject: 's' } as never)).toEqual(['text or html: give the email a body']);
  });
});
