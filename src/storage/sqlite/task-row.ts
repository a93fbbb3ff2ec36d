import type { TaskRecord, TaskStatus } from '../../engine/task.ts';

/** A row of the tasks table as SQLite gives it, and the engine's TaskRecord made from it. */
export interface TaskRow {
  id: number; process: string; version: number; ref: string | null; data: string; node_id: string;
  status: string; run_at: number | null; attempt: number; error: string | null; parent_id: number | null;
  waiting_for: number | null; rev: number; created_at: number; updated_at: number; wait_seq: number;
}

export const TASK_COLUMNS =
  'id, process, version, ref, data, node_id, status, run_at, attempt, error, parent_id, waiting_for, rev, created_at, updated_at, wait_seq';

export function toTask(r: TaskRow): TaskRecord {
  return {
    id: r.id, process: r.process, version: r.version, ref: r.ref, data: JSON.parse(r.data),
    nodeId: r.node_id, status: r.status as TaskStatus, runAt: r.run_at, attempt: r.attempt, error: r.error,
    parentId: r.parent_id, waitingFor: r.waiting_for, waitSeq: r.wait_seq, rev: r.rev, createdAt: r.created_at, updatedAt: r.updated_at,
  };
}
