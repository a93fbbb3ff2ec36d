/**
 * One thing that happened in a chat with a bot, whatever the platform: what triggers and funnel steps
 * react to. Platform adapters (Telegram updates, VK Callback API events) turn raw updates into these;
 * the raw update is kept beside it for audits.
 */
export interface InboundEvent {
  platform: 'telegram' | 'vk';
  /** The bot (Telegram bot id, the token's number) or community (VK group id) it came to. */
  botId: string;
  /** The person: Telegram user id / VK user id. Matches one contact across all bots of a project. */
  userId: string;
  /** Where to answer: the chat (Telegram chat id, VK peer id). */
  chatId: string;
  kind: InboundKind;
  /** Message text or caption; for `start`, the text after /start. */
  text?: string;
  /** For `start`: the deep-link payload (≤ 64 chars); for `button`: the button's callback data / payload. */
  payload?: string;
  /** The platform's id of this update/event, for deduplicating redeliveries (`telegram:<update_id>`, `vk:<event_id>`). */
  eventId: string;
  /** Platform time of the event, epoch ms. */
  at: number;
  /** The person's name as the platform shows it (first + last, or username), when known. */
  name?: string;
  username?: string;
  /** For `button`: the id to answer (Telegram callback query id; VK message_event `event_id`). */
  callbackQueryId?: string;
  /**
   * Telegram Business: the connection a `business_message` came through. Replies to that chat must go
   * through it (sendMessage `business_connection_id`), or they would come from the bot, not the account.
   */
  businessConnectionId?: string;
  /**
   * VK `message_reply` not typed by an admin (no `admin_author_id`): its ids, for telling our own
   * messages.send (VK echoes every outgoing message) from another app's. The store drops it as
   * 'own message' when they are of a message we sent.
   */
  sent?: { randomId?: number; messageId?: number };
  /**
   * An outcome known on arrival: the event is kept for the record, already processed, and nothing
   * reacts to it (e.g. a Telegram Business connection switched off by its owner).
   */
  settled?: string;
  /** For `payment`: what was paid or refunded (POST /api/v1/projects/P/payments; see funnels/payment.ts). */
  payment?: import('./payment.ts').PaymentDetails;
}

export type InboundKind =
  /** A message from the person. */
  | 'message'
  /** A message written in the chat by an operator or the community (Telegram business owner, VK `message_reply`): its text may be a code word. */
  | 'operator_message'
  /** The person entered the bot: Telegram /start (with `payload` from a deep link), VK `message_allow`. */
  | 'start'
  /** A button press (Telegram callback_query, VK message_event). */
  | 'button'
  /** The person blocked the bot / denied messages (Telegram my_chat_member kicked, VK message_deny). */
  | 'blocked'
  /** The person unblocked the bot (Telegram my_chat_member member). */
  | 'unblocked'
  /** The person joined / left the community (VK group_join / group_leave). */
  | 'joined'
  | 'left'
  /** A payment of the person succeeded or was refunded (reported through the API, not by a bot). */
  | 'payment';
