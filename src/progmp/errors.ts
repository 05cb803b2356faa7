/** ProgMP diagnostics: every one names line:column and says what was expected. */

export interface Diagnostic {
  line: number;
  col: number;
  message: string;
}

/** A program failed to lex, parse or check; it is never loaded. `errors` lists every problem found. */
export class ProgmpError extends Error {
  constructor(
    readonly errors: readonly Diagnostic[],
    readonly file = '<program>',
  ) {
    super(errors.map((d) => `${file}:${d.line}:${d.col}: ${d.message}`).join('\n'));
    this.name = 'ProgmpError';
  }

  /** The same errors reported against another file name. */
  withFile(file: string): ProgmpError {
    return new ProgmpError(this.errors, file);
  }
}

/** Levenshtein distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The nearest candidate within a distance that still looks like a typo, or null. */
export function nearest(word: string, candidates: Iterable<string>): string | null {
  let best: string | null = null;
  let bestD = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word.toUpperCase(), c.toUpperCase());
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best;
}

/** " (did you mean X?)" or "". */
export const didYouMean = (word: string, candidates: Iterable<string>): string => {
  const n = nearest(word, candidates);
  return n === null ? '' : ` (did you mean ${n}?)`;
};
