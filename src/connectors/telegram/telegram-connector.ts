import type { Connector } from '../connector.ts';
import { inviteLinkNode } from './invite-link.ts';
import { removeMemberNode } from './remove-member.ts';
import { sendMediaNode } from './send-media.ts';
import { sendMessageNode } from './send-message.ts';
import { TELEGRAM_API_URL, TELEGRAM_PACE } from './telegram-client.ts';

/** Telegram bots through the Bot API; sending only (updates come in through a webhook elsewhere). */
export const telegramConnector: Connector = {
  name: 'telegram',
  description: 'Telegram bot: send messages and files (with inline buttons, also on behalf of a Business account), make invite links and remove members through the Bot API.',
  settingsSchema: {
    type: 'object',
    required: ['bot_token'],
    properties: {
      bot_token: { type: 'string', pattern: '^[0-9]+:[A-Za-z0-9_-]+$', description: 'The bot\'s token from @BotFather, e.g. 123456:ABC-DEF….' },
      api_url: { type: 'string', pattern: '^https?://', default: TELEGRAM_API_URL, description: 'Bot API server; a local Bot API server or a test fake.' },
      receive: { enum: ['webhook', 'polling'], description: 'How updates reach funnels: webhook (POST …/connections/telegram/NAME/webhook sets it) or long polling for a machine without a public URL.' },
    },
  },
  secretFields: ['bot_token'],
  pace: TELEGRAM_PACE,
  nodeTypes: [sendMessageNode, sendMediaNode, inviteLinkNode, removeMemberNode],
};
