/** ProgMP tokens (PROGMP.md "Lexical rules", plus the `//` comments of the Extensions). */
import { ProgmpError } from './errors.ts';

export type TokenKind = 'int' | 'string' | 'ident' | 'keyword' | 'punct' | 'eof';

export interface Token {
  kind: TokenKind;
  /** The identifier, keyword or punctuation text; a string literal's value (escapes resolved). */
  text: string;
  /** An integer literal's value. */
  value: number;
  line: number;
  col: number;
}

export const KEYWORDS: ReadonlySet<string> = new Set([
  'SCHEDULER',
  'VAR',
  'SET',
  'IF',
  'ELSE',
  'FOREACH',
  'IN',
  'RETURN',
  'DROP',
  'PRINT',
  'VOID',
  'NULL',
  'AND',
  'OR',
  'PUSH',
  'SET_USER',
  // Extensions.
  'TRUE',
  'FALSE',
  'DEFINE',
]);

export const MAX_NAME = 63;
const MAX_U32 = 4294967295;
const PUNCT2 = new Set(['=>', '==', '!=', '<=', '>=']);
const PUNCT1 = new Set([';', ',', '(', ')', '{', '}', '.', '=', '<', '>', '+', '-', '*', '/', '%', '!']);
const ESCAPES: Record<string, string> = { '\\': '\\', '"': '"', n: '\n', r: '\r', t: '\t' };

const isDigit = (c: string) => c >= '0' && c <= '9';
const isIdStart = (c: string) => (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c === '_';
const isIdPart = (c: string) => isIdStart(c) || isDigit(c);

/** Splits `src` into tokens; the last one is `eof`. Throws ProgmpError on the first lexical error. */
export function lex(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = 1;
  let col = 1;
  const fail = (l: number, c: number, message: string): never => {
    throw new ProgmpError([{ line: l, col: c, message }]);
  };
  const advance = (n: number) => {
    for (let k = 0; k < n; k++) {
      if (src[i] === '\n') {
        line++;
        col = 1;
      } else col++;
      i++;
    }
  };
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      advance(1);
      continue;
    }
    const l = line;
    const cl = col;
    if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      if (end < 0) fail(l, cl, 'unterminated comment: expected */ before the end of the program');
      advance(end + 2 - i);
      continue;
    }
    if (c === '/' && src[i + 1] === '/') {
      while (i < src.length && src[i] !== '\n') advance(1);
      continue;
    }
    if (isDigit(c)) {
      let j = i;
      while (j < src.length && isDigit(src[j]!)) j++;
      if (j < src.length && isIdStart(src[j]!))
        fail(l, cl, `bad number ${src.slice(i, j + 1)}: expected digits only`);
      const text = src.slice(i, j);
      const value = Number(text);
      if (value > MAX_U32) fail(l, cl, `integer ${text} does not fit in 32 bits (at most ${MAX_U32})`);
      out.push({ kind: 'int', text, value, line: l, col: cl });
      advance(j - i);
      continue;
    }
    if (isIdStart(c)) {
      let j = i;
      while (j < src.length && isIdPart(src[j]!)) j++;
      const text = src.slice(i, j);
      if (text.length > MAX_NAME)
        fail(l, cl, `identifier ${text.slice(0, 20)}... is longer than ${MAX_NAME} characters`);
      out.push({ kind: KEYWORDS.has(text) ? 'keyword' : 'ident', text, value: 0, line: l, col: cl });
      advance(j - i);
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      let value = '';
      for (;;) {
        const d = src[j];
        if (d === undefined || d === '\n')
          fail(l, cl, 'unterminated string: expected " before the end of the line');
        if (d === '"') break;
        if (d === '\\') {
          const e = ESCAPES[src[j + 1] ?? ''];
          if (e === undefined)
            fail(l, cl + (j - i), `unknown escape \\${src[j + 1] ?? ''}: expected \\\\ \\" \\n \\r or \\t`);
          value += e;
          j += 2;
        } else {
          value += d;
          j++;
        }
      }
      if (value.length > MAX_NAME)
        fail(l, cl, `string is ${value.length} characters long; at most ${MAX_NAME} are allowed`);
      out.push({ kind: 'string', text: value, value: 0, line: l, col: cl });
      advance(j + 1 - i);
      continue;
    }
    const two = src.slice(i, i + 2);
    if (PUNCT2.has(two)) {
      out.push({ kind: 'punct', text: two, value: 0, line: l, col: cl });
      advance(2);
      continue;
    }
    if (PUNCT1.has(c)) {
      out.push({ kind: 'punct', text: c, value: 0, line: l, col: cl });
      advance(1);
      continue;
    }
    fail(l, cl, `unexpected character ${JSON.stringify(c)}`);
  }
  out.push({ kind: 'eof', text: '<end of program>', value: 0, line, col });
  return out;
}
