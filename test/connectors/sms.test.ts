import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeSmsRu } from '../../src/connectors/sms/fake-smsru.ts';
import { smsConnector } from '../../src/connectors/sms/sms-connector.ts';
import { smsruPhone } from '../../src/connectors/sms/smsru-gateway.ts';
import type { NodeType, Outcome } from '../../src/engine/node-type.ts';
import { createHttpClient } from '../../src/util/http-client.ts';
import { MemoryConnections, nodeContext } from '../support/node-context.ts';

const fake = new FakeSmsRu();
const http = createHttpClient();
let apiUrl = '';
const node = (type: string) => smsConnector.nodeTypes.find((t) => t.type === type) as NodeType;
const sendNode = node('sms.send');
const statusNode = node('sms.status');

beforeAll(async () => {
  apiUrl = await fake.start();
});
afterEach(() => fake.up());
afterAll(async () => {
  await fake.close();
  await http.close();
});

async function run(type: NodeType, params: Record<string, unknown>, settings: Record<string, unknown> = {}) {
  const slowed: Array<{ key: string; ms: number }> = [];
  const connections = new MemoryConnections([
    { name: 'default', connector: 'sms', settings: { gateway: 'smsru', api_id: fake.apiId, api_url: apiUrl, ...settings } },
  ]);
  const ctx = nodeContext({ type: type.type, next: 'done', ...params }, { connections, http, slowed, data: { phone: '8 (916) 123-45-67', name: 'Анна' } });
  const before = Date.now();
  const outcome = (await type.run(ctx)) as Outcome & { detail?: Record<string, any> };
  return { outcome, slowed, before, after: Date.now() };
}

function expectNoSecret(outcome: unknown, secret = fake.apiId) {
  expect(JSON.stringify(outcome)).not.toContain(secret);
}

describe('sms.send (SMS.ru)', () => {
  it('sends to a normalised number with the sender name and returns sms_id; api_id masked', async () => {
    const { outcome } = await run(sendNode, { to: '{{phone}}', text: 'Здравствуйте, {{name}}!' }, { from: 'Conveyor' });
    const sent = fake.messages.at(-1)!;
    expect(sent).toMatchObject({ to: '79161234567', text: 'Здравствуйте, Анна!', from: 'Conveyor', test: false });
    expect(outcome).toMatchObject({ kind: 'go', to: 'done', patch: { sms_id: sent.sms_id } });
    expect(outcome.detail!.request).toMatchObject({ method: 'POST', url: `${apiUrl}/sms/send`, body: { api_id: '***', to: '79161234567', json: '1' } });
    expect(outcome.detail!.response).toMatchObject({ status: 200, body: { status: 'OK', status_code: 100 } });
    expect(fake.requests.at(-1)!.params.api_id).toBe(fake.apiId);
    expectNoSecret(outcome);
  });

  it('test mode sends test=1 and the node-level sender wins', async () => {
    const { outcome } = await run(sendNode, { to: '+7 916 000-00-01', text: 'x', from: 'Shop' }, { from: 'Conveyor', test: true });
    expect(outcome.kind).toBe('go');
    expect(fake.requests.at(-1)!.params).toMatchObject({ test: '1', from: 'Shop', to: '79160000001' });
    expect(fake.messages.at(-1)).toMatchObject({ test: true, from: 'Shop' });
  });

  it.each([
    [202, 'wrong recipient number'],
    [207, 'messages cannot be sent to this number'],
    [209, 'stop list'],
  ])('per-number %i is unreachable', async (code, words) => {
    const phone = `7916555${String(code).padStart(4, '0')}`;
    fake.failNumber(phone, code);
    const { outcome } = await run(sendNode, { to: phone, text: 'x', on_unreachable: 'no_sms' });
    expect(outcome).toMatchObject({ kind: 'go', to: 'no_sms' });
    expect((outcome as unknown as { patch: { unreachable: string } }).patch.unreachable).toContain(words);
    expect(outcome.detail).toMatchObject({ failure: 'unreachable', code });
    expectNoSecret(outcome);
  });

  it('a number SMS.ru cannot read comes back 202 and is unreachable', async () => {
    const { outcome } = await run(sendNode, { to: '12-34', text: 'x' });
    expect(outcome).toMatchObject({ kind: 'fail', detail: { failure: 'unreachable', code: 202 } });
  });

  it.each([
    [200, 'wrong api_id'],
    [201, 'not enough money'],
    [203, 'no message text'],
    [205, 'message too long'],
  ])('request-level %i fails', async (code, words) => {
    fake.failNext(code);
    const { outcome } = await run(sendNode, { to: '79161234567', text: 'x' });
    expect(outcome.kind).toBe('fail');
    if (outcome.kind !== 'fail') return;
    expect(outcome.error).toContain(`SMS.ru ${code} ${words}`);
    expect(outcome.detail).toMatchObject({ failure: 'fail', code });
  });

  it('a wrong api_id fails and does not show the key that was tried', async () => {
    const wrong = 'WRONG-API-ID-1234567';
    const connections = new MemoryConnections([{ name: 'default', connector: 'sms', settings: { api_id: wrong, api_url: apiUrl } }]);
    const outcome = (await sendNode.run(nodeContext({ type: 'sms.send', next: 'done', to: '79161234567', text: 'x' }, { connections, http }))) as Outcome;
    expect(outcome).toMatchObject({ kind: 'fail', detail: { failure: 'fail', code: 200, request: { body: { api_id: '***' } } } });
    expectNoSecret(outcome, wrong);
  });

  it('206 daily limit retries in an hour and pauses the connection', async () => {
    fake.failNext(206);
    const { outcome, slowed, before, after } = await run(sendNode, { to: '79161234567', text: 'x' });
    expect(outcome.kind).toBe('retry');
    if (outcome.kind !== 'retry') return;
    expect(outcome.at).toBeGreaterThanOrEqual(before + 3_600_000);
    expect(outcome.at).toBeLessThanOrEqual(after + 3_600_000);
    expect(slowed).toEqual([{ key: 'sms:default', ms: 3_600_000 }]);
  });

  it('220 service temporarily unavailable is retried with the node\'s backoff', async () => {
    fake.failNext(220);
    const { outcome, slowed } = await run(sendNode, { to: '79161234567', text: 'x' });
    expect(outcome).toMatchObject({ kind: 'retry', detail: { failure: 'retry', code: 220 } });
    expect(slowed).toEqual([]);
  });

  it.each([
    [230, 3_600_000],
    [231, 60_000],
    [232, 3_600_000],
  ])('per-number limit %i retries after %i ms without pausing other numbers', async (code, ms) => {
    const phone = `7916777${String(code).padStart(4, '0')}`;
    fake.failNumber(phone, code);
    const { outcome, slowed, before, after } = await run(sendNode, { to: phone, text: 'x' });
    expect(outcome.kind).toBe('retry');
    if (outcome.kind !== 'retry') return;
    expect(outcome.at).toBeGreaterThanOrEqual(before + ms);
    expect(outcome.at).toBeLessThanOrEqual(after + ms);
    expect(outcome.detail).toMatchObject({ code });
    expect(slowed).toEqual([]);
  });

  it('an outage (HTTP 503) is retried', async () => {
    fake.down('outage');
    const { outcome } = await run(sendNode, { to: '79161234567', text: 'x' });
    expect(outcome).toMatchObject({ kind: 'retry', detail: { failure: 'retry', code: 503 } });
    expectNoSecret(outcome);
  });

  it('a maintenance page instead of JSON is retried', async () => {
    fake.down('maintenance');
    const { outcome } = await run(sendNode, { to: '79161234567', text: 'x' });
    expect(outcome).toMatchObject({ kind: 'retry', detail: { failure: 'retry', code: 200 } });
  });

  it('no answer within the node timeout is retried', async () => {
    fake.down('hang');
    const { outcome } = await run(sendNode, { to: '79161234567', text: 'x', timeout: '200ms' });
    expect(outcome).toMatchObject({ kind: 'retry', detail: { failure: 'retry', code: 'timeout' } });
    expectNoSecret(outcome);
  });

  it('a cut connection is retried', async () => {
    fake.down('reset');
    const { outcome } = await run(sendNode, { to: '79161234567', text: 'x' });
    expect(outcome).toMatchObject({ kind: 'retry', detail: { failure: 'retry', code: 'network' } });
  });
});

describe('sms.status (SMS.ru)', () => {
  it('reports in-progress, delivered and not-delivered statuses', async () => {
    const sent = await run(sendNode, { to: '79161112233', text: 'x' });
    const smsId = (sent.outcome as unknown as { patch: { sms_id: string } }).patch.sms_id;
    const check = async () => (await run(statusNode, { sms_id: smsId })).outcome;
    expect(await check()).toMatchObject({ kind: 'go', patch: { sms_status_code: 100, delivered: false, sms_final: false } });
    fake.setStatus(smsId, 103);
    const delivered = await check();
    expect(delivered).toMatchObject({ kind: 'go', patch: { sms_status_code: 103, delivered: true, sms_final: true } });
    expectNoSecret(delivered);
    fake.setStatus(smsId, 104);
    expect(await check()).toMatchObject({ kind: 'go', patch: { sms_status_code: 104, delivered: false, sms_final: true } });
  });

  it('an unknown sms_id (-1) fails; a wrong api_id (200) fails', async () => {
    expect((await run(statusNode, { sms_id: '000000-404' })).outcome).toMatchObject({ kind: 'fail', detail: { failure: 'fail', code: -1 } });
    fake.failNext(200);
    expect((await run(statusNode, { sms_id: '000000-404' })).outcome).toMatchObject({ kind: 'fail', detail: { code: 200 } });
  });
});

describe('sms connector', () => {
  it('declares the gateway enum, secret api_id, defaults and pace', () => {
    expect(smsConnector.secretFields).toEqual(['api_id']);
    expect(smsConnector.pace).toEqual({ perSecond: 10, burst: 10 });
    expect(smsConnector.settingsSchema).toMatchObject({
      required: ['api_id'],
      properties: { gateway: { enum: ['smsru'], default: 'smsru' }, api_url: { default: 'https://sms.ru' }, from: {}, test: { type: 'boolean' } },
    });
    expect(smsConnector.nodeTypes.map((t) => t.type)).toEqual(['sms.send', 'sms.status']);
  });

  it('an unknown gateway fails the node with a message naming it', async () => {
    const { outcome } = await run(sendNode, { to: '79161234567', text: 'x' }, { gateway: 'nope' });
    expect(outcome).toMatchObject({ kind: 'fail', error: 'gateway "nope" is not known; known: smsru' });
  });

  it('reads Russian phone spellings into SMS.ru\'s digits', () => {
    expect(smsruPhone('8 (916) 123-45-67')).toBe('79161234567');
    expect(smsruPhone('+7 916 123 45 67')).toBe('79161234567');
    expect(smsruPhone('9161234567')).toBe('79161234567');
    expect(smsruPhone('+380 44 123 4567')).toBe('380441234567');
  });
});
