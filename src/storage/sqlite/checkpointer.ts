import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

// Runs in a worker thread with its own connection: copies the WAL back into the database file
// (and fsyncs it) without stalling the engine's thread, which only appends to the WAL.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 1000');
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch (e) { /* busy: next time */ }
}, workerData.everyMs);
parentPort.on('message', (m) => {
  if (m === 'stop') {
    clearInterval(timer);
    try { db.pragma('wal_checkpoint(TRUNCATE)'); } catch (e) {}
    db.close();
    parentPort.postMessage('stopped');
  }
});
`;

export class Checkpointer {
  private readonly worker: Worker;

  constructor(file: string, everyMs = 1000) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER, { eval: true, workerData: { file, everyMs, driver } });
    this.worker.unref();
  }

  async stop(): Promise<void> {
    const done = new Promise<void>((resolve) => {
      this.worker.once('message', () => resolve());
      this.worker.once('exit', () => resolve());
    });
    this.worker.postMessage('stop');
    await done;
    await this.worker.terminate();
  }
}
