import { createReadStream, existsSync, unlinkSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { parse } from 'csv-parse';
import type { Ctx } from '../api-client.ts';
import { fingerprint, readState, stateFile, writeState, type ImportState } from '../import-state.ts';
import { UsageError } from '../output.ts';
import { Progress } from '../progress.ts';

interface ImportOptions { process: string; batch: string; refColumn?: string; delimiter?: string; wait?: boolean; restart?: boolean }

/**
 * `conveyor import FILE.csv --process P`: every row becomes a task (columns → data), sent in batches
 * of one transaction each. After every acknowledged batch the position is saved beside the file, so an
 * interrupted import resumes where the server last confirmed; each row's ref is the file's hash and its
 * row number, so a batch sent twice around an interrupt creates nothing twice.
 */
export function importCommand(program: Command, ctx: Ctx): void {
  program
    .command('import')
    .description('create a task per CSV row (header row = field names); resumable, with progress, rate and ETA')
    .argument('<file>', 'CSV file with a header row')
    .requiredOption('--process <name>', 'process that gets the tasks')
    .option('--batch <n>', 'rows per request', '1000')
    .option('--ref-column <name>', 'column holding each row\'s ref (default: file hash + row number)')
    .option('--delimiter <c>', 'field delimiter (default: , or ; detected from the header)')
    .option('--wait', 'after sending, follow the tasks until none is left active in the process')
    .option('--restart', 'ignore a saved position and start from the first row')
    .action(async (file: string, o: ImportOptions) => {
      if (!existsSync(file)) throw new UsageError(`file: ${file} does not exist`);
      const batch = Number(o.batch);
      if (!Number.isInteger(batch) || batch < 1 || batch > 10_000) throw new UsageError('--batch: a whole number from 1 to 10000');
      const api = ctx.api();
      const { hash, lines } = await fingerprint(file);
      const saved = o.restart ? null : readState(file);
      const resume = saved && saved.file === hash && saved.process === o.process && saved.project === api.project ? saved.done : 0;
      const state: ImportState = { file: hash, project: api.project, process: o.process, done: resume, total: Math.max(0, lines - 1) };
      if (resume) process.stderr.write(`resuming ${basename(file)} after row ${resume.toLocaleString('en')}\n`);

      const progress = new Progress('sent', state.total, resume);
      let row = 0;
      let created = 0;
      let existing = 0;
      let pending: Array<{ ref: string; data: Record<string, unknown> }> = [];
      const flush = async () => {
        if (!pending.length) return;
        const r = await api.request<Array<{ created: boolean }>>('POST', `/api/v1/projects/${encodeURIComponent(api.project)}/processes/${encodeURIComponent(o.process)}/tasks`, pending);
        for (const c of r.body) c.created ? created++ : existing++;
        state.done += pending.length;
        pending = [];
        writeState(file, state);
        progress.update(state.done);
      };
      const parser = createReadStream(file).pipe(parse({
        columns: true, bom: true, skip_empty_lines: true, trim: true, relax_column_count: true,
        delimiter: o.delimiter ?? await detectDelimiter(file),
      }));
      for await (const rec of parser as AsyncIterable<Record<string, string>>) {
        row++;
        if (row <= resume) continue;
        const ref = o.refColumn ? rec[o.refColumn] : `${hash.slice(0, 12)}:${row}`;
        if (o.refColumn && !ref) throw new UsageError(`row ${row}: column "${o.refColumn}" is empty or missing`);
        pending.push({ ref, data: rec });
        if (pending.length >= batch) await flush();
      }
      await flush();
      state.total = row;
      progress.finish(state.done);
      unlinkSync(stateFile(file)); // complete: a new run of the same file starts over (and finds live refs)
      const summary = { rows: row, created, existing, resumedAfter: resume };
      if (ctx.json()) console.log(JSON.stringify(summary));
      else console.log(`${row.toLocaleString('en')} rows: ${created.toLocaleString('en')} tasks created, ${existing.toLocaleString('en')} already there${resume ? `, resumed after row ${resume}` : ''}`);
      if (o.wait) await follow(ctx, o.process);
    });
}

/** Shows tasks leaving the active states (delivered, ended or parked) until none is left active. */
async function follow(ctx: Ctx, proc: string): Promise<void> {
  const api = ctx.api();
  const activeNow = async () => {
    const r = await api.stats(proc);
    const s = (r.body as unknown as { statuses?: Record<string, number> }).statuses ?? {};
    return { active: s.active ?? 0, total: Object.values(s).reduce((a, b) => a + b, 0) };
  };
  let { active, total } = await activeNow();
  const progress = new Progress('delivered', total, total - active);
  while (active > 0) {
    await new Promise((r) => setTimeout(r, 1000));
    ({ active, total } = await activeNow());
    progress.update(total - active, total);
  }
  progress.finish(total - active);
}

async function detectDelimiter(file: string): Promise<string> {
  for await (const chunk of createReadStream(file, { end: 4096 }) as AsyncIterable<Buffer>) {
    const header = chunk.toString('utf8').split('\n')[0];
    return (header.match(/;/g)?.length ?? 0) > (header.match(/,/g)?.length ?? 0) ? ';' : ',';
  }
  return ',';
}
