import type { Logger } from 'pino';
import { TelegramPoller } from '../connectors/telegram/telegram-poller.ts';
import { updateToEvent } from '../connectors/telegram/telegram-updates.ts';
import type { ProjectEngine } from '../engine/project-engine.ts';

/**
 * Long polling for the project's Telegram bots whose connection says `receive: polling` — for a
 * machine without a public URL. Updates are stored (deduplicated by bot and update id) before the
 * poller confirms them to Telegram, so none is lost across a crash; no offset needs keeping, since
 * Telegram hands out unconfirmed updates again. Connections are reconciled every few seconds.
 */
export class BotPollers {
  private readonly pollers = new Map<string, { settings: string; poller: TelegramPoller }>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly engine: ProjectEngine, private readonly onStored: () => void, private readonly log: Logger) {}

  start(everyMs = 5000): void {
    this.reconcile();
    this.timer = setInterval(() => this.reconcile(), everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await Promise.all([...this.pollers.values()].map((p) => p.poller.stop()));
    this.pollers.clear();
  }

  private reconcile(): void {
    const wanted = new Map(this.engine.connections.list()
      .filter((c) => c.connector === 'telegram' && c.settings.receive === 'polling')
      .map((c) => [c.name, this.engine.connections.get('telegram', c.name).settings] as const));
    for (const [name, p] of this.pollers) {
      const settings = wanted.get(name);
      if (settings && JSON.stringify(settings) === p.settings) continue;
      void p.poller.stop();
      this.pollers.delete(name);
    }
    for (const [name, settings] of wanted) if (!this.pollers.has(name)) this.run(name, settings);
  }

  private run(name: string, settings: Record<string, unknown>): void {
    const botId = String(settings.bot_token ?? '').split(':')[0];
    const poller = new TelegramPoller({
      settings,
      deleteWebhookOnConflict: true,
      onUpdates: async (updates) => {
        for (const u of updates) {
          const event = updateToEvent(u, botId);
          if (event) await this.engine.store.contacts.putInbound(event, name, u);
        }
        this.onStored();
      },
      onError: (err, retryInMs) => this.log.warn({ connection: name, err: err.message, retryInMs }, 'telegram polling'),
      onInfo: (message) => this.log.info({ connection: name }, message),
    });
    this.pollers.set(name, { settings: JSON.stringify(settings), poller });
    poller.start().catch((err) => {
      this.log.error({ connection: name, err: (err as Error).message }, 'telegram polling stopped');
      this.pollers.delete(name);
    });
  }
}
