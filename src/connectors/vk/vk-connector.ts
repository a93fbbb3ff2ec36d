import type { Connector } from '../connector.ts';
import { vkSendFileNode } from './send-file.ts';
import { vkSendMessageNode } from './send-message.ts';
import { VK_API_URL, VK_API_VERSION, VK_PACE } from './vk-client.ts';

/**
 * VK communities: sending through the VK API with a community token, and the Callback API settings
 * (`secret`, `confirmation`) that vk-callback.ts checks on every event VK posts.
 */
export const vkConnector: Connector = {
  name: 'vk',
  description: 'VK community: send messages (with buttons) through the VK API; receive events through the Callback API.',
  settingsSchema: {
    type: 'object',
    required: ['access_token', 'group_id'],
    properties: {
      access_token: { type: 'string', minLength: 20, description: 'Community access token (Manage community → API usage → Access tokens), with the messages right.' },
      group_id: { type: ['string', 'integer'], pattern: '^[0-9]+$', minimum: 1, description: 'The community\'s numeric id (without the minus sign).' },
      secret: { type: 'string', minLength: 1, maxLength: 50, description: 'Callback API secret key: VK sends it in every event; events without it are refused.' },
      confirmation: { type: 'string', minLength: 1, description: 'The confirmation string VK shows on the Callback API page, answered to VK\'s confirmation request.' },
      api_url: { type: 'string', pattern: '^https?://', default: VK_API_URL, description: 'VK API server; a test fake.' },
      v: { type: 'string', pattern: '^[0-9]+\\.[0-9]+$', default: VK_API_VERSION, description: 'VK API version.' },
    },
  },
  secretFields: ['access_token', 'secret'],
  pace: VK_PACE,
  nodeTypes: [vkSendMessageNode, vkSendFileNode],
};
