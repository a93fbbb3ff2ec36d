import type { Contact, ContactStore } from '../storage/contact-store.ts';
import type { InboundEvent } from './inbound-event.ts';
import { recordPurchase, type Purchase } from './nodes/purchase.ts';

/**
 * Payments reach funnels as inbound events of kind `payment`: reported through the API
 * (POST /api/v1/projects/P/payments) by the shop or a payment provider's relay, stored before they are
 * acknowledged, deduplicated by payment id and status, and processed in order with the person's other
 * events. Processing records the purchase on the contact (or marks it refunded) and starts the funnels
 * whose trigger is `on: payment` (with optional `product` / `status` filters).
 */
export interface PaymentDetails {
  /** The shop's or provider's id of the payment; a refund carries the id of the payment it returns. */
  id: string;
  contactId: number;
  amount: number;
  currency: string;
  product: string;
  status: PaymentStatus;
}

export type PaymentStatus = 'succeeded' | 'refunded';

/** The tag a recorded payment sets, as `purchase.record` does by default. */
export const BOUGHT_TAG = 'bought';

/**
 * The inbound event of a payment. It is a person's event in `connection` (the bot the funnel talks to
 * them in), so their other events and this one are processed in order. Its id makes a repeat of the
 * same report (same payment, same status) a duplicate; a refund of it is a new event.
 */
export function paymentEvent(p: PaymentDetails, contact: Contact, connection: string, at: number): InboundEvent {
  const bot = contact.bots.find((b) => b.connection === connection);
  if (!bot) throw new Error(`contact ${contact.id} has never written to bot "${connection}"`);
  return {
    platform: contact.platform, botId: '', userId: contact.userId, chatId: bot.chatId, kind: 'payment',
    eventId: `payment:${p.status}:${p.id}`, at, payment: p,
  };
}

/** Records what a payment event says on the contact; answers what it did, for the inbound log. */
export async function recordPayment(contacts: ContactStore, contactId: number, p: PaymentDetails, at: number): Promise<string> {
  const contact = await contacts.getContact(contactId);
  if (!contact) return `payment ${p.id}: contact ${contactId} no longer exists`;
  if (p.status === 'succeeded') {
    const purchase: Purchase = { product: p.product, amount: p.amount, currency: p.currency, at: new Date(at).toISOString(), payment_id: p.id };
    const { recorded } = await recordPurchase(contacts, contact, purchase, BOUGHT_TAG);
    return recorded ? `recorded the purchase of ${p.product} (payment ${p.id})` : `payment ${p.id} was recorded already`;
  }
  // A refund marks the purchase; tags are permanent, so "bought" stays unless a funnel removes it.
  const purchases = Array.isArray(contact.vars.purchases) ? (contact.vars.purchases as Purchase[]) : [];
  const i = purchases.findIndex((x) => x?.payment_id === p.id);
  if (i < 0) return `refund of payment ${p.id}: no purchase with this payment id on contact ${contactId}`;
  if (purchases[i]!.refunded_at) return `payment ${p.id} was marked refunded already`;
  const marked = purchases.map((x, j) => (j === i ? { ...x, refunded_at: new Date(at).toISOString() } : x));
  await contacts.setVars(contactId, { purchases: marked });
  return `marked the purchase of ${purchases[i]!.product} refunded (payment ${p.id})`;
}

/** What a funnel started by a payment gets in its task data. */
export function paymentFields(p: PaymentDetails | undefined): Record<string, unknown> {
  return p ? { payment_id: p.id, payment_status: p.status, product: p.product, amount: p.amount, currency: p.currency } : {};
}
