import type { Connector } from '../connector.ts';
import { personCreateNode, personFindNode, personUpsertNode } from './person-nodes.ts';
import { PIPEDRIVE_API_URL, PIPEDRIVE_PACE } from './pipedrive-client.ts';
import { activityCreateNode, dealCreateNode, dealUpdateNode, leadCreateNode, organizationCreateNode } from './sales-nodes.ts';

/** Pipedrive CRM through its REST API (v2 where it exists, v1 for leads), with a personal API token. */
export const pipedriveConnector: Connector = {
  name: 'pipedrive',
  description: 'Pipedrive CRM: persons (find, create, upsert without duplicates), organizations, leads, deals and activities.',
  settingsSchema: {
    type: 'object',
    required: ['api_token'],
    properties: {
      api_token: { type: 'string', minLength: 10, description: 'Personal API token (Pipedrive → Personal preferences → API).' },
      api_url: {
        type: 'string', pattern: '^https?://', default: PIPEDRIVE_API_URL,
        description: 'Your company\'s address, e.g. https://yourcompany.pipedrive.com; a test fake in tests.',
      },
    },
  },
  secretFields: ['api_token'],
  pace: PIPEDRIVE_PACE,
  nodeTypes: [
    personCreateNode, personFindNode, personUpsertNode, organizationCreateNode,
    leadCreateNode, dealCreateNode, dealUpdateNode, activityCreateNode,
  ],
};
