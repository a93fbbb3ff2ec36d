import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import type { Ctx } from '../api-client.ts';
import { emit, localTime, table, UsageError } from '../output.ts';

interface ConnectionView { connector: string; name: string; settings: Record<string, unknown>; secrets: string[]; updatedAt: number }

/** `conveyor connection set|list|delete`: the project's connections to services (credentials write-only). */
export function connectionCommands(program: Command, ctx: Ctx): void {
  const conn = program.command('connection').description('connections to services (Bitrix24, Telegram…); secrets are stored encrypted and never shown');
  const path = (rest = '') => `/api/v1/projects/${encodeURIComponent(ctx.api().project)}/connections${rest}`;

  conn
    .command('set')
    .description('create or replace a connection, e.g.  connection set telegram --settings \'{"bot_token":"123:ABC"}\'')
    .argument('<connector>', 'connector name (see `connection connectors`)')
    .argument('[name]', 'connection name', 'default')
    .option('--settings <json>', 'settings as JSON')
    .option('--file <file>', 'settings from a JSON or YAML file (keeps secrets out of the shell history)')
    .action(async (connector: string, name: string, o: { settings?: string; file?: string }) => {
      if (!o.settings === !o.file) throw new UsageError('give the settings with --settings or --file (one of them)');
      let settings: unknown;
      try {
        settings = o.file ? parseYaml(readFileSync(o.file, 'utf8')) : JSON.parse(o.settings!);
      } catch (e) {
        throw new UsageError(`${o.file ? '--file' : '--settings'}: ${(e as Error).message}`);
      }
      const r = await ctx.api().request<ConnectionView>('PUT', path(`/${encodeURIComponent(connector)}/${encodeURIComponent(name)}`), { settings });
      emit(ctx.json(), r, () => `saved ${connector} connection "${name}"${r.body.secrets.length ? ` (secrets stored encrypted: ${r.body.secrets.join(', ')})` : ''}`);
    });

  conn
    .command('list')
    .description('the project\'s connections (secret settings are named, not shown)')
    .action(async () => {
      const r = await ctx.api().request<{ connections: ConnectionView[] }>('GET', path());
      emit(ctx.json(), r, () => table(['connector', 'name', 'settings', 'secrets', 'updated'], r.body.connections.map((c) => [
        c.connector, c.name, JSON.stringify(c.settings), c.secrets.join(', '), localTime(c.updatedAt),
      ])));
    });

  conn
    .command('delete')
    .description('remove a connection')
    .argument('<connector>')
    .argument('[name]', 'connection name', 'default')
    .action(async (connector: string, name: string) => {
      const r = await ctx.api().request('DELETE', path(`/${encodeURIComponent(connector)}/${encodeURIComponent(name)}`));
      emit(ctx.json(), r, () => `deleted ${connector} connection "${name}"`);
    });

  conn
    .command('connectors')
    .description('connectors this server knows, with their node types')
    .action(async () => {
      const r = await ctx.api().request<{ connectors: Array<{ name: string; description: string; nodeTypes: Array<{ type: string }> }> }>('GET', '/api/v1/connectors');
      emit(ctx.json(), r, () => table(['connector', 'node types', 'what'], r.body.connectors.map((c) => [c.name, c.nodeTypes.map((t) => t.type).join(' '), c.description])));
    });
}
