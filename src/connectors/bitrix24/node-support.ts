import type { NodeContext, NodeType, Outcome } from '../../engine/node-type.ts';
import type { TaskData } from '../../engine/task.ts';
import { parseDuration } from '../../util/duration.ts';
import type { Connection } from '../connector.ts';
import { ServiceFailure } from '../service-failure.ts';
import { Bitrix24Client } from './bitrix24-client.ts';

/** The client for one node run: the connection, the engine's HTTP pool, the node's `timeout` (default 30 s). */
export function clientFor(ctx: NodeContext, connection: Connection, p: Record<string, unknown>): Bitrix24Client {
  const timeoutMs = parseDuration((p.timeout as string | number | undefined) ?? '30s');
  return new Bitrix24Client({ http: ctx.services.http, connection, connections: ctx.connections, timeoutMs });
}

/** A phone or e-mail given as a string, a number or a list → Bitrix24's multi-field `[{VALUE, VALUE_TYPE}]`. */
export function multiField(value: unknown, valueType = 'WORK'): Array<{ VALUE: string; VALUE_TYPE: string }> {
  const list = Array.isArray(value) ? value : [value];
  return list
    .filter((v) => typeof v === 'string' || typeof v === 'number')
    .map((v) => String(v).trim())
    .filter((v) => v !== '')
    .map((v) => ({ VALUE: v, VALUE_TYPE: valueType }));
}

/** A parameter that must be an object after templates (e.g. `fields`, `filter`); undefined when absent. */
export function objectParam(p: Record<string, unknown>, name: string): Record<string, unknown> | undefined {
  const v = p[name];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new ServiceFailure('fail', `${name}: must be an object after templates`, { code: `bad_${name}` });
  return v as Record<string, unknown>;
}

export const PHONE_PARAM = {
  type: ['string', 'number', 'array'],
  items: { type: ['string', 'number'] },
  description: 'Phone number(s), added as PHONE [{VALUE, VALUE_TYPE: "WORK"}]; a string, a list, or a template.',
};
export const EMAIL_PARAM = {
  type: ['string', 'array'],
  items: { type: 'string' },
  description: 'E-mail address(es), added as EMAIL [{VALUE, VALUE_TYPE: "WORK"}]; a string, a list, or a template.',
};

/**
 * Re-shapes a connector node's result when the node sets `save_as`: connectorNode would put the whole
 * patch under it, while these nodes keep only their main value there (and e.g. `found` beside it).
 */
export function withSaveAs(base: NodeType, reshape: (inner: TaskData, saveAs: string) => TaskData | undefined): NodeType {
  return {
    ...base,
    async run(ctx: NodeContext): Promise<Outcome> {
      const out = await base.run(ctx);
      const saveAs = ctx.node.save_as as string | undefined;
      if (!saveAs || out.kind !== 'go' || !out.patch || !(saveAs in out.patch)) return out;
      return { ...out, patch: reshape(out.patch[saveAs] as TaskData, saveAs) };
    },
  };
}
