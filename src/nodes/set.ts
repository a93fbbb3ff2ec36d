import type { NodeType } from '../engine/node-type.ts';
import type { TaskData } from '../engine/task.ts';
import { setPath, splitPath } from '../util/template.ts';
import { NODE_ID, fieldEdges } from './edges.ts';

/**
 * Assigns fields: `set: { "lead.title": "Order from {{name}}", attempts: 0, total: { $expr: "data.a + data.b" } }`.
 * Keys are paths; values are templates, plain JSON, or `{ $expr }` evaluated in the code sandbox.
 */
export const setNode: NodeType = {
  type: 'set',
  description: 'Assign fields from templates or expressions.',
  paramsSchema: {
    required: ['set', 'next'],
    properties: { set: { type: 'object', minProperties: 1 }, next: NODE_ID },
  },
  edges: (n) => fieldEdges(n, 'next'),
  run: (ctx) => {
    const patch: TaskData = {};
    const data = ctx.task.data;
    for (const [key, raw] of Object.entries(ctx.node.set as Record<string, unknown>)) {
      const value = isExpr(raw) ? ctx.services.runCode(`return (${raw.$expr});`, data).returned : ctx.render(raw);
      const path = splitPath(key);
      if (path.length === 1) patch[key] = value;
      else {
        // A nested path changes its top-level field: copy it once, then set inside the copy.
        const top = path[0];
        if (!(top in patch)) patch[top] = structuredClone(data[top] ?? {});
        const holder = { [top]: patch[top] } as Record<string, unknown>;
        setPath(holder, path, value);
        patch[top] = holder[top];
      }
    }
    return { kind: 'go', to: ctx.node.next as string, patch };
  },
};

function isExpr(v: unknown): v is { $expr: string } {
  return !!v && typeof v === 'object' && typeof (v as { $expr?: unknown }).$expr === 'string';
}
