import type { FastifyInstance, FastifyReply } from 'fastify';
import type { AppContext } from '../app-context.ts';
import { paymentEvent, type PaymentStatus } from '../../funnels/payment.ts';
import type { Contact } from '../../storage/contact-store.ts';

interface PaymentBody {
  payment_id: string;
  contact: { id?: number; platform?: 'telegram' | 'vk'; user_id?: string };
  amount: number;
  currency: string;
  product: string;
  status: PaymentStatus;
  at?: string;
  bot?: string;
}

const BODY = {
  type: 'object',
  required: ['payment_id', 'contact', 'amount', 'currency', 'product', 'status'],
  additionalProperties: false,
  properties: {
    payment_id: { type: 'string', minLength: 1, maxLength: 200, description: 'The shop\'s or provider\'s payment id; a repeat of the same id and status is acknowledged and does nothing.' },
    contact: {
      type: 'object', additionalProperties: false, description: '{id} of the contact, or {platform, user_id} of the person.',
      properties: { id: { type: 'integer', minimum: 1 }, platform: { enum: ['telegram', 'vk'] }, user_id: { type: 'string', minLength: 1, maxLength: 64 } },
    },
    amount: { type: 'number', minimum: 0 },
    currency: { type: 'string', pattern: '^[A-Z]{3}$', description: 'ISO 4217, e.g. RUB.' },
    product: { type: 'string', minLength: 1, maxLength: 200 },
    status: { enum: ['succeeded', 'refunded'] },
    at: { type: 'string', format: 'date-time', description: 'When it was paid; default now.' },
    bot: { type: 'string', minLength: 1, description: 'The bot (connection) the funnels talk to the person in; default the first bot they wrote to.' },
  },
};

/**
 * Payments reported by the shop or a relay of the payment provider: stored as the person's inbound
 * event (funnels/payment.ts) before the answer, then processed like bot events. 202 when stored, 200
 * when it was stored before (the same payment id and status).
 */
export function paymentRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.post<{ Params: { project: string }; Body: PaymentBody }>(
    '/api/v1/projects/:project/payments',
    {
      schema: {
        tags: ['funnels'],
        summary: 'Report a payment or a refund: records the purchase on the contact and starts funnels with `on: payment` triggers',
        params: { type: 'object', properties: { project: { type: 'string' } } },
        body: BODY,
      },
    },
    async (req, reply) => {
      const engine = ctx.projects.get(req.params.project);
      const b = req.body;
      const c = b.contact;
      const byId = c.id !== undefined;
      if (byId === (c.platform !== undefined || c.user_id !== undefined)) return bad(reply, 'body.contact', 'give either id, or platform and user_id');
      if (!byId && (c.platform === undefined || c.user_id === undefined)) return bad(reply, `body.contact.${c.platform === undefined ? 'platform' : 'user_id'}`, 'is required with the other');
      const contacts = engine.store.contacts;
      const contact: Contact | undefined = byId ? await contacts.getContact(c.id!) : await contacts.findContact(c.platform!, c.user_id!);
      if (!contact) {
        const who = byId ? `contact ${c.id}` : `no contact of ${c.platform} user ${c.user_id}`;
        return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `body.contact: ${byId ? `${who} not found` : who} in project "${req.params.project}"`, field: 'body.contact' });
      }
      const bot = b.bot ?? contact.bots[0]?.connection;
      if (!bot || !contact.bots.some((x) => x.connection === bot)) return bad(reply, 'body.bot', `contact ${contact.id} has never written to bot "${bot}"`);
      const event = paymentEvent(
        { id: b.payment_id, contactId: contact.id, amount: b.amount, currency: b.currency, product: b.product, status: b.status },
        contact, bot, b.at ? Date.parse(b.at) : Date.now(),
      );
      const fresh = await contacts.putInbound(event, bot, b);
      if (fresh) ctx.projects.funnelsOf(req.params.project).signal();
      return reply.code(fresh ? 202 : 200).send({ payment_id: b.payment_id, status: b.status, contact_id: contact.id, bot, duplicate: !fresh });
    },
  );
}

function bad(reply: FastifyReply, field: string, message: string) {
  return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: `${field}: ${message}`, field });
}
