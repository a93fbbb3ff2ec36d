import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import type { Ctx, Reply, Task } from '../api-client.ts';
import { CliError, emit, localTime, summarize, table, truncate, UsageError, wholeNumber } from '../output.ts';

const taskId = wholeNumber('the task id', 1);

/** Task data: a JSON object from --data, --data-file (or `-` for stdin), else `{}`. */
function taskData(o: { data?: string; dataFile?: string }): Record<string, unknown> {
  let text = o.data;
  let from = '--data';
  if (o.dataFile !== undefined) {
    from = o.dataFile === '-' ? 'stdin' : o.dataFile;
    try {
      text = readFileSync(o.dataFile === '-' ? 0 : o.dataFile, 'utf8');
    } catch (e) {
      throw new CliError(`cannot read ${from}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  if (text === undefined) return {};
  const fail = (why: string) => (o.dataFile === undefined ? new UsageError(`--data: ${why}`) : new CliError(`${from}: ${why}`));
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw fail(`not valid JSON: ${(e as Error).message}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw fail('task data must be a JSON object');
  return data as Record<string, unknown>;
}

function showTask(t: Task): string[] {
  return [
    `task ${t.id}  ${t.process} v${t.version}${t.ref !== null ? `  ref ${t.ref}` : ''}${t.parentId !== null ? `  parent ${t.parentId}` : ''}`,
    `status ${t.status} at node ${t.node}, attempt ${t.attempt}`,
    ...(t.runAt ? [`run at  ${localTime(t.runAt)}`] : []),
    ...(t.error ? [`error   ${t.error}`] : []),
    `created ${localTime(t.createdAt)}, updated ${localTime(t.updatedAt)}`,
    `data:`,
    JSON.stringify(t.data, null, 2),
  ];
}

export function taskCommands(program: Command, ctx: Ctx): void {
  const task = program.command('task').description('create, inspect and move tasks');

  task
    .command('create')
    .description('create a task (with a ref, returns the alive task of that ref instead of a second one)')
    .argument('<process>', 'process name')
    .option('--ref <ref>', 'your reference, unique among the alive tasks of the process')
    .addOption(new Option('--data <json>', 'task data as a JSON object').conflicts('dataFile'))
    .option('--data-file <file>', 'task data from a JSON file (- for stdin)')
    .action(async (proc: string, o: { ref?: string; data?: string; dataFile?: string }) => {
      const data = taskData(o);
      const r = await ctx.api().createTask(proc, { ...(o.ref !== undefined && { ref: o.ref }), data });
      const { id, ref, created } = r.body;
      emit(ctx.json(), r, () => (created ? `created task ${id}${ref !== null ? ` (ref ${ref})` : ''}` : `task ${id} already alive with ref ${ref}`));
    });

  task
    .command('show')
    .description('a task and its latest history')
    .argument('<id>', 'task id', taskId)
    .option('--history <n>', 'history entries to show', wholeNumber('--history', 0, 10000), 20)
    .action(async (id: number, o: { history: number }) => {
      const r = await ctx.api().getTask(id, o.history);
      emit(ctx.json(), r, () => {
        const { task: t, history } = r.body;
        const rows = history.map((h) => [localTime(h.at), h.node, h.event, summarize(h.detail)]);
        return [...showTask(t), '', history.length ? table(['time', 'node', 'event', 'detail'], rows) : 'no history'].join('\n');
      });
    });

  task
    .command('list')
    .description('tasks of a process, newest first')
    .argument('<process>', 'process name')
    .option('--node <node>', 'only tasks at this node')
    .option('--status <status>', 'only tasks with this status (active, sleeping, waiting, failed, done, error, cancelled)')
    .option('--limit <n>', 'at most this many (server default 50)', wholeNumber('--limit', 1))
    .action(async (proc: string, o: { node?: string; status?: string; limit?: number }) => {
      const r = await ctx.api().listTasks(proc, o);
      emit(ctx.json(), r, () =>
        r.body.tasks.length === 0
          ? 'no tasks'
          : table(
              ['id', 'ref', 'status', 'node', 'attempt', 'updated', 'error'],
              r.body.tasks.map((t) => [t.id, t.ref, t.status, t.node, t.attempt, localTime(t.updatedAt), truncate(t.error ?? '', 60)]),
            ),
      );
    });

  const changed = (verb: string) => (r: Reply<{ task: Task }>) =>
    emit(ctx.json(), r, () => `${verb} task ${r.body.task.id}: ${r.body.task.status} at node ${r.body.task.node}`);
  task
    .command('move')
    .description('move a task to any node of its process; it runs from there')
    .argument('<id>', 'task id', taskId)
    .argument('<node>', 'node id')
    .action(async (id: number, node: string) => changed('moved')(await ctx.api().moveTask(id, node)));
  task
    .command('requeue')
    .description('run a failed task again at the node where it failed')
    .argument('<id>', 'task id', taskId)
    .action(async (id: number) => changed('requeued')(await ctx.api().requeueTask(id)));
  task
    .command('cancel')
    .description('cancel an alive task')
    .argument('<id>', 'task id', taskId)
    .action(async (id: number) => changed('cancelled')(await ctx.api().cancelTask(id)));
}
