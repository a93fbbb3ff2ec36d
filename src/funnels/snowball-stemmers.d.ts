// snowball-stemmers ships no types. Only what russian-stems.ts uses is declared; named imports work in
// Node (its CommonJS exports are detected statically) and in bundlers alike, unlike the default import.
declare module 'snowball-stemmers' {
  export interface Stemmer {
    stem(word: string): string;
  }
  export function newStemmer(language: string): Stemmer;
  export function algorithms(): string[];
}
