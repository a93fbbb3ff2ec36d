import type Database from 'better-sqlite3';

/**
 * Statements remembered by their SQL text: compiling the same few statements again on every inbound
 * event cost more CPU than running them. Statements here are run to completion (run/get/all), never
 * left iterating, so sharing one is safe.
 */
export class StatementCache {
  private readonly cache = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {}

  prepare(sql: string): Database.Statement {
    let st = this.cache.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      // Built-up SQL (a list's filters) varies a little; a runaway cache would be a bug elsewhere.
      if (this.cache.size < 500) this.cache.set(sql, st);
    }
    return st;
  }
}
