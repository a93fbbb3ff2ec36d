import { resolve } from 'node:path';
import type { Command } from 'commander';
import { CliError, wholeNumber } from '../output.ts';

export function serveCommand(program: Command): void {
  program
    .command('serve')
    .description('run the server: the engine and the HTTP API')
    .option('--port <n>', 'port to listen on (env PORT, default 8080; 0 picks a free one)', wholeNumber('--port', 0, 65535))
    .option('--host <h>', 'address to listen on (env HOST, default 0.0.0.0)')
    .option('--data <dir>', 'data directory: databases and the API key (env CONVEYOR_DATA, default ./data)')
    .action(async (o: { port?: number; host?: string; data?: string }) => {
      // Loaded here so that the client commands start fast and never load the engine.
      const { startServer } = await import('../../http/server.ts');
      const dataDir = o.data ?? process.env.CONVEYOR_DATA ?? './data';
      let server: Awaited<ReturnType<typeof startServer>>;
      try {
        server = await startServer({ port: o.port, host: o.host, dataDir });
      } catch (e) {
        throw new CliError(`the server did not start: ${(e as Error).message}`);
      }
      console.log(`Conveyor is listening at ${server.url} (API docs at ${server.url}/docs), data in ${resolve(dataDir)}`);
      if ((server as { apiKeyGenerated?: boolean }).apiKeyGenerated) {
        console.log(`API key (shown once; kept in ${resolve(dataDir, 'api-key')}): ${server.apiKey}`);
      }
      const stop = (signal: string) => {
        console.log(`${signal}: stopping`);
        server.close().then(
          () => process.exit(0),
          (e: Error) => {
            console.error(`error: stopping the server: ${e.message}`);
            process.exit(1);
          },
        );
      };
      // once: a second Ctrl-C gets Node's default handling and ends the process at once.
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    });
}
