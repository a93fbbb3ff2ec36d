import { findPhoneNumbersInText } from 'libphonenumber-js';
import { normalizeEmail } from '../../util/email.ts';
import { normalizePhone } from '../../util/phone.ts';
import { emptyLead, type Lead } from './lead-schema.ts';

/**
 * A lead read from a Russian first message by rules: the phone and email (reliably), the name when the
 * person introduces themselves, the time they ask for, the city, and the service after a request verb.
 * Used when no model is configured or the model's answer is unusable, so it errs towards null.
 */
export function extractLeadByRules(input: string): Lead {
  const text = String(input ?? '').normalize('NFC');
  const lead = emptyLead();
  const used: Span[] = [];
  if (!text.trim()) return lead;

  const phone = findPhone(text);
  const email = findEmail(text);
  lead.phone = phone?.value ?? null;
  lead.email = email?.value ?? null;
  for (const f of [phone, email]) if (f) used.push(f.span);
  // Phones and emails become line breaks: later rules neither read their digits nor run across them.
  let rest = text;
  for (const s of used) rest = rest.slice(0, s.start) + '\n'.padEnd(s.end - s.start, ' ') + rest.slice(s.end);

  const name = findName(rest);
  const times = findTimes(rest);
  const city = findCity(rest);
  lead.name = name?.value ?? null;
  lead.preferred_time = times.length ? unique(times.map((s) => clean(text.slice(s.start, s.end)))).join(', ') : null;
  lead.city = city?.value ?? null;
  for (const f of [name, city]) if (f) used.push(f.span);
  used.push(...times);
  // The service is what is left of the request once the time, the city and the contacts are taken out.
  const service = findService(rest, used);
  lead.service = service?.value ?? null;
  if (service) used.push(service.span);
  lead.comment = leftover(text, used);
  return lead;
}

interface Span { start: number; end: number }
interface Found { value: string; span: Span }

// JavaScript's \b knows only Latin letters: these are word edges for Cyrillic text.
const B = '(?<![\\p{L}\\d])';
const E = '(?![\\p{L}\\d])';
const re = (source: string, flags = 'gu') => new RegExp(source, flags);

function findPhone(text: string): Found | null {
  for (const f of findPhoneNumbersInText(text, 'RU')) {
    const p = normalizePhone(text.slice(f.startsAt, f.endsAt));
    if (p) return { value: p.e164, span: { start: f.startsAt, end: f.endsAt } };
  }
  // Our own scan for what libphonenumber's validity check refuses (new ranges, test numbers).
  for (const m of text.matchAll(/(?<![\d+])\+?\d[\d\s()\-–.]{7,18}\d(?!\d)/g)) {
    const p = normalizePhone(m[0]);
    if (p) return { value: p.e164, span: { start: m.index, end: m.index + m[0].length } };
  }
  return null;
}

function findEmail(text: string): Found | null {
  for (const m of text.matchAll(/[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+/gu)) {
    const value = normalizeEmail(m[0].replace(/[.-]+$/, ''));
    if (value) return { value, span: { start: m.index, end: m.index + m[0].length } };
  }
  return null;
}

// ── Names ────────────────────────────────────────────────────────────────────────────────────────
const COMMON_NAMES = new Set(`Александр Александра Алексей Алена Алёна Алина Алиса Алла Анастасия Анатолий Андрей Анна Антон
  Аня Арина Арсений Артём Артем Борис Вадим Валентина Валерий Валерия Варвара Василий Вера Вероника Виктор Виктория Виталий
  Владимир Владислав Вова Галина Глеб Григорий Дарья Даша Денис Диана Дима Дмитрий Евгений Евгения Егор Екатерина Елена Елизавета
  Женя Жанна Зарина Злата Игорь Илья Инна Ирина Ира Кира Кирилл Константин Кристина Ксения Катя Лариса Лена Леонид Лидия Лилия
  Любовь Людмила Максим Маргарита Марина Мария Марк Маша Матвей Михаил Надежда Наталья Наталия Наташа Никита Николай Нина Оксана
  Олег Ольга Оля Павел Полина Пётр Петр Роман Руслан Светлана Света Семён Семен Сергей Снежана Софья София Станислав Степан Таисия
  Тамара Татьяна Таня Тимур Тимофей Ульяна Фёдор Федор Эдуард Эльвира Юлия Юля Юрий Яна Ярослав Ярослава`.split(/\s+/));

// Capitalized words after "это" / "я" that are not names.
const NOT_NAMES = new Set(`Вы Вас Вам Ваш Ваша Ваше Вами Мы Я Это Он Она Они Здравствуйте Привет Добрый Доброе Спасибо Да Нет
  Хорошо Подскажите Скажите Пожалуйста Хочу Можно Нужно Очень Срочно Клиент Клиентка Мама Папа Салон Компания Администратор`.split(/\s+/));

const NAME = '(\\p{Lu}\\p{Ll}+(?:-\\p{Lu}\\p{Ll}+)?(?:[ \\t]+\\p{Lu}\\p{Ll}+){0,2})';
// In order of trust: a plain introduction, a signature, "это Иван" / "я Ольга", a known name on its own.
const NAME_RULES: Array<{ rule: RegExp; known?: boolean }> = [
  { rule: re(`${B}(?:[Мм]еня\\s+зовут|[Мм]о[её]\\s+имя|[Зз]овут\\s+меня)\\s*[:—–-]?\\s*${NAME}`) },
  { rule: re(`${B}[Сс]\\s+уважением\\s*[,.!]?\\s*${NAME}`) },
  { rule: re(`${B}(?:[Ээ]то|[Яя])\\s*[—–-]?\\s+${NAME}${E}`) },
  // A known first name standing alone: «Анна, добрый день!», «…? Елена, +7 916…», a signature «Пётр».
  { rule: re(`(?:^|[.!?\\n])[\\s"«]*${NAME}\\s*(?=[,!.\\n]|$)`), known: true },
];

function findName(text: string): Found | null {
  for (const { rule, known } of NAME_RULES) {
    for (const m of text.matchAll(rule)) {
      const words = m[1].split(/\s+/);
      // Only the first word must be a name; the words after it may be a surname, never a city or a request.
      const kept = [words[0]];
      for (const w of words.slice(1)) {
        if (NOT_NAMES.has(w) || cityOf(w)) break;
        kept.push(w);
      }
      if (NOT_NAMES.has(kept[0]) || cityOf(kept[0])) continue;
      if (known && !COMMON_NAMES.has(kept[0])) continue;
      const start = m.index + m[0].lastIndexOf(m[1]);
      return { value: kept.join(' '), span: { start: m.index, end: start + kept.join(' ').length } };
    }
  }
  return null;
}

// ── Preferred time ───────────────────────────────────────────────────────────────────────────────
const HOUR = '\\d{1,2}(?:[:.]\\d{2})?(?:\\s*(?:ч(?:ас(?:а|ов)?)?\\.?|утра|дня|вечера|ночи))?';
const NOT_HOURS = '(?!\\s*(?:тыс|руб|р\\.|₽|%|км|шт|лет|год|раз|чел|мин|кг|см|мм|м(?!\\p{L})|мес|недел|дн))';
const WEEKDAY = 'понедельник(?:ам)?|вторник(?:ам)?|сред[аыу]|средам|четверг(?:ам)?|пятниц[аыу]|пятницам|суббот[аыу]|субботам|воскресень[еяю]|воскресеньям';
const MONTH = 'января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря';
// Rules with hours say so: their numbers must be hours (≤ 24), not "в 2025" or "к 30".
const TIME_RULES = [
  { rule: `(?:сегодня|завтра|послезавтра)` },
  { rule: `(?:утром|дн[её]м|вечером|ночью|в\\s+обед|после\\s+обеда|до\\s+обеда|с\\s+утра|к\\s+вечеру|(?:в|во)\\s+(?:первой|второй)\\s+половине\\s+дня)` },
  { rule: `(?:(?:в|во|на|по|к|до|с|со)\\s+)?(?:(?:эт[оиуа]|следующ(?:ий|ую|ее)|ближайш(?:ий|ую|ее))\\s+)?(?:${WEEKDAY})` },
  { rule: `(?:на\\s+(?:этой|следующей|будущей)\\s+неделе|в\\s+выходные|на\\s+выходных|по\\s+выходным|в\\s+будни|в\\s+будние\\s+дни|по\\s+будням)` },
  { rule: `(?:в\\s+ближайшее\\s+время|в\\s+ближайшие\\s+дни|в\\s+течение\\s+дня|как\\s+можно\\s+(?:скорее|раньше)|в\\s+любое\\s+время|в\\s+любой\\s+день)` },
  { rule: `(?:с|со)\\s+${HOUR}\\s*(?:до|-|–|—)\\s*${HOUR}${E}`, hours: true },
  { rule: `(?:после|до|к|в|во|около|примерно\\s+в|с|начиная\\s+с)\\s+${HOUR}${E}${NOT_HOURS}`, hours: true },
  { rule: `через\\s+(?:\\d+\\s+)?(?:полчаса|минут[уы]?|час(?:а|ов)?|дн(?:я|ей)|день|недел[юи])` },
  { rule: `\\d{1,2}(?:-?го)?\\s+(?:${MONTH}|числа)` },
  { rule: `(?<![\\d.])\\d{1,2}\\.(?:0[1-9]|1[0-2])(?:\\.\\d{2,4})?(?![\\d.])` },
].map(({ rule, hours }) => ({ rule: re(`${B}${rule}${E}`, 'giu'), hours: hours ?? false }));

function findTimes(text: string): Span[] {
  const spans: Span[] = [];
  for (const { rule, hours } of TIME_RULES) {
    for (const m of text.matchAll(rule)) {
      if (hours && [...m[0].matchAll(/(?<![\d:.])\d{1,2}/g)].some((h) => Number(h[0]) > 24)) continue;
      spans.push({ start: m.index, end: m.index + m[0].length });
    }
  }
  spans.sort((a, b) => a.start - b.start);
  // Touching pieces ("в субботу" + "после 18") are one wish; pieces apart are listed.
  const merged: Span[] = [];
  for (const s of spans) {
    const last = merged.at(-1);
    if (last && (s.start <= last.end || /^\s*$/.test(text.slice(last.end, s.start)))) last.end = Math.max(last.end, s.end);
    else merged.push({ ...s });
  }
  return merged;
}

// ── City ─────────────────────────────────────────────────────────────────────────────────────────
// Nominative = the forms people write after "из", "в", "г.": enough for the biggest cities.
const CITY_FORMS: Array<[string, string]> = Object.entries({
  'Москва': 'Москв(?:а|ы|е|у|ой)', 'Санкт-Петербург': '(?:Санкт-)?Петербург(?:а|е|ом)?|Питер(?:а|е)?|СПб',
  'Тверь': 'Твер(?:ь|и)', 'Казань': 'Казан(?:ь|и)', 'Новосибирск': 'Новосибирск(?:а|е)?', 'Екатеринбург': 'Екатеринбург(?:а|е)?',
  'Нижний Новгород': 'Нижн(?:ий|его|ем)\\s+Новгород(?:а|е)?', 'Краснодар': 'Краснодар(?:а|е)?', 'Самара': 'Самар(?:а|ы|е|у)',
  'Ростов-на-Дону': 'Ростов(?:а|е)?(?:-на-Дону)?', 'Уфа': 'Уф(?:а|ы|е|у)', 'Пермь': 'Перм(?:ь|и)', 'Воронеж': 'Воронеж(?:а|е)?',
  'Челябинск': 'Челябинск(?:а|е)?', 'Омск': 'Омск(?:а|е)?', 'Красноярск': 'Красноярск(?:а|е)?', 'Волгоград': 'Волгоград(?:а|е)?',
  'Саратов': 'Саратов(?:а|е)?', 'Тула': 'Тул(?:а|ы|е|у)', 'Ярославль': 'Ярославл(?:ь|я|е)', 'Калининград': 'Калининград(?:а|е)?',
  'Сочи': 'Сочи', 'Тюмень': 'Тюмен(?:ь|и)', 'Иркутск': 'Иркутск(?:а|е)?', 'Владивосток': 'Владивосток(?:а|е)?',
  'Хабаровск': 'Хабаровск(?:а|е)?', 'Ижевск': 'Ижевск(?:а|е)?', 'Барнаул': 'Барнаул(?:а|е)?', 'Томск': 'Томск(?:а|е)?',
  'Рязань': 'Рязан(?:ь|и)', 'Липецк': 'Липецк(?:а|е)?', 'Пенза': 'Пенз(?:а|ы|е|у)', 'Астрахань': 'Астрахан(?:ь|и)',
  'Ульяновск': 'Ульяновск(?:а|е)?', 'Оренбург': 'Оренбург(?:а|е)?', 'Кемерово': 'Кемерово', 'Махачкала': 'Махачкал(?:а|ы|е|у)',
  'Балашиха': 'Балаших(?:а|и|е|у)', 'Химки': 'Хим(?:ки|ок|ках)', 'Мытищи': 'Мытищ(?:и|ах)?', 'Подольск': 'Подольск(?:а|е)?',
  'Зеленоград': 'Зеленоград(?:а|е)?', 'Анапа': 'Анап(?:а|ы|е|у)', 'Минск': 'Минск(?:а|е)?', 'Алматы': 'Алматы',
});
const CITY_RULES = CITY_FORMS.map(([nominative, forms]) => ({ nominative, rule: re(`${B}(?:${forms})${E}`, 'u') }));

function cityOf(word: string): string | null {
  return CITY_RULES.find((c) => c.rule.test(word) && c.rule.exec(word)?.[0] === word)?.nominative ?? null;
}

function findCity(text: string): Found | null {
  // "г. Дубна", "город Дубна": the person names it, known or not.
  const named = re(`${B}(?:г\\.|город[ае]?|гор\\.)\\s*(\\p{Lu}[\\p{L}-]+(?:\\s+\\p{Lu}[\\p{L}-]+)?)`, 'u').exec(text);
  if (named) return { value: cityOf(named[1]) ?? named[1], span: { start: named.index, end: named.index + named[0].length } };
  let best: Found | null = null;
  for (const { nominative, rule } of CITY_RULES) {
    const m = rule.exec(text);
    if (m && (!best || m.index < best.span.start)) best = { value: nominative, span: { start: m.index, end: m.index + m[0].length } };
  }
  if (best) return best;
  // Unknown towns after "из" with a telling ending: "из Дзержинска" → Дзержинск.
  const from = re(`${B}из\\s+(\\p{Lu}\\p{Ll}+(?:ска|цка|бурга|града|горска))${E}`, 'u').exec(text);
  return from ? { value: from[1].slice(0, -1), span: { start: from.index, end: from.index + from[0].length } } : null;
}

// ── Service ──────────────────────────────────────────────────────────────────────────────────────
const WANT = '(?:хочу|хотим|хотел[аи]?\\s+бы|хотелось\\s+бы|можно(?:\\s+ли)?|планирую|нужно|надо|желаю|мечтаю)';
const SIGN_UP = `(?:${WANT}\\s+)?запи(?:сать(?:ся)?|шите|ши)(?:\\s+(?:меня|нас|ребенка|ребёнка))?(?:,?\\s+пожалуйста,?)?`;
// The case the service comes in after the words: "на стрижку" (accusative) and "к неврологу" (dative)
// are turned back into the nominative; after "интересует" it already is.
type Case = 'acc' | 'dat' | 'nom';
const SERVICE_RULES = ([
  [`${SIGN_UP}(?:\\s+к\\s+(?:вам|\\p{L}+))?\\s+на`, 'acc'],
  [`(?:${WANT}\\s+)?(?:заказать|купить|приобрести|оформить|сделать|поставить|установить|починить|отремонтировать|забронировать)`, 'acc'],
  [`(?:запись|окн[оа]|окошк[оа]|свободн(?:ое|ые)\\s+(?:время|места?))(?:\\s+к\\s+(?:вам|\\p{L}+))?\\s+на`, 'acc'],
  [`${SIGN_UP}\\s+(?:к|ко)`, 'dat'],
  [`(?:интересу(?:ет|ют)|интерес(?:ен|на|но|ны))`, 'nom'],
  [`(?:нуж(?:ен|на|но|ны)|требу(?:ется|ются))`, 'nom'],
  [`(?:по\\s+поводу|насч[её]т|касательно|узнать\\s+(?:цену|стоимость)|сколько\\s+стоит|стоимость|цена\\s+на)`, 'nom'],
  [`(?:хочу|хотим|хотел[аи]?\\s+бы)`, 'acc'],
] as Array<[string, Case]>).map(([rule, grammaticalCase]) => ({ rule: re(`${B}${rule}\\s+`, 'giu'), grammaticalCase }));

const SERVICE_STOP = re(`\\s(?:мой|моя|мои|мне|меня|пожалуйста|если|когда|перезвоните|позвоните|свяжитесь|напишите|телефон|номер|почта|тел\\.?|у\\s+вас)${E}`, 'iu');
const TRAILING = re(`(?:\\s+(?:в|во|на|к|ко|и|а|с|со|по|у|для|или|же|ли))+\\s*$`, 'iu');

function findService(text: string, used: Span[]): Found | null {
  for (const { rule, grammaticalCase } of SERVICE_RULES) {
    for (const m of text.matchAll(rule)) {
      const from = m.index + m[0].length;
      let to = from + text.slice(from).search(/[.!?;:,()\n]|$/);
      for (const s of used) if (s.start < to && s.end > from) to = Math.max(from, s.start);
      const stop = SERVICE_STOP.exec(' ' + text.slice(from, to));
      if (stop) to = from + Math.max(0, stop.index - 1);
      let value = clean(text.slice(from, to)).replace(TRAILING, '');
      if (!value || value.split(/\s+/).length > 8 || /^(?:бы|ли|вас|вам|вы)$/iu.test(value)) continue;
      const end = from + value.length;
      if (grammaticalCase === 'acc') value = nominative(value);
      if (grammaticalCase === 'dat') value = value.replace(/^(\p{Ll}{3,}[^аеиоуыэюя\s])[ую](?=\s|$)/u, '$1');
      return { value, span: { start: m.index, end } };
    }
  }
  return null;
}

/** "гигиеническую чистку лица" → "гигиеническая чистка лица": the head words only, feminine forms only. */
function nominative(phrase: string): string {
  const words = phrase.split(' ');
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w.length < 4 || /^\p{Lu}+$/u.test(w)) break;
    if (/ую$/u.test(w)) words[i] = w.replace(/ую$/u, 'ая');
    else if (/юю$/u.test(w)) words[i] = w.replace(/юю$/u, 'яя');
    else if (/[^аеиоуыэюя]у$/u.test(w)) words[i] = w.replace(/у$/u, 'а');
    else if (/(?:и|[^аеиоуыэюя])ю$/u.test(w)) words[i] = w.replace(/ю$/u, 'я');
    else break;
  }
  return words.join(' ');
}

// ── Comment: sentences nothing was read from, without greetings and thanks ───────────────────────
const SMALL_TALK = re(`${B}(?:здравствуйте|здравствуй|добрый\\s+(?:день|вечер)|доброе\\s+утро|доброго\\s+времени\\s+суток|привет(?:ствую)?|алло|тел|телефон|моб|почта|e-?mail|мой\\s+(?:номер|телефон)|(?:заранее\\s+)?спасибо|благодарю|с\\s+уважением|хорошего\\s+дня|пожалуйста)${E}`, 'giu');

function leftover(text: string, used: Span[]): string | null {
  const kept: string[] = [];
  for (const m of text.matchAll(/[^.!?…\n]+[.!?…]*/g)) {
    const span = { start: m.index, end: m.index + m[0].length };
    if (used.some((u) => u.start < span.end && u.end > span.start)) continue;
    if (!m[0].replace(SMALL_TALK, '').replace(/[\s\p{P}]+/gu, '')) continue;
    kept.push(clean(m[0]));
  }
  return kept.length ? kept.join(' ').slice(0, 500) : null;
}

function clean(s: string): string {
  return s.replace(/\s+/g, ' ').trim().replace(/^[,;:—–-]\s*|[,;:—–-]\s*$/g, '');
}

function unique(list: string[]): string[] {
  return [...new Set(list.filter(Boolean))];
}
