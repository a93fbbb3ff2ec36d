/**
 * Signed, contact-bound deep links into a paid bot (seed 001): `https://t.me/<bot>?start=<payload>`
 * with payload `p_<contact id>_<product>_<signature>` — at most 64 characters of A–Z a–z 0–9 _ -, as
 * Telegram requires. Entering the bot with it works only for the person it was made for: a forwarded
 * link is refused (the entering contact differs), and a made-up one fails the signature.
 */
export const PRODUCT = /^[A-Za-z0-9]{1,16}$/;

export function paidPayload(contactId: number, product: string, sign: (v: string) => string): string {
  return `p_${contactId}_${product}_${sign(`paid:${contactId}:${product}`)}`;
}

/** The link's contact and product if the payload is one of ours and untouched; null otherwise. */
export function readPaidPayload(payload: string | undefined, sign: (v: string) => string): { contactId: number; product: string } | null {
  const m = /^p_(\d{1,12})_([A-Za-z0-9]{1,16})_([A-Za-z0-9_-]{12})$/.exec(payload ?? '');
  if (!m) return null;
  const contactId = Number(m[1]);
  return sign(`paid:${contactId}:${m[2]}`) === m[3] ? { contactId, product: m[2] } : null;
}
