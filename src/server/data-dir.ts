import { closeSync, existsSync, mkdirSync, openSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * The server's data directory: project databases, the API key, the callback-signing secret, and a
 * lock so that two servers never run the same SQLite files (claims rely on a single engine).
 */
export class DataDir {
  private lockFile: string | null = null;

  constructor(readonly path: string) {
    mkdirSync(path, { recursive: true });
  }

  lock(): void {
    const file = join(this.path, 'server.lock');
    if (existsSync(file)) {
      const pid = Number(readFileSync(file, 'utf8'));
      if (pid && pid !== process.pid && alive(pid)) {
        throw new Error(`another Conveyor server (pid ${pid}) is using ${this.path}`);
      }
      unlinkSync(file); // left by a server that died
    }
    const fd = openSync(file, 'wx');
    writeFileSync(fd, String(process.pid));
    closeSync(fd);
    this.lockFile = file;
  }

  unlock(): void {
    if (this.lockFile && existsSync(this.lockFile)) unlinkSync(this.lockFile);
    this.lockFile = null;
  }

  /** The management API key: from the environment, else the stored one, else a new one (printed once). */
  apiKey(fromEnv: string | undefined): { key: string; generated: boolean } {
    if (fromEnv) return { key: fromEnv, generated: false };
    const file = join(this.path, 'api-key');
    if (existsSync(file)) return { key: readFileSync(file, 'utf8').trim(), generated: false };
    const key = `cv_${randomBytes(24).toString('base64url')}`;
    writeFileSync(file, key + '\n', { mode: 0o600 });
    return { key, generated: true };
  }

  /**
   * The key that encrypts connection credentials: CONVEYOR_MASTER_KEY, else one generated into the data
   * directory (0600) — which protects a copied database file but not a copied data directory.
   */
  masterKey(fromEnv: string | undefined): { key: string; generated: boolean } {
    if (fromEnv) return { key: fromEnv, generated: false };
    const file = join(this.path, 'master-key');
    if (existsSync(file)) return { key: readFileSync(file, 'utf8').trim(), generated: false };
    const key = randomBytes(32).toString('base64url');
    writeFileSync(file, key + '\n', { mode: 0o600 });
    return { key, generated: true };
  }

  /** Signs callback URLs; kept so URLs handed out before a restart still work. */
  callbackSecret(): Buffer {
    const file = join(this.path, 'callback-secret');
    if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
    return Buffer.from(readFileSync(file, 'utf8').trim(), 'hex');
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
