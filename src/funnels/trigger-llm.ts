import type { ConnectionAccess } from '../connectors/connector.ts';
import { ChatCompletionsClient } from '../connectors/llm/chat-completions-client.ts';
import type { HttpClient } from '../util/http-client.ts';
import { matchText, type MatchRule } from './trigger-match.ts';

/** What an `llm` rule decided, for the task data (`match`) and the inbound log. */
export interface LlmMatch {
  matched: boolean;
  /** `llm` when the model answered; `meaning` when it could not be asked or failed. */
  by: 'llm' | 'meaning';
  /** The label the model chose (labels), or "yes"/"no" (a question). */
  label?: string;
  why: string;
  /** Why the model was not used (no connection, the call failed, an answer that is not one). */
  fallback?: string;
}

const NONE = 'none';
/** A trigger is on the path of every message: a slow model must not hold a person's events for long. */
const TIMEOUT_MS = 15_000;
const MAX_TEXT = 4000;
/** Calls at once per project; more wait their turn (a model serves a few at a time anyway). */
const MAX_CALLS = 4;

/**
 * Match mode `llm`: asks the project's language model (an `llm` connection: OpenAI-compatible, answering
 * in a JSON schema) whether a message means one of the rule's labels, or, for a single value, the answer
 * to that yes/no question about it. Without a model (no connection, no api_url) or when the call or its
 * answer fails, the rule is read as `meaning` over the same values, and the result says so.
 */
export class LlmTriggerMatcher {
  private calls = 0;
  private readonly queue: Array<() => void> = [];

  constructor(private readonly connections: ConnectionAccess, private readonly http: HttpClient, private readonly timeoutMs = TIMEOUT_MS) {}

  async match(rule: MatchRule, text: string): Promise<LlmMatch> {
    if (typeof text !== 'string' || !text.trim()) return { matched: false, by: 'llm', why: 'llm: no text to classify' };
    const name = rule.connection ?? 'default';
    let settings: Record<string, unknown>;
    try {
      settings = this.connections.get('llm', name).settings;
    } catch {
      return llmFallback(rule, text, `no llm connection "${name}"`);
    }
    const model = String(settings.model ?? '').trim();
    if (!String(settings.api_url ?? '').trim() || !model) return llmFallback(rule, text, `llm connection "${name}" has no api_url or model`);
    const labels = typeof rule.value === 'string' ? null : rule.value;
    const body = {
      model,
      messages: [{ role: 'system', content: labels ? labelPrompt(labels) : questionPrompt(rule.value as string) }, { role: 'user', content: text.slice(0, MAX_TEXT) }],
      response_format: { type: 'json_schema', json_schema: { name: labels ? 'label' : 'answer', schema: labels ? labelSchema(labels) : ANSWER_SCHEMA, strict: true } },
      temperature: 0,
    };
    let content: string | null;
    try {
      content = (await this.turn(() => new ChatCompletionsClient(this.http, settings).complete(body, this.timeoutMs))).content;
    } catch (e) {
      return llmFallback(rule, text, `the llm call failed: ${(e as Error).message.slice(0, 200)}`);
    }
    const answer = readAnswer(content, labels);
    if (answer === undefined) return llmFallback(rule, text, `the llm's answer is not one of the choices: ${String(content).slice(0, 120)}`);
    if (labels) return answer === NONE ? { matched: false, by: 'llm', label: NONE, why: 'llm: none of the labels' } : { matched: true, by: 'llm', label: answer, why: `llm: «${answer}»` };
    return { matched: answer === 'yes', by: 'llm', label: answer, why: `llm: ${answer} to «${rule.value as string}»` };
  }

  /** Runs `fn` when fewer than MAX_CALLS are under way. */
  private async turn<T>(fn: () => Promise<T>): Promise<T> {
    if (this.calls >= MAX_CALLS) await new Promise<void>((resolve) => this.queue.push(resolve));
    this.calls++;
    try {
      return await fn();
    } finally {
      this.calls--;
      this.queue.shift()?.();
    }
  }
}

export function llmFallback(rule: MatchRule, text: string, reason: string): LlmMatch {
  const note = `llm not used: ${reason}`;
  if (typeof rule.value === 'string') {
    const r = matchText(rule, text); // mode llm compiles to meaning over the same values
    return { matched: r.matched, by: 'meaning', label: r.matched ? 'yes' : 'no', why: `${r.why ?? 'meaning: no match'} (${note})`, fallback: reason };
  }
  // Label by label, so that the funnel learns which one matched, as it would from the model.
  for (const one of perLabel(rule)) {
    const r = matchText(one, text);
    if (r.matched) return { matched: true, by: 'meaning', label: one.value as string, why: `${r.why} (${note})`, fallback: reason };
  }
  return { matched: false, by: 'meaning', label: NONE, why: `meaning: no label matched (${note})`, fallback: reason };
}

const labelRules = new WeakMap<MatchRule, MatchRule[]>();

/** One rule per label (kept, so each compiles once: trigger-match caches by rule object). */
function perLabel(rule: MatchRule): MatchRule[] {
  let list = labelRules.get(rule);
  if (!list || list.length !== rule.value.length) {
    list = (rule.value as string[]).map((value) => ({ ...rule, value }));
    labelRules.set(rule, list);
  }
  return list;
}

function labelPrompt(labels: string[]): string {
  return [
    'You classify one message a person wrote to a company\'s chatbot (mostly in Russian).',
    `Answer with the label whose meaning the message expresses, or "${NONE}" when no label fits or the person says the opposite (refuses, negates it).`,
    'Labels:', ...labels.map((l) => `- ${l}`),
  ].join('\n');
}

function questionPrompt(question: string): string {
  return [
    'You read one message a person wrote to a company\'s chatbot (mostly in Russian) and answer a question about it with "yes" or "no".',
    `Question: ${question}`,
  ].join('\n');
}

function labelSchema(labels: string[]): Record<string, unknown> {
  return { type: 'object', properties: { label: { type: 'string', enum: [...labels, NONE] } }, required: ['label'], additionalProperties: false };
}

const ANSWER_SCHEMA = { type: 'object', properties: { answer: { type: 'string', enum: ['yes', 'no'] } }, required: ['answer'], additionalProperties: false };

/** The label or yes/no, or undefined when the content is not one of the choices. */
function readAnswer(content: string | null, labels: string[] | null): string | undefined {
  if (content === null) return undefined;
  let v: unknown;
  try {
    // Some local servers wrap the JSON in a Markdown fence even when asked for a schema.
    v = JSON.parse(content.trim().replace(/^```(?:json)?\s*([\s\S]*?)\s*```$/, '$1'));
  } catch {
    return undefined;
  }
  const got = (v as Record<string, unknown> | null)?.[labels ? 'label' : 'answer'];
  if (typeof got !== 'string') return undefined;
  const choices = labels ? [...labels, NONE] : ['yes', 'no'];
  return choices.find((c) => c === got) ?? choices.find((c) => c.toLowerCase() === got.trim().toLowerCase());
}
