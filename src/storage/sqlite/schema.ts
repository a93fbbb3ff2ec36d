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
  // Chatbot funnels: inbound events (kept before they are acknowledged), contacts across the project's
  // bots, permanent tags, the admin inbox, and the tasks of a contact found by data.contact_id.
  `
  CREATE TABLE inbound (
    id INTEGER PRIMARY KEY, event_id TEXT NOT NULL, connection TEXT NOT NULL, event TEXT NOT NULL,
    raw TEXT, received_at INTEGER NOT NULL, processed_at INTEGER, outcome TEXT,
    UNIQUE (connection, event_id) -- update ids count per bot
  );
  CREATE INDEX inbound_pending ON inbound (id) WHERE processed_at IS NULL;
  CREATE TABLE contacts (
    id INTEGER PRIMARY KEY, platform TEXT NOT NULL, user_id TEXT NOT NULL, name TEXT, username TEXT,
    status TEXT NOT NULL, vars TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
    UNIQUE (platform, user_id)
  );
  CREATE TABLE contact_bots (
    contact_id INTEGER NOT NULL, connection TEXT NOT NULL, chat_id TEXT NOT NULL, status TEXT NOT NULL,
    first_seen INTEGER NOT NULL, PRIMARY KEY (contact_id, connection)
  );
  CREATE TABLE contact_tags (contact_id INTEGER NOT NULL, tag TEXT NOT NULL, added_at INTEGER NOT NULL, PRIMARY KEY (contact_id, tag));
  CREATE INDEX contact_tags_by_tag ON contact_tags (tag);
  CREATE TABLE admin_inbox (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, kind TEXT NOT NULL, contact_id INTEGER, text TEXT NOT NULL);
  CREATE INDEX tasks_by_contact ON tasks (json_extract(data, '$.contact_id')) WHERE json_extract(data, '$.contact_id') IS NOT NULL;
  `,
  // The index above evaluated JSON on every write of every task (10–15 % of write throughput); a column
  // set once at insert costs nothing for tasks that are not about a contact.
  `
  DROP INDEX tasks_by_contact;
  ALTER TABLE tasks ADD COLUMN contact_id INTEGER;
  UPDATE tasks SET contact_id = json_extract(data, '$.contact_id') WHERE json_extract(data, '$.contact_id') IS NOT NULL;
  CREATE INDEX tasks_by_contact ON tasks (contact_id) WHERE contact_id IS NOT NULL;
  `,
  // Due tasks are claimed per process in fair shares (a 100k import must not hold up the site's
  // leads in another process), so the due index leads with the process.
  `
  DROP INDEX tasks_due;
  CREATE INDEX tasks_due ON tasks (process, run_at) WHERE run_at IS NOT NULL;
  `,
  // Messages our bots sent, for recognising the platform's echo of them (VK message_reply comes for
  // every outgoing message, ours too): by random_id, noted before the send, and by message id after.
  `
  CREATE TABLE sent_messages (
    platform TEXT NOT NULL, connection TEXT NOT NULL, chat_id TEXT NOT NULL, random_id INTEGER NOT NULL,
    message_id INTEGER, at INTEGER NOT NULL, PRIMARY KEY (platform, connection, chat_id, random_id)
  ) WITHOUT ROWID;
  CREATE INDEX sent_messages_by_id ON sent_messages (platform, connection, chat_id, message_id) WHERE message_id IS NOT NULL;
  CREATE INDEX sent_messages_at ON sent_messages (at);
  `,
  // Timer triggers: the last tick each fired (so a restart neither skips nor doubles one), and the tick
  // under way with the last contact it reached (a restart mid-tick goes on from there).
  `
  CREATE TABLE timer_ticks (
    process TEXT NOT NULL, trigger_index INTEGER NOT NULL, spec TEXT NOT NULL, last_tick INTEGER NOT NULL,
    pending_tick INTEGER, cursor INTEGER NOT NULL DEFAULT 0, updated_at INTEGER NOT NULL,
    PRIMARY KEY (process, trigger_index)
  ) WITHOUT ROWID;
  `,
  // Weekly report: when contacts stopped (or started again) being reachable, one row per change of a
  // contact's overall status (a column would forget a block that was later lifted); and new contacts
  // counted by creation time without a scan.
  `
  CREATE TABLE contact_status_changes (contact_id INTEGER NOT NULL, status TEXT NOT NULL, at INTEGER NOT NULL);
  CREATE INDEX contact_status_changes_at ON contact_status_changes (status, at);
  CREATE INDEX contacts_created ON contacts (created_at);
  `,
  // A note that must come once (a person stuck on a step) carries a key.
  `
  ALTER TABLE admin_inbox ADD COLUMN ref TEXT;
  CREATE UNIQUE INDEX admin_inbox_ref ON admin_inbox (ref) WHERE ref IS NOT NULL;
  `,
  // Notes go to the admins' Telegram chat once (funnels/admin-relay.ts); the notes before this are done.
  `
  ALTER TABLE admin_inbox ADD COLUMN relayed INTEGER NOT NULL DEFAULT 1;
  CREATE INDEX admin_inbox_to_relay ON admin_inbox (id) WHERE relayed = 0;
  `,
  // A callback URL is per wait (engine/task.ts waitSeq).
  `
  ALTER TABLE tasks ADD COLUMN wait_seq INTEGER NOT NULL DEFAULT 0;
  `,
  // Processed inbound events are purged after the project's retention (engine/project-engine.ts purge).
  `
  CREATE INDEX inbound_received ON inbound (received_at);
  `,
  // Files bots uploaded from a URL (VK attachments of a community, connectors/vk/vk-upload.ts): one upload per file.
  `
  CREATE TABLE uploaded_files (
    platform TEXT NOT NULL, connection TEXT NOT NULL, url TEXT NOT NULL, kind TEXT NOT NULL, attachment TEXT NOT NULL,
    uploaded_at INTEGER NOT NULL, PRIMARY KEY (platform, connection, url, kind)
  ) WITHOUT ROWID;
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
