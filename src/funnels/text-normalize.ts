/**
 * Chat text reduced to what trigger matching compares: people type code words and answers with any
 * case, ё or е, extra spaces, punctuation and emoji («  Спасибо!!! 🙏 Ёлка » is «спасибо елка»).
 * Letters and digits of every script are kept, so Latin code words and other languages still compare.
 */

// Invisible characters that ride along with emoji and pasted text: soft hyphen, zero-width space /
// joiners, direction marks, word joiner, BOM, variation selectors, the keycap mark and emoji tag
// characters. Variation selectors are category M (marks), which the word pass keeps for the sake of
// scripts that need combining marks, so they go first: «❤️» must leave nothing behind.
const INVISIBLE = /[\u00AD\u200B-\u200F\u2060\uFEFF\uFE00-\uFE0F\u20E3\u{E0000}-\u{E007F}\u{E0100}-\u{E01EF}]/gu;
const NON_WORD = /[^\p{L}\p{M}\p{N}]+/gu;
// Where one clause ends and the next begins: sentence and clause punctuation (also full-width), line
// breaks, and a dash or hyphen between spaces (a hyphen inside a word, «что-то», is not a boundary).
const TOKENS = /([\p{L}\p{M}\p{N}]+)|[.,!?;:…()\n\r\u2014\u2013\uFF0C\uFF0E\uFF01\uFF1F\u3001\u3002]|\s-+\s/gu;

// Unicode property classes cost a microsecond or two per message. Most chat text is ASCII, Russian,
// punctuation and emoji, none of which NFKC changes and none of which are letters or digits beyond
// a-z, 0-9, а-я: such text takes the fast path with plain ranges. Emoji blocks are listed only where
// they hold no digits (U+1F100… «🄁» and the dingbat numbers ➀ are digits to \p{N}).
const PLAIN =
  /^(?:[\x00-\x7F\u00AB\u00BB\u0430-\u044F\u0451\u200D\u2010-\u205F\u2190-\u21FF\u2600-\u26FF\u2700-\u2775\u2794-\u27BF\u2B00-\u2BFF\uFE0F]|\uD83C[\uDF00-\uDFFF]|\uD83D[\uDC00-\uDFFF]|\uD83E[\uDD00-\uDEFF])*$/;
const NON_WORD_PLAIN = /[^a-z0-9а-я]+/g;
const TOKENS_PLAIN = /([a-z0-9а-я]+)|[.,!?;:…()\n\r\u2014\u2013]|\s-+\s/g;

/** Lower case, ё written as е, one composed form; and whether the text can take the fast path. */
function prepare(s: string): { text: string; plain: boolean } {
  const lower = s.toLowerCase();
  // The joiner and the emoji variation selector vanish on both paths (INVISIBLE below), not become spaces.
  if (PLAIN.test(lower)) return { text: lower.replace(/ё/g, 'е').replace(/[\u200D\uFE0F]/g, ''), plain: true };
  // NFKC: a decomposed «й» or «ё» (letter + combining mark, as some keyboards send) becomes one letter,
  // and full-width or «fancy font» letters (Ｔａｒｏ, 𝐓𝐚𝐫𝐨) become plain ones.
  return { text: lower.normalize('NFKC').toLowerCase().replace(/ё/g, 'е').replace(INVISIBLE, ''), plain: false };
}

/** Lower-case, ё→е, punctuation/emoji/symbols → spaces, whitespace collapsed, trimmed. */
export function normalizeText(s: string): string {
  const { text, plain } = prepare(s);
  return text.replace(plain ? NON_WORD_PLAIN : NON_WORD, ' ').trim();
}

/**
 * The normalized words of each clause, empty clauses dropped; the same words as normalizeText. The
 * negation guard needs clauses: «не знаю, хочу ли» does not negate «хочу», «не хочу» does.
 */
export function clauseWords(s: string): string[][] {
  const { text, plain } = prepare(s);
  const clauses: string[][] = [];
  let clause: string[] = [];
  for (const m of text.matchAll(plain ? TOKENS_PLAIN : TOKENS)) {
    if (m[1] !== undefined) clause.push(m[1]);
    else if (clause.length > 0) {
      clauses.push(clause);
      clause = [];
    }
  }
  if (clause.length > 0) clauses.push(clause);
  return clauses;
}
