import { person } from './fake-telegram-updates.ts';
import type { UpdateDraft } from './fake-telegram-updates.ts';
import type { TelegramUser } from './telegram-updates.ts';

export interface FakeBusinessConnection {
  id: string;
  owner: TelegramUser;
  enabled: boolean;
  date: number;
}

/**
 * The Telegram Business side of the fake: which accounts connected the bot, and whether the
 * connection is on. sendMessage with `business_connection_id` is checked against it as Telegram does.
 */
export class FakeBusinessAccounts {
  private readonly connections = new Map<string, FakeBusinessConnection>();

  /** The connection id the fake gives an owner (the update builders use the same). */
  static idOf(ownerId: number): string {
    return `BConn${ownerId}`;
  }

  /** The owner connects (or reconnects) the bot: the `business_connection` update Telegram sends. */
  connect(ownerId: number): UpdateDraft {
    return this.set(ownerId, true);
  }

  /** The owner switches the bot off in Telegram Business settings: `is_enabled: false`. */
  disconnect(ownerId: number): UpdateDraft {
    return this.set(ownerId, false);
  }

  /** Business messages only come through a live connection: one seen first in a message is enabled. */
  ensure(ownerId: number): void {
    if (!this.connections.has(FakeBusinessAccounts.idOf(ownerId))) this.set(ownerId, true);
  }

  get(id: string): FakeBusinessConnection | undefined {
    return this.connections.get(id);
  }

  /** Why Telegram refuses to send through `id`, or null when it may. */
  refusal(id: string): string | null {
    const c = this.connections.get(id);
    if (!c) return 'business connection not found';
    return c.enabled ? null : 'BUSINESS_CONNECTION_INVALID';
  }

  private set(ownerId: number, enabled: boolean): UpdateDraft {
    const id = FakeBusinessAccounts.idOf(ownerId);
    const owner = person(ownerId, { first_name: 'Owner', last_name: undefined, username: `owner${ownerId}` });
    const date = this.connections.get(id)?.date ?? Math.floor(Date.now() / 1000);
    this.connections.set(id, { id, owner, enabled, date });
    return {
      business_connection: {
        id, user: owner, user_chat_id: ownerId, date, is_enabled: enabled,
        rights: { can_reply: true, can_read_messages: true },
      },
    };
  }
}
