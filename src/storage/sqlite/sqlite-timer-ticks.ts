import type Database from 'better-sqlite3';
import type { TimerTickState, TimerTickStore } from '../timer-tick-store.ts';
import type { WriteQueue } from './write-queue.ts';

interface Row { process: string; trigger_index: number; spec: string; last_tick: number; pending_tick: number | null; cursor: number }

/** Timer triggers' ticks in the project's SQLite file. */
export class SqliteTimerTicks implements TimerTickStore {
  constructor(private readonly db: Database.Database, private readonly writes: WriteQueue) {}

  async get(process: string, trigger: number): Promise<TimerTickState | undefined> {
    const r = this.db.prepare('SELECT * FROM timer_ticks WHERE process = ? AND trigger_index = ?').get(process, trigger) as Row | undefined;
    return r && { process: r.process, trigger: r.trigger_index, spec: r.spec, lastTick: r.last_tick, pendingTick: r.pending_tick, cursor: r.cursor };
  }

  async put(s: TimerTickState): Promise<void> {
    await this.writes.run(() => this.db.prepare(`INSERT INTO timer_ticks (process, trigger_index, spec, last_tick, pending_tick, cursor, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (process, trigger_index) DO UPDATE SET spec = excluded.spec, last_tick = excluded.last_tick,
      pending_tick = excluded.pending_tick, cursor = excluded.cursor, updated_at = excluded.updated_at`)
      .run(s.process, s.trigger, s.spec, s.lastTick, s.pendingTick, s.cursor, Date.now()));
  }
}
