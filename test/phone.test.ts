import { describe, expect, it } from 'vitest';
import { normalizeEmail } from '../src/util/email.ts';
import { normalizePhone } from '../src/util/phone.ts';

describe('normalizePhone', () => {
  it.each([
    ['89161234567', '79161234567'],
    ['9161234567', '79161234567'],
    ['79161234567', '79161234567'],
    ['+79161234567', '79161234567'],
    ['+7 (916) 123-45-67', '79161234567'],
    ['8 916 123 45 67', '79161234567'],
    ['8(916)123-45-67', '79161234567'],
    [' 8-916-123-45-67 ', '79161234567'],
    ['+7 916 123.45.67', '79161234567'],
    ['тел.: +7 916 123-45-67', '79161234567'],
    ['8 (495) 123-45-67 доб. 123', '74951234567'],
    ['8 800 555 35 35', '78005553535'],
    ['4951234567', '74951234567'],
    ['+1 212 555 0100', '12125550100'],
    ['+44 20 7946 0958', '442079460958'],
    ['0044 20 7946 0958', '442079460958'],
    ['+380 44 123 4567', '380441234567'],
    [79161234567, '79161234567'],
  ])('%s → %s', (raw, digits) => {
    expect(normalizePhone(raw)).toEqual({ e164: `+${digits}`, digits });
  });

  it.each([
    ['7916123456789', 'too long'],
    ['+7916123456789', 'too long with a plus'],
    ['8916123456712345678', 'longer than E.164 allows'],
    ['12345', 'too short'],
    ['916123', 'too short'],
    ['', 'empty'],
    ['   ', 'blank'],
    ['позвоните после 18', 'words'],
    ['8 916 123 45 67 или 8 903 000 11 22', 'two numbers'],
  ])('%s → null (%s)', (raw) => {
    expect(normalizePhone(raw)).toBeNull();
  });

  it('rejects what is not a string or a number', () => {
    expect(normalizePhone(null)).toBeNull();
    expect(normalizePhone(undefined)).toBeNull();
    expect(normalizePhone({ phone: '89161234567' })).toBeNull();
  });

  it('reads national numbers of another default country', () => {
    expect(normalizePhone('(212) 555-0100', 'US')).toEqual({ e164: '+12125550100', digits: '12125550100' });
    // The 8 → 7 rule is Russia's trunk prefix; another country's numbers follow its own plan.
    expect(normalizePhone('030 1234567', 'DE')).toEqual({ e164: '+49301234567', digits: '49301234567' });
  });

  it('gives one key for every way of writing the same number (deduplication)', () => {
    const written = ['+7 (916) 123-45-67', '8 916 123 45 67', '9161234567', '79161234567', '8-916-1234567'];
    expect(new Set(written.map((w) => normalizePhone(w)?.digits)).size).toBe(1);
  });
});

describe('normalizeEmail', () => {
  it.each([
    ['anna@mail.ru', 'anna@mail.ru'],
    ['  Anna.Petrova@Mail.RU ', 'anna.petrova@mail.ru'],
    ['IGOR+crm@Yandex.ru', 'igor+crm@yandex.ru'],
    ['mailto:info@salon-krasoty.ru', 'info@salon-krasoty.ru'],
    ['Анна <anna@gmail.com>', 'anna@gmail.com'],
    ['ivan@почта.рф', 'ivan@почта.рф'],
    ['o.k@sub.domain.example.com', 'o.k@sub.domain.example.com'],
  ])('%s → %s', (raw, email) => {
    expect(normalizeEmail(raw)).toBe(email);
  });

  it.each([
    'anna', 'anna@', '@mail.ru', 'anna@mail', 'anna@@mail.ru', 'anna @mail.ru', 'an..na@mail.ru', '.anna@mail.ru',
    'anna@-mail.ru', 'anna@mail.r', 'анна@mail.ru', '', '   ',
  ])('%s → null', (raw) => {
    expect(normalizeEmail(raw)).toBeNull();
  });

  it('rejects what is not a string', () => {
    expect(normalizeEmail(null)).toBeNull();
    expect(normalizeEmail(42)).toBeNull();
  });
});
