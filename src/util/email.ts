// Deliberately plain: a local part without spaces, one @, a domain of dot-separated labels with a
// top-level part of letters (IDN domains as punycode or in Cyrillic, e.g. почта.рф).
const EMAIL = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?\.)+(?:[\p{L}]{2,63}|xn--[a-z0-9-]{1,59})$/u;

/**
 * An email as people type it → trimmed and lower-cased (`Anna@Mail.RU ` → `anna@mail.ru`), or null
 * when it is not an address. `mailto:` and angle brackets (`Anna <anna@mail.ru>`) are taken off.
 */
export function normalizeEmail(raw: unknown): string | null {
  if (typeof raw !== 'string') return null;
  let s = raw.trim();
  const bracketed = /<([^<>\s]+)>\s*$/.exec(s);
  if (bracketed) s = bracketed[1];
  s = s.replace(/^mailto:/i, '').toLowerCase();
  if (s.length > 254 || !EMAIL.test(s)) return null;
  return s;
}
