import type { Logger } from 'pino';
import type { ProjectEngine } from '../engine/project-engine.ts';
import { parseDuration } from '../util/duration.ts';
import { Periodic } from '../util/periodic.ts';

/** Project config key: how long a person may sit on one funnel step before the admins hear of it. */
export const STUCK_AFTER = 'funnel_stuck_after';
const MAX_CHECK_MS = 60_000;

/**
 * The admin inbox's "stuck" notes: a person of a funnel (a process with triggers) who has been on one
 * step longer than `funnel_stuck_after` (project config, e.g. "1d"; off when absent) while the step
 * expects nothing by a set time — waiting without a timeout, parked as failed, or overdue. A step that
 * is scheduled (a delay, a wait with its timeout ahead) is not stuck. One note per person and step:
 * the note's key is the task and the time it came to the step, so a restart does not repeat it.
 */
export class StuckWatch {
  private readonly periodic: Periodic;

  constructor(private readonly engine: ProjectEngine, log: Logger) {
    this.periodic = new Periodic(() => this.check(Date.now()), () => this.interval(), (err) => log.error({ err }, 'stuck check failed'));
  }

  start(): void {
    this.periodic.start();
  }

  stop(): Promise<void> {
    return this.periodic.stop();
  }

  /** A quarter of the threshold, at most a minute: a note comes at most 25 % late. Off: a look at the config every 5 s. */
  private interval(): number {
    const after = this.stuckAfter();
    return after === null ? 5000 : Math.min(MAX_CHECK_MS, Math.max(250, after / 4));
  }

  private stuckAfter(): number | null {
    const v = this.engine.getConfig()[STUCK_AFTER];
    if (v === undefined || v === null || v === '') return null;
    try {
      return parseDuration(v as string | number);
    } catch {
      return null; // refused when set through the API; an older value is ignored
    }
  }

  async check(now: number): Promise<number> {
    const after = this.stuckAfter();
    if (after === null) return 0;
    let noted = 0;
    for (const name of this.engine.processNames()) {
      if (!this.engine.latestVersion(name)?.definition.triggers?.length) continue;
      for (const task of await this.engine.store.stuckTasks(name, now - after, 200, now)) {
        const d = task.data;
        const who = `${typeof d.name === 'string' && d.name ? d.name : 'contact'}${d.contact_id ? ` (#${String(d.contact_id)})` : ''}`;
        const since = new Date(task.updatedAt).toISOString().slice(0, 16).replace('T', ' ');
        const id = await this.engine.store.contacts.addAdminNote({
          at: now, kind: 'stuck', contactId: Number(d.contact_id) || null, ref: `stuck:${task.id}:${task.updatedAt}`,
          text: `${name}: ${who} is stuck on step "${task.nodeId}" (${task.status}) since ${since} UTC (task ${task.id})`,
        });
        if (id) noted += 1;
      }
    }
    return noted;
  }
}
