import { parsePhoneNumberFromString } from 'libphonenumber-js';
import type { NodeContext, NodeType, Outcome, PaceRequest } from '../../engine/node-type.ts';
import type { TaskData } from '../../engine/task.ts';
import { checkRetry } from '../../engine/retry-policy.ts';
import { checkDuration } from '../../nodes/call.ts';
import { DURATION, NODE_ID, fieldEdges } from '../../nodes/edges.ts';
import { parseDuration } from '../../util/duration.ts';
import type { Connection, Connector, Pace } from '../connector.ts';
import { failure } from '../connector-node.ts';
import { ServiceFailure } from '../service-failure.ts';
import { VOXIMPLANT_API_URL, VoximplantClient } from './voximplant-client.ts';

/** Starting scenarios is cheap for the API (200 at once are allowed); the calls they place are not. */
const VOX_PACE: Pace = { perSecond: 5, burst: 10 };

export const CALL_OUTCOMES = ['answered', 'no_answer', 'busy', 'voicemail', 'wrong_number', 'failed'] as const;
export type CallOutcome = (typeof CALL_OUTCOMES)[number];

/** SIP final answers the scenario may report instead of (or to refine) an outcome. */
const SIP_OUTCOMES: Record<number, CallOutcome> = {
  486: 'busy', 600: 'busy',
  480: 'no_answer', 408: 'no_answer', 487: 'no_answer', 603: 'no_answer', // 603: declined
  404: 'wrong_number', 484: 'wrong_number', 410: 'wrong_number', 604: 'wrong_number',
};

/** The edge each outcome takes: the first of these the node sets. A failed call without `on_failed` fails the node. */
const EDGE_ORDER: Record<CallOutcome, string[]> = {
  answered: ['on_answered', 'next'],
  no_answer: ['on_no_answer', 'next'],
  busy: ['on_busy', 'on_no_answer', 'next'],
  voicemail: ['on_voicemail', 'on_no_answer', 'next'],
  wrong_number: ['on_wrong_number', 'on_unreachable', 'next'],
  failed: ['on_failed'],
};

const EDGE_FIELDS = ['next', 'on_unreachable', 'on_answered', 'on_no_answer', 'on_busy', 'on_voicemail', 'on_wrong_number', 'on_failed', 'on_timeout'];

const edge = (description: string) => ({ ...NODE_ID, description });

/** What a call-result callback says: its outcome word, or the one its SIP code implies. */
export function callOutcome(payload: TaskData): { outcome: CallOutcome | null; code?: number } {
  const word = typeof payload.outcome === 'string' ? payload.outcome.trim().toLowerCase() : undefined;
  const code = payload.code === undefined || payload.code === null || payload.code === '' ? undefined : Number(payload.code);
  const sip = code !== undefined ? SIP_OUTCOMES[code] : undefined;
  // A SIP code refines a bare "failed" (486 → busy); any other outcome word is taken as said.
  if (word && word !== 'failed' && (CALL_OUTCOMES as readonly string[]).includes(word)) return { outcome: word as CallOutcome, code };
  if (sip) return { outcome: sip, code };
  if (word === 'failed') return { outcome: 'failed', code };
  return { outcome: null, code };
}

/** E.164 digits without "+", as callPSTN takes them; a Russian 8 916… is read as +7 916…. */
export function callableNumber(phone: string): string {
  const p = parsePhoneNumberFromString(phone, 'RU');
  return p?.isPossible() ? p.number.slice(1) : phone.replace(/\D/g, '');
}

const connectionOf = (ctx: NodeContext): Connection =>
  ctx.connections.get('voximplant', (ctx.node.connection as string | undefined) ?? 'default');

/**
 * `voximplant.call`: starts the VoxEngine scenario (scenario.js) for a phone with StartScenarios, then
 * waits for the scenario to POST the call's outcome to the task's callback URL and follows its edge.
 */
export const voximplantCallNode: NodeType = {
  type: 'voximplant.call',
  description: 'Call a phone through a VoxImplant scenario; go on by the outcome (answered, busy, voicemail…).',
  async: true,
  callbacks: true,
  refs: { connections: [{ path: 'connection', connector: 'voximplant', default: 'default' }] },
  paramsSchema: {
    required: ['phone', 'next'],
    properties: {
      connection: { type: 'string', minLength: 1, description: 'Name of the project connection to use; default "default".' },
      phone: { type: 'string', minLength: 1, description: 'Number to call, e.g. {{phone}}; +7…, 8… and 7… are all read (sent as E.164 digits).' },
      custom: { type: 'object', description: 'More fields for the scenario\'s custom data (templates), e.g. {"name": "{{name}}"}.' },
      rule_id: { type: ['string', 'integer'], description: 'Routing rule to start, instead of the connection\'s rule_id.' },
      timeout: { ...DURATION, description: 'How long to wait for the call\'s result; default 10m.' },
      request_timeout: { ...DURATION, description: 'Deadline of the StartScenarios request; default 30s.' },
      retry: { type: 'object', description: 'Retry policy when starting the call fails in a way that may pass.' },
      next: edge('Where to go by default (an outcome whose edge is not set).'),
      on_answered: edge('A person answered.'),
      on_no_answer: edge('No answer, declined; also busy and voicemail when their edges are not set.'),
      on_busy: edge('The line was busy.'),
      on_voicemail: edge('An answering machine or voicemail picked up.'),
      on_wrong_number: edge('The number does not exist; else on_unreachable.'),
      on_failed: edge('The call failed for another reason; without it the node fails (on_error).'),
      on_timeout: edge('No result within timeout; else on_no_answer; else the node fails.'),
      on_unreachable: edge('VoxImplant cannot call this contact (no phone, wrong number).'),
    },
  },
  check: (n) => {
    const errs = [...checkDuration(n.timeout, 'timeout'), ...checkDuration(n.request_timeout, 'request_timeout')];
    errs.push(...checkRetry(n.retry));
    return errs;
  },
  edges: (n) => fieldEdges(n, ...EDGE_FIELDS),
  pace(ctx): PaceRequest {
    const conn = connectionOf(ctx);
    return {
      key: `voximplant:${conn.name}`,
      perSecond: Number(conn.settings.rate) || VOX_PACE.perSecond,
      burst: Number(conn.settings.burst) || VOX_PACE.burst,
    };
  },
  run: startCall,
  wake(ctx) {
    const to = (ctx.node.on_timeout ?? ctx.node.on_no_answer) as string | undefined;
    const patch = { call_result: { outcome: 'timeout' } };
    return to
      ? { kind: 'go', to, patch, detail: { timeout: true } }
      : { kind: 'fail', error: 'no call result within the timeout (is scenario.js on the rule, and the callback URL reachable?)', patch };
  },
  resume(ctx, payload) {
    const { outcome, code } = callOutcome(payload ?? {});
    const patch = { call_result: { ...payload, outcome: outcome ?? payload?.outcome ?? null } };
    if (!outcome) return { kind: 'fail', error: `call result without a known outcome: ${JSON.stringify(payload).slice(0, 200)}`, patch };
    const field = EDGE_ORDER[outcome].find((f) => typeof ctx.node[f] === 'string');
    if (!field) return { kind: 'fail', error: `call failed${code !== undefined ? ` (SIP ${code})` : ''}`, patch };
    return { kind: 'go', to: ctx.node[field] as string, patch, detail: { outcome, via: field } };
  },
};

async function startCall(ctx: NodeContext): Promise<Outcome> {
  let conn: Connection;
  let phone: string;
  let custom: Record<string, unknown>;
  let ruleId: string;
  let waitMs: number;
  let requestMs: number;
  try {
    conn = connectionOf(ctx);
    phone = callableNumber(String(ctx.render(ctx.node.phone) ?? ''));
    const c = ctx.render(ctx.node.custom ?? {});
    if (!c || typeof c !== 'object' || Array.isArray(c)) throw new Error('custom: must be an object');
    custom = c as Record<string, unknown>;
    ruleId = String(ctx.render(ctx.node.rule_id ?? conn.settings.rule_id) ?? '');
    if (!ruleId) throw new Error('rule_id: set it in the connection or on the node');
    waitMs = parseDuration((ctx.node.timeout as string | number | undefined) ?? '10m');
    requestMs = parseDuration((ctx.node.request_timeout as string | number | undefined) ?? '30s');
  } catch (e) {
    return { kind: 'fail', error: (e as Error).message };
  }
  try {
    if (!phone) throw new ServiceFailure('unreachable', 'phone: is empty', { code: 'no_phone' });
    const callbackUrl = String(ctx.render('{{$task.callback_url}}'));
    // Our fields last: custom data must not redirect the result or the call.
    const customData = JSON.stringify({ ...custom, phone, callback_url: callbackUrl });
    const token = callbackUrl.split('/').pop() ?? '';
    const client = new VoximplantClient(ctx.services.http, conn.settings);
    const started = await client.startScenarios(ruleId, customData, requestMs, token.length >= 16 ? [token] : []);
    return {
      kind: 'wait',
      timeoutAt: ctx.now + waitMs,
      patch: { call_session_history_id: started.callSessionHistoryId },
      detail: { ...started.exchange, call_session_history_id: started.callSessionHistoryId },
    };
  } catch (e) {
    return failure(ctx, e, `voximplant:${conn.name}`);
  }
}

export const voximplantConnector: Connector = {
  name: 'voximplant',
  description: 'VoxImplant: robot calls through a VoxEngine scenario that reports the outcome back.',
  settingsSchema: {
    type: 'object',
    required: ['account_id', 'api_key', 'rule_id'],
    properties: {
      account_id: { type: ['string', 'integer'], description: 'VoxImplant account id.' },
      api_key: { type: 'string', minLength: 1, description: 'The account\'s API key (Settings → API keys).' },
      rule_id: { type: ['string', 'integer'], description: 'Routing rule whose scenario is scenario.js from Conveyor.' },
      api_url: { type: 'string', pattern: '^https?://', default: VOXIMPLANT_API_URL, description: 'HTTP API base URL; a test fake in tests.' },
    },
  },
  secretFields: ['api_key'],
  pace: VOX_PACE,
  nodeTypes: [voximplantCallNode],
};
