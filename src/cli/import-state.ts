import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

/** Where an import stands, kept beside the CSV so an interrupted import resumes instead of repeating. */
export interface ImportState {
  /** sha256 of the file: a changed file starts over. */
  file: string;
  project: string;
  process: string;
  /** Data rows acknowledged by the server (durable there). */
  done: number;
  total: number;
}

export const stateFile = (csv: string) => `${csv}.conveyor-import.json`;

export function readState(csv: string): ImportState | null {
  const f = stateFile(csv);
  if (!existsSync(f)) return null;
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as ImportState;
  } catch {
    return null;
  }
}

/** Written to a temporary file and renamed, so a kill leaves the old state or the new, never half. */
export function writeState(csv: string, s: ImportState): void {
  const f = stateFile(csv);
  writeFileSync(`${f}.tmp`, JSON.stringify(s));
  renameSync(`${f}.tmp`, f);
}

/** The file's sha256 and its number of lines (an upper bound of rows, for the ETA). */
export async function fingerprint(csv: string): Promise<{ hash: string; lines: number }> {
  const hash = createHash('sha256');
  let lines = 0;
  for await (const chunk of createReadStream(csv) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
  }
  return { hash: hash.digest('hex'), lines };
}
