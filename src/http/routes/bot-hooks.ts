import type { FastifyInstance } from 'fastify';
import { TelegramClient } from '../../connectors/telegram/telegram-client.ts';
import { updateToEvent } from '../../connectors/telegram/telegram-updates.ts';
import { SECRET_TOKEN_HEADER, checkSecretToken, setWebhook, webhookSecretToken } from '../../connectors/telegram/telegram-webhook.ts';
import { handleVkCallback } from '../../connectors/vk/vk-callback.ts';
import { createHttpClient } from '../../util/http-client.ts';
import type { AppContext } from '../app-context.ts';

/**
 * Where the platforms deliver updates, unauthenticated (each platform's own secret is checked):
 * VK's Callback API and Telegram webhooks, per project and bot connection. An update is stored
 * before it is acknowledged; a platform that gets no 2xx delivers it again.
 */
export function botHookRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.post<{ Params: { project: string; connection: string } }>(
    '/hooks/vk/:project/:connection',
    { schema: { tags: ['funnels'], summary: 'VK Callback API endpoint of a `vk` connection (answers the confirmation string, then `ok`)', security: [] } },
    async (req, reply) => {
      const engine = ctx.projects.get(req.params.project);
      let settings: Record<string, unknown>;
      try {
        settings = engine.connections.get('vk', req.params.connection).settings;
      } catch (e) {
        return reply.code(404).type('text/plain').send((e as Error).message);
      }
      const res = handleVkCallback(req.body, settings as { group_id: string });
      if (res.event) {
        await engine.store.contacts.putInbound(res.event, req.params.connection, res.raw);
        ctx.projects.funnelsOf(req.params.project).signal();
      } else if (res.error) req.log.warn({ project: req.params.project, connection: req.params.connection, error: res.error }, 'VK callback refused');
      return reply.code(res.status).type('text/plain').send(res.answer);
    },
  );

  const botId = (settings: Record<string, unknown>) => String(settings.bot_token ?? '').split(':')[0];
  // Derived per delivery it was an HMAC per message; it depends only on the bot, so it is kept.
  const secretTokens = new Map<string, string>();
  const secretTokenOf = (key: string) => {
    let token = secretTokens.get(key);
    if (token === undefined) secretTokens.set(key, (token = webhookSecretToken(ctx.hookSecret, key)));
    return token;
  };

  app.post<{ Params: { project: string; connection: string } }>(
    '/hooks/telegram/:project/:connection',
    { schema: { tags: ['funnels'], summary: 'Telegram webhook of a `telegram` connection (checks X-Telegram-Bot-Api-Secret-Token)', security: [] } },
    async (req, reply) => {
      const engine = ctx.projects.get(req.params.project);
      let settings: Record<string, unknown>;
      try {
        settings = engine.connections.get('telegram', req.params.connection).settings;
      } catch (e) {
        return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: (e as Error).message });
      }
      const bot = botId(settings);
      if (!checkSecretToken(req.headers[SECRET_TOKEN_HEADER], secretTokenOf(`${req.params.project}:${req.params.connection}:${bot}`))) {
        return reply.code(403).send({ statusCode: 403, error: 'Forbidden', message: 'x-telegram-bot-api-secret-token: does not match this bot\'s webhook' });
      }
      const event = updateToEvent(req.body, bot);
      if (event) {
        await engine.store.contacts.putInbound(event, req.params.connection, req.body);
        ctx.projects.funnelsOf(req.params.project).signal();
      }
      return {};
    },
  );

  // Points the bot's webhook at this server (CONVEYOR_PUBLIC_URL must be reachable by Telegram, https).
  const http = createHttpClient();
  app.addHook('onClose', async () => http.close());
  app.post<{ Params: { project: string; name: string } }>(
    '/api/v1/projects/:project/connections/telegram/:name/webhook',
    { schema: { tags: ['funnels'], summary: 'Set the bot\'s Telegram webhook to this server, with a per-bot secret token' } },
    async (req) => {
      const engine = ctx.projects.get(req.params.project);
      const settings = engine.connections.get('telegram', req.params.name).settings;
      const url = `${ctx.publicUrl()}/hooks/telegram/${encodeURIComponent(req.params.project)}/${encodeURIComponent(req.params.name)}`;
      const secretToken = webhookSecretToken(ctx.hookSecret, `${req.params.project}:${req.params.name}:${botId(settings)}`);
      await setWebhook(new TelegramClient(http, settings), { url, secretToken });
      return { url };
    },
  );
}
