import { connectorNode } from '../connector-node.ts';
import { ServiceFailure } from '../service-failure.ts';
import { PIPEDRIVE_PACE } from './pipedrive-client.ts';
import { CUSTOM_FIELDS, ID, blank, clientFor, customFieldsOf, defined, dueOf, idOf, numberOf, requiredId, requiredText } from './pipedrive-params.ts';

const DATE = { type: 'string', description: 'YYYY-MM-DD, or a template giving one.' };
const OWNER = { ...ID, description: 'The Pipedrive user who owns it; the token\'s user when absent.' };
const DEAL_STATUS = { enum: ['open', 'won', 'lost'], description: 'open, won or lost.' };

export const organizationCreateNode = connectorNode({
  type: 'pipedrive.organization.create',
  description: 'Create an organization (company) in Pipedrive; result {organization_id}.',
  connector: 'pipedrive',
  pace: PIPEDRIVE_PACE,
  required: ['name'],
  params: {
    name: { type: 'string', description: 'Company name, e.g. {{company}}.' },
    address: { type: 'string', description: 'Postal address as one line.' },
    owner_id: OWNER,
    custom_fields: CUSTOM_FIELDS,
  },
  async call(ctx, connection, p) {
    const body = defined({
      name: requiredText(p.name, 'name'),
      owner_id: idOf(p.owner_id, 'owner_id'),
      address: blank(p.address) ? undefined : { value: String(p.address) },
      custom_fields: customFieldsOf(p.custom_fields),
    });
    const { data, exchange } = await clientFor(ctx, connection, p).post<{ id: number }>('/api/v2/organizations', body);
    return { patch: { organization_id: data.id }, exchange };
  },
});

/** `{amount, currency}` for a lead; an amount alone is taken in the account's default currency. */
function leadValue(v: unknown): { amount: number; currency?: string } | undefined {
  if (blank(v)) return undefined;
  const o = (typeof v === 'object' && !Array.isArray(v) ? v : { amount: v }) as Record<string, unknown>;
  const amount = numberOf(o.amount, 'value.amount');
  if (amount === undefined) return undefined;
  return defined({ amount, currency: blank(o.currency) ? undefined : String(o.currency).toUpperCase() }) as { amount: number; currency?: string };
}

export const leadCreateNode = connectorNode({
  type: 'pipedrive.lead.create',
  description: 'Create a lead in Pipedrive\'s Leads Inbox, linked to a person or an organization; result {lead_id} (a UUID).',
  connector: 'pipedrive',
  pace: PIPEDRIVE_PACE,
  required: ['lead_title'],
  params: {
    // Not `title`: that is the node's own title.
    lead_title: { type: 'string', description: 'Lead title, e.g. "Order from {{name}}".' },
    person_id: { ...ID, description: 'The person the lead is about (from pipedrive.person.upsert).' },
    organization_id: { ...ID, description: 'The organization the lead is about; a person or an organization is needed.' },
    value: {
      type: ['object', 'number', 'string'],
      properties: { amount: { type: ['number', 'string'] }, currency: { type: 'string', description: 'e.g. USD, EUR, RUB.' } },
      description: 'Potential value {amount, currency}, or an amount alone.',
    },
    owner_id: OWNER,
    label_ids: { type: 'array', items: { type: 'string' }, description: 'Lead label ids (UUIDs).' },
    expected_close_date: DATE,
  },
  check: (n) => (n.person_id === undefined && n.organization_id === undefined ? ['person_id or organization_id: a lead needs one'] : []),
  async call(ctx, connection, p) {
    const body = defined({
      title: requiredText(p.lead_title, 'lead_title'),
      person_id: idOf(p.person_id, 'person_id'),
      organization_id: idOf(p.organization_id, 'organization_id'),
      value: leadValue(p.value),
      owner_id: idOf(p.owner_id, 'owner_id'),
      label_ids: Array.isArray(p.label_ids) && p.label_ids.length ? p.label_ids : undefined,
      expected_close_date: blank(p.expected_close_date) ? undefined : String(p.expected_close_date),
    });
    if (body.person_id === undefined && body.organization_id === undefined) {
      throw new ServiceFailure('fail', 'person_id or organization_id: both are empty after templates; a lead needs one', { code: 'bad_param' });
    }
    // Leads have no v2 endpoint yet: v1, with the token in the query (masked in history).
    const { data, exchange } = await clientFor(ctx, connection, p).post<{ id: string }>('/api/v1/leads', body);
    return { patch: { lead_id: data.id }, exchange };
  },
});

const DEAL_PARAMS = {
  deal_title: { type: 'string', description: 'Deal title (not `title`, which is the node\'s own).' },
  value: { type: ['number', 'string'], description: 'Deal value, e.g. {{order.total}}.' },
  currency: { type: 'string', description: 'Currency of the value (USD, EUR, RUB); the account\'s default when absent.' },
  person_id: { ...ID, description: 'The person the deal is with.' },
  org_id: { ...ID, description: 'The organization the deal is with.' },
  pipeline_id: { ...ID, description: 'The pipeline; the default one when absent.' },
  stage_id: { ...ID, description: 'The stage; the pipeline\'s first when absent.' },
  status: DEAL_STATUS,
  owner_id: OWNER,
  expected_close_date: DATE,
  custom_fields: CUSTOM_FIELDS,
};

function dealFields(p: Record<string, unknown>): Record<string, unknown> {
  return defined({
    title: blank(p.deal_title) ? undefined : String(p.deal_title).trim(),
    value: numberOf(p.value, 'value'),
    currency: blank(p.currency) ? undefined : String(p.currency).toUpperCase(),
    person_id: idOf(p.person_id, 'person_id'),
    org_id: idOf(p.org_id, 'org_id'),
    pipeline_id: idOf(p.pipeline_id, 'pipeline_id'),
    stage_id: idOf(p.stage_id, 'stage_id'),
    status: blank(p.status) ? undefined : String(p.status),
    lost_reason: blank(p.lost_reason) ? undefined : String(p.lost_reason),
    owner_id: idOf(p.owner_id, 'owner_id'),
    expected_close_date: blank(p.expected_close_date) ? undefined : String(p.expected_close_date),
    custom_fields: customFieldsOf(p.custom_fields),
  });
}

export const dealCreateNode = connectorNode({
  type: 'pipedrive.deal.create',
  description: 'Create a deal in Pipedrive; result {deal_id}.',
  connector: 'pipedrive',
  pace: PIPEDRIVE_PACE,
  required: ['deal_title'],
  params: DEAL_PARAMS,
  async call(ctx, connection, p) {
    const body = { ...dealFields(p), title: requiredText(p.deal_title, 'deal_title') };
    const { data, exchange } = await clientFor(ctx, connection, p).post<{ id: number }>('/api/v2/deals', body);
    return { patch: { deal_id: data.id }, exchange };
  },
});

export const dealUpdateNode = connectorNode({
  type: 'pipedrive.deal.update',
  description: 'Change a Pipedrive deal: stage, status (won/lost), value, owner…; result {deal_id}.',
  connector: 'pipedrive',
  pace: PIPEDRIVE_PACE,
  required: ['deal_id'],
  params: {
    deal_id: { ...ID, description: 'The deal to change, e.g. {{deal_id}}.' },
    ...DEAL_PARAMS,
    lost_reason: { type: 'string', description: 'Why the deal was lost (with status lost).' },
  },
  async call(ctx, connection, p) {
    const id = requiredId(p.deal_id, 'deal_id');
    const body = dealFields(p);
    if (!Object.keys(body).length) throw new ServiceFailure('fail', 'nothing to change: give at least one deal field', { code: 'bad_param' });
    const { data, exchange } = await clientFor(ctx, connection, p).patch<{ id: number }>(`/api/v2/deals/${id}`, body);
    return { patch: { deal_id: data.id ?? id }, exchange };
  },
});

export const activityCreateNode = connectorNode({
  type: 'pipedrive.activity.create',
  description: 'Create an activity (a call, task or meeting) for a manager in Pipedrive; result {activity_id}.',
  connector: 'pipedrive',
  pace: PIPEDRIVE_PACE,
  required: ['subject'],
  params: {
    subject: { type: 'string', description: 'What to do, e.g. "Call {{name}} back".' },
    // Not `type`: that is the node's own type.
    activity_type: { type: 'string', description: 'Activity type key: call, meeting, task, deadline, email, lunch or a custom one. Default call.' },
    due_date: { type: 'string', description: 'YYYY-MM-DD, or an ISO time (e.g. {{$now}}) giving the date and the UTC time.' },
    due_time: { type: 'string', description: 'HH:MM in UTC.' },
    duration: { type: 'string', description: 'HH:MM.' },
    person_id: { ...ID, description: 'The person to call or meet.' },
    deal_id: { ...ID, description: 'The deal it is about.' },
    lead_id: { type: 'string', description: 'The lead it is about (a UUID).' },
    org_id: { ...ID, description: 'The organization it is about.' },
    owner_id: { ...ID, description: 'The manager who gets it; the token\'s user when absent.' },
    note: { type: 'string', description: 'Note for the manager (HTML allowed).' },
    done: { type: ['boolean', 'string'], description: 'true to record a finished activity.' },
  },
  async call(ctx, connection, p) {
    const personId = idOf(p.person_id, 'person_id');
    const due = dueOf(p.due_date);
    const body = defined({
      subject: requiredText(p.subject, 'subject'),
      type: blank(p.activity_type) ? 'call' : String(p.activity_type).trim(),
      ...due,
      due_time: blank(p.due_time) ? due.due_time : String(p.due_time).trim(),
      duration: blank(p.duration) ? undefined : String(p.duration).trim(),
      // v2 links people through participants; the primary one is the person shown on the activity.
      participants: personId === undefined ? undefined : [{ person_id: personId, primary: true }],
      deal_id: idOf(p.deal_id, 'deal_id'),
      lead_id: blank(p.lead_id) ? undefined : String(p.lead_id).trim(),
      org_id: idOf(p.org_id, 'org_id'),
      owner_id: idOf(p.owner_id, 'owner_id'),
      note: blank(p.note) ? undefined : String(p.note),
      done: p.done === true || p.done === 'true' ? true : undefined,
    });
    const { data, exchange } = await clientFor(ctx, connection, p).post<{ id: number }>('/api/v2/activities', body);
    return { patch: { activity_id: data.id }, exchange };
  },
});
