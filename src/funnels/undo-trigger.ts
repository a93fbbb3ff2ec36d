import type { ProjectEngine } from '../engine/project-engine.ts';
import { TaskError } from '../engine/engine-options.ts';
import { isAlive } from '../engine/task.ts';

/**
 * An admin undoes a manager's wrong trigger (seed 001): the funnel it started is cancelled, the tags
 * it set are cleared (its "only once" tag and those its tags.add steps added), and the funnels it
 * stopped are put back on the step where each person was.
 */
export async function undoTrigger(engine: ProjectEngine, taskId: number): Promise<{ cancelled: boolean; tagsRemoved: string[]; restored: number[] }> {
  const task = await engine.store.getTask(taskId);
  if (!task) throw new TaskError(404, `task ${taskId} not found`);
  const contactId = Number(task.data.contact_id);
  if (!contactId) throw new TaskError(400, `task: ${taskId} was not started by a bot trigger`);
  const cancelled = isAlive(task.status) ? (await engine.cancel(taskId), true) : false;
  const tags = Array.isArray(task.data.tags_added) ? (task.data.tags_added as string[]) : [];
  if (tags.length) await engine.store.contacts.removeTags(contactId, tags);
  const restored: number[] = [];
  for (const id of Array.isArray(task.data.stopped_tasks) ? (task.data.stopped_tasks as number[]) : []) {
    const stopped = await engine.store.getTask(id);
    if (stopped?.status !== 'cancelled') continue; // it moved on meanwhile: leave it
    try {
      await engine.move(id, stopped.nodeId);
      restored.push(id);
    } catch {
      // the person is in that funnel again by now: the live task stays, the old one ended
    }
  }
  await engine.store.contacts.addAdminNote({
    at: Date.now(), kind: 'note', contactId,
    text: `undid the trigger of ${task.process} (task ${taskId}): tags removed ${tags.join(', ') || 'none'}; funnels restored ${restored.join(', ') || 'none'}`,
  });
  return { cancelled, tagsRemoved: tags, restored };
}
