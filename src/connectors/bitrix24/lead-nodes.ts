import { connectorNode, type ServiceResult } from '../connector-node.ts';
import { ServiceFailure } from '../service-failure.ts';
import { BATCH_MAX, commandKeys, runBatch, type BatchCommand } from './bitrix24-batch.ts';
import { BITRIX24_PACE, CONNECTOR } from './bitrix24-client.ts';
import { EMAIL_PARAM, PHONE_PARAM, clientFor, multiField, objectParam } from './node-support.ts';

const FIELDS = {
  type: ['object', 'string'],
  description: 'Lead fields (templates allowed): TITLE, NAME, LAST_NAME, STATUS_ID, SOURCE_ID, ASSIGNED_BY_ID, UTM_SOURCE, COMMENTS, UF_CRM_…',
};
const PARAMS = { type: 'object', description: 'Bitrix24 call params, e.g. {REGISTER_SONET_EVENT: "Y"} to notify the responsible person.' };

/** `crm.lead.add`'s body from the node's rendered params; a lead with nothing in it is refused here. */
export function leadAddBody(p: Record<string, unknown>): { fields: Record<string, unknown>; params?: Record<string, unknown> } {
  const fields = { ...(objectParam(p, 'fields') ?? {}) };
  for (const [param, field] of [['phone', 'PHONE'], ['email', 'EMAIL']] as const) {
    const added = multiField(p[param]);
    if (!added.length) continue;
    const given = Array.isArray(fields[field]) ? (fields[field] as unknown[]) : [];
    fields[field] = [...given, ...added];
  }
  if (!Object.keys(fields).length) throw new ServiceFailure('fail', 'fields: nothing to add (no fields, phone or email after templates)', { code: 'empty_lead' });
  const params = objectParam(p, 'params');
  return { fields, ...(params && { params }) };
}

/** `bitrix24.lead.add`: one lead, or up to 50 waiting tasks' leads in one `batch` call. Result `{lead_id}`. */
export const leadAddNode = connectorNode({
  type: 'bitrix24.lead.add',
  description: 'Add a lead to the Bitrix24 CRM (up to 50 waiting tasks go in one batch call).',
  connector: CONNECTOR,
  pace: BITRIX24_PACE,
  params: { fields: FIELDS, phone: PHONE_PARAM, email: EMAIL_PARAM, params: PARAMS },
  async call(ctx, connection, p) {
    const { result, exchange } = await clientFor(ctx, connection, p).call('crm.lead.add', leadAddBody(p));
    return { patch: { lead_id: result }, exchange };
  },
  callMany: {
    max: BATCH_MAX,
    async call(items, connection) {
      const keys = commandKeys(items.map((i) => i.ctx.task.id));
      const out: Array<ServiceResult | ServiceFailure> = [];
      const commands: Array<BatchCommand & { at: number }> = [];
      items.forEach((item, at) => {
        try {
          commands.push({ key: keys[at], method: 'crm.lead.add', params: leadAddBody(item.params), at });
        } catch (e) {
          out[at] = e instanceof ServiceFailure ? e : new ServiceFailure('fail', (e as Error).message);
        }
      });
      if (commands.length) {
        const results = await runBatch(clientFor(items[0].ctx, connection, items[0].params), commands);
        results.forEach((r, i) => {
          out[commands[i].at] = r instanceof ServiceFailure ? r : { patch: { lead_id: r.result }, exchange: r.exchange };
        });
      }
      return out;
    },
  },
});

/** `bitrix24.lead.update`: changes the fields of lead `id`. */
export const leadUpdateNode = connectorNode({
  type: 'bitrix24.lead.update',
  description: 'Change fields of a Bitrix24 lead by its id.',
  connector: CONNECTOR,
  pace: BITRIX24_PACE,
  required: ['id', 'fields'],
  params: {
    id: { type: ['string', 'integer'], description: 'The lead\'s id, e.g. "{{lead_id}}".' },
    fields: { ...FIELDS, description: 'Fields to change (templates allowed); PHONE/EMAIL entries are added to the lead\'s.' },
    params: PARAMS,
  },
  async call(ctx, connection, p) {
    const id = String(p.id ?? '').trim();
    if (!/^\d+$/.test(id)) throw new ServiceFailure('fail', `id: must be a lead id (digits), got "${id}"`, { code: 'bad_id' });
    const fields = objectParam(p, 'fields');
    if (!fields || !Object.keys(fields).length) throw new ServiceFailure('fail', 'fields: nothing to change', { code: 'empty_fields' });
    const params = objectParam(p, 'params');
    const { exchange } = await clientFor(ctx, connection, p).call('crm.lead.update', { id: Number(id), fields, ...(params && { params }) });
    return { patch: { lead_id: Number(id) }, exchange };
  },
});
