import { Command, Option } from 'commander';
import { readFileSync, writeFileSync } from 'node:fs';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { ApiClient, CliError, type GlobalOptions } from './api-client.ts';
import { print, table } from './output.ts';

const program = new Command('conveyor')
  .description('Conveyor: a durable process engine for leads and customers')
  .addOption(new Option('--url <url>', 'server URL').env('CONVEYOR_URL').default('http://127.0.0.1:8080'))
  .addOption(new Option('--key <key>', 'API key (default: ./data/api-key)').env('CONVEYOR_API_KEY'))
  .option('-p, --project <name>', 'project', 'default')
  .option('--json', 'print JSON');

const client = () => new ApiClient(program.opts<GlobalOptions>());
const json = () => program.opts<GlobalOptions>().json;

program
  .command('serve')
  .description('run the server (data in $CONVEYOR_DATA or ./data)')
  .option('--port <n>', 'port (env PORT, default 8080)')
  .option('--host <h>', 'address to listen on (env HOST, default 0.0.0.0)')
  .option('--data <dir>', 'data directory')
  .action(async (o) => {
    const { startServer } = await import('../http/server.ts');
    const s = await startServer({ port: o.port ? Number(o.port) : undefined, host: o.host, dataDir: o.data });
    console.log(`Conveyor is listening at ${s.url} (API docs at ${s.url}/docs)`);
    if (s.apiKeyGenerated) console.log(`API key (shown once, also kept in the data directory's api-key file): ${s.apiKey}`);
    const stop = async () => {
      await s.close();
      process.exit(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

const proc = program.command('process').description('deploy and inspect processes');
proc
  .command('deploy <files...>')
  .description('deploy YAML or JSON process files (each becomes the next version)')
  .action(async (files: string[]) => {
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      const isJson = file.endsWith('.json');
      const def = isJson ? JSON.parse(text) : parseYaml(text);
      if (!def?.name) throw new CliError(`${file}: the file has no "name"`);
      const r = await client().call('PUT', client().projectPath(`/processes/${encodeURIComponent(def.name)}`), text, isJson ? 'application/json' : 'application/yaml');
      print(json(), r, () => `deployed ${r.name} v${r.version} (public id ${r.publicId})`);
    }
  });
proc.command('list').description('deployed processes').action(async () => {
  const r = await client().call('GET', client().projectPath('/processes'));
  print(json(), r, () => table(r.processes.map((p: any) => ({ ...p, deployedAt: new Date(p.deployedAt).toLocaleString() })), ['name', 'version', 'deployedAt', 'alive', 'publicId']));
});
proc
  .command('export <name>')
  .option('--version <n>', 'a version (default the latest)')
  .option('--format <f>', 'yaml or json', 'yaml')
  .option('-o, --out <file>', 'write to a file')
  .action(async (name: string, o) => {
    const r = await client().call('GET', client().projectPath(`/processes/${encodeURIComponent(name)}${o.version ? `?version=${o.version}` : ''}`));
    const text = o.format === 'json' ? JSON.stringify(r.definition, null, 2) + '\n' : toYaml(r.definition);
    if (o.out) writeFileSync(o.out, text);
    else process.stdout.write(text);
  });
proc.command('url <name>').description('the public create URLs of a process').action(async (name: string) => {
  const r = await client().call('GET', client().projectPath(`/processes/${encodeURIComponent(name)}/public-url`));
  const base = program.opts<GlobalOptions>().url;
  print(json(), r, () =>
    [
      `public URL:          ${base}${r.path}`,
      `Corezoid-compatible: ${base}${r.corezoidPath}`,
      `try: curl -X POST ${base}${r.path} -H 'content-type: application/json' -d '{"ref":"lead-1","data":{"name":"Ann"}}'`,
    ].join('\n'),
  );
});

const task = program.command('task').description('create, inspect and move tasks');
task
  .command('create <process>')
  .option('--ref <ref>', 'unique while the task is alive')
  .option('--data <json>', 'task data as JSON')
  .option('--data-file <file>', 'task data from a JSON file')
  .action(async (process: string, o) => {
    const data = o.dataFile ? JSON.parse(readFileSync(o.dataFile, 'utf8')) : o.data ? JSON.parse(o.data) : {};
    const r = await client().call('POST', client().projectPath(`/processes/${encodeURIComponent(process)}/tasks`), { ref: o.ref, data });
    print(json(), r, () => (r.created ? `created task ${r.id}${r.ref ? ` (ref ${r.ref})` : ''}` : `task ${r.id} already alive with ref ${r.ref}`));
  });
task
  .command('show <id>')
  .option('--history <n>', 'history entries', '50')
  .action(async (id: string, o) => {
    const r = await client().call('GET', client().projectPath(`/tasks/${id}?history=${o.history}`));
    print(json(), r, () => {
      const t = r.task;
      return [
        `task ${t.id} (${t.process} v${t.version})${t.ref ? ` ref ${t.ref}` : ''}`,
        `status ${t.status} at node ${t.node}, attempt ${t.attempt}${t.runAt ? `, next run ${t.runAt}` : ''}`,
        ...(t.error ? [`error: ${t.error}`] : []),
        `data: ${JSON.stringify(t.data, null, 2)}`,
        '',
        table(r.history.map((h: any) => ({ at: h.at, node: h.node, event: h.event, detail: h.detail ? JSON.stringify(h.detail).slice(0, 120) : '' })), ['at', 'node', 'event', 'detail']),
      ].join('\n');
    });
  });
task
  .command('list <process>')
  .option('--node <node>')
  .option('--status <status>')
  .option('--limit <n>', 'how many', '50')
  .action(async (process: string, o) => {
    const q = new URLSearchParams({ limit: o.limit, ...(o.node && { node: o.node }), ...(o.status && { status: o.status }) });
    const r = await client().call('GET', client().projectPath(`/processes/${encodeURIComponent(process)}/tasks?${q}`));
    print(json(), r, () => table(r.tasks, ['id', 'ref', 'status', 'node', 'attempt', 'error', 'updatedAt']));
  });
for (const [name, describe] of [['requeue', 'run a failed task again'], ['cancel', 'cancel a live task']] as const) {
  task.command(`${name} <id>`).description(describe).action(async (id: string) => {
    const r = await client().call('POST', client().projectPath(`/tasks/${id}/${name}`), {});
    print(json(), r, () => `task ${r.task.id}: ${r.task.status} at ${r.task.node}`);
  });
}
task.command('move <id> <node>').description('move a task to a node').action(async (id: string, node: string) => {
  const r = await client().call('POST', client().projectPath(`/tasks/${id}/move`), { node });
  print(json(), r, () => `task ${r.task.id}: ${r.task.status} at ${r.task.node}`);
});

program.command('stats <process>').description('tasks per node').action(async (process: string) => {
  const r = await client().call('GET', client().projectPath(`/processes/${encodeURIComponent(process)}/stats`));
  print(json(), r, () => {
    const rows = Object.entries(r.nodes as Record<string, number>).map(([node, tasks]) => ({ node, tasks }));
    return `${table(rows, ['node', 'tasks'])}\ntotal ${rows.reduce((a, b) => a + b.tasks, 0)}`;
  });
});

const project = program.command('project').description('projects (each has its own database)');
project.command('list').action(async () => {
  const r = await client().call('GET', '/api/v1/projects');
  print(json(), r, () => r.projects.map((p: any) => p.name).join('\n'));
});
project.command('create <name>').action(async (name: string) => {
  const r = await client().call('POST', '/api/v1/projects', { name });
  print(json(), r, () => `created project ${r.name}`);
});

program.parseAsync().catch((err) => {
  console.error(`error: ${err instanceof CliError ? err.message : err?.message ?? err}`);
  process.exit(1);
});
