import { newStemmer } from 'snowball-stemmers';

/**
 * What the meaning matcher knows about Russian: word stems (Snowball 'russian', cached), the few verb
 * and noun forms the stemmer does not bring together, the built-in synonym groups for common funnel
 * answers, and the word lists of the negation guard with the test whether a clause says «no» (see
 * trigger-match.ts for how they are used).
 * Words here are as normalizeText leaves them: lower case, ё written as е.
 */

const snowball = newStemmer('russian');

// The JS port of Snowball costs several microseconds per word; a chat uses few distinct words, so a
// small LRU keeps the per-message cost at a map lookup per word.
const CACHE_SIZE = 5000;
const cache = new Map<string, string>();
const CYRILLIC = /[а-я]/;

// Forms of one word that Snowball leaves with different stems (хочу → хоч, хотим → хот, хотел → хотел;
// день → ден, дня → дня). Mapped word by word, not stem by stem: the stem «хот» is also «хоть» and «хотя».
// Each family maps to the stem of its first word.
const FAMILIES: readonly (readonly string[])[] = [
  ['хотеть', 'хочу', 'хочешь', 'хочет', 'хочется', 'хотим', 'хотите', 'хотят', 'хотел', 'хотела', 'хотели', 'хотелось'],
  ['день', 'дня', 'дню', 'днем', 'дне', 'дни', 'дней'],
  ['купить', 'куплю'],
  ['оплатить', 'оплачу', 'оплачиваю', 'оплачиваем'],
  ['приобрести', 'приобрету', 'приобрела', 'приобрел', 'приобретаю', 'приобретем'],
  ['расскажи', 'рассказать', 'расскажете', 'расскажешь'],
  ['благодарю', 'благодарность', 'благодарна', 'благодарны'],
  ['интересно', 'интересует', 'интересен', 'интересна', 'интерес'],
];
const IRREGULAR = new Map<string, string>();
for (const [head, ...forms] of FAMILIES) {
  const stem = snowball.stem(head!);
  for (const form of [head!, ...forms]) IRREGULAR.set(form, stem);
}

/** The stem of one normalized word; words without Cyrillic letters (code words, numbers) are their own stem. */
export function stemWord(word: string): string {
  // Negations are compared as written: Snowball turns «неа» into «не».
  if (NEGATORS.has(word)) return word;
  const irregular = IRREGULAR.get(word);
  if (irregular !== undefined) return irregular;
  let stem = cache.get(word);
  if (stem !== undefined) {
    cache.delete(word); // re-inserted below: Map order is the recency order
  } else {
    stem = CYRILLIC.test(word) ? snowball.stem(word) : word;
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
  }
  cache.set(word, stem);
  return stem;
}

export interface SynonymGroup {
  name: string;
  phrases: readonly string[];
  /** A group of refusals: its phrases are matched even in a message that refuses (it is the refusal). */
  refusal?: boolean;
}

/**
 * Built-in groups for answers funnels wait for. A rule's value that is one of these phrases matches any
 * phrase of its group; rules add their own groups with `synonyms`. Forms the stemmer already joins
 * (спасиба/спасибо, курсы/курс) need not be listed.
 */
export const BUILTIN_GROUPS: readonly SynonymGroup[] = [
  { name: 'thanks', phrases: ['спасибо', 'спасибочки', 'спасибки', 'благодарю', 'благодарность', 'спс', 'пасиб', 'пасибо', 'сенкс', 'thanks', 'thank you', 'thx'] },
  { name: 'yes', phrases: ['да', 'ага', 'угу', 'конечно', 'хочу', 'давайте', 'давай', 'не откажусь'] },
  { name: 'no', refusal: true, phrases: ['нет', 'неа', 'не', 'не надо', 'не нужно', 'не хочу', 'неинтересно', 'не интересно', 'неактуально', 'не актуально', 'ни за что'] },
  { name: 'more', phrases: ['расскажите', 'расскажи', 'подробнее', 'интересно', 'хочу узнать'] },
  { name: 'buy', phrases: ['купить', 'оплатить', 'оплата', 'приобрести', 'покупаю', 'покупка', 'беру'] },
  { name: 'price', phrases: ['цена', 'стоимость', 'сколько стоит', 'почем', 'прайс'] },
  { name: 'birthday', phrases: ['день рождения', 'др', 'днюха'] },
];

/** Words that negate what follows them in their clause (the local guard). */
export const NEGATORS: ReadonlySet<string> = new Set(['не', 'нет', 'ни', 'без', 'неа']);

/** Words that say «no» on their own: a refusal when they stand alone, open a clause or close it. */
export const REFUSAL_WORDS: ReadonlySet<string> = new Set(['нет', 'неа']);

/**
 * Clause openers that refuse (compared by stem after the first word): «спасибо, не надо», «но я не хочу»,
 * «мне не интересно», «не сейчас». A bare «не» refuses only when nothing but soft words follows («не, спасибо»).
 * Not «не буду» / «не стоит»: «не буду против», «не стоит благодарности» say yes.
 */
export const REFUSAL_OPENERS: readonly string[] = [
  'не надо', 'не нужно', 'не хочу', 'не интересно', 'неинтересно', 'не актуально', 'неактуально',
  'не сейчас', 'не готова', 'не готов', 'ни за что',
];

/** After a clause-opening «нет» these make it «there is no …», not «no»: «нет проблем», «нет слов». */
export const NOT_REFUSAL_AFTER_NET: ReadonlySet<string> = new Set(['проблем', 'проблемы', 'вопросов', 'вопроса', 'слов', 'сомнений', 'никаких', 'возражений']);

/**
 * Words that do not change whether a clause refuses: conjunctions, softeners, politeness, pronouns.
 * «но нет», «ну уж нет», «спасибо нет», «я думаю что нет», «мне пока не надо».
 */
export const SOFT_WORDS: ReadonlySet<string> = new Set([
  'но', 'а', 'ну', 'ой', 'да', 'и', 'же', 'уж', 'уже', 'пока', 'еще', 'наверное', 'наверно', 'пожалуй',
  'думаю', 'кажется', 'скорее', 'точно', 'конечно', 'тоже', 'все', 'таки', 'тогда', 'увы', 'спасибо',
  'спс', 'благодарю', 'пожалуйста', 'извините', 'простите', 'сорри', 'я', 'мы', 'мне', 'нам', 'вам',
  'вас', 'это', 'так', 'ладно', 'что', 'вообще', 'совсем', 'теперь', 'больше',
]);

/**
 * Words a rule's phrase may drop in meaning mode («хочу на курс» matches «хочу курс»): prepositions,
 * conjunctions, particles, pronouns. Never negations.
 */
export const STOP_WORDS: ReadonlySet<string> = new Set([
  'в', 'во', 'на', 'с', 'со', 'к', 'ко', 'о', 'об', 'у', 'из', 'от', 'до', 'для', 'за', 'по', 'при',
  'про', 'и', 'а', 'но', 'же', 'ли', 'бы', 'то', 'я', 'мне', 'меня', 'мы', 'нам', 'нас', 'вы', 'вас',
  'вам', 'ты', 'тебе', 'тебя', 'мой', 'моя', 'мое', 'мои', 'ваш', 'ваша', 'ваше', 'ваши', 'это', 'пожалуйста',
]);

// Longest first: «не надо» wins over a bare «не».
const OPENERS = REFUSAL_OPENERS.map((o) => {
  const [first, ...rest] = o.split(' ');
  return { first: first!, rest: rest.map(stemWord), text: o };
}).sort((a, b) => b.rest.length - a.rest.length);

/** Whether one clause says «no» (rule 2 in trigger-match.ts's header), and where: the word index and the words. */
export function clauseRefusal(words: string[], stems: string[]): { at: number; words: string } | undefined {
  let k = 0;
  while (k < words.length && SOFT_WORDS.has(words[k]!)) k++;
  if (k === words.length) return undefined;
  for (const o of OPENERS) {
    if (words[k] === o.first && o.rest.every((s, i) => stems[k + 1 + i] === s)) return { at: k, words: o.text };
  }
  const rest = words.slice(k + 1);
  if (REFUSAL_WORDS.has(words[k]!) && !NOT_REFUSAL_AFTER_NET.has(words[k + 1] ?? '')) return { at: k, words: words[k]! };
  if (words[k] === 'не' && rest.every((w) => SOFT_WORDS.has(w))) return { at: k, words: 'не' };
  let e = words.length - 1;
  while (e > k && SOFT_WORDS.has(words[e]!)) e--;
  if (e > k && REFUSAL_WORDS.has(words[e]!) && SOFT_WORDS.has(words[e - 1]!)) return { at: e, words: `${words[e - 1]} ${words[e]}` };
  return undefined;
}
