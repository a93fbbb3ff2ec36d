import type { NodeType } from '../../engine/node-type.ts';
import { connectorNode } from '../connector-node.ts';
import { ServiceFailure, type Exchange } from '../service-failure.ts';
import { runBatch } from './bitrix24-batch.ts';
import { BITRIX24_PACE, CONNECTOR } from './bitrix24-client.ts';
import { EMAIL_PARAM, PHONE_PARAM, clientFor, multiField, objectParam, withSaveAs } from './node-support.ts';

/**
 * `bitrix24.lead.find` / `bitrix24.contact.find`: the first record matching `filter`. Result `{lead:
 * {…fields} | null, found}` (or `{contact: …}`); with `save_as` the record goes under that name and
 * `found` stays beside it — e.g. the partner looked up by `UTM_SOURCE`.
 */
function findNode(entity: 'lead' | 'contact'): NodeType {
  const base = connectorNode({
    type: `bitrix24.${entity}.find`,
    description: `Find the first Bitrix24 ${entity} matching a filter (e.g. by UTM_SOURCE); sets found true/false.`,
    connector: CONNECTOR,
    pace: BITRIX24_PACE,
    required: ['filter'],
    params: {
      filter: {
        type: ['object', 'string'],
        description: 'Bitrix24 filter (templates allowed), e.g. {UTM_SOURCE: "{{utm_source}}"}; prefixes like "=", "%", ">" work as in crm.*.list.',
      },
      select: { type: 'array', items: { type: 'string' }, description: 'Fields to return, e.g. [ID, NAME, ASSIGNED_BY_ID]; "*" and PHONE/EMAIL as in Bitrix24. Default: all plain fields.' },
      order: { type: 'object', description: 'Which match is first, e.g. {ID: "DESC"} for the newest.' },
    },
    async call(ctx, connection, p) {
      const filter = objectParam(p, 'filter');
      if (!filter || !Object.keys(filter).length) throw new ServiceFailure('fail', 'filter: is empty; it would match every record', { code: 'empty_filter' });
      // A field missing from the task renders as "": Bitrix24 would match records with the field empty
      // (e.g. any contact without UTM_SOURCE as the partner), so such a filter finds nothing here.
      const empty = Object.entries(filter).filter(([, v]) => v === '' || v === null || v === undefined).map(([k]) => k);
      if (empty.length) return { patch: { [entity]: null, found: false } };
      const order = objectParam(p, 'order');
      const select = Array.isArray(p.select) && p.select.length ? p.select.map(String) : undefined;
      // start -1: Bitrix24 skips counting all matches (slow on large CRMs) and still returns the first page.
      const body = { filter, ...(select && { select }), ...(order && { order }), start: -1 };
      const { result, exchange } = await clientFor(ctx, connection, p).call<unknown[]>(`crm.${entity}.list`, body);
      const first = Array.isArray(result) && result.length ? (result[0] as Record<string, unknown>) : null;
      return { patch: { [entity]: first, found: first !== null }, exchange };
    },
  });
  return withSaveAs(base, (inner, saveAs) => ({ [saveAs]: inner[entity] ?? null, found: inner.found }));
}

export const leadFindNode = findNode('lead');
export const contactFindNode = findNode('contact');

/** Bitrix24 takes at most 20 values in one crm.duplicate.findbycomm call. */
const MAX_VALUES = 20;

/**
 * `bitrix24.duplicate.find`: ids of records with this phone or e-mail (`crm.duplicate.findbycomm`,
 * Bitrix24 normalizes the numbers). Phone and e-mail together go in one batch call. Result `{duplicate_ids}`.
 */
export const duplicateFindNode = connectorNode({
  type: 'bitrix24.duplicate.find',
  description: 'Find Bitrix24 leads (or contacts, companies) with the same phone or e-mail.',
  connector: CONNECTOR,
  pace: BITRIX24_PACE,
  params: {
    phone: { ...PHONE_PARAM, description: 'Phone number(s) to look for.' },
    email: { ...EMAIL_PARAM, description: 'E-mail address(es) to look for.' },
    entity_type: { enum: ['LEAD', 'CONTACT', 'COMPANY'], description: 'What to search; default LEAD.' },
  },
  check: (n) => (n.phone === undefined && n.email === undefined ? ['phone, email: give at least one'] : []),
  async call(ctx, connection, p) {
    const entityType = String(p.entity_type ?? 'LEAD');
    const searches = (['PHONE', 'EMAIL'] as const)
      .map((type) => ({ type, values: multiField(p[type.toLowerCase()]).map((v) => v.VALUE).slice(0, MAX_VALUES) }))
      .filter((s) => s.values.length);
    if (!searches.length) return { patch: { duplicate_ids: [] } };
    const client = clientFor(ctx, connection, p);
    const found: unknown[] = [];
    let exchange: Exchange | undefined;
    if (searches.length === 1) {
      const answer = await client.call('crm.duplicate.findbycomm', { entity_type: entityType, ...searches[0] });
      found.push(answer.result);
      exchange = answer.exchange;
    } else {
      const results = await runBatch(client, searches.map((s) => ({
        key: s.type.toLowerCase(), method: 'crm.duplicate.findbycomm', params: { entity_type: entityType, ...s },
      })));
      for (const r of results) {
        if (r instanceof ServiceFailure) throw r;
        found.push(r.result);
        exchange = r.exchange;
      }
    }
    const ids = new Set<number>();
    // `{"LEAD": [ids]}`, or `[]` when nothing matched.
    for (const r of found) {
      const list = r && typeof r === 'object' && !Array.isArray(r) ? (r as Record<string, unknown>)[entityType] : undefined;
      if (Array.isArray(list)) for (const id of list) ids.add(Number(id));
    }
    return { patch: { duplicate_ids: [...ids].sort((a, b) => a - b) }, exchange };
  },
});
