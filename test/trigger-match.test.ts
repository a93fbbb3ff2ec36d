import { describe, expect, it } from 'vitest';
import { clauseWords, normalizeText } from '../src/funnels/text-normalize.ts';
import { checkRule, compileRule, matchText, type MatchRule } from '../src/funnels/trigger-match.ts';

describe('normalizeText', () => {
  it.each([
    ['  Спасибо!!! 🙏 Ёлка ', 'спасибо елка'],
    ['ТАРО!!!', 'таро'],
    ['❤️Спасибо❤️', 'спасибо'],
    ['Оплату за «Таро» получила 👍🏻', 'оплату за таро получила'],
    ['Promo_2024 — КУРС', 'promo 2024 курс'],
    ['е\u0308лка и\u0306од', 'елка йод'], // decomposed ё and й, as some keyboards send them
    ['Ｔａｒｏ 𝐓𝐚𝐫𝐨', 'taro taro'], // full-width and «fancy font» letters
    ['Grüße, 日本語! Ελλάδα', 'grüße 日本語 ελλάδα'],
    ['1️⃣ вариант', '1 вариант'],
    ['при\u200Dвет', 'привет'],
    ['🙏🙏🙏', ''],
    ['', ''],
  ])('%j → %j', (input, expected) => {
    expect(normalizeText(input)).toBe(expected);
  });

  it('splits clauses on punctuation and a spaced dash, not on a hyphen inside a word', () => {
    expect(clauseWords('Спасибо, но нет! Что-то не то - потом…')).toEqual([['спасибо'], ['но', 'нет'], ['что', 'то', 'не', 'то'], ['потом']]);
    expect(clauseWords('Спасибо 🙏 очень помогли')).toEqual([['спасибо', 'очень', 'помогли']]);
  });
});

type Case = [text: string, matched: boolean, why?: string | RegExp];

function expectCases(rule: MatchRule, cases: Case[]): void {
  for (const [text, matched, why] of cases) {
    const result = matchText(rule, text);
    expect({ text, matched: result.matched }).toEqual({ text, matched });
    if (typeof why === 'string') expect(result.why).toBe(why);
    else if (why) expect(result.why).toMatch(why);
  }
}

describe('exact: operator code words', () => {
  it.each<Case>([
    ['Таро', true, 'exact: «таро»'],
    ['таро!', true],
    ['ТАРО 🔮', true],
    ['  таро?? ', true],
    ['хочу таро', false],
    ['тарот', false],
  ])('«таро» vs %j', (text, matched, why) => expectCases({ mode: 'exact', value: 'Таро' }, [[text, matched, why]]));

  it('any phrase of a list; ё and е are one letter', () => {
    expectCases({ mode: 'exact', value: ['курс', 'Матрица', 'Ёлка'] }, [
      ['Матрица.', true, 'exact: «матрица»'],
      ['елка', true, 'exact: «елка»'],
      ['КУРС', true],
      ['курсы', false],
    ]);
  });

  it('a whole code phrase as the manager types it', () => {
    expectCases({ mode: 'exact', value: 'оплату за таро получила' }, [
      ['Оплату за Таро получила!', true],
      ['Оплату  за  Таро  получила 👍', true],
      ['Оплату за матрицу получила', false],
    ]);
  });
});

describe('contains', () => {
  it('the phrase on word boundaries', () => {
    expectCases({ mode: 'contains', value: 'таро' }, [
      ['Хочу расклад таро на неделю', true, 'contains: «таро»'],
      ['ТАРО!', true],
      ['Запишите к тарологу', false],
    ]);
  });

  it('multi-word phrases, punctuation and emoji in between ignored', () => {
    expectCases({ mode: 'contains', value: ['день рождения', 'оплату за матрицу получила'] }, [
      ['У меня день рождения 12 мая 🎂', true, 'contains: «день рождения»'],
      ['Добрый день! Оплату за «Матрицу» получила 👍', true, 'contains: «оплату за матрицу получила»'],
      ['У меня день, рождения нет', true], // punctuation is stripped before comparing: documented
      ['рождения день', false],
    ]);
  });
});

describe('regex', () => {
  it('runs with flags iu on the text as typed and reports what matched', () => {
    expectCases({ mode: 'regex', value: ['^оплат[ау] за (таро|матрицу) получила', '\\d{6}'] }, [
      ['Оплату за матрицу получила', true, 'regex: /^оплат[ау] за (таро|матрицу) получила/ matched «Оплату за матрицу получила»'],
      ['ОПЛАТА ЗА ТАРО ПОЛУЧИЛА', true],
      ['мой код 482913', true, 'regex: /\\d{6}/ matched «482913»'],
      ['оплату получила', false],
    ]);
  });

  it('sees ё as typed (not normalized); word edges need Unicode lookarounds, \\b is ASCII-only', () => {
    expectCases({ mode: 'regex', value: 'ёлк' }, [['Ёлка', true], ['елка', false]]);
    expectCases({ mode: 'regex', value: '(?<!\\p{L})курс(?!\\p{L})' }, [['Хочу курс!', true], ['курсы', false]]);
  });
});

describe('meaning: synonyms over Russian stems', () => {
  const thanks: MatchRule = { mode: 'meaning', value: 'спасибо' };

  it.each<Case>([
    ['Спасибо', true, 'meaning: «спасибо»'],
    ['Спасибо большое!!! 🙏', true],
    ['Благодарю вас!', true, 'meaning: «благодарю» ≈ «спасибо»'],
    ['Очень благодарна за разбор', true, 'meaning: «благодарна» ≈ «спасибо»'],
    ['спс', true],
    ['Пасиб)', true],
    ['спасибочки))', true],
    ['Спасиба', true],
    ['🙏', false],
    ['Здравствуйте', false],
  ])('thanks vs %j', (text, matched, why) => expectCases(thanks, [[text, matched, why]]));

  it('yes, more, price, buy, birthday groups', () => {
    expectCases({ mode: 'meaning', value: 'да' }, [['Конечно!', true, 'meaning: «конечно» ≈ «да»'], ['Ага', true], ['Давайте 👍', true], ['Дата', false]]);
    expectCases({ mode: 'meaning', value: 'хочу' }, [['Хотела бы записаться', true, 'meaning: «хотела» ≈ «хочу»'], ['Очень хочется!', true]]);
    expectCases({ mode: 'meaning', value: 'расскажи' }, [['Расскажите подробнее, пожалуйста', true], ['Интересно!', true]]);
    expectCases({ mode: 'meaning', value: 'цена' }, [
      ['Сколько стоит курс?', true, 'meaning: «сколько стоит» ≈ «цена»'],
      ['Почём?', true],
      ['Какая стоимость?', true],
      ['Сколько вам лет?', false],
    ]);
    expectCases({ mode: 'meaning', value: 'купить' }, [['Как оплатить?', true, 'meaning: «оплатить» ≈ «купить»'], ['Хочу приобрести', true], ['куплю', true]]);
    expectCases({ mode: 'meaning', value: 'день рождения' }, [
      ['У меня др 5 мая', true, 'meaning: «др» ≈ «день рождения»'],
      ['днюха в субботу', true],
      ['Ко дню рождения хочу', true],
      ['в день моего рождения', true],
      ['рабочий день', false],
    ]);
  });

  it('multi-word phrases: every stem present in any order, prepositions optional', () => {
    expectCases({ mode: 'meaning', value: 'хочу на курс' }, [
      ['Хочу курс', true, 'meaning: «хочу курс» ≈ «хочу на курс»'],
      ['На курс хотела бы', true],
      ['Курс', false],
    ]);
  });

  it('the rule’s own synonym groups', () => {
    expectCases({ mode: 'meaning', value: 'таро', synonyms: [['таро', 'tarot', 'расклад']] }, [
      ['Хочу расклад', true, 'meaning: «расклад» ≈ «таро»'],
      ['TAROT please', true],
      ['матрица', false],
    ]);
    // A rule's groups do not leak into other rules.
    expectCases({ mode: 'meaning', value: 'таро' }, [['Хочу расклад', false]]);
  });
});

describe('meaning: negation guard', () => {
  const thanks: MatchRule = { mode: 'meaning', value: 'спасибо' };

  it.each<Case>([
    ['спасибо, но нет', false, 'meaning: «спасибо», refused by «нет»'],
    ['Спасибо но нет', false],
    ['Нет, спасибо', false],
    ['Спасибо, не надо', false, 'meaning: «спасибо», refused by «не надо»'],
    ['Не, спасибо', false],
    ['Спасибо, но мне пока не интересно', false],
    ['Благодарю, но нет 🙏', false, 'meaning: «благодарю» ≈ «спасибо», refused by «нет»'],
    ['Нет проблем, спасибо!', true],
    ['Спасибо, вопросов нет', true],
    ['Спасибо, нет слов!', true],
    ['Спасибо, не ожидала так быстро', true],
  ])('thanks vs %j', (text, matched, why) => expectCases(thanks, [[text, matched, why]]));

  it('a negation before the word in its clause', () => {
    expectCases({ mode: 'meaning', value: 'хочу' }, [
      ['Не хочу', false, 'meaning: «хочу», negated by «не»'],
      ['не очень хочу', false],
      ['Не знаю, хочу ли', true], // the comma ends the negation's reach
    ]);
    expectCases({ mode: 'meaning', value: 'интересно' }, [['мне не интересно', false], ['Неинтересно', false]]);
    expectCases({ mode: 'meaning', value: 'купить' }, [['не буду покупать', false], ['без оплаты можно?', false]]);
    expectCases({ mode: 'meaning', value: 'да' }, [['Да нет, не надо', false]]);
  });

  it('refusals are what the «no» group matches', () => {
    expectCases({ mode: 'meaning', value: 'нет' }, [
      ['Нет, спасибо', true, 'meaning: «нет»'],
      ['не надо', true, 'meaning: «не надо» ≈ «нет»'],
      ['Неа', true],
      ['Мне неинтересно', true],
      ['не хочу', true],
      ['Да, нет проблем', false],
      ['Да!', false],
    ]);
  });

  it("negation 'local' reads a leading «нет» as answering something else; a trailing one still refuses", () => {
    expectCases({ mode: 'meaning', value: 'спасибо', negation: 'local' }, [
      ['Нет, спасибо, все понятно', true, 'meaning: «спасибо»'],
      ['спасибо, но нет', false],
      ['Спасибо, не надо', false],
    ]);
  });

  it("negation 'off' and phrases that carry their own negation", () => {
    expectCases({ mode: 'meaning', value: 'хочу', negation: 'off' }, [['не хочу', true], ['спасибо, но нет, хочу', true]]);
    expectCases({ mode: 'meaning', value: 'не пишите' }, [['Не пишите мне больше', true, 'meaning: «не пишите»'], ['нет, не пишите', true], ['пишите', false]]);
  });
});

describe('matchText and compileRule', () => {
  it('one rule, many messages, many rules per message: each answer belongs to its own text', () => {
    const rules: MatchRule[] = [
      { mode: 'meaning', value: 'спасибо' },
      { mode: 'exact', value: 'таро' },
      { mode: 'contains', value: 'спасибо' },
    ];
    const table = ['Спасибо!', 'Таро', 'спасибо, но нет'].map((text) => rules.map((r) => matchText(r, text).matched));
    expect(table).toEqual([
      [true, false, true],
      [false, true, false],
      [false, false, true], // contains does not know negation: that is what meaning is for
    ]);
  });

  it('a rule object given a new value compiles again', () => {
    const rule: MatchRule = { mode: 'exact', value: 'курс' };
    expect(matchText(rule, 'курс').matched).toBe(true);
    rule.value = ['матрица'];
    expect(matchText(rule, 'курс').matched).toBe(false);
    expect(matchText(rule, 'матрица').matched).toBe(true);
  });

  it('a message without text matches nothing', () => {
    expect(matchText({ mode: 'meaning', value: 'да' }, undefined as unknown as string)).toEqual({ matched: false });
    expect(compileRule({ mode: 'regex', value: '.' })('')).toEqual({ matched: false });
  });

  it('throws on an invalid rule, naming the field', () => {
    expect(() => matchText({ mode: 'regex', value: '(таро' }, 'таро')).toThrow(/invalid match rule: value: bad regular expression/);
  });
});

describe('checkRule', () => {
  it('accepts valid rules', () => {
    expect(checkRule({ mode: 'exact', value: 'таро' })).toEqual([]);
    expect(checkRule({ mode: 'regex', value: ['^оплат', '\\d+'] })).toEqual([]);
    expect(checkRule({ mode: 'meaning', value: ['спасибо'], synonyms: [['таро', 'расклад']], negation: 'local' })).toEqual([]);
  });

  it.each<[unknown, string[]]>([
    [null, ['rule: must be an object with mode and value']],
    [['exact'], ['rule: must be an object with mode and value']],
    [{ mode: 'fuzzy', value: 'x' }, ['mode: must be one of exact, contains, regex, meaning, llm, got "fuzzy"']],
    [{ value: 'x' }, ['mode: must be one of exact, contains, regex, meaning, llm']],
    [{ mode: 'exact' }, ['value: must be a phrase or a list of phrases']],
    [{ mode: 'exact', value: [] }, ['value: the list is empty']],
    [{ mode: 'exact', value: ['ok', '  '] }, ['value[1]: empty']],
    [{ mode: 'contains', value: ['ok', 5] }, ['value[1]: must be a string']],
    [{ mode: 'exact', value: '🙏!!!' }, ['value: nothing left to compare without punctuation and emoji']],
    [{ mode: 'regex', value: '(таро' }, ['value: bad regular expression /(таро/iu: Unterminated group']],
    [{ mode: 'regex', value: ['ok', '[a-'] }, ['value[1]: bad regular expression /[a-/iu: Unterminated character class']],
    [{ mode: 'meaning', value: 'x', synonyms: 'a,b' }, ['synonyms: must be a list of groups, each a list of phrases']],
    [{ mode: 'meaning', value: 'x', synonyms: [['a']] }, ['synonyms[0]: a group needs at least two phrases']],
    [{ mode: 'meaning', value: 'x', synonyms: [['a', 'b'], 'c'] }, ['synonyms[1]: must be a list of phrases']],
    [{ mode: 'meaning', value: 'x', synonyms: [['a', 5, '!!']] }, ['synonyms[0][1]: must be a phrase with letters or digits', 'synonyms[0][2]: must be a phrase with letters or digits']],
    [{ mode: 'exact', value: 'x', synonyms: [['a', 'b']] }, ['synonyms: only used by mode meaning, not exact']],
    [{ mode: 'meaning', value: 'x', negation: 'maybe' }, ['negation: must be one of refusal, local, off, got "maybe"']],
    [{ mode: 'exact', value: 'x', negation: 'off' }, ['negation: only used by mode meaning, not exact']],
    [{ mode: 'exact', values: 'x' }, ['values: unknown field (expected mode, value, synonyms, negation)', 'value: must be a phrase or a list of phrases']],
  ])('%j', (rule, errors) => {
    expect(checkRule(rule)).toEqual(errors);
  });
});
