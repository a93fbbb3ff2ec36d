import type { Logger } from 'pino';
import { TelegramClient } from '../connectors/telegram/telegram-client.ts';
import { ServiceFailure } from '../connectors/service-failure.ts';
import type { ProjectEngine } from '../engine/project-engine.ts';
import type { AdminNote } from '../storage/contact-store.ts';
import type { HttpClient } from '../util/http-client.ts';
import { Periodic } from '../util/periodic.ts';

/** Project config key: the admins' Telegram chat, `{chat_id, connection?}` (connection default "default"). */
export const ADMIN_CHAT = 'admin_chat';
const EVERY_MS = 3000;
/** Telegram takes about 20 messages a minute in a group: notes are bundled, one message a turn. */
const MAX_TEXT = 3500;
/** Notes older than this when a chat is first set are marked relayed without being sent (no flood). */
const STALE_MS = 86_400_000;

const LABEL: Record<AdminNote['kind'], string> = {
  duplicate_trigger: 'Повторный триггер', send_error: 'Не отправлено', stuck: 'Застрял', paid_not_entered: 'Оплатил, не вошёл', note: 'Заметка',
};

/** Problems with an `admin_chat` setting, naming the field; empty when it is fine. */
export function checkAdminChat(v: unknown): string[] {
  if (v === null) return [];
  if (typeof v !== 'object' || Array.isArray(v)) return [`${ADMIN_CHAT}: must be an object {chat_id, connection?}`];
  const c = v as Record<string, unknown>;
  const out: string[] = [];
  if (!(typeof c.chat_id === 'string' && c.chat_id) && !Number.isInteger(c.chat_id)) out.push(`${ADMIN_CHAT}.chat_id: a Telegram chat id (e.g. -1001234567890) is required`);
  if (c.connection !== undefined && (typeof c.connection !== 'string' || !c.connection)) out.push(`${ADMIN_CHAT}.connection: a telegram connection name`);
  return out;
}

/**
 * Every admin-inbox note also goes to the admins' Telegram chat when the project sets `admin_chat`:
 * refused triggers, send errors, stuck people, funnels' own notes. A note is marked relayed only after
 * Telegram took the message (so none is lost while the chat or Telegram is down; one may come twice
 * after a crash between the two); a note Telegram refuses for good (no such chat, no rights) is
 * marked too, and the failure logged, so one bad setting does not block the rest forever.
 */
export class AdminRelay {
  private readonly periodic: Periodic;

  constructor(private readonly engine: ProjectEngine, private readonly http: HttpClient, private readonly log: Logger, everyMs = EVERY_MS) {
    this.periodic = new Periodic(() => this.relay(Date.now()), () => everyMs,
      (err) => this.log.warn({ err: (err as Error).message }, 'admin chat relay failed; retrying'));
  }

  start(): void {
    this.periodic.start();
  }

  stop(): Promise<void> {
    return this.periodic.stop();
  }

  /** One turn: the pending notes, bundled into one message. */
  async relay(now: number): Promise<void> {
    const chat = this.engine.getConfig()[ADMIN_CHAT] as { chat_id: string | number; connection?: string } | undefined;
    if (!chat || checkAdminChat(chat).length) return;
    const store = this.engine.store.contacts;
    const notes = await store.notesToRelay(50);
    const stale = notes.filter((n) => n.at < now - STALE_MS);
    if (stale.length) await store.markRelayed(stale.map((n) => n.id));
    const bundle: AdminNote[] = [];
    let text = '';
    for (const n of notes.filter((x) => x.at >= now - STALE_MS)) {
      const line = `${LABEL[n.kind]}: ${n.text}`;
      if (bundle.length && text.length + line.length + 2 > MAX_TEXT) break;
      text += (text ? '\n\n' : '') + line.slice(0, MAX_TEXT);
      bundle.push(n);
    }
    if (!bundle.length) return;
    const conn = this.engine.connections.get('telegram', chat.connection ?? 'default');
    try {
      await new TelegramClient(this.http, conn.settings).sendMessage({ chat_id: String(chat.chat_id), text }, 10_000);
    } catch (e) {
      if (!(e instanceof ServiceFailure) || e.failure === 'retry' || e.failure === 'refresh') throw e;
      this.log.error({ err: e.message, chat: chat.chat_id }, 'the admins\' chat refused the notes; they stay in the inbox');
    }
    await store.markRelayed(bundle.map((n) => n.id));
  }
}
