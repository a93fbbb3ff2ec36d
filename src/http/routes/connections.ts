import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../app-context.ts';

const NAME = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$' };
const VIEW = {
  type: 'object',
  properties: {
    connector: { type: 'string' }, name: { type: 'string' }, settings: { type: 'object', additionalProperties: true },
    secrets: { type: 'array', items: { type: 'string' }, description: 'Names of the secret settings stored (values are never shown).' },
    updatedAt: { type: 'integer' },
  },
};

/** Connectors the server knows, and each project's connections to them (credentials write-only). */
export function connectionRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/api/v1/connectors', { schema: { tags: ['connections'], summary: 'Connectors, their settings and node types' } }, async () => ({
    connectors: ctx.connectors.all().map((c) => ({
      name: c.name, description: c.description, settings: c.settingsSchema, secretFields: c.secretFields, pace: c.pace,
      nodeTypes: c.nodeTypes.map((t) => ({ type: t.type, description: t.description })),
    })),
  }));

  app.get<{ Params: { project: string } }>(
    '/api/v1/projects/:project/connections',
    { schema: { tags: ['connections'], summary: 'The project\'s connections (secrets named, never shown)', response: { 200: { type: 'object', properties: { connections: { type: 'array', items: VIEW } } } } } },
    async (req) => ({ connections: ctx.projects.get(req.params.project).connections.list() }),
  );

  app.put<{ Params: { project: string; connector: string; name: string }; Body: { settings: Record<string, unknown> } }>(
    '/api/v1/projects/:project/connections/:connector/:name',
    {
      schema: {
        tags: ['connections'],
        summary: 'Create or replace a connection; secret settings are encrypted with the master key',
        params: { type: 'object', properties: { project: { type: 'string' }, connector: { type: 'string' }, name: NAME } },
        body: { type: 'object', required: ['settings'], additionalProperties: false, properties: { settings: { type: 'object' } } },
        response: { 200: VIEW },
      },
    },
    async (req) => ctx.projects.get(req.params.project).connections.save(req.params.connector, req.params.name, req.body.settings),
  );

  app.delete<{ Params: { project: string; connector: string; name: string } }>(
    '/api/v1/projects/:project/connections/:connector/:name',
    { schema: { tags: ['connections'], summary: 'Remove a connection' } },
    async (req, reply) => {
      await ctx.projects.get(req.params.project).connections.remove(req.params.connector, req.params.name);
      return reply.code(204).send();
    },
  );
}
