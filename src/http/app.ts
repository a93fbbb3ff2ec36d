import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { timingSafeEqual } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import type { Logger } from 'pino';
import type { AppContext } from './app-context.ts';
import { installErrorHandler } from './errors.ts';
import { connectionRoutes } from './routes/connections.ts';
import { deadLetterRoutes } from './routes/dead-letters.ts';
import { alertRoutes } from './routes/alerts.ts';
import { contactRoutes } from './routes/contacts.ts';
import { botHookRoutes } from './routes/bot-hooks.ts';
import { reportRoutes } from './routes/reports.ts';
import { broadcastRoutes } from './routes/broadcasts.ts';
import { paymentRoutes } from './routes/payments.ts';
import { processRoutes } from './routes/processes.ts';
import { processCopyRoutes } from './routes/process-copy.ts';
import { projectRoutes } from './routes/projects.ts';
import { publicRoutes } from './routes/public.ts';
import { taskRoutes } from './routes/tasks.ts';

/** The HTTP API. Management routes (`/api/v1/*`) need `Authorization: Bearer <key>`. */
export async function buildApp(ctx: AppContext, logger: Logger): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allowUnionTypes: true } },
  });
  installErrorHandler(app);

  app.addContentTypeParser(['application/yaml', 'application/x-yaml', 'text/yaml'], { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseYaml(body as string));
    } catch (e) {
      done(Object.assign(new Error(`body: malformed YAML: ${(e as Error).message}`), { statusCode: 400 }), undefined);
    }
  });
  // Sites post Corezoid bodies with `curl --data`: JSON labelled as a form.
  app.addContentTypeParser(['application/x-www-form-urlencoded', 'text/plain'], { parseAs: 'string' }, (_req, body, done) => {
    const text = (body as string).trim();
    try {
      done(null, text === '' ? {} : JSON.parse(text));
    } catch (e) {
      done(Object.assign(new Error(`body: malformed JSON: ${(e as Error).message}`), { statusCode: 400 }), undefined);
    }
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'Conveyor API', version: '1', description: 'Processes, tasks, stats and public entry points.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const key = Buffer.from(`Bearer ${ctx.apiKey}`);
  app.addHook('onRequest', async (req, reply) => {
    if (!req.url.startsWith('/api/v1/') && req.url.split('?')[0] !== '/metrics') return;
    const got = Buffer.from(req.headers.authorization ?? '');
    if (got.length !== key.length || !timingSafeEqual(got, key)) {
      return reply.code(401).send({ statusCode: 401, error: 'Unauthorized', message: 'authorization: send "Authorization: Bearer <API key>"' });
    }
  });

  app.get('/health', { schema: { tags: ['health'], summary: '200 once the server accepts tasks', security: [] } }, async () => ({ status: 'ok' }));
  app.get('/metrics', { schema: { tags: ['health'], summary: 'Prometheus metrics (prefix conveyor_), same bearer key as the API' } }, async (_req, reply) =>
    reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics()));
  projectRoutes(app, ctx);
  processRoutes(app, ctx);
  processCopyRoutes(app, ctx);
  taskRoutes(app, ctx);
  publicRoutes(app, ctx);
  connectionRoutes(app, ctx);
  deadLetterRoutes(app, ctx);
  alertRoutes(app, ctx);
  contactRoutes(app, ctx);
  botHookRoutes(app, ctx);
  reportRoutes(app, ctx);
  broadcastRoutes(app, ctx);
  paymentRoutes(app, ctx);
  return app;
}
