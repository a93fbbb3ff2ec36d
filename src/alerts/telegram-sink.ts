import { TelegramClient } from '../connectors/telegram/telegram-client.ts';
import type { ProjectRegistry } from '../projects/project-registry.ts';
import type { HttpClient } from '../util/http-client.ts';
import type { AlertSink } from './alerter.ts';

/** Sends alerts through the project's Telegram connection named in its alert settings, if any. */
export function telegramAlertSink(projects: ProjectRegistry, http: HttpClient): AlertSink {
  return async (project, settings, text) => {
    if (!settings.telegram) return;
    const conn = projects.get(project).connections.get('telegram', settings.telegram.connection ?? 'default');
    await new TelegramClient(http, conn.settings).sendMessage({ chat_id: settings.telegram.chat_id, text, disable_notification: false }, 10_000);
  };
}
