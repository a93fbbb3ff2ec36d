import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../app-context.ts';

/** Leads that finally failed: the CSV, and "retry all" for a process's failed tasks. */
export function deadLetterRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get<{ Params: { project: string } }>(
    '/api/v1/projects/:project/dead-letters.csv',
    { schema: { tags: ['tasks'], summary: 'The project\'s dead-letter CSV (at, task_id, ref, process, node, error, data)' } },
    async (req, reply) => {
      const csv = await ctx.projects.get(req.params.project).deadLetters.read();
      return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${req.params.project}-dead-letters.csv"`).send(csv);
    },
  );

  app.post<{ Params: { project: string; process: string }; Body: { node?: string } | undefined }>(
    '/api/v1/projects/:project/processes/:process/requeue-failed',
    {
      schema: {
        tags: ['tasks'],
        summary: 'Requeue every failed task of the process (optionally only those at one node)',
        body: { type: 'object', additionalProperties: false, properties: { node: { type: 'string', minLength: 1 } } },
        response: { 200: { type: 'object', properties: { requeued: { type: 'integer' } } } },
      },
    },
    async (req) => {
      const engine = ctx.projects.get(req.params.project);
      if (!engine.latestVersion(req.params.process)) {
        return Promise.reject(Object.assign(new Error(`process "${req.params.process}" is not deployed in project "${req.params.project}"`), { statusCode: 404 }));
      }
      return { requeued: await engine.requeueFailed(req.params.process, req.body?.node) };
    },
  );
}
