import type Database from 'better-sqlite3';

/** Migrations in order; `user_version` records how many ran. Append, never edit. */
const MIGRATIONS: string[] = [
  `
  CREATE TABLE process_versions (
    name TEXT NOT NULL, version INTEGER NOT NULL, definition TEXT NOT NULL, deployed_at INTEGER NOT NULL,
    PRIMARY KEY (name, version)
  ) WITHOUT ROWID;
  CREATE TABLE processes (
    name TEXT PRIMARY KEY, latest INTEGER NOT NULL, title TEXT,
    public_id TEXT NOT NULL UNIQUE, public_secret TEXT NOT NULL
  );
  CREATE TABLE config (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE tasks (
    id INTEGER PRIMARY KEY,
    process TEXT NOT NULL, version INTEGER NOT NULL, ref TEXT, data TEXT NOT NULL,
    node_id TEXT NOT NULL, status TEXT NOT NULL, run_at INTEGER, attempt INTEGER NOT NULL DEFAULT 0,
    error TEXT, parent_id INTEGER, waiting_for INTEGER, rev INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, ended_at INTEGER,
    alive INTEGER NOT NULL DEFAULT 1, leased INTEGER NOT NULL DEFAULT 0, inbox TEXT
  );
  CREATE UNIQUE INDEX tasks_live_ref ON tasks (process, ref) WHERE alive = 1 AND ref IS NOT NULL;
  CREATE INDEX tasks_due ON tasks (run_at) WHERE run_at IS NOT NULL;
  CREATE INDEX tasks_by_node ON tasks (process, node_id, status);
  CREATE INDEX tasks_ended ON tasks (process, ended_at) WHERE ended_at IS NOT NULL;
  CREATE INDEX tasks_leased ON tasks (leased) WHERE leased = 1;
  CREATE TABLE history (
    task_id INTEGER NOT NULL, at INTEGER NOT NULL, node_id TEXT NOT NULL, event TEXT NOT NULL, detail TEXT
  );
  CREATE INDEX history_by_task ON history (task_id);
  `,
  // Fewer index writes per step: the lease mark is read once at start-up (a scan is fine there),
  // and stats group by node only, so a status change at the same node touches no index.
  `
  DROP INDEX tasks_leased;
  DROP INDEX tasks_by_node;
  CREATE INDEX tasks_by_node ON tasks (process, node_id);
  `,
  // Connections to services: credentials sit encrypted in `secrets`, the rest readable in `settings`.
  `
  CREATE TABLE connections (
    connector TEXT NOT NULL, name TEXT NOT NULL, settings TEXT NOT NULL, secrets TEXT NOT NULL,
    updated_at INTEGER NOT NULL, PRIMARY KEY (connector, name)
  );
  `,
  // Deduplication: the first task that claimed a key (a normalized phone or email) and when.
  `
  CREATE TABLE dedupe_keys (key TEXT PRIMARY KEY, task_id INTEGER NOT NULL, at INTEGER NOT NULL);
  CREATE INDEX dedupe_keys_at ON dedupe_keys (at);
  `,
];

export function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (let i = current; i < MIGRATIONS.length; i++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[i]);
      db.pragma(`user_version = ${i + 1}`);
    })();
  }
}
