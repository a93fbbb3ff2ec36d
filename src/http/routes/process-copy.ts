import type { FastifyInstance } from 'fastify';
import { TaskError } from '../../engine/project-engine.ts';
import { copyFunnel } from '../../funnels/funnel-copy.ts';
import type { AppContext } from '../app-context.ts';

const NAME = '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$';
const BODY_PROPERTIES = {
  as: { type: 'string', pattern: NAME, description: 'Name of the copy.' },
  to_project: { type: 'string', minLength: 1, description: 'Project to copy into; default: the same project.' },
  version: { type: 'integer', minimum: 1, description: 'Version of the source to copy; default: the latest.' },
  tags: {
    type: 'object', additionalProperties: { type: 'string', minLength: 1, maxLength: 100 },
    description: 'Tags to rename in triggers and nodes, old → new. Tags not named are kept (listed in tags_kept for another project).',
  },
  bots: {
    type: 'object', additionalProperties: { type: 'string', pattern: '^@?[A-Za-z0-9][A-Za-z0-9_-]{0,63}$' },
    description: 'Connection names (trigger bots, a node\'s connection) and bot @usernames (link.paid) to rename, old → new.',
  },
  replace: { type: 'boolean', description: 'Deploy over an existing process of that name (as its next version) instead of refusing.' },
};
const FLAG = {
  type: 'object',
  properties: { node: { type: 'string' }, trigger: { type: 'integer' }, field: { type: 'string' }, value: { type: 'string' }, reason: { type: 'string' } },
};

interface Body { as: string; to_project?: string; version?: number; tags?: Record<string, string>; bots?: Record<string, string>; replace?: boolean }

/** Copies a process (a funnel) within its project or into another, remapping tags and bots. */
export function processCopyRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.post<{ Params: { project: string; process: string }; Body: Body }>(
    '/api/v1/projects/:project/processes/:process/copy',
    {
      schema: {
        tags: ['processes'],
        summary: 'Copy a process under a new name, in this project or another, remapping tags and bots',
        description: 'The copy is validated and deployed like any process and gets its own public URL and secret. ' +
          '`flags` lists what to look at: connections the target project lacks (after the remap), bot @usernames copied ' +
          'to another project as is, remaps that matched nothing. 409 when the name exists, unless `replace`.',
        params: { type: 'object', properties: { project: { type: 'string' }, process: { type: 'string' } } },
        body: { type: 'object', required: ['as'], additionalProperties: false, properties: BODY_PROPERTIES },
        response: {
          201: {
            type: 'object',
            properties: {
              project: { type: 'string' }, process: { type: 'string' }, version: { type: 'integer' }, publicId: { type: 'string' },
              flags: { type: 'array', items: FLAG }, tags_kept: { type: 'array', items: { type: 'string' } },
            },
          },
        },
      },
    },
    async (req, reply) => {
      const { project, process } = req.params;
      const body = req.body;
      const source = ctx.projects.get(project);
      const version = await source.store.getProcess(process, body.version);
      if (!version) throw new TaskError(404, `process "${process}"${body.version ? ` v${body.version}` : ''} not found in project "${project}"`);

      const toProject = body.to_project ?? project;
      const target = ctx.projects.list().includes(toProject) ? ctx.projects.get(toProject) : undefined;
      if (!target) throw new TaskError(404, `to_project: project "${toProject}" not found`);
      const existing = await target.store.getProcess(body.as);
      if (existing && !body.replace) {
        throw new TaskError(409, `as: process "${body.as}" already exists in project "${toProject}" (v${existing.version}); send "replace": true to deploy the copy as its next version`);
      }

      const copy = copyFunnel(version.definition, body, {
        project: toProject, sameProject: toProject === project,
        connections: target.connections.list(), nodeType: (t) => ctx.registry.get(t),
      });
      // The same checks as a deploy: a remap can make a definition invalid (e.g. a tag too long).
      const result = ctx.validator.validate(copy.definition);
      if (!result.ok) {
        throw Object.assign(new TaskError(400, `the copy is invalid: ${result.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`), {
          extra: { errors: result.errors },
        });
      }
      const deployed = await ctx.projects.deploy(toProject, result.definition);
      return reply.code(201).send({
        project: toProject, process: deployed.version.name, version: deployed.version.version, publicId: deployed.publicId,
        flags: copy.flags, tags_kept: copy.tags_kept,
      });
    },
  );
}
