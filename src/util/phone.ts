import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';

export interface NormalizedPhone {
  /** `+79161234567` */
  e164: string;
  /** The same without the plus, `79161234567`: SMS gateways' wording and deduplication keys. */
  digits: string;
}

// Longer than any E.164 number (15 digits) even with a trunk prefix: a typo or two numbers run together.
const MAX_DIGITS = 15;
const LABEL = /^(тел(ефон)?|моб(ильный)?|сот(овый)?|tel|phone|mob(ile)?)\.?\s*:?\s*/iu;
const EXTENSION = /[\s,]*(доб(авочный)?|ext|x)\.?\s*\d{1,6}\s*$/iu;

/**
 * A phone as people write it (`+7 (916) 123-45-67`, `8 916 123 45 67`, `9161234567`, `+1 212 555 0100`)
 * → E.164, or null when it is not a possible number. Russian habits first: a leading 8 on 11 digits is
 * the trunk prefix of +7, and 10 digits starting with 9 are a mobile number without its country code.
 */
export function normalizePhone(raw: unknown, defaultCountry: CountryCode = 'RU'): NormalizedPhone | null {
  if (typeof raw !== 'string' && typeof raw !== 'number') return null;
  // A label before it and an extension after it are dropped; any other word means this is not just a phone.
  const text = String(raw).trim().replace(LABEL, '').replace(EXTENSION, '');
  if (!text || /\p{L}/u.test(text)) return null;
  const plus = /^\s*(\+|00)/.test(text);
  let digits = text.replace(/\D/g, '');
  if (plus && text.trimStart().startsWith('00')) digits = digits.slice(2);
  if (digits.length < 5 || digits.length > MAX_DIGITS) return null;
  let international = plus;
  if (!plus && defaultCountry === 'RU') {
    if (digits.length === 11 && digits.startsWith('8')) [digits, international] = [`7${digits.slice(1)}`, true];
    else if (digits.length === 11 && digits.startsWith('7')) international = true;
    else if (digits.length === 10 && digits.startsWith('9')) [digits, international] = [`7${digits}`, true];
  }
  const parsed = international ? parsePhoneNumberFromString(`+${digits}`) : parsePhoneNumberFromString(digits, defaultCountry);
  if (!parsed?.isPossible()) return null;
  return { e164: parsed.number, digits: parsed.number.slice(1) };
}
