import { appendFile, readFile, stat } from 'node:fs/promises';
import { stringify } from 'csv-stringify/sync';

const COLUMNS = ['at', 'task_id', 'ref', 'process', 'node', 'error', 'data'] as const;
export type DeadLetter = Record<(typeof COLUMNS)[number], string | number | null>;

/**
 * A project's dead-letter CSV: leads that finally failed to reach a service, one row each, appended
 * (never rewritten) so a spreadsheet or a script can pick them up even when Conveyor is down.
 */
export class DeadLetters {
  private chain: Promise<void> = Promise.resolve();

  constructor(readonly file: string) {}

  /** Appends one row (the header first, for a new file); appends run one after another. */
  append(row: DeadLetter): Promise<void> {
    const run = async () => {
      const fresh = await stat(this.file).then((s) => s.size === 0, () => true);
      const cells = COLUMNS.map((c) => row[c] ?? '');
      await appendFile(this.file, stringify(fresh ? [COLUMNS as unknown as string[], cells] : [cells]), { mode: 0o600 });
    };
    const p = this.chain.then(run);
    this.chain = p.catch(() => {});
    return p;
  }

  /** The whole file, or just the header when nothing failed yet. */
  async read(): Promise<string> {
    return readFile(this.file, 'utf8').catch(() => stringify([COLUMNS as unknown as string[]]));
  }
}
