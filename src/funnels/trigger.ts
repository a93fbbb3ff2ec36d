import type { Contact } from '../storage/contact-store.ts';
import type { InboundEvent, InboundKind } from './inbound-event.ts';
import type { PaymentStatus } from './payment.ts';
import type { MatchRule } from './trigger-match.ts';
import { checkTimerSpec, type TimerSpec } from './timer-schedule.ts';
import { checkWorkingHours, isWithinWorkingHours, type WorkingHours } from '../util/working-hours.ts';

/**
 * What starts a funnel (a process's `triggers:`): an event in a bot of the project, optionally matched
 * by text or payload, with conditions on the contact's tags and variables, a date window, hours of the day, and "only once"; a
 * payment (`on: payment`, funnels/payment.ts); or a timer over a segment (`on: timer`, funnels/timer-triggers.ts).
 */
export interface TriggerDefinition extends TimerSpec {
  on: InboundKind | 'timer';
  /** Connection names of the bots it listens to; all bots of the project when absent. A timer: the bots its people are reached in. */
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
  /** Hours of the day (and weekdays) in which it is active, e.g. not at night. */
  hours?: Pick<WorkingHours, 'from' | 'to' | 'days'> & { timezone?: string };
  /** Contact variables that must equal these values (a list: any of them). */
  vars?: Record<string, VarValue | VarValue[]>;
  /**
   * Only a signed personal link of this very person: `start` by a deep link of `link.paid`, `joined` by
   * a personal invite link of `telegram.invite_link`; the task gets the link's `product` (if it has one).
   * `refused`: the opposite, only when that check fails (a forwarded or made-up link), e.g. to remove
   * the stranger from the channel; the task gets `link_contact_id` (whose link it was, or null).
   */
  paid_link?: boolean | 'refused';
  /** Stop the contact's other funnels first: in this bot, or in all bots of the project. */
  stop?: 'bot' | 'all';
  /** `on: payment`: only payments of this product. */
  product?: string;
  /** `on: payment`: succeeded (default) or refunded. */
  status?: PaymentStatus;
}

type VarValue = string | number | boolean;

const TAGS = { type: 'array', items: { type: 'string', minLength: 1, maxLength: 100 } };
const VAR_VALUE = { type: ['string', 'number', 'boolean'] };

export const TRIGGERS_SCHEMA = {
  type: 'array',
  description: 'Events in the project\'s bots, payments, or timers over a segment, that start a task of this process for the person (a funnel).',
  items: {
    type: 'object',
    required: ['on'],
    additionalProperties: false,
    properties: {
      on: { enum: ['message', 'operator_message', 'start', 'button', 'blocked', 'unblocked', 'joined', 'left', 'payment', 'timer'] },
      bots: { type: 'array', items: { type: 'string' } },
      match: {
        type: 'object', required: ['mode', 'value'], additionalProperties: false,
        properties: {
          mode: { enum: ['exact', 'contains', 'regex', 'meaning', 'llm'] },
          value: { type: ['string', 'array'], items: { type: 'string' } },
          synonyms: { type: 'array', items: { type: 'array', items: { type: 'string' } } },
          negation: { enum: ['refusal', 'local', 'off'], description: 'refusal (default): a "no" anywhere refuses the match; local: only a negation of the matched words; off.' },
          connection: { type: 'string', minLength: 1, description: 'mode llm: the project\'s llm connection (default "default"); without one, meaning over the same values.' },
        },
      },
      payload: { type: 'string', maxLength: 64 },
      tags_present: TAGS,
      tags_absent: TAGS,
      once: { type: 'string', minLength: 1 },
      from: { type: 'string', format: 'date-time' },
      to: { type: 'string', format: 'date-time' },
      hours: {
        type: 'object', required: ['from', 'to'], additionalProperties: false,
        description: 'Active only within these local hours, e.g. {from: "09:00", to: "21:00", timezone: "Europe/Moscow", days: [1,2,3,4,5]}.',
        properties: {
          from: { type: 'string' }, to: { type: 'string' },
          timezone: { type: 'string', description: 'IANA name or UTC offset; default Europe/Moscow.' },
          days: { type: 'array', minItems: 1, items: { type: 'integer', minimum: 1, maximum: 7 } },
        },
      },
      vars: {
        type: 'object', description: 'Contact variables that must have these values (a list: any of them), e.g. {city: [Москва, Казань]}.',
        additionalProperties: { anyOf: [VAR_VALUE, { type: 'array', minItems: 1, items: VAR_VALUE }] },
      },
      stop: { enum: ['bot', 'all'] },
      paid_link: {
        enum: [true, false, 'refused'],
        description: 'true: fire only for a signed personal link of the person (on start a link.paid deep link, on joined a personal '
          + 'telegram.invite_link); a forwarded one starts nothing. refused: fire only for a forwarded or made-up one.',
      },
      product: { type: 'string', minLength: 1, description: 'on: payment — only payments of this product.' },
      status: { enum: ['succeeded', 'refunded'], description: 'on: payment — succeeded (default) or refunded.' },
      every: { type: 'string', minLength: 1, description: 'on: timer — a period, e.g. "1d", "12h".' },
      at: { type: 'string', description: 'on: timer — a local time "HH:MM" every day (or on `days`).' },
      days: { type: 'array', minItems: 1, items: { type: 'integer', minimum: 1, maximum: 7 }, description: 'on: timer with at — ISO weekdays, 1 = Monday.' },
      timezone: { type: 'string', description: 'on: timer with at — IANA name or UTC offset; default Europe/Moscow.' },
    },
  },
};

/** Fields only some kinds of trigger use (bots, tags, once and from/to serve all). */
const ONLY_FOR: Record<string, Array<InboundKind | 'timer'>> = {
  product: ['payment'], status: ['payment'],
  every: ['timer'], at: ['timer'], days: ['timer'], timezone: ['timer'],
};
/** Bot-event fields that mean nothing for a payment or a timer (older kinds keep accepting them, as before). */
const NOT_FOR: Record<string, Array<InboundKind | 'timer'>> = {
  match: ['payment', 'timer'], payload: ['payment', 'timer'], paid_link: ['payment', 'timer'], stop: ['timer'],
};

/** Problems of a trigger that its JSON schema cannot see, each naming its field (`triggers[i].at`). */
export function checkTrigger(t: TriggerDefinition, i: number): Array<{ path: string; message: string }> {
  const out: Array<{ path: string; message: string }> = [];
  const at = (field: string, message: string) => out.push({ path: `triggers[${i}].${field}`, message });
  const given = (field: string) => (t as unknown as Record<string, unknown>)[field] !== undefined;
  for (const [field, kinds] of Object.entries(ONLY_FOR)) if (given(field) && !kinds.includes(t.on)) at(field, `not used by on: ${t.on} (only ${kinds.join(', ')})`);
  for (const [field, kinds] of Object.entries(NOT_FOR)) if (given(field) && kinds.includes(t.on)) at(field, `not used by on: ${t.on}`);
  for (const m of t.hours ? checkWorkingHours(hoursOf(t.hours)) : []) {
    const sep = m.indexOf(': '); // "from: bad time …"
    at(`hours.${m.slice(0, sep)}`, m.slice(sep + 2));
  }
  if (t.on === 'timer') {
    for (const m of checkTimerSpec(t)) {
      const sep = m.indexOf(': ');
      at(m.slice(0, sep), m.slice(sep + 2));
    }
  }
  return out;
}

/** The trigger's conditions on the contact's tags and variables (a timer's segment uses the same). */
export function contactAllows(t: TriggerDefinition, contact: Contact): boolean {
  if (t.tags_present?.some((tag) => !contact.tags.includes(tag))) return false;
  if (t.tags_absent?.some((tag) => contact.tags.includes(tag))) return false;
  // Compared as text: a variable saved from a reply ("25") matches a number in the trigger (25).
  return Object.entries(t.vars ?? {}).every(([name, want]) =>
    name in contact.vars && [want].flat().some((v) => String(v) === String(contact.vars[name])));
}

const hoursOf = (h: NonNullable<TriggerDefinition['hours']>): WorkingHours => ({ ...h, timezone: h.timezone ?? 'Europe/Moscow' });

/**
 * Whether the trigger's event, bot, payload, payment, window and tag conditions hold (the text match
 * is checked by the caller with trigger-match). The "only once" tag is reported apart so that a
 * refused repeat can tell the admin when it ran.
 */
export function triggerApplies(t: TriggerDefinition, e: InboundEvent, connection: string, contact: Contact, now: number):
  'yes' | 'no' | 'already_ran' {
  if (t.on !== e.kind) return 'no';
  if (t.bots && !t.bots.includes(connection)) return 'no';
  if (t.payload !== undefined && t.payload !== e.payload) return 'no';
  if (e.kind === 'payment' && ((t.status ?? 'succeeded') !== e.payment?.status || (t.product !== undefined && t.product !== e.payment?.product))) return 'no';
  if (t.from && now < Date.parse(t.from)) return 'no';
  if (t.to && now > Date.parse(t.to)) return 'no';
  if (t.hours && !isWithinWorkingHours(now, hoursOf(t.hours))) return 'no';
  if (!contactAllows(t, contact)) return 'no';
  if (t.once && contact.tags.includes(t.once)) return 'already_ran';
  return 'yes';
}
