import type Database from 'better-sqlite3';
import type { InboundEvent } from '../../funnels/inbound-event.ts';
import type { AdminNote, Contact, ContactStatus, ContactStore, DailyFigures, SentMessage, WeeklyFigures } from '../contact-store.ts';
import { SqliteUploadedFiles } from './sqlite-uploaded-files.ts';
import { StatementCache } from './statement-cache.ts';
import type { WriteQueue } from './write-queue.ts';


interface ContactRow { id: number; platform: 'telegram' | 'vk'; user_id: string; name: string | null; username: string | null; status: ContactStatus; vars: string; created_at: number }

/** Contacts, tags, inbound events and the admin inbox in the project's SQLite file. */
export class SqliteContactStore implements ContactStore {
  private readonly db: StatementCache;
  readonly uploads: SqliteUploadedFiles;

  constructor(db: Database.Database, private readonly writes: WriteQueue) {
    this.db = new StatementCache(db);
    this.uploads = new SqliteUploadedFiles(db, writes);
  }

  putInbound(e: InboundEvent, connection: string, raw: unknown): Promise<boolean> {
    return this.writes.run(() => {
      const now = Date.now();
      // Decided in the same write as the insert: a send noted later cannot race the check.
      const outcome = e.settled ?? (e.sent && this.isOwn(e, connection) ? 'own message' : null);
      return this.db.prepare(`INSERT INTO inbound (event_id, connection, event, raw, received_at, processed_at, outcome)
        VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (connection, event_id) DO NOTHING`)
        .run(e.eventId, connection, JSON.stringify(e), JSON.stringify(raw ?? null), now, outcome === null ? null : now, outcome).changes > 0;
    });
  }

  /** Whether the echoed message is one this bot sent to this chat (by random_id, or by message id). */
  private isOwn(e: InboundEvent, connection: string): boolean {
    const { randomId, messageId } = e.sent ?? {};
    const hit = this.db.prepare(`SELECT 1 FROM sent_messages WHERE platform = ? AND connection = ? AND chat_id = ?
      AND (random_id = ? OR message_id = ?) LIMIT 1`).get(e.platform, connection, e.chatId, randomId ?? null, messageId ?? null);
    return hit !== undefined;
  }

  async rememberSent(m: SentMessage): Promise<void> {
    await this.writes.run(() => {
      const now = Date.now();
      this.db.prepare(`INSERT INTO sent_messages (platform, connection, chat_id, random_id, message_id, at) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT DO UPDATE SET message_id = coalesce(excluded.message_id, message_id), at = excluded.at`)
        .run(m.platform, m.connection, m.chatId, m.randomId, m.messageId ?? null, now);
    });
  }

  purgeSent(before: number): Promise<number> {
    return this.writes.run(() => this.db.prepare('DELETE FROM sent_messages WHERE at < ?').run(before).changes);
  }

  async pendingInbound(limit: number, afterId = 0) {
    const rows = this.db.prepare('SELECT id, connection, event FROM inbound WHERE processed_at IS NULL AND id > ? ORDER BY id LIMIT ?').all(afterId, limit) as
      Array<{ id: number; connection: string; event: string }>;
    return rows.map((r) => ({ id: r.id, connection: r.connection, event: JSON.parse(r.event) as InboundEvent }));
  }

  async markInbound(id: number, outcome: string): Promise<void> {
    await this.writes.run(() => this.db.prepare('UPDATE inbound SET processed_at = ?, outcome = ? WHERE id = ?').run(Date.now(), outcome, id));
  }

  async touchContact(e: InboundEvent, connection: string): Promise<Contact> {
    const id = await this.writes.run(() => {
      const now = Date.now();
      const row = this.db.prepare(`INSERT INTO contacts (platform, user_id, name, username, status, vars, created_at, updated_at)
        VALUES (?, ?, ?, ?, 'active', '{}', ?, ?)
        ON CONFLICT (platform, user_id) DO UPDATE SET name = coalesce(excluded.name, name), username = coalesce(excluded.username, username), updated_at = excluded.updated_at
        RETURNING id`).get(e.platform, e.userId, e.name ?? null, e.username ?? null, now, now) as { id: number };
      this.db.prepare(`INSERT INTO contact_bots (contact_id, connection, chat_id, status, first_seen) VALUES (?, ?, ?, 'active', ?)
        ON CONFLICT (contact_id, connection) DO UPDATE SET chat_id = excluded.chat_id`).run(row.id, connection, e.chatId, now);
      return row.id;
    });
    return (await this.getContact(id))!;
  }

  async findContact(platform: Contact['platform'], userId: string): Promise<Contact | undefined> {
    const r = this.db.prepare('SELECT * FROM contacts WHERE platform = ? AND user_id = ?').get(platform, userId) as ContactRow | undefined;
    return r && this.hydrate(r);
  }

  async getContact(id: number): Promise<Contact | undefined> {
    const r = this.db.prepare('SELECT * FROM contacts WHERE id = ?').get(id) as ContactRow | undefined;
    return r && this.hydrate(r);
  }

  async listContacts(f: { tag?: string; status?: ContactStatus; limit: number; afterId?: number }): Promise<Contact[]> {
    const where = ['c.id > ?'];
    const args: unknown[] = [f.afterId ?? 0];
    if (f.tag) (where.push('EXISTS (SELECT 1 FROM contact_tags t WHERE t.contact_id = c.id AND t.tag = ?)'), args.push(f.tag));
    if (f.status) (where.push('c.status = ?'), args.push(f.status));
    const rows = this.db.prepare(`SELECT c.* FROM contacts c WHERE ${where.join(' AND ')} ORDER BY c.id LIMIT ?`).all(...args, f.limit) as ContactRow[];
    return rows.map((r) => this.hydrate(r));
  }

  async setBotStatus(contactId: number, connection: string, status: ContactStatus): Promise<void> {
    await this.writes.run(() => {
      this.db.prepare('UPDATE contact_bots SET status = ? WHERE contact_id = ? AND connection = ?').run(status, contactId, connection);
      // Active if active in any bot; else the latest reason (blocked wins over unsubscribed).
      const statuses = (this.db.prepare('SELECT status FROM contact_bots WHERE contact_id = ?').all(contactId) as Array<{ status: ContactStatus }>).map((r) => r.status);
      const overall: ContactStatus = statuses.includes('active') ? 'active' : statuses.includes('blocked') ? 'blocked' : 'unsubscribed';
      const now = Date.now();
      const was = this.db.prepare('SELECT status FROM contacts WHERE id = ?').get(contactId) as { status: ContactStatus } | undefined;
      this.db.prepare('UPDATE contacts SET status = ?, updated_at = ? WHERE id = ?').run(overall, now, contactId);
      // Kept for the weekly report (who unsubscribed or blocked that week).
      if (was && was.status !== overall) this.db.prepare('INSERT INTO contact_status_changes (contact_id, status, at) VALUES (?, ?, ?)').run(contactId, overall, now);
    });
  }

  async addTags(contactId: number, tags: string[], at: number): Promise<string[]> {
    await this.writes.run(() => {
      const put = this.db.prepare('INSERT INTO contact_tags (contact_id, tag, added_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING');
      for (const t of tags) put.run(contactId, t, at);
    });
    return this.tagsOf(contactId);
  }

  async removeTags(contactId: number, tags: string[]): Promise<string[]> {
    await this.writes.run(() => {
      const del = this.db.prepare('DELETE FROM contact_tags WHERE contact_id = ? AND tag = ?');
      for (const t of tags) del.run(contactId, t);
    });
    return this.tagsOf(contactId);
  }

  async setVars(contactId: number, vars: Record<string, unknown>): Promise<void> {
    await this.writes.run(() => {
      const row = this.db.prepare('SELECT vars FROM contacts WHERE id = ?').get(contactId) as { vars: string } | undefined;
      if (!row) return;
      const merged = { ...JSON.parse(row.vars), ...vars };
      for (const [k, v] of Object.entries(vars)) if (v === null) delete merged[k];
      this.db.prepare('UPDATE contacts SET vars = ?, updated_at = ? WHERE id = ?').run(JSON.stringify(merged), Date.now(), contactId);
    });
  }

  async liveTasksOf(contactId: number, processes?: string[]) {
    const rows = this.db.prepare(`SELECT id, process, node_id, status, json_extract(data, '$.bot') AS bot FROM tasks
      WHERE contact_id = ? AND alive = 1`).all(contactId) as Array<{ id: number; process: string; node_id: string; status: string; bot: string | null }>;
    return rows.filter((r) => !processes || processes.includes(r.process)).map((r) => ({ id: r.id, process: r.process, nodeId: r.node_id, status: r.status, bot: r.bot }));
  }

  async weeklyFigures(weeks: Array<{ from: number; to: number }>): Promise<WeeklyFigures[]> {
    const one = (sql: string, ...args: unknown[]) => (this.db.prepare(sql).get(...args) as { n: number }).n;
    const changedTo = (status: ContactStatus, w: { from: number; to: number }) =>
      one('SELECT COUNT(DISTINCT contact_id) AS n FROM contact_status_changes WHERE status = ? AND at >= ? AND at < ?', status, w.from, w.to);
    return weeks.map((w) => ({
      new: one('SELECT COUNT(*) AS n FROM contacts WHERE created_at >= ? AND created_at < ?', w.from, w.to),
      unsubscribed: changedTo('unsubscribed', w),
      blocked: changedTo('blocked', w),
    }));
  }

  async dailyFigures(from: number, to: number, milestones: string[], boughtTag: string): Promise<DailyFigures> {
    const one = (sql: string, ...args: unknown[]) => (this.db.prepare(sql).get(...args) as { n: number }).n;
    const tagged = (tag: string) => one('SELECT COUNT(*) AS n FROM contact_tags WHERE tag = ? AND added_at >= ? AND added_at < ?', tag, from, to);
    return {
      entered: one('SELECT COUNT(*) AS n FROM contacts WHERE created_at >= ? AND created_at < ?', from, to),
      active: one("SELECT COUNT(*) AS n FROM contacts WHERE status = 'active'"),
      inactive: one("SELECT COUNT(*) AS n FROM contacts WHERE status <> 'active'"),
      milestones: Object.fromEntries(milestones.map((m) => [m, tagged(m)])),
      boughtAmongNew: one(`SELECT COUNT(*) AS n FROM contacts c JOIN contact_tags t ON t.contact_id = c.id AND t.tag = ?
        WHERE c.created_at >= ? AND c.created_at < ?`, boughtTag, from, to),
      boughtTotal: one('SELECT COUNT(*) AS n FROM contact_tags WHERE tag = ?', boughtTag),
    };
  }

  async messagesSent(from: number, to: number): Promise<Record<string, number>> {
    // A chat.send step that succeeded is an 'entered' entry whose `from` node is a chat.send node; the
    // history keeps the exchange, so count entries with a response from the platform.
    const rows = this.db.prepare(`SELECT t.process AS process, COUNT(*) AS n FROM history h JOIN tasks t ON t.id = h.task_id
      WHERE h.at >= ? AND h.at < ? AND h.event = 'entered' AND json_extract(h.detail, '$.sent') = 1 GROUP BY t.process`).all(from, to) as Array<{ process: string; n: number }>;
    return Object.fromEntries(rows.map((r) => [r.process, r.n]));
  }

  addAdminNote(n: Omit<AdminNote, 'id'> & { ref?: string; relayed?: boolean }): Promise<number> {
    return this.writes.run(() => {
      const r = this.db.prepare('INSERT OR IGNORE INTO admin_inbox (at, kind, contact_id, text, ref, relayed) VALUES (?, ?, ?, ?, ?, ?)')
        .run(n.at, n.kind, n.contactId, n.text, n.ref ?? null, n.relayed ? 1 : 0);
      return r.changes ? Number(r.lastInsertRowid) : 0;
    });
  }

  async notesToRelay(limit: number): Promise<AdminNote[]> {
    const rows = this.db.prepare('SELECT id, at, kind, contact_id, text FROM admin_inbox WHERE relayed = 0 ORDER BY id LIMIT ?').all(limit) as
      Array<{ id: number; at: number; kind: AdminNote['kind']; contact_id: number | null; text: string }>;
    return rows.map((r) => ({ id: r.id, at: r.at, kind: r.kind, contactId: r.contact_id, text: r.text }));
  }

  purgeInbound(before: number, limit: number): Promise<number> {
    return this.writes.run(() => this.db.prepare(`DELETE FROM inbound WHERE id IN (SELECT id FROM inbound
      WHERE received_at < ? AND processed_at IS NOT NULL AND event_id NOT LIKE 'payment:%' ORDER BY received_at LIMIT ?)`).run(before, limit).changes);
  }

  markRelayed(ids: number[]): Promise<void> {
    return this.writes.run(() => {
      const st = this.db.prepare('UPDATE admin_inbox SET relayed = 1 WHERE id = ?');
      for (const id of ids) st.run(id);
    });
  }

  async listAdminNotes(limit: number): Promise<AdminNote[]> {
    const rows = this.db.prepare('SELECT id, at, kind, contact_id, text FROM admin_inbox ORDER BY id DESC LIMIT ?').all(limit) as
      Array<{ id: number; at: number; kind: AdminNote['kind']; contact_id: number | null; text: string }>;
    return rows.map((r) => ({ id: r.id, at: r.at, kind: r.kind, contactId: r.contact_id, text: r.text }));
  }

  private tagsOf(contactId: number): string[] {
    return (this.db.prepare('SELECT tag FROM contact_tags WHERE contact_id = ? ORDER BY added_at, tag').all(contactId) as Array<{ tag: string }>).map((r) => r.tag);
  }

  private hydrate(r: ContactRow): Contact {
    const bots = this.db.prepare('SELECT connection, chat_id, status, first_seen FROM contact_bots WHERE contact_id = ? ORDER BY first_seen').all(r.id) as
      Array<{ connection: string; chat_id: string; status: ContactStatus; first_seen: number }>;
    const tagged = this.db.prepare('SELECT tag, added_at FROM contact_tags WHERE contact_id = ? ORDER BY added_at, tag').all(r.id) as Array<{ tag: string; added_at: number }>;
    return {
      id: r.id, platform: r.platform, userId: r.user_id, name: r.name, username: r.username, status: r.status,
      tags: tagged.map((t) => t.tag), taggedAt: Object.fromEntries(tagged.map((t) => [t.tag, t.added_at])), vars: JSON.parse(r.vars), createdAt: r.created_at,
      bots: bots.map((b) => ({ connection: b.connection, chatId: b.chat_id, status: b.status, firstSeen: b.first_seen })),
    };
  }
}
