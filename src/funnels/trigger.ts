import type { Contact } from '../storage/contact-store.ts';
import type { InboundEvent, InboundKind } from './inbound-event.ts';
import type { MatchRule } from './trigger-match.ts';

/**
 * What starts a funnel (a process's `triggers:`): an event in a bot of the project, optionally matched
 * by text or payload, with conditions on the contact's tags, a date window, and "only once".
 */
export interface TriggerDefinition {
  on: InboundKind;
  /** Connection names of the bots it listens to; all bots of the project when absent. */
  bots?: string[];
  /** Text of a message (or an operator's message: the code word) to match; see funnels/trigger-match.ts. */
  match?: MatchRule;
  /** A deep-link / button payload that must be equal (start, button). */
  payload?: string;
  tags_present?: string[];
  tags_absent?: string[];
  /** "Only once": the tag that marks it ran; set when it fires, and present means it is refused. */
  once?: string;
  /** Date-time window (ISO) in which the trigger is active. */
  from?: string;
  to?: string;
  /** Only a signed personal link of this very person (made by `link.paid`); the task gets `product`. */
  paid_link?: boolean;
  /** Stop the contact's other funnels first: in this bot, or in all bots of the project. */
  stop?: 'bot' | 'all';
}

const TAGS = { type: 'array', items: { type: 'string', minLength: 1, maxLength: 100 } };

export const TRIGGERS_SCHEMA = {
  type: 'array',
  description: 'Events in the project\'s bots that start a task of this process for the person (a funnel).',
  items: {
    type: 'object',
    required: ['on'],
    additionalProperties: false,
    properties: {
      on: { enum: ['message', 'operator_message', 'start', 'button', 'blocked', 'unblocked', 'joined', 'left'] },
      bots: { type: 'array', items: { type: 'string' } },
      match: {
        type: 'object', required: ['mode', 'value'], additionalProperties: false,
        properties: {
          mode: { enum: ['exact', 'contains', 'regex', 'meaning'] },
          value: { type: ['string', 'array'], items: { type: 'string' } },
          synonyms: { type: 'array', items: { type: 'array', items: { type: 'string' } } },
          negation: { enum: ['refusal', 'local', 'off'], description: 'refusal (default): a "no" anywhere refuses the match; local: only a negation of the matched words; off.' },
        },
      },
      payload: { type: 'string', maxLength: 64 },
      tags_present: TAGS,
      tags_absent: TAGS,
      once: { type: 'string', minLength: 1 },
      from: { type: 'string', format: 'date-time' },
      to: { type: 'string', format: 'date-time' },
      stop: { enum: ['bot', 'all'] },
      paid_link: { type: 'boolean', description: 'Fire only for a signed personal link (link.paid) of the person who enters.' },
    },
  },
};

/**
 * Whether the trigger's event, bot, payload, window and tag conditions hold (the text match is
 * checked by the caller with trigger-match). The "only once" tag is reported apart so that a refused
 * repeat can tell the admin when it ran.
 */
export function triggerApplies(t: TriggerDefinition, e: InboundEvent, connection: string, contact: Contact, now: number):
  'yes' | 'no' | 'already_ran' {
  if (t.on !== e.kind) return 'no';
  if (t.bots && !t.bots.includes(connection)) return 'no';
  if (t.payload !== undefined && t.payload !== e.payload) return 'no';
  if (t.from && now < Date.parse(t.from)) return 'no';
  if (t.to && now > Date.parse(t.to)) return 'no';
  if (t.tags_present?.some((tag) => !contact.tags.includes(tag))) return 'no';
  if (t.tags_absent?.some((tag) => contact.tags.includes(tag))) return 'no';
  if (t.once && contact.tags.includes(t.once)) return 'already_ran';
  return 'yes';
}
