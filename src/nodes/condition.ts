import type { NodeType } from '../engine/node-type.ts';
import { CLAUSE_SCHEMA, checkClause, holds, type Clause } from './conditions.ts';
import { NODE_ID } from './edges.ts';

interface Branch { when?: Clause | Clause[]; any?: Clause[]; to: string }

/** Ordered branches over task data; the first that holds wins, else `else`. */
export const conditionNode: NodeType = {
  type: 'condition',
  description: 'Go to the first branch whose clauses hold, else to `else`.',
  paramsSchema: {
    required: ['branches', 'else'],
    properties: {
      branches: {
        type: 'array',
        minItems: 1,
        items: {
          type: 'object',
          required: ['to'],
          additionalProperties: false,
          properties: {
            when: { oneOf: [CLAUSE_SCHEMA, { type: 'array', minItems: 1, items: CLAUSE_SCHEMA }] },
            any: { type: 'array', minItems: 1, items: CLAUSE_SCHEMA },
            to: NODE_ID,
          },
        },
      },
      else: NODE_ID,
    },
  },
  check: (n) =>
    (n.branches as Branch[]).flatMap((b, i) => {
      const at = `branches[${i}]`;
      if (!b.when && !b.any) return [`${at}: needs when or any`];
      const when = b.when === undefined ? [] : Array.isArray(b.when) ? b.when : [b.when];
      return [
        ...when.flatMap((c, j) => checkClause(c, Array.isArray(b.when) ? `${at}.when[${j}]` : `${at}.when`)),
        ...(b.any ?? []).flatMap((c, j) => checkClause(c, `${at}.any[${j}]`)),
      ];
    }),
  edges: (n) => [
    ...(n.branches as Branch[]).map((b, i) => ({ field: `branches[${i}].to`, to: b.to })),
    { field: 'else', to: n.else as string },
  ],
  run: (ctx) => {
    const data = ctx.task.data;
    for (const b of ctx.node.branches as Branch[]) {
      const when = b.when === undefined ? [] : Array.isArray(b.when) ? b.when : [b.when];
      if (!when.every((c) => holds(c, data, ctx.render, ctx.now))) continue;
      if (b.any && !b.any.some((c) => holds(c, data, ctx.render, ctx.now))) continue;
      return { kind: 'go', to: b.to };
    }
    return { kind: 'go', to: ctx.node.else as string };
  },
};
