import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import type { ProcessDefinition, ProcessVersion } from '../../model/process-definition.ts';
import type { CreateResult, HistoryEntry, NewTask, TaskRecord } from '../../engine/task.ts';
import { isAlive } from '../../engine/task.ts';
import {
  StaleTaskError,
  type ProcessSummary,
  type ProjectStore,
  type AdvanceNew, type PublicAccess, type StoredConnection,
  type TaskFilter,
  type Transition,
} from '../project-store.ts';
import { migrate } from './schema.ts';
import { WriteQueue } from './write-queue.ts';
import { SqliteContactStore } from './sqlite-contact-store.ts';
import { EarliestDue, claimFairly } from './due-tasks.ts';
import { SqliteTimerTicks } from './sqlite-timer-ticks.ts';
import { TASK_COLUMNS, toTask, type TaskRow } from './task-row.ts';

export interface SqliteOptions {
  /** `full` fsyncs every commit (durable on power loss); `normal` survives a process crash only. */
  synchronous?: 'full' | 'normal';
}

/**
 * The embedded store: one SQLite file per project, WAL mode, one engine process per file
 * (the server holds a lock on its data directory), so claims need no row locks: a lease is the
 * task's run_at moved forward plus a `leased` mark that a restart clears.
 */
export class SqliteProjectStore implements ProjectStore {
  private readonly db: Database.Database;
  private readonly writes: WriteQueue;
  private readonly st: ReturnType<SqliteProjectStore['prepare']>;
  readonly contacts: SqliteContactStore;
  readonly timerTicks: SqliteTimerTicks;
  private processList: string[] | undefined;
  /** The earliest run_at while known, so that a turn with nothing due costs no query. */
  private readonly due = new EarliestDue();

  constructor(readonly project: string, file: string, opts: SqliteOptions = {}) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${opts.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
    this.db.pragma('busy_timeout = 5000');
    // Group commit gives every write its own savepoint; their rollback copies of pages stay in memory
    // instead of a temporary file (a 3× difference for batched creates).
    this.db.pragma('temp_store = MEMORY');
    migrate(this.db);
    this.st = this.prepare();
    // Leases of a process that died are void: its tasks are due again now (at-least-once for I/O).
    this.db.prepare('UPDATE tasks SET run_at = ?, leased = 0 WHERE leased = 1').run(Date.now());
    this.writes = new WriteQueue(this.db);
    this.contacts = new SqliteContactStore(this.db, this.writes);
    this.timerTicks = new SqliteTimerTicks(this.db, this.writes);
  }

  private prepare() {
    const d = this.db;
    return {
      insertTask: d.prepare(
        `INSERT INTO tasks (process, version, ref, data, node_id, status, run_at, parent_id, created_at, updated_at, contact_id)
         VALUES (?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`,
      ),
      liveByRef: d.prepare('SELECT id FROM tasks WHERE process = ? AND ref = ? AND alive = 1'),
      insertHistory: d.prepare('INSERT INTO history (task_id, at, node_id, event, detail) VALUES (?, ?, ?, ?, ?)'),
      updateTask: d.prepare(
        `UPDATE tasks SET data = ?, node_id = ?, status = ?, run_at = ?, attempt = ?, error = ?, parent_id = ?,
           waiting_for = ?, wait_seq = ?, rev = rev + 1, updated_at = ?, ended_at = ?, alive = ?, leased = ?
         WHERE id = ? AND rev = ?`,
      ),
      getTask: d.prepare(`SELECT ${TASK_COLUMNS} FROM tasks WHERE id = ?`),
      claim: d.prepare(
        `UPDATE tasks SET run_at = ?, leased = 1 WHERE id IN
           (SELECT id FROM tasks WHERE process = ? AND run_at <= ? ORDER BY run_at LIMIT ?)
         RETURNING ${TASK_COLUMNS}`,
      ),
      nextDue: d.prepare('SELECT MIN(run_at) AS t FROM tasks WHERE process = ? AND run_at IS NOT NULL'),
      activeByNode: d.prepare(
        `SELECT node_id, COUNT(*) AS n FROM tasks WHERE process = ? AND run_at <= ? AND status = 'active' GROUP BY node_id`,
      ),
      processNames: d.prepare('SELECT name FROM processes ORDER BY name'),
      history: d.prepare(
        'SELECT at, node_id, event, detail FROM history WHERE task_id = ? ORDER BY rowid DESC LIMIT ?',
      ),
      countByNode: d.prepare('SELECT node_id, COUNT(*) AS n FROM tasks WHERE process = ? GROUP BY node_id'),
      countByStatus: d.prepare('SELECT status, COUNT(*) AS n FROM tasks WHERE process = ? GROUP BY status'),
      putInbox: d.prepare('UPDATE tasks SET inbox = ? WHERE id = ? AND rev = ?'),
      readInbox: d.prepare('SELECT inbox FROM tasks WHERE id = ? AND inbox IS NOT NULL'),
      clearInbox: d.prepare('UPDATE tasks SET inbox = NULL WHERE id = ?'),
      purgeHistory: d.prepare(
        'DELETE FROM history WHERE task_id IN (SELECT id FROM tasks WHERE process = ? AND ended_at < ?)',
      ),
      purgeTasks: d.prepare('DELETE FROM tasks WHERE process = ? AND ended_at < ?'),
    };
  }

  // ---- processes ----

  async deployProcess(definition: ProcessDefinition, publicId: string): Promise<ProcessVersion> {
    const now = Date.now();
    return this.writes.run(() => {
      const row = this.db.prepare('SELECT latest FROM processes WHERE name = ?').get(definition.name) as
        | { latest: number }
        | undefined;
      const version = (row?.latest ?? 0) + 1;
      this.db
        .prepare('INSERT INTO process_versions (name, version, definition, deployed_at) VALUES (?, ?, ?, ?)')
        .run(definition.name, version, JSON.stringify(definition), now);
      if (row) {
        this.db
          .prepare('UPDATE processes SET latest = ?, title = ?, public_id = ? WHERE name = ?')
          .run(version, definition.title ?? null, publicId, definition.name);
      } else {
        this.db
          .prepare('INSERT INTO processes (name, latest, title, public_id, public_secret) VALUES (?, ?, ?, ?, ?)')
          .run(definition.name, version, definition.title ?? null, publicId, randomBytes(20).toString('hex'));
      }
      this.processList = undefined;
      return { name: definition.name, version, definition, deployedAt: now };
    });
  }

  async getProcess(name: string, version?: number): Promise<ProcessVersion | undefined> {
    const row = (
      version === undefined
        ? this.db
            .prepare(
              `SELECT v.* FROM process_versions v JOIN processes p ON p.name = v.name AND p.latest = v.version
               WHERE v.name = ?`,
            )
            .get(name)
        : this.db.prepare('SELECT * FROM process_versions WHERE name = ? AND version = ?').get(name, version)
    ) as { name: string; version: number; definition: string; deployed_at: number } | undefined;
    if (!row) return undefined;
    return { name: row.name, version: row.version, definition: JSON.parse(row.definition), deployedAt: row.deployed_at };
  }

  async listProcesses(): Promise<ProcessSummary[]> {
    const rows = this.db
      .prepare(
        `SELECT p.name, p.title, p.latest, p.public_id, v.deployed_at,
           (SELECT COUNT(*) FROM tasks t WHERE t.process = p.name AND t.alive = 1) AS alive
         FROM processes p JOIN process_versions v ON v.name = p.name AND v.version = p.latest ORDER BY p.name`,
      )
      .all() as Array<{ name: string; title: string | null; latest: number; public_id: string; deployed_at: number; alive: number }>;
    return rows.map((r) => ({
      name: r.name, title: r.title ?? undefined, version: r.latest, deployedAt: r.deployed_at, publicId: r.public_id, alive: r.alive,
    }));
  }

  async listVersions(name: string) {
    const rows = this.db
      .prepare('SELECT version, deployed_at FROM process_versions WHERE name = ? ORDER BY version')
      .all(name) as Array<{ version: number; deployed_at: number }>;
    return rows.map((r) => ({ version: r.version, deployedAt: r.deployed_at }));
  }

  async getPublicAccess(name: string): Promise<PublicAccess | undefined> {
    const r = this.db.prepare('SELECT name, public_id, public_secret FROM processes WHERE name = ?').get(name) as
      | { name: string; public_id: string; public_secret: string }
      | undefined;
    return r && { process: r.name, publicId: r.public_id, secret: r.public_secret };
  }

  async listConnections(): Promise<StoredConnection[]> {
    const rows = this.db.prepare('SELECT connector, name, settings, secrets, updated_at FROM connections ORDER BY connector, name').all() as
      Array<{ connector: string; name: string; settings: string; secrets: string; updated_at: number }>;
    return rows.map((r) => ({ connector: r.connector, name: r.name, settings: JSON.parse(r.settings), secrets: r.secrets, updatedAt: r.updated_at }));
  }

  async putConnection(c: StoredConnection): Promise<void> {
    await this.writes.run(() => {
      this.db.prepare(`INSERT INTO connections (connector, name, settings, secrets, updated_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (connector, name) DO UPDATE SET settings = excluded.settings, secrets = excluded.secrets, updated_at = excluded.updated_at`)
        .run(c.connector, c.name, JSON.stringify(c.settings), c.secrets, c.updatedAt);
    });
  }

  async deleteConnection(connector: string, name: string): Promise<boolean> {
    return this.writes.run(() => this.db.prepare('DELETE FROM connections WHERE connector = ? AND name = ?').run(connector, name).changes > 0);
  }

  claimDedupeKeys(keys: string[], taskId: number, since: number, now: number): Promise<number | null> {
    return this.writes.run(() => {
      const find = this.db.prepare('SELECT task_id FROM dedupe_keys WHERE key = ? AND at >= ? AND task_id <> ?');
      for (const k of keys) {
        const hit = find.get(k, since, taskId) as { task_id: number } | undefined;
        if (hit) return hit.task_id;
      }
      const put = this.db.prepare(`INSERT INTO dedupe_keys (key, task_id, at) VALUES (?, ?, ?)
        ON CONFLICT (key) DO UPDATE SET task_id = excluded.task_id, at = excluded.at`);
      for (const k of keys) put.run(k, taskId, now);
      return null;
    });
  }

  async addHistory(taskId: number, h: HistoryEntry): Promise<void> {
    await this.writes.run(() => this.st.insertHistory.run(taskId, h.at, h.nodeId, h.event, h.detail === undefined ? null : JSON.stringify(h.detail)));
  }

  purgeDedupeKeys(before: number): Promise<number> {
    return this.writes.run(() => this.db.prepare('DELETE FROM dedupe_keys WHERE at < ?').run(before).changes);
  }

  async getConfig(): Promise<Record<string, unknown>> {
    const rows = this.db.prepare('SELECT key, value FROM config').all() as Array<{ key: string; value: string }>;
    return Object.fromEntries(rows.map((r) => [r.key, JSON.parse(r.value)]));
  }

  async setConfig(values: Record<string, unknown>): Promise<void> {
    await this.writes.run(() => {
      const put = this.db.prepare('INSERT INTO config (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
      const del = this.db.prepare('DELETE FROM config WHERE key = ?');
      for (const [k, v] of Object.entries(values)) v === null ? del.run(k) : put.run(k, JSON.stringify(v));
    });
  }

  // ---- tasks ----

  private insertTasks(tasks: NewTask[], at: number, advance?: AdvanceNew): CreateResult[] {
    const out: CreateResult[] = [];
    for (const t of tasks) {
      const runAt = t.runAt ?? at;
      this.due.note(runAt);
      const row = this.st.insertTask.get(
        t.process, t.version, t.ref, JSON.stringify(t.data), t.nodeId, runAt, t.parentId ?? null, at, at,
        Number.isInteger(t.data.contact_id) ? t.data.contact_id : null,
      ) as { id: number } | undefined;
      if (!row) {
        const live = this.st.liveByRef.get(t.process, t.ref) as { id: number };
        out.push({ id: live.id, ref: t.ref, created: false });
        continue;
      }
      const result: CreateResult = { id: row.id, ref: t.ref, created: true };
      const tr = advance?.({
        id: row.id, process: t.process, version: t.version, ref: t.ref, data: t.data, nodeId: t.nodeId, status: 'active',
        runAt, attempt: 0, error: null, parentId: t.parentId ?? null, waitingFor: null, waitSeq: 0, rev: 0, createdAt: at, updatedAt: at,
      });
      // Only plain steps (no spawned or resumed tasks) come here, so this update of the row just
      // inserted cannot meet a conflict; a savepoint per task would cost more than the insert.
      if (tr && !tr.spawn?.length && !tr.also?.length) {
        this.apply(tr, at);
        SqliteProjectStore.advanceRev(tr);
        result.advanced = tr.task;
      }
      out.push(result);
    }
    return out;
  }

  createTasks(tasks: NewTask[], at: number, advance?: AdvanceNew): Promise<CreateResult[]> {
    return this.writes.run(() => this.insertTasks(tasks, at, advance));
  }

  async getTask(id: number): Promise<TaskRecord | undefined> {
    const r = this.st.getTask.get(id) as TaskRow | undefined;
    return r && toTask(r);
  }

  async getHistory(id: number, limit: number): Promise<HistoryEntry[]> {
    const rows = this.st.history.all(id, limit) as Array<{ at: number; node_id: string; event: string; detail: string | null }>;
    return rows.reverse().map((r) => ({
      at: r.at, nodeId: r.node_id, event: r.event as HistoryEntry['event'], detail: r.detail ? JSON.parse(r.detail) : undefined,
    }));
  }

  async listTasks(f: TaskFilter): Promise<TaskRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (f.process) (where.push('process = ?'), args.push(f.process));
    if (f.node) (where.push('node_id = ?'), args.push(f.node));
    if (f.status) (where.push('status = ?'), args.push(f.status));
    const sql = `SELECT ${TASK_COLUMNS} FROM tasks ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, f.limit) as TaskRow[]).map(toTask);
  }

  /** Fair shares per process (due-tasks.ts), oldest first within each. */
  claimDue(now: number, limit: number, leaseMs: number): Promise<TaskRecord[]> {
    const hint = this.due.known(now);
    if (hint !== undefined && (hint === null || hint > now)) return Promise.resolve([]);
    return this.writes.run(() => {
      this.due.forget(); // what stays due after this claim is not known
      return claimFairly(this.processes(), limit, (p, n) => this.st.claim.all(now + leaseMs, p, now, n) as TaskRow[]).map(toTask);
    });
  }

  /** Process names, read once and again after a deploy (the claim asks per process). */
  private processes(): string[] {
    this.processList ??= (this.st.processNames.all() as Array<{ name: string }>).map((r) => r.name);
    return this.processList;
  }

  private apply(tr: Transition, at: number): void {
    const t = tr.task;
    if (tr.spawn?.length) {
      const created = this.insertTasks(tr.spawn, at);
      if (tr.waitForFirstSpawn) t.waitingFor = created[0].id;
    }
    const alive = isAlive(t.status);
    this.due.note(t.runAt);
    const res = this.st.updateTask.run(
      JSON.stringify(t.data), t.nodeId, t.status, t.runAt, t.attempt, t.error, t.parentId, t.waitingFor, t.waitSeq,
      at, alive ? null : at, alive ? 1 : 0, tr.keepLease ? 1 : 0, t.id, t.rev,
    );
    if (res.changes === 0) throw new StaleTaskError(t.id);
    for (const h of tr.history) {
      this.st.insertHistory.run(t.id, h.at, h.nodeId, h.event, h.detail === undefined ? null : JSON.stringify(h.detail));
    }
    for (const other of tr.also ?? []) this.apply(other, at);
  }

  private static advanceRev(tr: Transition): void {
    tr.task.rev += 1;
    for (const other of tr.also ?? []) SqliteProjectStore.advanceRev(other);
  }

  async commit(transitions: Transition[]): Promise<Array<Error | null>> {
    const at = Date.now();
    const results = await Promise.allSettled(
      transitions.map((tr) => this.writes.run(() => this.apply(tr, at))),
    );
    return results.map((r, i) => {
      if (r.status === 'rejected') return r.reason instanceof Error ? r.reason : new Error(String(r.reason));
      SqliteProjectStore.advanceRev(transitions[i]);
      return null;
    });
  }

  async putInbox(taskId: number, rev: number, payload: unknown): Promise<boolean> {
    return this.writes.run(() => this.st.putInbox.run(JSON.stringify(payload), taskId, rev).changes > 0);
  }

  async takeInbox(taskId: number): Promise<unknown | undefined> {
    const row = await this.writes.run(() => {
      const found = this.st.readInbox.get(taskId) as { inbox: string } | undefined;
      if (found) this.st.clearInbox.run(taskId);
      return found;
    });
    return row ? JSON.parse(row.inbox) : undefined;
  }

  async countByNode(process: string): Promise<Record<string, number>> {
    const rows = this.st.countByNode.all(process) as Array<{ node_id: string; n: number }>;
    return Object.fromEntries(rows.map((r) => [r.node_id, r.n]));
  }

  async nodeFlow(process: string): Promise<Record<string, { now: number; passed: number; errors: number }>> {
    const rows = this.db.prepare(`SELECT h.node_id AS node, h.event AS event, COUNT(*) AS n FROM history h JOIN tasks t ON t.id = h.task_id
      WHERE t.process = ? AND h.event IN ('entered', 'failed') GROUP BY h.node_id, h.event`).all(process) as Array<{ node: string; event: string; n: number }>;
    const out: Record<string, { now: number; passed: number; errors: number }> = {};
    const live = this.db.prepare('SELECT node_id AS node, COUNT(*) AS n FROM tasks WHERE process = ? AND alive = 1 GROUP BY node_id').all(process) as Array<{ node: string; n: number }>;
    for (const r of live) out[r.node] = { now: r.n, passed: 0, errors: 0 };
    for (const r of rows) {
      out[r.node] ??= { now: 0, passed: 0, errors: 0 };
      if (r.event === 'entered') out[r.node].passed = r.n;
      else out[r.node].errors = r.n;
    }
    return out;
  }

  async stuckTasks(process: string, before: number, limit: number, now?: number): Promise<TaskRecord[]> {
    // With `now`, a task with a timer ahead (a delay, a wait's timeout, a retry) is on schedule, not stuck.
    const onSchedule = now === undefined ? '' : 'AND (run_at IS NULL OR run_at <= ? OR leased = 1)';
    return (this.db.prepare(`SELECT ${TASK_COLUMNS} FROM tasks WHERE process = ? AND alive = 1 AND updated_at < ? ${onSchedule}
      ORDER BY updated_at LIMIT ?`).all(...[process, before, ...(now === undefined ? [] : [now]), limit]) as TaskRow[]).map(toTask);
  }

  async countActiveByNode(until: number): Promise<Array<{ process: string; nodeId: string; count: number }>> {
    // Walks the due index up to `until` only: a million tasks asleep for days cost nothing here.
    return this.processes().flatMap((process) =>
      (this.st.activeByNode.all(process, until) as Array<{ node_id: string; n: number }>).map((r) => ({ process, nodeId: r.node_id, count: r.n })));
  }

  async countByStatus(process: string): Promise<Record<string, number>> {
    const rows = this.st.countByStatus.all(process) as Array<{ status: string; n: number }>;
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }

  async nextDueAt(): Promise<number | null> {
    const now = Date.now();
    const hint = this.due.known(now);
    if (hint !== undefined) return hint;
    let next: number | null = null;
    for (const p of this.processes()) {
      const t = (this.st.nextDue.get(p) as { t: number | null }).t;
      if (t !== null && (next === null || t < next)) next = t;
    }
    this.due.set(next, now);
    return next;
  }

  purgeEnded(process: string, before: number): Promise<number> {
    return this.writes.run(() => {
      this.st.purgeHistory.run(process, before);
      return this.st.purgeTasks.run(process, before).changes;
    });
  }

  async close(): Promise<void> {
    await this.writes.run(() => undefined);
    this.db.close();
  }
}
