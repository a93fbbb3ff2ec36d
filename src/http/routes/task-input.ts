import { TaskError } from '../../engine/project-engine.ts';
import type { ProjectEngine } from '../../engine/project-engine.ts';
import type { CreateResult } from '../../engine/task.ts';

/** Largest batch in one request; bigger imports send several. */
export const MAX_BATCH = 10_000;

const TASK_INPUT = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ref: { type: ['string', 'number', 'null'], maxLength: 255 },
    data: { type: 'object', additionalProperties: true },
  },
};

export const CREATE_BODY = {
  oneOf: [TASK_INPUT, { type: 'array', minItems: 1, maxItems: MAX_BATCH, items: TASK_INPUT }],
};

export const CREATE_RESULT = {
  type: 'object',
  properties: { id: { type: 'integer' }, ref: { type: ['string', 'null'] }, created: { type: 'boolean' } },
};

type Input = { ref?: string | number | null; data?: Record<string, unknown> };

/** Creates one task or a batch (one transaction) and says which HTTP status fits. */
export async function createFromBody(
  engine: ProjectEngine,
  process: string,
  body: Input | Input[],
): Promise<{ status: number; payload: CreateResult | CreateResult[] }> {
  if (!engine.latestVersion(process)) {
    throw new TaskError(404, `process: "${process}" is not deployed in project "${engine.project}"`);
  }
  const items = (Array.isArray(body) ? body : [body]).map((i) => ({
    ref: i.ref === undefined || i.ref === null ? null : String(i.ref),
    data: i.data ?? {},
  }));
  const results = await engine.createTasks(process, items);
  const anyCreated = results.some((r) => r.created);
  return { status: anyCreated ? 201 : 200, payload: Array.isArray(body) ? results : results[0] };
}
