/**
 * Recursive-descent parser for both spellings of PROGMP.md: the original grammar and the Extensions
 * (optional SCHEDULER line, DEFINE, multi-variable VAR, TRUE/FALSE; `//` comments are the lexer's).
 */
import { ProgmpError } from './errors.ts';
import { lex, type Token } from './lexer.ts';
import type { At, BinOp, PExpr, PProgram, PStmt } from './syntax.ts';

const CMP_OPS = new Set(['==', '!=', '<', '<=', '>', '>=']);

/** Parses a whole program; throws ProgmpError at the first syntax error. */
export function parse(src: string): PProgram {
  return new Parser(lex(src)).program();
}

class Parser {
  private i = 0;

  constructor(private readonly toks: Token[]) {}

  private get t(): Token {
    return this.toks[this.i]!;
  }

  private fail(tok: Token, message: string): never {
    throw new ProgmpError([{ line: tok.line, col: tok.col, message }]);
  }

  private describe(tok: Token): string {
    if (tok.kind === 'eof') return 'the end of the program';
    if (tok.kind === 'string') return `string ${JSON.stringify(tok.text)}`;
    return `"${tok.text}"`;
  }

  private is(text: string): boolean {
    const t = this.t;
    return (t.kind === 'punct' || t.kind === 'keyword') && t.text === text;
  }

  private accept(text: string): boolean {
    if (!this.is(text)) return false;
    this.i++;
    return true;
  }

  private expect(text: string, what = `"${text}"`): Token {
    const t = this.t;
    if (!this.is(text)) this.fail(t, `expected ${what} but found ${this.describe(t)}`);
    this.i++;
    return t;
  }

  private ident(what: string): Token {
    const t = this.t;
    if (t.kind !== 'ident') {
      const why = t.kind === 'keyword' ? ` (${t.text} is a keyword)` : '';
      this.fail(t, `expected ${what} but found ${this.describe(t)}${why}`);
    }
    this.i++;
    return t;
  }

  private at(t: Token): At {
    return { line: t.line, col: t.col };
  }

  program(): PProgram {
    let name: string | null = null;
    if (this.accept('SCHEDULER')) {
      name = this.ident('a scheduler name after SCHEDULER').text;
      this.expect(';');
    }
    const body: PStmt[] = [];
    while (this.t.kind !== 'eof') this.stmt(body);
    return { name, body };
  }

  private block(): PStmt[] {
    this.expect('{', '"{" to open a block');
    const body: PStmt[] = [];
    if (this.is('}')) this.fail(this.t, 'empty block: a block needs at least one statement');
    while (!this.is('}')) {
      if (this.t.kind === 'eof')
        this.fail(this.t, 'expected "}" to close the block but found the end of the program');
      this.stmt(body);
    }
    this.i++;
    return body;
  }

  /** Parses one statement into `out` (several for `VAR a = 1, b = 2;`). */
  private stmt(out: PStmt[]): void {
    const t = this.t;
    const at = this.at(t);
    if (t.kind === 'keyword') {
      switch (t.text) {
        case 'VAR': {
          this.i++;
          do {
            const n = this.ident('a variable name after VAR');
            this.expect('=', '"=" after the variable name');
            out.push({ ...this.at(n), k: 'var', name: n.text, init: this.expr(), kw: at });
          } while (this.accept(','));
          this.expect(';');
          return;
        }
        case 'SET': {
          this.i++;
          this.expect('(');
          const reg = this.expr();
          this.expect(',', '"," between the register and the value');
          const value = this.expr();
          this.expect(')');
          this.expect(';');
          out.push({ ...at, k: 'set', reg, value });
          return;
        }
        case 'IF': {
          out.push(this.ifStmt());
          return;
        }
        case 'FOREACH': {
          this.i++;
          this.expect('(');
          this.expect('VAR', 'VAR in FOREACH (VAR x IN list)');
          const n = this.ident('a variable name');
          this.expect('IN', 'IN in FOREACH (VAR x IN list)');
          const list = this.expr();
          this.expect(')');
          out.push({ ...at, k: 'foreach', name: n.text, list, body: this.block() });
          return;
        }
        case 'DROP': {
          this.i++;
          this.expect('(');
          const e = this.expr();
          this.expect(')');
          this.expect(';');
          out.push({ ...at, k: 'drop', e });
          return;
        }
        case 'PRINT': {
          this.i++;
          this.expect('(');
          const fmt = this.expr();
          const value = this.accept(',') ? this.expr() : null;
          this.expect(')');
          this.expect(';');
          out.push({ ...at, k: 'print', fmt, value });
          return;
        }
        case 'RETURN':
          this.i++;
          this.expect(';');
          out.push({ ...at, k: 'return' });
          return;
        case 'VOID': {
          this.i++;
          this.expect('(');
          const e = this.is(')') ? null : this.expr();
          this.expect(')');
          this.expect(';');
          out.push({ ...at, k: 'void', e });
          return;
        }
        case 'DEFINE': {
          this.i++;
          const regs: (At & { reg: string; name: string })[] = [];
          do {
            const r = this.ident('a register (R1..R6) after DEFINE');
            const as = this.t;
            if (as.kind !== 'ident' || (as.text !== 'AS' && as.text !== 'as'))
              this.fail(as, `expected AS after ${r.text} but found ${this.describe(as)}`);
            this.i++;
            const n = this.ident(`a name for ${r.text}`);
            regs.push({ ...this.at(r), reg: r.text, name: n.text });
          } while (this.accept(','));
          this.expect(';');
          out.push({ ...at, k: 'define', regs });
          return;
        }
        case 'ELSE':
          this.fail(t, 'ELSE without IF: ELSE must follow the block of an IF');
      }
    }
    const e = this.expr();
    if (e.k !== 'push' && e.k !== 'setuser')
      this.fail(t, 'expected a statement; an expression alone does nothing (use VOID(...) to evaluate one)');
    this.expect(';');
    out.push({ ...at, k: 'expr', e });
  }

  private ifStmt(): PStmt {
    const at = this.at(this.expect('IF'));
    this.expect('(', '"(" after IF');
    const cond = this.expr();
    this.expect(')');
    const then = this.block();
    let els: PStmt[] | null = null;
    if (this.accept('ELSE')) els = this.is('IF') ? [this.ifStmt()] : this.block();
    return { ...at, k: 'if', cond, then, else: els };
  }

  expr(): PExpr {
    return this.binary(0);
  }

  /** Levels: 0 OR, 1 AND, 2 comparisons, 3 + -, 4 * / %. */
  private binary(level: number): PExpr {
    if (level === 5) return this.not();
    let l = this.binary(level + 1);
    for (;;) {
      const t = this.t;
      const op = t.text;
      const match =
        (t.kind === 'keyword' && ((level === 0 && op === 'OR') || (level === 1 && op === 'AND'))) ||
        (t.kind === 'punct' &&
          ((level === 2 && CMP_OPS.has(op)) ||
            (level === 3 && (op === '+' || op === '-')) ||
            (level === 4 && (op === '*' || op === '/' || op === '%'))));
      if (!match) return l;
      this.i++;
      const r = this.binary(level + 1);
      l = { ...this.at(t), k: 'bin', op: op as BinOp, l, r };
    }
  }

  private not(): PExpr {
    const t = this.t;
    if (this.accept('!')) return { ...this.at(t), k: 'not', e: this.dot() };
    return this.dot();
  }

  private dot(): PExpr {
    let e = this.primary();
    while (this.is('.')) {
      this.i++;
      const n = this.t;
      if (n.kind === 'keyword' && (n.text === 'PUSH' || n.text === 'SET_USER')) {
        this.i++;
        this.expect('(', `"(" after ${n.text}`);
        const arg = this.expr();
        this.expect(')');
        e = { ...this.at(n), k: n.text === 'PUSH' ? 'push' : 'setuser', obj: e, arg };
        continue;
      }
      if (n.kind !== 'ident')
        this.fail(n, `expected a property name after "." but found ${this.describe(n)}`);
      this.i++;
      if (!this.accept('(')) {
        e = { ...this.at(n), k: 'member', obj: e, name: n.text, call: false, arg: null, param: null };
        continue;
      }
      let arg: PExpr | null = null;
      let param: (At & { name: string }) | null = null;
      if (!this.is(')')) {
        const p = this.t;
        if (p.kind === 'ident' && this.toks[this.i + 1]?.text === '=>') {
          this.i += 2;
          param = { ...this.at(p), name: p.text };
        }
        arg = this.expr();
      }
      this.expect(')');
      e = { ...this.at(n), k: 'member', obj: e, name: n.text, call: true, arg, param };
    }
    return e;
  }

  private primary(): PExpr {
    const t = this.t;
    const at = this.at(t);
    switch (t.kind) {
      case 'int':
        this.i++;
        return { ...at, k: 'int', v: t.value };
      case 'string':
        this.i++;
        return { ...at, k: 'str', v: t.text };
      case 'ident':
        this.i++;
        return { ...at, k: 'name', name: t.text };
      case 'keyword':
        if (t.text === 'NULL' || t.text === 'TRUE' || t.text === 'FALSE') {
          this.i++;
          return t.text === 'NULL' ? { ...at, k: 'null' } : { ...at, k: 'bool', v: t.text === 'TRUE' };
        }
        break;
      case 'punct':
        if (t.text === '(') {
          this.i++;
          const e = this.expr();
          this.expect(')');
          return e;
        }
        break;
      case 'eof':
        break;
    }
    return this.fail(t, `expected an expression but found ${this.describe(t)}`);
  }
}
