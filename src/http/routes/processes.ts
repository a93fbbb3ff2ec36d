import type { FastifyInstance } from 'fastify';
import { TaskError } from '../../engine/project-engine.ts';
import type { AppContext } from '../app-context.ts';
import { STUCK_AFTER } from '../../funnels/stuck-watch.ts';
import { ADMIN_CHAT, checkAdminChat } from '../../funnels/admin-relay.ts';
import { parseDuration } from '../../util/duration.ts';

const P = { type: 'object', properties: { project: { type: 'string' }, process: { type: 'string' } } };

export function processRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/api/v1/schema/process', { schema: { tags: ['processes'], summary: 'The JSON Schema of process files' } }, async () => ctx.processSchema);

  app.get<{ Params: { project: string } }>(
    '/api/v1/projects/:project/processes',
    { schema: { tags: ['processes'], summary: 'Deployed processes with their latest version and live tasks' } },
    async (req) => ({
      processes: (await ctx.projects.get(req.params.project).store.listProcesses()).map((p) => ({ ...p, deployedAt: new Date(p.deployedAt).toISOString() })),
    }),
  );

  app.put<{ Params: { project: string; process: string }; Body: unknown }>(
    '/api/v1/projects/:project/processes/:process',
    {
      bodyLimit: 4 * 1024 * 1024,
      schema: {
        tags: ['processes'],
        summary: 'Deploy a process (JSON, or YAML with Content-Type application/yaml) as its next version',
        description: 'Tasks already running finish on the version they started on; new tasks start on the new one.',
        params: P,
      },
    },
    async (req, reply) => {
      ctx.projects.get(req.params.project);
      const result = ctx.validator.validate(req.body);
      if (!result.ok) {
        throw Object.assign(new TaskError(400, `process is invalid: ${result.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`), {
          extra: { errors: result.errors },
        });
      }
      if (result.definition.name !== req.params.process) {
        throw new TaskError(400, `name: "${result.definition.name}" differs from the process in the URL ("${req.params.process}")`);
      }
      const { version, publicId } = await ctx.projects.deploy(req.params.project, result.definition);
      return reply.code(201).send({ name: version.name, version: version.version, publicId });
    },
  );

  app.get<{ Params: { project: string; process: string }; Querystring: { version?: number } }>(
    '/api/v1/projects/:project/processes/:process',
    {
      schema: {
        tags: ['processes'],
        summary: 'A process definition (latest, or ?version=N) and its versions',
        params: P,
        querystring: { type: 'object', properties: { version: { type: 'integer', minimum: 1 } } },
      },
    },
    async (req) => {
      const store = ctx.projects.get(req.params.project).store;
      const v = await store.getProcess(req.params.process, req.query.version);
      if (!v) throw new TaskError(404, `process "${req.params.process}"${req.query.version ? ` v${req.query.version}` : ''} not found`);
      const access = await store.getPublicAccess(v.name);
      return { name: v.name, version: v.version, deployedAt: new Date(v.deployedAt).toISOString(), publicId: access?.publicId, definition: v.definition, versions: (await store.listVersions(v.name)).map((x) => ({ version: x.version, deployedAt: new Date(x.deployedAt).toISOString() })) };
    },
  );

  app.get<{ Params: { project: string; process: string } }>(
    '/api/v1/projects/:project/processes/:process/public-url',
    { schema: { tags: ['processes'], summary: 'The unauthenticated create URLs of a process (the secret is in the path)', params: P } },
    async (req) => {
      const access = await ctx.projects.get(req.params.project).store.getPublicAccess(req.params.process);
      if (!access) throw new TaskError(404, `process "${req.params.process}" not found`);
      return {
        publicId: access.publicId, secret: access.secret,
        path: `/public/v1/${access.publicId}/${access.secret}`,
        corezoidPath: `/api/1/json/public/${access.publicId}/${access.secret}`,
      };
    },
  );

  app.get<{ Params: { project: string } }>('/api/v1/projects/:project/config', { schema: { tags: ['projects'], summary: 'Project configuration values (read by templates as $config.NAME)' } }, async (req) => ({
    config: ctx.projects.get(req.params.project).getConfig(),
  }));

  app.put<{ Params: { project: string }; Body: Record<string, unknown> }>(
    '/api/v1/projects/:project/config',
    { schema: { tags: ['projects'], summary: 'Set configuration values (null removes one); funnel_stuck_after (a duration) turns on the admin inbox\'s notes of people stuck on a funnel step; admin_chat {chat_id, connection?} sends every admin note to that Telegram chat too; inbound_retention (default 30d) is how long bot updates are kept', body: { type: 'object' } } },
    async (req) => {
      const engine = ctx.projects.get(req.params.project);
      for (const key of [STUCK_AFTER, 'inbound_retention']) {
        const v = req.body[key];
        if (v === undefined || v === null) continue;
        try {
          parseDuration(v as string | number);
        } catch (err) {
          throw new TaskError(400, `body.${key}: ${(err as Error).message} (e.g. "1d", "12h")`);
        }
      }
      const chatProblems = req.body[ADMIN_CHAT] === undefined ? [] : checkAdminChat(req.body[ADMIN_CHAT]);
      if (chatProblems.length) throw new TaskError(400, `body.${chatProblems[0]}`);
      await engine.setConfig(req.body);
      return { config: engine.getConfig() };
    },
  );
}
