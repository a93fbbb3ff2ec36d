import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { FakeVoximplant, type VoxResult } from '../../src/connectors/voximplant/fake-voximplant.ts';
import { callOutcome, voximplantCallNode as node, voximplantConnector } from '../../src/connectors/voximplant/voximplant-connector.ts';
import type { NodeContext, Outcome } from '../../src/engine/node-type.ts';
import { createHttpClient } from '../../src/util/http-client.ts';
import { startFakeServer, type FakeServer } from '../support/fake-http-server.ts';
import { MemoryConnections, nodeContext } from '../support/node-context.ts';

const fake = new FakeVoximplant();
const http = createHttpClient();
const TOKEN = 'cb7TokenAbcdefghijklmnopqrstuvwx'; // what a task's callback URL ends with (a credential)
const CALLBACK_PATH = `/callbacks/default/7/${TOKEN}`;
const NOW = Date.UTC(2025, 0, 15, 10, 0, 0);
let apiUrl = '';
let receiver: FakeServer; // stands in for Conveyor's callback endpoint

beforeAll(async () => {
  apiUrl = await fake.start();
  receiver = await startFakeServer();
  receiver.on('POST', CALLBACK_PATH, { status: 200, body: { ok: true, state: 'resumed' } });
});
afterEach(() => fake.up());
afterAll(async () => {
  await fake.close();
  await receiver.close();
  await http.close();
});

function context(params: Record<string, unknown>, settings: Record<string, unknown> = {}, data: Record<string, unknown> = {}) {
  const slowed: Array<{ key: string; ms: number }> = [];
  const connections = new MemoryConnections([{
    name: 'default', connector: 'voximplant',
    settings: { account_id: fake.accountId, api_key: fake.apiKey, rule_id: fake.ruleIds[0], api_url: apiUrl, ...settings },
  }]);
  const ctx = nodeContext(
    { type: 'voximplant.call', phone: '{{phone}}', next: 'after', ...params },
    { connections, http, slowed, now: NOW, data: { phone: '+7 (916) 123-45-67', name: 'Анна', ...data } },
  );
  const render = ctx.render;
  ctx.render = (v) => (v === '{{$task.callback_url}}' ? `${receiver.url}${CALLBACK_PATH}` : render(v));
  return { ctx, slowed };
}

async function start(params: Record<string, unknown> = {}, settings: Record<string, unknown> = {}, data: Record<string, unknown> = {}) {
  const { ctx, slowed } = context(params, settings, data);
  const outcome = (await node.run(ctx)) as Outcome & { detail?: Record<string, any> };
  return { ctx, outcome, slowed };
}

function expectNoSecrets(value: unknown, key = fake.apiKey) {
  const text = JSON.stringify(value);
  expect(text).not.toContain(key);
  expect(text).not.toContain(TOKEN);
}

/** run → wait; the fake "scenario" reports `result` to the callback URL; that body resumes the node. */
async function callWith(result: VoxResult, edges: Record<string, string>) {
  const { ctx, outcome } = await start(edges);
  expect(outcome.kind).toBe('wait');
  const index = fake.calls.length - 1;
  const posted = receiver.requests.length;
  expect(await fake.complete(index, result)).toBe(200);
  const payload = receiver.requests[posted].json;
  return node.resume!(ctx, payload) as Outcome & { patch?: Record<string, any> };
}

const ALL_EDGES = {
  on_answered: 'talk', on_no_answer: 'later', on_busy: 'busy_again', on_voicemail: 'vm',
  on_wrong_number: 'bad_number', on_failed: 'call_failed', on_timeout: 'no_report',
};

describe('voximplant.call: start', () => {
  it('starts the scenario with phone, callback URL and custom data, then waits the timeout', async () => {
    const { outcome } = await start({ custom: { name: '{{name}}', phone: 'not this one' } });
    const call = fake.calls.at(-1)!;
    expect(call).toMatchObject({
      ruleId: fake.ruleIds[0], phone: '79161234567',
      customData: { name: 'Анна', phone: '79161234567', callback_url: `${receiver.url}${CALLBACK_PATH}` },
    });
    expect(outcome).toMatchObject({
      kind: 'wait', timeoutAt: NOW + 10 * 60_000, patch: { call_session_history_id: call.callSessionHistoryId },
      detail: { call_session_history_id: call.callSessionHistoryId, response: { status: 200, body: { result: 1, media_session_access_url: '***' } } },
    });
    expect(outcome.detail!.request).toMatchObject({ method: 'POST', url: `${apiUrl}/platform_api/StartScenarios/`, body: { api_key: '***', account_id: fake.accountId } });
    expect(outcome.detail!.request.body.script_custom_data).toContain('/callbacks/default/7/***');
    expectNoSecrets(outcome);
  });

  it('takes its wait from `timeout` and the rule from the node when given', async () => {
    const other = '3030999';
    fake.ruleIds.push(other);
    const { outcome } = await start({ timeout: '2m', rule_id: other });
    expect(outcome).toMatchObject({ kind: 'wait', timeoutAt: NOW + 120_000 });
    expect(fake.calls.at(-1)!.ruleId).toBe(other);
  });

  it('a lead without a phone goes to on_unreachable without calling', async () => {
    const calls = fake.calls.length;
    const { outcome } = await start({ on_unreachable: 'no_phone' }, {}, { phone: '' });
    expect(outcome).toMatchObject({ kind: 'go', to: 'no_phone', detail: { failure: 'unreachable', code: 'no_phone' } });
    expect(fake.calls.length).toBe(calls);
  });
});

describe('voximplant.call: errors', () => {
  it('a wrong api_key (100 Authorization failed) fails; neither key shows', async () => {
    const wrong = 'wrong-vox-key-55aa66bb77cc';
    const { outcome } = await start({}, { api_key: wrong });
    expect(outcome).toMatchObject({ kind: 'fail', error: 'VoxImplant 100: Authorization failed', detail: { failure: 'fail', code: 100 } });
    expectNoSecrets(outcome, wrong);
    expectNoSecrets(outcome);
  });

  it.each([
    [147, "The 'rule_id' parameter is invalid."],
    [127, 'Insufficient money'],
    [104, 'Forbidden command'],
  ])('%i fails', async (code, msg) => {
    fake.failNext(code, msg);
    const { outcome } = await start();
    expect(outcome).toMatchObject({ kind: 'fail', error: `VoxImplant ${code}: ${msg}`, detail: { failure: 'fail', code } });
  });

  it('an unknown rule on the connection fails with 147', async () => {
    const { outcome } = await start({}, { rule_id: '999' });
    expect(outcome).toMatchObject({ kind: 'fail', detail: { code: 147 } });
  });

  it.each([
    [2, 'Internal error'],
    [21, 'Call service failed'],
    [162, 'try later..'],
  ])('%i is retried', async (code, msg) => {
    fake.failNext(code, msg);
    const { outcome, slowed } = await start();
    expect(outcome).toMatchObject({ kind: 'retry', error: `VoxImplant ${code}: ${msg}`, detail: { failure: 'retry', code } });
    expect(slowed).toEqual([]);
    expectNoSecrets(outcome);
  });

  it('HTTP 429 (too many simultaneous requests) is retried and slows the connection', async () => {
    fake.tooMany(1);
    const { outcome, slowed } = await start();
    expect(outcome).toMatchObject({ kind: 'retry', detail: { failure: 'retry', code: 429 } });
    expect(slowed).toEqual([{ key: 'voximplant:default', ms: 1000 }]);
  });

  it.each([
    ['outage', 503],
    ['unauthorized', 401],
  ] as const)('%s (HTTP %i page) is retried', async (mode, status) => {
    fake.down(mode);
    const { outcome } = await start();
    expect(outcome).toMatchObject({ kind: 'retry', detail: { failure: 'retry', code: status, response: { status } } });
    expectNoSecrets(outcome);
  });

  it('no answer within request_timeout is retried; a cut connection too', async () => {
    fake.down('hang');
    const hung = await start({ request_timeout: '200ms' });
    expect(hung.outcome).toMatchObject({ kind: 'retry', detail: { failure: 'retry', code: 'timeout' } });
    expectNoSecrets(hung.outcome);
    fake.down('reset');
    const cut = await start();
    expect(cut.outcome).toMatchObject({ kind: 'retry', detail: { failure: 'retry', code: 'network' } });
  });
});

describe('voximplant.call: run → wait → resume', () => {
  it.each([
    ['answered', { outcome: 'answered', duration: 42 }, 'talk'],
    ['no_answer', 'no_answer', 'later'],
    ['busy', 'busy', 'busy_again'],
    ['voicemail', 'voicemail', 'vm'],
    ['wrong_number', 'wrong_number', 'bad_number'],
    ['failed', { outcome: 'failed', code: 500 }, 'call_failed'],
  ] as Array<[string, VoxResult, string]>)('%s goes to its edge', async (outcome, result, to) => {
    const resumed = await callWith(result, ALL_EDGES);
    expect(resumed).toMatchObject({ kind: 'go', to, detail: { outcome }, patch: { call_result: { outcome, phone: '79161234567' } } });
    if (typeof result === 'object' && result.duration) expect(resumed.patch!.call_result.duration).toBe(42);
  });

  it.each([
    [486, 'busy_again'],
    [480, 'later'],
    [408, 'later'],
    [603, 'later'],
    [404, 'bad_number'],
    [484, 'bad_number'],
  ])('a failed call with SIP %i goes where its code says', async (code, to) => {
    const resumed = await callWith({ outcome: 'failed', code }, ALL_EDGES);
    expect(resumed).toMatchObject({ kind: 'go', to, patch: { call_result: { code } } });
  });

  it('busy falls back to on_no_answer, then next; voicemail too; wrong number to on_unreachable', async () => {
    expect(await callWith('busy', { on_no_answer: 'later' })).toMatchObject({ kind: 'go', to: 'later' });
    expect(await callWith('busy', {})).toMatchObject({ kind: 'go', to: 'after' });
    expect(await callWith('voicemail', { on_no_answer: 'later' })).toMatchObject({ kind: 'go', to: 'later' });
    expect(await callWith({ code: 404 }, { on_unreachable: 'gone' })).toMatchObject({ kind: 'go', to: 'gone' });
    expect(await callWith('answered', {})).toMatchObject({ kind: 'go', to: 'after' });
  });

  it('a failed call without on_failed fails the node (on_error), keeping the result', async () => {
    const resumed = await callWith({ outcome: 'failed', code: 503 }, {});
    expect(resumed).toMatchObject({ kind: 'fail', error: 'call failed (SIP 503)', patch: { call_result: { outcome: 'failed', code: 503 } } });
  });

  it('a callback without a known outcome fails', async () => {
    const { ctx } = context({});
    expect(node.resume!(ctx, { hello: 'world' })).toMatchObject({ kind: 'fail', patch: { call_result: { hello: 'world', outcome: null } } });
  });

  it('autoAnswer reports by itself after a short delay', async () => {
    fake.autoAnswer({ '79161230000': { outcome: 'voicemail' } }, 10);
    const posted = receiver.requests.length;
    const { ctx, outcome } = await start(ALL_EDGES, {}, { phone: '8 916 123-00-00' });
    expect(outcome.kind).toBe('wait');
    // Done once the fake has the callback's answer (the receiver records the POST a moment earlier).
    await vi.waitFor(() => expect(fake.calls.at(-1)!.reported).toMatchObject({ status: 200 }), { timeout: 1000, interval: 10 });
    expect(receiver.requests.length).toBe(posted + 1);
    const resumed = node.resume!(ctx, receiver.requests[posted].json);
    expect(resumed).toMatchObject({ kind: 'go', to: 'vm' });
  });

  it('no result in time: wake goes to on_timeout, else on_no_answer, else fails', async () => {
    const wake = (params: Record<string, unknown>) => node.wake!(context(params).ctx);
    expect(wake({ on_timeout: 'no_report', on_no_answer: 'later' })).toMatchObject({ kind: 'go', to: 'no_report', patch: { call_result: { outcome: 'timeout' } } });
    expect(wake({ on_no_answer: 'later' })).toMatchObject({ kind: 'go', to: 'later' });
    expect(wake({})).toMatchObject({ kind: 'fail', patch: { call_result: { outcome: 'timeout' } } });
  });
});

describe('voximplant connector', () => {
  it('lists every edge, paces per connection, and declares its settings', () => {
    const edges = node.edges({ type: 'voximplant.call', next: 'a', on_unreachable: 'u', ...ALL_EDGES } as never).map((e) => e.field);
    expect(edges.sort()).toEqual(['next', 'on_answered', 'on_busy', 'on_failed', 'on_no_answer', 'on_timeout', 'on_unreachable', 'on_voicemail', 'on_wrong_number']);
    const { ctx } = context({}, { rate: 2 });
    expect(node.pace!(ctx as NodeContext)).toEqual({ key: 'voximplant:default', perSecond: 2, burst: 10 });
    expect(node).toMatchObject({ async: true, callbacks: true });
    expect(node.check!({ type: 'voximplant.call', timeout: 'soon' } as never)[0]).toContain('timeout');
    expect(voximplantConnector.secretFields).toEqual(['api_key']);
    expect(voximplantConnector.settingsSchema).toMatchObject({
      required: ['account_id', 'api_key', 'rule_id'], properties: { api_url: { default: 'https://api.voximplant.com' } },
    });
  });

  it('reads outcomes and SIP codes', () => {
    expect(callOutcome({ outcome: 'BUSY' })).toEqual({ outcome: 'busy' });
    expect(callOutcome({ code: '486' })).toEqual({ outcome: 'busy', code: 486 });
    expect(callOutcome({ outcome: 'failed', code: 603 })).toEqual({ outcome: 'no_answer', code: 603 });
    expect(callOutcome({ outcome: 'answered', code: 200 })).toEqual({ outcome: 'answered', code: 200 });
    expect(callOutcome({ outcome: 'failed', code: 500 })).toEqual({ outcome: 'failed', code: 500 });
    expect(callOutcome({})).toEqual({ outcome: null });
  });
});
