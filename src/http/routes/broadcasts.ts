import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../app-context.ts';

/**
 * Broadcasts to a tag segment: one task per contact in a funnel process of your own (e.g. a
 * `chat.send`), so the messages go out at the platform's pace (per chat and per bot), count against
 * the monthly message limit like any funnel message, and show their progress in the funnel's stats.
 */
export function broadcastRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.post<{ Params: { project: string }; Body: { process: string; tag?: string; bot?: string; data?: Record<string, unknown> } }>(
    '/api/v1/projects/:project/broadcasts',
    {
      schema: {
        tags: ['funnels'],
        summary: 'Start a process for every active contact with a tag (in one bot, or the first bot each contact is active in)',
        body: { type: 'object', required: ['process'], additionalProperties: false, properties: {
          process: { type: 'string', minLength: 1 }, tag: { type: 'string', minLength: 1 }, bot: { type: 'string', minLength: 1 },
          data: { type: 'object', description: 'Extra fields for every task (templates of the process read them).' },
        } },
      },
    },
    async (req, reply) => {
      const engine = ctx.projects.get(req.params.project);
      if (!engine.latestVersion(req.body.process)) {
        return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `process: "${req.body.process}" is not deployed in project "${req.params.project}"` });
      }
      const id = `b${Date.now().toString(36)}`;
      let afterId = 0;
      let matched = 0;
      let created = 0;
      for (;;) {
        const page = await engine.store.contacts.listContacts({ tag: req.body.tag, status: 'active', limit: 1000, afterId });
        if (!page.length) break;
        afterId = page[page.length - 1].id;
        const items = page.flatMap((c) => {
          const bot = c.bots.find((b) => b.status === 'active' && (!req.body.bot || b.connection === req.body.bot));
          return bot ? [{ ref: `${id}-contact-${c.id}`, data: {
            ...req.body.data, contact_id: c.id, platform: c.platform, bot: bot.connection, chat_id: bot.chatId, user_id: c.userId, name: c.name, tags: c.tags, broadcast: id,
          } }] : [];
        });
        matched += items.length;
        if (items.length) created += (await engine.createTasks(req.body.process, items)).filter((r) => r.created).length;
      }
      return reply.code(201).send({ broadcast: id, process: req.body.process, contacts: matched, created });
    },
  );
}
