import type { Logger } from 'pino';
import type { ProjectEngine } from '../engine/project-engine.ts';
import type { TaskData } from '../engine/task.ts';
import type { TimerTickState } from '../storage/timer-tick-store.ts';
import { dueTick, specKey } from './timer-schedule.ts';
import { Periodic } from '../util/periodic.ts';
import { contactAllows, type TriggerDefinition } from './trigger.ts';

/** Contacts read per page of a tick; the tick's progress is stored after each page. */
const PAGE = 500;
const POLL_MS = 1000;

/**
 * Timer triggers (`on: timer`): at each tick (timer-schedule.ts) a funnel starts for every active
 * contact of the segment — `tags_present`, `tags_absent`, `bots` (the person must be active in one of
 * them; the task talks to them in the first), and not yet tagged `once`. The task's ref is
 * `contact-<id>`, so a person still in the funnel from the last tick is not started twice.
 *
 * Durable ticks: the tick under way is stored before the first contact is reached, with the last
 * contact reached after each page, and the tick is marked fired at the end. A restart mid-tick goes on
 * after that contact; a tick that came while the server was down fires once when it is back; a fired
 * tick never fires again. (A crash between a page's tasks and its stored progress may start that page
 * again: those still in the funnel are refused by the ref, and `once` refuses the rest.)
 */
export class TimerTriggers {
  private readonly periodic: Periodic;

  constructor(private readonly engine: ProjectEngine, private readonly log: Logger, pollMs = POLL_MS) {
    this.periodic = new Periodic(() => this.check(Date.now()), () => pollMs, (err) => this.log.error({ err }, 'timer triggers failed'));
  }

  /** A stop ends a tick under way between pages; its progress is stored, so the next start goes on. */
  private get running(): boolean {
    return this.periodic.running;
  }

  start(): void {
    this.periodic.start({ now: true });
  }

  stop(): Promise<void> {
    return this.periodic.stop();
  }

  /** Fires every timer trigger of the deployed processes whose tick has come by `now`. */
  async check(now: number): Promise<void> {
    for (const process of this.engine.processNames()) {
      const triggers = this.engine.latestVersion(process)?.definition.triggers ?? [];
      for (let i = 0; i < triggers.length && this.running; i++) {
        const t = triggers[i]!;
        if (t.on !== 'timer') continue;
        try {
          await this.checkOne(process, t, i, now);
        } catch (err) {
          this.log.error({ err, process, trigger: i }, 'a timer trigger failed; its tick is tried again');
        }
      }
    }
  }

  private async checkOne(process: string, t: TriggerDefinition, i: number, now: number): Promise<void> {
    const ticks = this.engine.store.timerTicks;
    const spec = specKey(t);
    let s = await ticks.get(process, i);
    if (!s || s.spec !== spec) {
      // First seen (or its timing changed): ticks count from now, nothing fires yet.
      await ticks.put({ process, trigger: i, spec, lastTick: now, pendingTick: null, cursor: 0 });
      return;
    }
    if (s.pendingTick === null) {
      const tick = dueTick(t, s.lastTick, now);
      if (tick === null) return;
      s = { ...s, pendingTick: tick, cursor: 0 };
      await ticks.put(s);
    }
    const tick = s.pendingTick!;
    const inWindow = !(t.from && tick < Date.parse(t.from)) && !(t.to && tick > Date.parse(t.to));
    const reached = inWindow ? await this.fire(process, t, s) : { started: 0, skipped: 0, finished: true };
    if (!reached.finished) return; // stopping: the tick goes on after the last contact reached
    await ticks.put({ ...s, lastTick: tick, pendingTick: null, cursor: 0 });
    this.log.info({ process, trigger: i, tick: new Date(tick).toISOString(), ...reached, inWindow }, 'timer trigger ticked');
  }

  /** Starts the funnel for the segment's contacts after the stored cursor, page by page. */
  private async fire(process: string, t: TriggerDefinition, s: TimerTickState): Promise<{ started: number; skipped: number; finished: boolean }> {
    const contacts = this.engine.store.contacts;
    const tickIso = new Date(s.pendingTick!).toISOString();
    let cursor = s.cursor;
    let started = 0;
    let skipped = 0;
    for (;;) {
      if (!this.running) return { started, skipped, finished: false };
      // The first required tag narrows the scan in SQL; the other conditions are checked here.
      const page = await contacts.listContacts({ tag: t.tags_present?.[0], status: 'active', limit: PAGE, afterId: cursor });
      if (!page.length) return { started, skipped, finished: true };
      const items: Array<{ ref: string; data: TaskData }> = [];
      for (const c of page) {
        if (!contactAllows(t, c) || (t.once && c.tags.includes(t.once))) continue;
        const bot = c.bots.find((b) => b.status === 'active' && (!t.bots || t.bots.includes(b.connection)));
        if (!bot) continue;
        items.push({ ref: `contact-${c.id}`, data: {
          contact_id: c.id, platform: c.platform, bot: bot.connection, chat_id: bot.chatId, user_id: c.userId, name: c.name,
          text: null, payload: null, event: 'timer', tick: tickIso, tags: c.tags, ...(t.once && { tags_added: [t.once] }),
        } });
      }
      if (items.length) {
        const res = await this.engine.createTasks(process, items);
        const fresh = items.filter((_, k) => res[k]?.created);
        started += fresh.length;
        skipped += items.length - fresh.length; // still in this funnel (from an earlier tick or a trigger)
        if (t.once) await Promise.all(fresh.map((x) => contacts.addTags(x.data.contact_id as number, [t.once!], Date.now())));
      }
      cursor = page[page.length - 1]!.id;
      await this.engine.store.timerTicks.put({ ...s, cursor });
    }
  }
}
