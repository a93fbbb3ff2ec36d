import type Database from 'better-sqlite3';
import type { UploadedFileKey, UploadedFileStore } from '../uploaded-file-store.ts';
import { StatementCache } from './statement-cache.ts';
import type { WriteQueue } from './write-queue.ts';

/** Uploaded files (platform attachments by source URL) in the project's SQLite file. */
export class SqliteUploadedFiles implements UploadedFileStore {
  private readonly db: StatementCache;

  constructor(db: Database.Database, private readonly writes: WriteQueue) {
    this.db = new StatementCache(db);
  }

  async get(k: UploadedFileKey): Promise<string | undefined> {
    const row = this.db.prepare('SELECT attachment FROM uploaded_files WHERE platform = ? AND connection = ? AND url = ? AND kind = ?')
      .get(k.platform, k.connection, k.url, k.kind) as { attachment: string } | undefined;
    return row?.attachment;
  }

  async put(k: UploadedFileKey, attachment: string): Promise<void> {
    await this.writes.run(() => this.db.prepare(`INSERT INTO uploaded_files (platform, connection, url, kind, attachment, uploaded_at) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT DO UPDATE SET attachment = excluded.attachment, uploaded_at = excluded.uploaded_at`)
      .run(k.platform, k.connection, k.url, k.kind, attachment, Date.now()));
  }

  async forget(k: UploadedFileKey): Promise<void> {
    await this.writes.run(() => this.db.prepare('DELETE FROM uploaded_files WHERE platform = ? AND connection = ? AND url = ? AND kind = ?')
      .run(k.platform, k.connection, k.url, k.kind));
  }
}
