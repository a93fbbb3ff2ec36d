import { connectorNode } from '../connector-node.ts';
import { ServiceFailure } from '../service-failure.ts';
import { PIPEDRIVE_PACE } from './pipedrive-client.ts';
import { CONTACT, CUSTOM_FIELDS, ID, blank, clientFor, contactList, customFieldsOf, defined, idOf, listOf, requiredText } from './pipedrive-params.ts';
import { searchPersons, upsertPerson, type PipedrivePerson } from './person-upsert.ts';

const SEARCH_FIELDS = ['phone', 'email', 'name'];

const PERSON_PARAMS = {
  name: { type: 'string', description: 'Full name, e.g. {{name}}.' },
  email: { ...CONTACT, description: 'Email, or a list of emails; the first is the primary one.' },
  phone: { ...CONTACT, description: 'Phone, or a list of phones; the first is the primary one.' },
  org_id: { ...ID, description: 'The organization the person works for.' },
  owner_id: { ...ID, description: 'The Pipedrive user who owns the person; the token\'s user when absent.' },
  custom_fields: CUSTOM_FIELDS,
};

/** Person fields other than name and contacts, as v2 takes them. */
function personFields(p: Record<string, unknown>): Record<string, unknown> {
  return defined({ org_id: idOf(p.org_id, 'org_id'), owner_id: idOf(p.owner_id, 'owner_id'), custom_fields: customFieldsOf(p.custom_fields) });
}

export const personCreateNode = connectorNode({
  type: 'pipedrive.person.create',
  description: 'Create a person (contact) in Pipedrive with emails and phones; result {person_id}.',
  connector: 'pipedrive',
  pace: PIPEDRIVE_PACE,
  required: ['name'],
  params: PERSON_PARAMS,
  async call(ctx, connection, p) {
    const emails = listOf(p.email);
    const phones = listOf(p.phone);
    const body = defined({
      name: requiredText(p.name, 'name'),
      ...personFields(p),
      emails: emails.length ? contactList(emails) : undefined,
      phones: phones.length ? contactList(phones) : undefined,
    });
    const { data, exchange } = await clientFor(ctx, connection, p).post<PipedrivePerson>('/api/v2/persons', body);
    return { patch: { person_id: data.id }, exchange };
  },
});

export const personFindNode = connectorNode({
  type: 'pipedrive.person.find',
  description: 'Find a person by phone, email or name; result {person_id (null when none), found}.',
  connector: 'pipedrive',
  pace: PIPEDRIVE_PACE,
  required: ['term'],
  params: {
    term: { type: 'string', description: 'What to look for, e.g. {{phone}}; at least 2 characters.' },
    fields: {
      anyOf: [{ enum: SEARCH_FIELDS }, { type: 'array', items: { enum: SEARCH_FIELDS }, minItems: 1 }],
      description: 'Where to look: phone, email, name, or a list of them; all three when absent.',
    },
    exact_match: { type: ['boolean', 'string'], description: 'true: only whole, case-insensitive matches.' },
  },
  check: (n) => {
    const f = n.fields;
    const list = Array.isArray(f) ? f : f === undefined ? [] : [f];
    return list.filter((x) => !SEARCH_FIELDS.includes(String(x))).map((x) => `fields: "${String(x)}" is not one of ${SEARCH_FIELDS.join(', ')}`);
  },
  async call(ctx, connection, p) {
    const term = requiredText(p.term, 'term');
    const fields = blank(p.fields) ? SEARCH_FIELDS : listOf(p.fields).flatMap((f) => f.split(',')).map((f) => f.trim());
    const wrong = fields.filter((f) => !SEARCH_FIELDS.includes(f));
    if (wrong.length) throw new ServiceFailure('fail', `fields: "${wrong[0]}" is not one of ${SEARCH_FIELDS.join(', ')}`, { code: 'bad_param' });
    const exact = p.exact_match === true || p.exact_match === 'true';
    const { hits, exchange } = await searchPersons(clientFor(ctx, connection, p), term, fields, exact);
    return { patch: { person_id: hits[0]?.id ?? null, found: hits.length > 0 }, exchange };
  },
});

export const personUpsertNode = connectorNode({
  type: 'pipedrive.person.upsert',
  description: 'Find a person by email or phone and update it, or create it: no duplicate persons; result {person_id, created}.',
  connector: 'pipedrive',
  pace: PIPEDRIVE_PACE,
  params: {
    ...PERSON_PARAMS,
    name: { type: 'string', description: 'Full name; when a new person has none, the email or phone names it.' },
    update_fields: {
      type: ['boolean', 'string'],
      description: 'false: a found person keeps its name, organization and custom fields (new emails/phones are still added). Default true.',
    },
  },
  check: (n) => (n.email === undefined && n.phone === undefined ? ['email or phone: one is needed to find the person'] : []),
  async call(ctx, connection, p) {
    const r = await upsertPerson(clientFor(ctx, connection, p), {
      name: blank(p.name) ? undefined : String(p.name).trim(),
      emails: listOf(p.email),
      phones: listOf(p.phone),
      fields: personFields(p),
      updateFields: !(p.update_fields === false || p.update_fields === 'false'),
    });
    return { patch: { person_id: r.personId, created: r.created }, exchange: r.exchange };
  },
});
