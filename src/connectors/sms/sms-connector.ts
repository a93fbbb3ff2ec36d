import { parseDuration } from '../../util/duration.ts';
import type { HttpClient } from '../../util/http-client.ts';
import type { Connection, Connector, Pace } from '../connector.ts';
import { connectorNode } from '../connector-node.ts';
import type { SmsGateway, SmsGatewayFactory } from './sms-gateway.ts';
import { SMSRU_API_URL, SmsRuGateway } from './smsru-gateway.ts';

/** The providers a connection may name in `gateway`; another provider is one file and one line here. */
const GATEWAYS: Record<string, SmsGatewayFactory> = {
  smsru: (settings, http) => new SmsRuGateway(http, settings),
};

/** SMS.ru's own advice is about 10 requests a second per account. */
const SMS_PACE: Pace = { perSecond: 10, burst: 10 };

function gatewayFor(connection: Connection, http: HttpClient): SmsGateway {
  const name = String(connection.settings.gateway ?? 'smsru');
  const make = GATEWAYS[name];
  if (!make) throw new Error(`gateway "${name}" is not known; known: ${Object.keys(GATEWAYS).join(', ')}`);
  return make(connection.settings, http);
}

const timeoutOf = (p: Record<string, unknown>) => parseDuration((p.timeout as string | number | undefined) ?? '30s');

const sendNode = connectorNode({
  type: 'sms.send',
  description: 'Send an SMS to a phone number; result {sms_id}.',
  connector: 'sms',
  pace: SMS_PACE,
  required: ['to', 'text'],
  params: {
    to: { type: 'string', minLength: 1, description: 'Phone number, e.g. {{phone}}; +7…, 8… and 7… are all read.' },
    text: { type: 'string', minLength: 1, description: 'Message text (templates allowed).' },
    from: { type: 'string', description: 'Sender name for this message, overriding the connection\'s `from`.' },
  },
  async call(ctx, connection, p) {
    const from = (p.from as string | undefined) || (connection.settings.from as string | undefined) || undefined;
    const test = connection.settings.test === true || connection.settings.test === 'true';
    const sent = await gatewayFor(connection, ctx.services.http).send(String(p.to ?? ''), String(p.text ?? ''), { from, test, timeoutMs: timeoutOf(p) });
    return { patch: { sms_id: sent.smsId }, exchange: sent.exchange };
  },
});

const statusNode = connectorNode({
  type: 'sms.status',
  description: 'Look up an SMS\'s delivery status; result {sms_status_code, delivered, sms_final}.',
  connector: 'sms',
  pace: SMS_PACE,
  required: ['sms_id'],
  params: {
    sms_id: { type: ['string', 'integer'], description: 'The id `sms.send` returned, e.g. {{sms_id}}.' },
  },
  async call(ctx, connection, p) {
    const s = await gatewayFor(connection, ctx.services.http).status(String(p.sms_id ?? ''), { timeoutMs: timeoutOf(p) });
    return { patch: { sms_status_code: s.code, delivered: s.delivered, sms_final: s.final }, exchange: s.exchange };
  },
});

export const smsConnector: Connector = {
  name: 'sms',
  description: 'SMS through a gateway (SMS.ru): send messages and check their delivery.',
  settingsSchema: {
    type: 'object',
    required: ['api_id'],
    properties: {
      gateway: { enum: Object.keys(GATEWAYS), default: 'smsru', description: 'The SMS provider.' },
      api_id: { type: 'string', minLength: 1, description: 'SMS.ru api_id (in your SMS.ru account → API).' },
      api_url: { type: 'string', pattern: '^https?://', default: SMSRU_API_URL, description: 'Gateway base URL; a test fake in tests.' },
      from: { type: 'string', minLength: 1, description: 'Approved sender name; the gateway\'s default when absent.' },
      test: { type: 'boolean', description: 'Gateway test mode: accepted, never delivered, not billed.' },
    },
  },
  secretFields: ['api_id'],
  pace: SMS_PACE,
  nodeTypes: [sendNode, statusNode],
};
