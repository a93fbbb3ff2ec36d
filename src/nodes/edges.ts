import type { NodeDefinition } from '../model/process-definition.ts';
import type { EdgeRef } from '../engine/node-type.ts';

/** The edges named by plain string fields of a node, e.g. `next`, `on_timeout`. */
export function fieldEdges(node: NodeDefinition, ...fields: string[]): EdgeRef[] {
  return fields.filter((f) => typeof node[f] === 'string').map((f) => ({ field: f, to: node[f] as string }));
}

export const NODE_ID = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$' };
export const DURATION = { type: ['string', 'number'], description: 'e.g. 30s, 15m, 2h, 1d or PT2H' };
