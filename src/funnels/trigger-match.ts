/**
 * Does a message start a funnel? A person's message or an operator's code word is matched against a
 * trigger's rule: `exact` (normalized texts equal: case, ё/е, spaces, punctuation and emoji ignored, so
 * «Спасибо 🙏» equals «спасибо»), `contains` (the normalized phrase on word boundaries), `regex` (the JS
 * pattern with flags `iu` on the text as typed) or `meaning` (Russian stems and synonym groups, below).
 *
 * Meaning: each phrase of `value` is cut into slots; a slot is a phrase of a synonym group (built-in,
 * russian-stems.ts, or the rule's `synonyms`; «сколько стоит» is one slot) or a single word. A slot
 * matches when all stems of one of its alternatives occur in the message, in any order; the phrase
 * matches when every slot does. Prepositions and pronouns of the phrase may be missing («хочу на курс» ≈
 * «хочу курс»), extra words in the message are ignored («благодарю вас» ≈ «спасибо»). Stems of 5+ letters
 * also match longer stems they begin («спасибочки»).
 *
 * Negation guard (meaning only; the rule's `negation`, default 'refusal'). The seed's team uses `exact`
 * today because «спасибо, но нет» would start the thank-you funnel; the guard exists so they can stop.
 * 1. Local: a word is not matched when не / нет / ни / без / неа stands at most two words before it in
 *    the same clause: «не хочу», «не очень интересно», «без оплаты». («не знаю, хочу ли»: the comma ends it.)
 * 2. Refusal: a clause that says «no» — «нет» or «неа» opening it (after soft words: но, ну, да, спасибо,
 *    я, мне, пока …) unless «there is no …» follows (нет проблем / вопросов / слов); «нет» closing it after
 *    a soft word («спасибо, но нет», «думаю что нет»); «не» alone («не, спасибо»); or an opener such as
 *    «не надо», «не хочу», «не интересно», «не сейчас», «ни за что» («спасибо, но мне не надо»).
 *    'refusal' (default): any such clause refuses the whole message, wherever it stands: «нет, спасибо»
 *    is a polite refusal, not thanks, and a funnel step waiting for «спасибо» must not advance on it.
 *    'local': only a refusal after the matched words refuses («спасибо, но нет»); one before them is read
 *    as answering something else («нет, спасибо, всё понятно» is thanks). 'off': no guard at all.
 * Phrases that contain a negation themselves («не надо», «не откажусь», the built-in «no» group) are
 * matched as written and bypass the guard, so a rule «нет» matches «нет, спасибо».
 * Known limits: no syntax, only word distance and clause edges — «не терпится купить» is refused (не
 * two words before купить); a clause opening with «нет» refuses even when it means «there is no …»
 * outside the listed exceptions («расскажите, нет времени читать», «нет денег, но куплю») or is an
 * intensifier («спасибо! нет, правда, помогли»); «вопросов нет» is not a refusal; negation by emoji
 * (👎) or sarcasm is not seen; a rule whose intent is itself negative («отписаться») should use
 * negation 'off' so that «нет, отпишите меня» is not refused.
 * LLM: mode `llm` asks the project's language model (funnels/trigger-llm.ts) whether the message means
 * one of the labels in `value` (or, for a single `value`, answers that yes/no question); here, where
 * matching is synchronous, and whenever no model answers, it is `meaning` over the same values.
 * Regex: JS `\b` is ASCII-only even with `u` (use `(?<!\p{L})курс(?!\p{L})`); ё is not folded; patterns
 * come from admins, so a catastrophic one («(a+)+$») can still be slow on a long message.
 *
 * Rules are validated with checkRule when saved; matchText throws on an invalid rule. The compiled form
 * of a rule is cached per rule object (treat rules as immutable), and the last message's analysis is
 * reused, since one message is matched against every trigger of a bot.
 */
import { clauseWords, normalizeText } from './text-normalize.ts';
import { BUILTIN_GROUPS, clauseRefusal, NEGATORS, STOP_WORDS, stemWord, type SynonymGroup } from './russian-stems.ts';

export type MatchMode = 'exact' | 'contains' | 'regex' | 'meaning' | 'llm';
export type NegationGuard = 'refusal' | 'local' | 'off';

export interface MatchRule {
  mode: MatchMode;
  /** One phrase or a list; any of them matching is a match. For `regex`, pattern sources. */
  value: string | string[];
  /** `meaning` only: extra synonym groups, each a list of phrases that mean the same. */
  synonyms?: string[][];
  /** `meaning` (and `llm`'s fallback) only: see the header. Default 'refusal'. */
  negation?: NegationGuard;
  /** `llm` only: the project's llm connection; default "default". */
  connection?: string;
}

export interface MatchResult {
  matched: boolean;
  /** What matched, for the admin inbox and the task history; on no match, the negation that refused one. */
  why?: string;
}

const MODES: readonly string[] = ['exact', 'contains', 'regex', 'meaning', 'llm'] satisfies MatchMode[];
const GUARDS: readonly string[] = ['refusal', 'local', 'off'] satisfies NegationGuard[];
const FIELDS: ReadonlySet<string> = new Set(['mode', 'value', 'synonyms', 'negation', 'connection']);
/** Modes that read meaning: `llm` falls back to it, so synonyms and negation serve it too. */
const MEANING_MODES: readonly string[] = ['meaning', 'llm'];
const MAX_PHRASES = 200;
const MAX_PHRASE_CHARS = 1000;
const NEGATION_REACH = 2;
const PREFIX_MIN = 5;

/** Everything wrong with a rule, each message naming its field; empty when the rule is usable. */
export function checkRule(rule: unknown): string[] {
  if (typeof rule !== 'object' || rule === null || Array.isArray(rule)) return ['rule: must be an object with mode and value'];
  const r = rule as Record<string, unknown>;
  const errors: string[] = [];
  const mode = typeof r.mode === 'string' && MODES.includes(r.mode) ? (r.mode as MatchMode) : undefined;
  for (const key of Object.keys(r)) if (!FIELDS.has(key)) errors.push(`${key}: unknown field (expected mode, value, synonyms, negation${mode === 'llm' ? ', connection' : ''})`);
  if (mode === undefined) errors.push(`mode: must be one of ${MODES.join(', ')}${r.mode === undefined ? '' : `, got ${show(r.mode)}`}`);

  const v = r.value;
  const field = (i: number) => (typeof v === 'string' ? 'value' : `value[${i}]`);
  const phrases: unknown[] | undefined = typeof v === 'string' ? [v] : Array.isArray(v) ? v : undefined;
  if (phrases === undefined) errors.push('value: must be a phrase or a list of phrases');
  else if (phrases.length === 0) errors.push('value: the list is empty');
  else if (phrases.length > MAX_PHRASES) errors.push(`value: at most ${MAX_PHRASES} phrases`);
  else phrases.forEach((p, i) => {
    if (typeof p !== 'string') errors.push(`${field(i)}: must be a string`);
    else if (!p.trim()) errors.push(`${field(i)}: empty`);
    else if (p.length > MAX_PHRASE_CHARS) errors.push(`${field(i)}: longer than ${MAX_PHRASE_CHARS} characters`);
    else if (mode === 'regex') {
      try {
        new RegExp(p, 'iu');
      } catch (e) {
        errors.push(`${field(i)}: bad regular expression ${(e as Error).message.replace(/^Invalid regular expression: /, '')}`);
      }
    } else if (mode !== undefined && !normalizeText(p)) errors.push(`${field(i)}: nothing left to compare without punctuation and emoji`);
  });

  if (r.synonyms !== undefined) {
    if (mode !== undefined && !MEANING_MODES.includes(mode)) errors.push(`synonyms: only used by mode meaning, not ${mode}`);
    if (!Array.isArray(r.synonyms)) errors.push('synonyms: must be a list of groups, each a list of phrases');
    else r.synonyms.forEach((group, i) => {
      if (!Array.isArray(group)) errors.push(`synonyms[${i}]: must be a list of phrases`);
      else if (group.length < 2) errors.push(`synonyms[${i}]: a group needs at least two phrases`);
      else group.forEach((p, j) => {
        if (typeof p !== 'string' || !normalizeText(p)) errors.push(`synonyms[${i}][${j}]: must be a phrase with letters or digits`);
      });
    });
  }
  if (r.negation !== undefined) {
    if (typeof r.negation !== 'string' || !GUARDS.includes(r.negation)) errors.push(`negation: must be one of ${GUARDS.join(', ')}, got ${show(r.negation)}`);
    else if (mode !== undefined && !MEANING_MODES.includes(mode)) errors.push(`negation: only used by mode meaning, not ${mode}`);
  }
  if (r.connection !== undefined) {
    if (typeof r.connection !== 'string' || !r.connection.trim()) errors.push('connection: must be the name of an llm connection');
    else if (mode !== undefined && mode !== 'llm') errors.push(`connection: only used by mode llm, not ${mode}`);
  }
  return errors;
}

function show(x: unknown): string {
  const s = JSON.stringify(x) ?? String(x);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

export type Matcher = (text: string) => MatchResult;

interface CacheEntry { mode: unknown; value: unknown; synonyms: unknown; negation: unknown; run: Matcher }
const compiledRules = new WeakMap<object, CacheEntry>();

/** Match a message's text against a rule. Throws when checkRule finds the rule invalid. */
export function matchText(rule: MatchRule, text: string): MatchResult {
  const hit = compiledRules.get(rule);
  // Same fields by identity: a rule object edited in place (a new value list) compiles again.
  if (hit && hit.mode === rule.mode && hit.value === rule.value && hit.synonyms === rule.synonyms && hit.negation === rule.negation) {
    return hit.run(text);
  }
  const run = compileRule(rule);
  compiledRules.set(rule, { mode: rule.mode, value: rule.value, synonyms: rule.synonyms, negation: rule.negation, run });
  return run(text);
}

/** The rule compiled once (phrases normalized, patterns built, stems computed) for many messages. */
export function compileRule(rule: MatchRule): Matcher {
  const errors = checkRule(rule);
  if (errors.length > 0) throw new Error(`invalid match rule: ${errors.join('; ')}`);
  const phrases = typeof rule.value === 'string' ? [rule.value] : rule.value;
  switch (rule.mode) {
    case 'exact': {
      const targets = phrases.map(normalizeText);
      return (text) => {
        const { normalized } = plainView(analyse(text));
        const found = targets.find((t) => t === normalized);
        return found === undefined ? { matched: false } : { matched: true, why: `exact: «${found}»` };
      };
    }
    case 'contains': {
      const targets = phrases.map(normalizeText);
      return (text) => {
        const { padded } = plainView(analyse(text));
        const found = targets.find((t) => padded.includes(` ${t} `));
        return found === undefined ? { matched: false } : { matched: true, why: `contains: «${found}»` };
      };
    }
    case 'regex': {
      const patterns = phrases.map((p) => new RegExp(p, 'iu'));
      return (text) => {
        if (typeof text !== 'string') return { matched: false };
        for (const re of patterns) {
          const m = re.exec(text);
          if (m) return { matched: true, why: `regex: /${re.source}/ matched «${clip(m[0])}»` };
        }
        return { matched: false };
      };
    }
    case 'meaning':
    case 'llm': // without the model: see the header
      return meaningMatcher(phrases, rule.synonyms, rule.negation ?? 'refusal');
  }
}

function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
}

// ---------- the message side: normalized once, stems and negations computed on first meaning rule ----------

interface Token { word: string; stem: string; clause: number }
interface Refusal { at: number; words: string }
interface Analysis {
  text: string;
  plain?: { normalized: string; padded: string };
  meaning?: { tokens: Token[]; negatedBy: Int32Array; refusals: Refusal[]; refusalAt: Set<number> };
}

let last: Analysis | undefined;

function analyse(text: string): Analysis {
  if (last !== undefined && last.text === text) return last;
  // A message without text (a sticker, a photo without caption) matches nothing rather than throwing.
  last = { text: typeof text === 'string' ? text : '' };
  return last;
}

function plainView(a: Analysis): NonNullable<Analysis['plain']> {
  if (a.plain) return a.plain;
  const normalized = normalizeText(a.text);
  a.plain = { normalized, padded: ` ${normalized} ` };
  return a.plain;
}

function meaningView(a: Analysis): NonNullable<Analysis['meaning']> {
  if (a.meaning) return a.meaning;
  const tokens: Token[] = [];
  const refusals: Refusal[] = [];
  clauseWords(a.text).forEach((words, clause) => {
    const start = tokens.length;
    for (const word of words) tokens.push({ word, stem: stemWord(word), clause });
    const refusal = clauseRefusal(words, tokens.slice(start).map((t) => t.stem));
    if (refusal) refusals.push({ at: start + refusal.at, words: refusal.words });
  });
  const negatedBy = new Int32Array(tokens.length).fill(-1);
  for (let p = 0; p < tokens.length; p++) {
    for (let q = p - 1; q >= 0 && q >= p - NEGATION_REACH && tokens[q]!.clause === tokens[p]!.clause; q--) {
      if (NEGATORS.has(tokens[q]!.word)) {
        negatedBy[p] = q;
        break;
      }
    }
  }
  a.meaning = { tokens, negatedBy, refusals, refusalAt: new Set(refusals.map((r) => r.at)) };
  return a.meaning;
}

// ---------- the rule side: phrases cut into slots of alternatives ----------

interface Alt {
  key: string;
  stems: string[];
  /** The phrase contains a negation itself: matched as written, the guard does not apply. */
  literalNegation: boolean;
  /** From a refusal group: matched in a refusing message. */
  refusal: boolean;
  /** A lone «нет»/«не» of a refusal group: only where the message actually refuses (not «нет проблем», «не пишите»). */
  loneRefusal: boolean;
}
interface GroupIndex { alts: Map<string, Alt[]>; maxWords: number }
interface Plan { text: string; slots: Alt[][]; literalNegation: boolean }

function phraseAlt(phrase: string, refusal: boolean): Alt | undefined {
  const words = normalizeText(phrase).split(' ').filter(Boolean);
  if (words.length === 0) return undefined;
  const stems = words.map(stemWord);
  return {
    key: stems.join(' '),
    stems,
    literalNegation: words.some((w) => NEGATORS.has(w)),
    refusal,
    loneRefusal: refusal && words.length === 1 && NEGATORS.has(words[0]!),
  };
}

function addGroups(index: GroupIndex, groups: readonly SynonymGroup[]): void {
  for (const group of groups) {
    const alts = group.phrases.map((p) => phraseAlt(p, group.refusal === true)).filter((a): a is Alt => a !== undefined);
    for (const alt of alts) {
      const list = index.alts.get(alt.key) ?? [];
      for (const other of alts) if (!list.some((a) => a.key === other.key)) list.push(other);
      // Longest alternatives first: «не надо» is reported as what matched, not just its «не».
      list.sort((a, b) => b.stems.length - a.stems.length);
      index.alts.set(alt.key, list);
      index.maxWords = Math.max(index.maxWords, alt.stems.length);
    }
  }
}

let builtin: GroupIndex | undefined;

function groupIndex(synonyms: string[][] | undefined): GroupIndex {
  if (!builtin) {
    builtin = { alts: new Map(), maxWords: 1 };
    addGroups(builtin, BUILTIN_GROUPS);
  }
  if (!synonyms || synonyms.length === 0) return builtin;
  // Copies of the lists: a rule's groups must not leak into the built-in index shared by all rules.
  const index: GroupIndex = { alts: new Map([...builtin.alts].map(([k, v]) => [k, [...v]])), maxWords: builtin.maxWords };
  addGroups(index, synonyms.map((phrases, i) => ({ name: `rule ${i}`, phrases })));
  return index;
}

function planPhrase(phrase: string, index: GroupIndex): Plan {
  const words = normalizeText(phrase).split(' ');
  const stems = words.map(stemWord);
  const slots: Alt[][] = [];
  const stopSlots: Alt[][] = [];
  for (let i = 0; i < words.length; ) {
    let taken = 0;
    // Longest group phrase first: «сколько стоит» is one slot, not «сколько» and «стоит».
    for (let n = Math.min(index.maxWords, words.length - i); n >= 1 && taken === 0; n--) {
      // A negation inside a longer phrase («не пишите») is that phrase's own word, not the «no» group.
      if (n === 1 && words.length > 1 && NEGATORS.has(words[i]!)) break;
      const alts = index.alts.get(stems.slice(i, i + n).join(' '));
      if (alts) {
        slots.push(alts);
        taken = n;
      }
    }
    if (taken === 0) {
      const alt = phraseAlt(words[i]!, false)!;
      (STOP_WORDS.has(words[i]!) ? stopSlots : slots).push([alt]);
      taken = 1;
    }
    i += taken;
  }
  // A phrase of stop words only («я») keeps them.
  return { text: words.join(' '), slots: slots.length > 0 ? slots : stopSlots, literalNegation: words.some((w) => NEGATORS.has(w)) };
}

function stemMatches(tokenStem: string, stem: string): boolean {
  return tokenStem === stem || (stem.length >= PREFIX_MIN && tokenStem.startsWith(stem));
}

type View = NonNullable<Analysis['meaning']>;

/** Positions of the alternative's stems in the message, or what negated them, or nothing. */
function findAlt(alt: Alt, view: View, localGuard: boolean): number[] | { negator: number; word: number } | undefined {
  const positions: number[] = [];
  let negated: { negator: number; word: number } | undefined;
  for (const stem of alt.stems) {
    let pick = -1;
    for (let p = 0; p < view.tokens.length && pick < 0; p++) {
      if (!stemMatches(view.tokens[p]!.stem, stem) || positions.includes(p)) continue;
      if (alt.loneRefusal && !view.refusalAt.has(p)) continue;
      if (localGuard && view.negatedBy[p]! >= 0) {
        negated ??= { negator: view.negatedBy[p]!, word: p };
        continue;
      }
      pick = p;
    }
    if (pick < 0) return negated;
    positions.push(pick);
  }
  return positions;
}

function meaningMatcher(phrases: string[], synonyms: string[][] | undefined, guard: NegationGuard): Matcher {
  const index = groupIndex(synonyms);
  const plans = phrases.map((p) => planPhrase(p, index));
  return (text) => {
    const view = meaningView(analyse(text));
    let refused: string | undefined;
    for (const plan of plans) {
      const result = matchPlan(plan, view, guard);
      if (result.matched) return result;
      refused ??= result.why;
    }
    return refused === undefined ? { matched: false } : { matched: false, why: refused };
  };
}

function matchPlan(plan: Plan, view: View, guard: NegationGuard): MatchResult {
  const guarded = guard !== 'off' && !plan.literalNegation;
  const positions: number[] = [];
  let positive = false;
  for (const alts of plan.slots) {
    let found: number[] | undefined;
    let negated: { negator: number; word: number } | undefined;
    for (const alt of alts) {
      const r = findAlt(alt, view, guarded && !alt.literalNegation);
      if (Array.isArray(r)) {
        found = r;
        positive ||= !alt.literalNegation && !alt.refusal;
        break;
      }
      negated ??= r;
    }
    if (!found) {
      if (!negated) return { matched: false };
      const { tokens } = view;
      return { matched: false, why: `meaning: ${describe(plan, [negated.word], view)}, negated by «${tokens[negated.negator]!.word}»` };
    }
    positions.push(...found);
  }
  if (guarded && positive) {
    const first = Math.min(...positions);
    const refusal = view.refusals.find((r) => guard === 'refusal' || r.at > first);
    if (refusal) return { matched: false, why: `meaning: ${describe(plan, positions, view)}, refused by «${refusal.words}»` };
  }
  return { matched: true, why: `meaning: ${describe(plan, positions, view)}` };
}

/** «благодарю» ≈ «спасибо»: the message's words that matched, and the rule's phrase when they differ. */
function describe(plan: Plan, positions: number[], view: View): string {
  const said = [...positions].sort((a, b) => a - b).map((p) => view.tokens[p]!.word).join(' ');
  return said === plan.text ? `«${said}»` : `«${said}» ≈ «${plan.text}»`;
}
