import { readFileSync, writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import { Option, type Command } from 'commander';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { ApiError, type Ctx } from '../api-client.ts';
import { CliError, emit, localTime, report, table, wholeNumber } from '../output.ts';
import { processCopyCommand } from './process-copy.ts';

interface ProcessFile { file: string; name: string; text: string; type: 'application/yaml' | 'application/json' }

/** Reads and parses a process file locally: its `name` picks the URL, and bad files fail before anything is sent. */
function readProcessFile(file: string): ProcessFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new CliError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const json = extname(file).toLowerCase() === '.json';
  let def: unknown;
  try {
    def = json ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new CliError(`${file}: not valid ${json ? 'JSON' : 'YAML'}: ${(e as Error).message.split('\n')[0]}`);
  }
  const name = (def as { name?: unknown } | null)?.name;
  if (typeof name !== 'string' || name === '') throw new CliError(`${file}: the process has no "name" (it is the process's id in the URL)`);
  return { file, name, text, type: json ? 'application/json' : 'application/yaml' };
}

export function processCommands(program: Command, ctx: Ctx): void {
  const proc = program.command('process').description('deploy and inspect processes');

  proc
    .command('deploy')
    .description('deploy YAML or JSON process files; each becomes the next version of its process')
    .argument('<files...>', 'process files (.yaml, .yml or .json)')
    .action(async (files: string[]) => {
      const api = ctx.api();
      const docs = files.map(readProcessFile);
      let failed = 0;
      for (const d of docs) {
        try {
          const r = await api.deploy(d.name, d.text, d.type);
          emit(ctx.json(), r, () => `deployed ${r.body.name} v${r.body.version} (public id ${r.body.publicId})`);
        } catch (e) {
          // An invalid file is that file's problem: report it and go on. Anything else would fail every file.
          if (!(e instanceof ApiError) || e.status !== 400) throw e;
          const message = e.errors.length ? `process "${d.name}" is invalid` : e.message;
          report(new ApiError(e.status, `${d.file}: ${message}`, e.errors, e.text), ctx.json());
          failed++;
        }
      }
      if (failed) process.exitCode = 1;
    });

  proc
    .command('list')
    .description('deployed processes: latest version and tasks alive')
    .action(async () => {
      const r = await ctx.api().listProcesses();
      emit(ctx.json(), r, () =>
        r.body.processes.length === 0
          ? 'no processes deployed yet: conveyor process deploy FILE'
          : table(['name', 'version', 'deployed at', 'alive'], r.body.processes.map((p) => [p.name, p.version, localTime(p.deployedAt), p.alive])),
      );
    });

  proc
    .command('export')
    .description('print a process definition as deployed')
    .argument('<name>', 'process name')
    .option('--version <n>', 'a version (default: the latest)', wholeNumber('--version', 1))
    .addOption(new Option('--format <format>', 'output format').choices(['yaml', 'json']).default('yaml'))
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .action(async (name: string, o: { version?: number; format: 'yaml' | 'json'; output?: string }) => {
      const r = await ctx.api().getProcess(name, o.version);
      if (ctx.json() && !o.output) return emit(true, r, () => '');
      const def = r.body.definition;
      // lineWidth 0: never fold long lines (code, templates) in the exported YAML.
      const text = o.format === 'json' ? JSON.stringify(def, null, 2) + '\n' : toYaml(def, { lineWidth: 0 });
      if (!o.output) return void process.stdout.write(text);
      writeFileSync(o.output, text);
      console.error(`wrote ${r.body.name} v${r.body.version} to ${o.output}`);
    });

  proc
    .command('url')
    .description('the public create URLs of a process (no API key needed: the secret is in the path)')
    .argument('<name>', 'process name')
    .action(async (name: string) => {
      const r = await ctx.api().publicUrl(name);
      const own = ctx.url() + r.body.path;
      emit(ctx.json(), r, () =>
        [
          `public URL:          ${own}`,
          `Corezoid-compatible: ${ctx.url()}${r.body.corezoidPath}`,
          '',
          'try it:',
          `  curl -X POST '${own}' -H 'Content-Type: application/json' -d '{"ref":"lead-1","data":{"name":"Ann"}}'`,
        ].join('\n'),
      );
    });

  processCopyCommand(proc, ctx);
}
