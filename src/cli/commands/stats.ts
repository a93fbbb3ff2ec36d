import type { Command } from 'commander';
import type { Ctx } from '../api-client.ts';
import { emit, table } from '../output.ts';

export function statsCommand(program: Command, ctx: Ctx): void {
  program
    .command('stats')
    .description('tasks per node of a process (ended tasks count at their final node while retained)')
    .argument('<process>', 'process name')
    .action(async (proc: string) => {
      const r = await ctx.api().stats(proc);
      // Rows in the API's order (the process's own node order), not re-sorted here.
      const rows = Object.entries(r.body.nodes);
      const total = rows.reduce((sum, [, n]) => sum + n, 0);
      emit(ctx.json(), r, () => table(['node', 'tasks'], rows, ['total', total]));
    });
}
