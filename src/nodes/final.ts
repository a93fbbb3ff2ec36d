import type { NodeType } from '../engine/node-type.ts';

/** Success end. Tasks stay counted here for the process's retention period. */
export const finalNode: NodeType = {
  type: 'final',
  description: 'The task ends successfully.',
  paramsSchema: { properties: {} },
  terminal: true,
  edges: () => [],
  run: () => ({ kind: 'end', status: 'done' }),
};
