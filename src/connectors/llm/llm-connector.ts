import type { NodeContext, NodeType, Outcome, PaceRequest } from '../../engine/node-type.ts';
import type { TaskData } from '../../engine/task.ts';
import { checkRetry } from '../../engine/retry-policy.ts';
import { checkDuration } from '../../nodes/call.ts';
import { DURATION, NODE_ID, fieldEdges } from '../../nodes/edges.ts';
import { parseDuration } from '../../util/duration.ts';
import { normalizeEmail } from '../../util/email.ts';
import { normalizePhone } from '../../util/phone.ts';
import type { Connection, Connector } from '../connector.ts';
import { failure } from '../connector-node.ts';
import { ServiceFailure } from '../service-failure.ts';
import { ChatCompletionsClient, LLM_API_URL, LLM_PACE } from './chat-completions-client.ts';
import { LEAD_FIELDS, LEAD_INSTRUCTIONS, LEAD_SCHEMA, leadProblems, type Lead } from './lead-schema.ts';
import { extractLeadByRules } from './rule-based-lead.ts';

export { extractLeadByRules };

const MAX_TEXT = 8000; // characters of a message sent to the model: a first message, not a document
const MAX_FIELD = 500;

type Source = 'llm' | 'rules';

/**
 * `llm.extract_lead`: reads a free-text first message into a lead {name, phone, email, service,
 * preferred_time, city, comment} with a model behind an OpenAI-compatible API, answering in a JSON
 * Schema. Without a model (no connection, or one without api_url) or with an answer that is not a
 * lead, rules for Russian text read it instead, unless `fallback` is off.
 */
export const extractLeadNode: NodeType = {
  type: 'llm.extract_lead',
  description: 'Read a free-text first message into a lead (name, phone, email, service, time, city) with a model or rules.',
  async: true,
  refs: { connections: [{ path: 'connection', connector: 'llm', default: 'default' }] },
  paramsSchema: {
    required: ['text', 'next'],
    properties: {
      connection: { type: 'string', minLength: 1, description: 'Name of the project\'s llm connection; default "default". Without one, rules read the text.' },
      text: { type: 'string', minLength: 1, description: 'The message to read, a template, e.g. {{message}}.' },
      instructions: { type: 'string', description: 'More for the model\'s system message (templates), e.g. "Our services: маникюр, педикюр".' },
      fallback: { type: ['boolean', 'string'], default: true, description: 'Use the rules when no model is set up or its answer is not a lead; default true.' },
      save_as: { type: 'string', minLength: 1, description: 'Task field to keep {lead, lead_source} under, instead of merging them into the data.' },
      timeout: { ...DURATION, description: 'Deadline of the model\'s answer; default 60s.' },
      retry: { type: 'object', description: 'Retry policy for answers that may pass later (rate limit, 5xx, timeout).' },
      next: NODE_ID,
    },
  },
  check: (n) => {
    const errs = checkDuration(n.timeout, 'timeout');
    errs.push(...checkRetry(n.retry));
    return errs;
  },
  edges: (n) => fieldEdges(n, 'next'),
  // Rules cost nothing: only a call to a model waits its turn.
  pace(ctx): PaceRequest | undefined {
    const { conn } = modelConnection(ctx);
    if (!conn) return undefined;
    return {
      key: paceKey(conn),
      perSecond: Number(conn.settings.rate) || LLM_PACE.perSecond,
      burst: Number(conn.settings.burst) || LLM_PACE.burst,
    };
  },
  run: extractLead,
};

async function extractLead(ctx: NodeContext): Promise<Outcome> {
  let text: string;
  let instructions: string;
  let fallback: boolean;
  let timeoutMs: number;
  try {
    text = asText(ctx.render(ctx.node.text)).slice(0, MAX_TEXT);
    instructions = asText(ctx.render(ctx.node.instructions ?? '')).trim();
    fallback = flag(ctx.render(ctx.node.fallback ?? true));
    timeoutMs = parseDuration((ctx.node.timeout as string | number | undefined) ?? '60s');
  } catch (e) {
    return { kind: 'fail', error: (e as Error).message };
  }
  // Nothing to read: no point paying a model to say so.
  if (!text.trim()) return done(ctx, extractLeadByRules(''), 'rules', { lead_source: 'rules', reason: 'the text is empty' });
  const { conn, why } = modelConnection(ctx);
  if (!conn) {
    if (!fallback) return { kind: 'fail', error: `${why} (and fallback is off)` };
    return done(ctx, extractLeadByRules(text), 'rules', { lead_source: 'rules', reason: why });
  }
  const model = String(conn.settings.model ?? '').trim();
  if (!model) return { kind: 'fail', error: `connection "${conn.name}" of llm: model is not set` };
  const body = {
    model,
    messages: [
      { role: 'system', content: instructions ? `${LEAD_INSTRUCTIONS}\n\n${instructions}` : LEAD_INSTRUCTIONS },
      { role: 'user', content: text },
    ],
    response_format: { type: 'json_schema', json_schema: { name: 'lead', schema: LEAD_SCHEMA, strict: true } },
    temperature: 0,
  };
  try {
    const answer = await new ChatCompletionsClient(ctx.services.http, conn.settings).complete(body, timeoutMs);
    const read = readAnswer(answer.content, answer.refusal, answer.finishReason, text);
    const detail = { ...answer.exchange, model: answer.model, usage: answer.usage };
    if ('lead' in read) return done(ctx, read.lead, 'llm', { ...detail, lead_source: 'llm', ...(read.dropped.length ? { dropped: read.dropped } : {}) });
    if (!fallback) throw new ServiceFailure('fail', `the model's answer is not a lead: ${read.error}`, { code: 'invalid_answer', exchange: answer.exchange });
    return done(ctx, extractLeadByRules(text), 'rules', { ...detail, lead_source: 'rules', llm_error: read.error }, read.error);
  } catch (e) {
    return failure(ctx, e, paceKey(conn));
  }
}

/** The connection to use, or null with the reason the rules are used instead. */
function modelConnection(ctx: NodeContext): { conn: Connection | null; why: string } {
  const name = (ctx.node.connection as string | undefined) ?? 'default';
  let conn: Connection;
  try {
    conn = ctx.connections.get('llm', name);
  } catch (e) {
    return { conn: null, why: (e as Error).message };
  }
  if (!String(conn.settings.api_url ?? '').trim()) return { conn: null, why: `connection "${name}" of llm has no api_url` };
  return { conn, why: '' };
}

const paceKey = (conn: Connection) => `llm:${conn.name}`;

function done(ctx: NodeContext, lead: Lead, source: Source, detail: Record<string, unknown>, llmError?: string): Outcome {
  const result: TaskData = { lead: { ...lead }, lead_source: source, ...(llmError ? { llm_error: llmError } : {}) };
  const saveAs = ctx.node.save_as as string | undefined;
  return { kind: 'go', to: ctx.node.next as string, patch: saveAs ? { [saveAs]: result } : result, detail };
}

/**
 * The model's content → a lead, or why it is not one. Phones and emails are normalized; one that does
 * not appear in the message is dropped (a model asked not to invent sometimes still does).
 */
export function readAnswer(
  content: string | null, refusal: string | null, finishReason: string | null, text: string,
): { lead: Lead; dropped: string[] } | { error: string } {
  if (content === null) return { error: refusal ? `the model refused: ${refusal}` : 'the answer has no content' };
  // Some local servers wrap the JSON in a Markdown fence even when asked for a schema.
  const raw = content.trim().replace(/^```(?:json)?\s*([\s\S]*?)\s*```$/, '$1');
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    const cut = finishReason === 'length' ? ' (cut at the token limit)' : '';
    return { error: `not JSON${cut}: ${raw.slice(0, 120)}` };
  }
  const problems = leadProblems(value);
  if (problems.length) return { error: `does not fit the lead schema: ${problems.join('; ')}` };
  const lead = { ...(value as Lead) };
  const dropped: string[] = [];
  for (const f of LEAD_FIELDS) {
    const v = lead[f]?.replace(/\s+/g, ' ').trim();
    lead[f] = v ? v.slice(0, MAX_FIELD) : null;
  }
  if (lead.phone) {
    const p = normalizePhone(lead.phone);
    const said = text.replace(/\D/g, '');
    // The last ten digits are the number itself whatever prefix (+7, 8, none) the person wrote.
    lead.phone = p && said.includes(p.digits.slice(-10)) ? p.e164 : null;
    if (!lead.phone) dropped.push('phone');
  }
  if (lead.email) {
    const e = normalizeEmail(lead.email);
    lead.email = e && text.toLowerCase().includes(e) ? e : null;
    if (!lead.email) dropped.push('email');
  }
  return { lead, dropped };
}

function asText(v: unknown): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function flag(v: unknown): boolean {
  return !(v === false || v === 'false' || v === 0 || v === '0' || v === 'no');
}

/** Models behind an OpenAI-compatible chat completions API: OpenAI, or a local Ollama / vLLM / LM Studio. */
export const llmConnector: Connector = {
  name: 'llm',
  description: 'A language model (OpenAI-compatible API) that reads free-text messages into leads; rules when none is set up.',
  settingsSchema: {
    type: 'object',
    required: [],
    // A model is needed once there is a server to ask.
    dependencies: { api_url: ['model'] },
    properties: {
      api_url: { type: 'string', pattern: '^https?://', description: `Base URL of the API, e.g. ${LLM_API_URL} or http://127.0.0.1:11434 (Ollama). Without it, rules read the text.` },
      api_key: { type: 'string', description: 'API key, sent as Authorization: Bearer; a local server may need none.' },
      model: { type: 'string', minLength: 1, description: 'Model name, e.g. gpt-4o-mini; it must support structured outputs (json_schema).' },
    },
  },
  secretFields: ['api_key'],
  pace: LLM_PACE,
  nodeTypes: [extractLeadNode],
};
