import { Ajv } from 'ajv';

/** A lead as read from a first message; every field null when the person did not say it. */
export interface Lead {
  name: string | null;
  /** E.164 (`+79161234567`) once normalized. */
  phone: string | null;
  /** Lower-cased once normalized. */
  email: string | null;
  service: string | null;
  preferred_time: string | null;
  city: string | null;
  comment: string | null;
}

export const LEAD_FIELDS = ['name', 'phone', 'email', 'service', 'preferred_time', 'city', 'comment'] as const;

const FIELD_MEANING: Record<(typeof LEAD_FIELDS)[number], string> = {
  name: 'How the person introduced themselves (first name, or first and last name), in the nominative case.',
  phone: 'Their phone number exactly as written in the message.',
  email: 'Their email address.',
  service: 'What they want (the service or product), in a few words, e.g. "маникюр".',
  preferred_time: 'When they want it or want a call back, in their words, e.g. "в субботу после 18".',
  city: 'Their city, in the nominative case, e.g. "Тверь".',
  comment: 'Anything else worth telling the manager (a question, a wish), briefly.',
};

/**
 * The JSON Schema the model must answer with. Structured outputs in strict mode want every property
 * required and no others; "not said" is null rather than a missing field.
 */
export const LEAD_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: [...LEAD_FIELDS],
  properties: Object.fromEntries(LEAD_FIELDS.map((f) => [f, { type: ['string', 'null'], description: FIELD_MEANING[f] }])),
} as const;

/** The system message: what to extract and the one rule that matters most (never invent). */
export const LEAD_INSTRUCTIONS = [
  'You read the first message a prospective customer sent to a small business (often in Russian) and',
  'extract a lead from it as JSON with the fields name, phone, email, service, preferred_time, city, comment.',
  'Use null for anything the message does not say. Never invent or guess a phone, an email or a name.',
  'Keep the customer\'s language for service, preferred_time and comment.',
].join(' ');

const validate = new Ajv({ allErrors: true, strict: false }).compile(LEAD_SCHEMA);

/** Problems with a model's answer against LEAD_SCHEMA, each naming the field; empty when it fits. */
export function leadProblems(value: unknown): string[] {
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => {
    const at = e.instancePath.replace(/^\//, '') || 'answer';
    if (e.keyword === 'required') return `${e.params.missingProperty}: is missing`;
    if (e.keyword === 'additionalProperties') return `${e.params.additionalProperty}: is not a lead field`;
    return `${at}: ${e.message}`;
  });
}

/** An all-null lead. */
export function emptyLead(): Lead {
  return { name: null, phone: null, email: null, service: null, preferred_time: null, city: null, comment: null };
}
