import { Command, CommanderError, Option } from 'commander';
import { ApiClient, type Ctx } from './api-client.ts';
import { connectionCommands } from './commands/connection.ts';
import { importCommand } from './commands/import.ts';
import { processCommands } from './commands/process.ts';
import { projectCommands } from './commands/project.ts';
import { serveCommand } from './commands/serve.ts';
import { statsCommand } from './commands/stats.ts';
import { taskCommands } from './commands/task.ts';
import { report, UsageError } from './output.ts';

function buildProgram(): Command {
  const program = new Command('conveyor')
    .description('Conveyor: a durable process engine for leads and customers')
    // Throw instead of exiting, so usage errors exit 2 and everything exits through one place.
    .exitOverride()
    .configureHelp({ showGlobalOptions: true })
    .addOption(new Option('--url <url>', 'server URL').env('CONVEYOR_URL').default('http://127.0.0.1:8080'))
    .addOption(new Option('--key <key>', 'API key (default: the api-key file in $CONVEYOR_DATA or ./data)').env('CONVEYOR_API_KEY'))
    .option('-p, --project <name>', 'project', 'default')
    .option('--json', "print the API's JSON as is (for scripts)");

  const url = (): string => {
    const raw: string = program.opts().url;
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      throw new UsageError(`--url: "${raw}" is not a URL (e.g. http://127.0.0.1:8080)`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UsageError(`--url: "${raw}" is not an http(s) URL`);
    return raw.replace(/\/+$/, '');
  };
  const ctx: Ctx = {
    url,
    json: () => Boolean(program.opts().json),
    api: () =>
      new ApiClient({
        url: url(),
        project: program.opts().project,
        key: program.opts().key,
        keySource: program.getOptionValueSource('key') === 'env' ? 'CONVEYOR_API_KEY' : '--key',
      }),
  };

  // Subcommands copy the parent's settings when created, so exitOverride above reaches them all.
  serveCommand(program);
  processCommands(program, ctx);
  taskCommands(program, ctx);
  statsCommand(program, ctx);
  projectCommands(program, ctx);
  importCommand(program, ctx);
  connectionCommands(program, ctx);
  return program;
}

/** Runs the CLI and returns the exit code: 0 ok, 1 failed, 2 usage error. */
async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return Number(process.exitCode ?? 0);
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander has printed its message already; help and --help are not errors.
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? 0 : 2;
    }
    return report(e, Boolean(program.opts().json));
  }
}

// `conveyor ... | head` closes the pipe early; that is not an error worth a stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

// exitCode, not exit(): stdout may still be flushing into a pipe. `serve` keeps running on its own.
process.exitCode = await run(process.argv);
