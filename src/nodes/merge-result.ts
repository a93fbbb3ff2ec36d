import type { TaskData } from '../engine/task.ts';

/** A reply or callback body goes under `saveTo` when set, else its fields merge into the task's data. */
export function mergeResult(saveTo: unknown, payload: unknown): TaskData {
  if (typeof saveTo === 'string' && saveTo) return { [saveTo]: payload };
  if (payload && typeof payload === 'object' && !Array.isArray(payload)) return payload as TaskData;
  return { result: payload };
}
