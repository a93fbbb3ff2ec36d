import { connectorNode } from '../connector-node.ts';
import { ServiceFailure } from '../service-failure.ts';
import { BITRIX24_PACE, CONNECTOR } from './bitrix24-client.ts';
import { clientFor, objectParam, withSaveAs } from './node-support.ts';

/**
 * `bitrix24.call`: any REST method with any params, for what the other node types do not cover
 * (deals, tasks, timeline comments…). The method's `result` is kept under `save_as` (without it, as
 * `result`, with `total` for lists).
 */
export const callNode = withSaveAs(
  connectorNode({
    type: 'bitrix24.call',
    description: 'Call any Bitrix24 REST method (e.g. crm.deal.add) and keep its result under save_as.',
    connector: CONNECTOR,
    pace: BITRIX24_PACE,
    required: ['method'],
    params: {
      method: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_.]*$', description: 'REST method, e.g. crm.deal.add, crm.timeline.comment.add.' },
      params: { type: ['object', 'string'], description: 'The method\'s parameters (templates allowed), sent as JSON.' },
    },
    async call(ctx, connection, p) {
      const method = String(p.method ?? '').replace(/\.json$/, '');
      if (!/^[A-Za-z][A-Za-z0-9_.]*$/.test(method)) throw new ServiceFailure('fail', `method: "${method}" is not a Bitrix24 method name`, { code: 'bad_method' });
      const answer = await clientFor(ctx, connection, p).call(method, objectParam(p, 'params') ?? {});
      return { patch: { result: answer.result, ...(answer.total !== undefined && { total: answer.total }) }, exchange: answer.exchange };
    },
  }),
  (inner, saveAs) => ({ [saveAs]: inner.result }),
);
