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

/**
 * The name of a personal invite link into a private channel (telegram.invite_link, `personal`):
 * `i<contact id>_<signature>` or `i<contact id>_<product>_<signature>`. Telegram allows 32 characters
 * and gives the name back with a join, so a join by a forwarded link can be told apart from the
 * person's own (the joiner differs from the contact the link names).
 */
export const INVITE_NAME_MAX = 32;

export function inviteName(contactId: number, product: string | undefined, sign: (v: string) => string): string {
  return `i${contactId}_${product ? `${product}_` : ''}${sign(`invite:${contactId}:${product ?? ''}`)}`;
}

/** The invite link's contact (and product, if it has one) if the name is ours and untouched; null otherwise. */
export function readInviteName(name: string | undefined, sign: (v: string) => string): { contactId: number; product?: string } | null {
  const m = /^i(\d{1,12})_(?:([A-Za-z0-9]{1,16})_)?([A-Za-z0-9_-]{12})$/.exec(name ?? '');
  if (!m) return null;
  const contactId = Number(m[1]);
  if (sign(`invite:${contactId}:${m[2] ?? ''}`) !== m[3]) return null;
  return m[2] ? { contactId, product: m[2] } : { contactId };
}

/**
 * The personal link a trigger with `paid_link: true` checks: a deep link (link.paid) for `start`, an
 * invite link's name (telegram.invite_link) for `joined`; null when the payload is not one of ours.
 */
export function readPersonalLink(kind: string, payload: string | undefined, sign: (v: string) => string): { contactId: number; product?: string } | null {
  return kind === 'joined' ? readInviteName(payload, sign) : readPaidPayload(payload, sign);
}
