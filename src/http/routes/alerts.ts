import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../app-context.ts';

/** The alert rules' state per project (the same messages go to Telegram when configured). */
export function alertRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get<{ Params: { project: string } }>(
    '/api/v1/projects/:project/alerts',
    { schema: { tags: ['health'], summary: 'Alerts firing now and the latest alert events of the project' } },
    async (req) => {
      ctx.projects.get(req.params.project); // 404 for an unknown project
      return ctx.alerter.list(req.params.project);
    },
  );
}
