import type { Command } from 'commander';
import type { Ctx } from '../api-client.ts';
import { emit, localTime, table } from '../output.ts';

export function projectCommands(program: Command, ctx: Ctx): void {
  const project = program.command('project').description('projects: each has its own processes, tasks and database');

  project
    .command('list')
    .description('projects on the server')
    .action(async () => {
      const r = await ctx.api().listProjects();
      const projects = r.body.projects;
      // createdAt is optional in what servers send; show the column only when there is something in it.
      const dated = projects.some((p) => p.createdAt);
      emit(ctx.json(), r, () =>
        table(dated ? ['name', 'created at'] : ['name'], projects.map((p) => (dated ? [p.name, localTime(p.createdAt)] : [p.name]))),
      );
    });

  project
    .command('create')
    .description('create a project')
    .argument('<name>', 'project name')
    .action(async (name: string) => {
      const r = await ctx.api().createProject(name);
      emit(ctx.json(), r, () => `created project ${r.body.name}`);
    });
}
