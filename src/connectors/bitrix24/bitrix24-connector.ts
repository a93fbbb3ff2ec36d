import type { Connector } from '../connector.ts';
import { BITRIX24_OAUTH_URL, BITRIX24_PACE } from './bitrix24-client.ts';
import { callNode } from './call-node.ts';
import { contactFindNode, duplicateFindNode, leadFindNode } from './find-nodes.ts';
import { leadAddNode, leadUpdateNode } from './lead-nodes.ts';

const HTTP_URL = { type: 'string', pattern: '^https?://' };

/** Bitrix24 CRM through its REST API, by incoming webhook or as an OAuth app. */
export const bitrix24Connector: Connector = {
  name: 'bitrix24',
  description: 'Bitrix24 CRM: add, update and find leads and contacts, find duplicates, call any REST method.',
  settingsSchema: {
    type: 'object',
    // Either an incoming webhook, or an OAuth app's portal and tokens.
    anyOf: [{ required: ['webhook_url'] }, { required: ['portal_url', 'access_token', 'refresh_token', 'client_id', 'client_secret'] }],
    properties: {
      webhook_url: {
        type: 'string', pattern: '^https?://.+/rest/[0-9]+/[^/]+',
        description: 'Incoming webhook, https://{portal}/rest/{user_id}/{code}/ (the code is a secret).',
      },
      portal_url: { ...HTTP_URL, description: 'OAuth: the portal, e.g. https://example.bitrix24.ru.' },
      access_token: { type: 'string', minLength: 1, description: 'OAuth: access token (lives an hour; refreshed and saved here by Conveyor).' },
      refresh_token: { type: 'string', minLength: 1, description: 'OAuth: refresh token (about 28 days; replaced on every refresh).' },
      client_id: { type: 'string', minLength: 1, description: 'OAuth: the application\'s client_id.' },
      client_secret: { type: 'string', minLength: 1, description: 'OAuth: the application\'s client_secret.' },
      oauth_url: { ...HTTP_URL, default: BITRIX24_OAUTH_URL, description: 'OAuth server that refreshes tokens.' },
    },
  },
  secretFields: ['webhook_url', 'access_token', 'refresh_token', 'client_secret'],
  pace: BITRIX24_PACE,
  nodeTypes: [leadAddNode, leadUpdateNode, leadFindNode, contactFindNode, duplicateFindNode, callNode],
};
