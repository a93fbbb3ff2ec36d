import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../app-context.ts';

export function projectRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/api/v1/projects', { schema: { tags: ['projects'], summary: 'Projects on this server' } }, async () => ({
    projects: ctx.projects.list().map((name) => ({ name })),
  }));
  app.post<{ Body: { name: string } }>(
    '/api/v1/projects',
    {
      schema: {
        tags: ['projects'],
        summary: 'Create a project (and its own database)',
        body: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: { type: 'string' } } },
      },
    },
    async (req, reply) => {
      await ctx.projects.create(req.body.name);
      return reply.code(201).send({ name: req.body.name });
    },
  );
}
