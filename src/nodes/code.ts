import type { NodeType } from '../engine/node-type.ts';
import type { TaskData } from '../engine/task.ts';
import { parseDuration } from '../util/duration.ts';
import { checkDuration } from './call.ts';
import { DURATION, NODE_ID, fieldEdges } from './edges.ts';

/**
 * JavaScript over the task's data in the QuickJS sandbox: the body sees `data`, may change it and may
 * return an object whose fields are merged too. A throw, the time or memory limit → the error edge.
 */
export const codeNode: NodeType = {
  type: 'code',
  description: 'Run JavaScript over the task\'s data in a sandbox.',
  paramsSchema: {
    required: ['code', 'next'],
    properties: {
      code: { type: 'string', minLength: 1 },
      timeout: DURATION,
      memory_mb: { type: 'number', minimum: 1, maximum: 256 },
      next: NODE_ID,
    },
  },
  check: (n) => checkDuration(n.timeout, 'timeout'),
  edges: (n) => fieldEdges(n, 'next'),
  run: (ctx) => {
    const res = ctx.services.runCode(ctx.node.code as string, ctx.task.data, {
      timeMs: ctx.node.timeout === undefined ? undefined : parseDuration(ctx.node.timeout as string | number),
      memoryBytes: ctx.node.memory_mb === undefined ? undefined : (ctx.node.memory_mb as number) * 1024 * 1024,
    });
    const after = { ...(res.data as TaskData) };
    if (res.returned && typeof res.returned === 'object' && !Array.isArray(res.returned)) Object.assign(after, res.returned);
    const patch = diff(ctx.task.data, after);
    return { kind: 'go', to: ctx.node.next as string, patch, detail: res.logs.length ? { logs: res.logs } : undefined };
  },
};

/** Top-level fields that changed; a removed field becomes null. */
function diff(before: TaskData, after: TaskData): TaskData {
  const patch: TaskData = {};
  for (const [k, v] of Object.entries(after)) if (JSON.stringify(before[k]) !== JSON.stringify(v)) patch[k] = v;
  for (const k of Object.keys(before)) if (!(k in after)) patch[k] = null;
  return patch;
}
