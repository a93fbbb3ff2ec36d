import type { HistoryEntry, TaskRecord } from '../engine/task.ts';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A task as the API shows it. */
export function taskJson(t: TaskRecord) {
  return {
    id: t.id, process: t.process, version: t.version, ref: t.ref, status: t.status, node: t.nodeId, data: t.data,
    attempt: t.attempt, error: t.error, runAt: iso(t.runAt), createdAt: iso(t.createdAt), updatedAt: iso(t.updatedAt),
    parentId: t.parentId,
  };
}

export function historyJson(h: HistoryEntry) {
  return { at: iso(h.at), node: h.nodeId, event: h.event, detail: h.detail ?? null };
}

export const TASK_SCHEMA = {
  type: 'object',
  properties: {
    id: { type: 'integer' }, process: { type: 'string' }, version: { type: 'integer' }, ref: { type: ['string', 'null'] },
    status: { type: 'string', enum: ['active', 'sleeping', 'waiting', 'failed', 'done', 'error', 'cancelled'] },
    node: { type: 'string' }, data: { type: 'object', additionalProperties: true }, attempt: { type: 'integer' },
    error: { type: ['string', 'null'] }, runAt: { type: ['string', 'null'] }, createdAt: { type: 'string' },
    updatedAt: { type: 'string' }, parentId: { type: ['integer', 'null'] },
  },
};
