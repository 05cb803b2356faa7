/**
 * The static checker: resolves names (variables, lambda parameters, registers and their DEFINE names,
 * predefined values), resolves member aliases, types every expression (PROGMP.md "Types"), and enforces
 * the block rules (no empty block, nothing after RETURN, no redeclaration in one block). It reports every
 * error it finds, each with line:column, what was expected, and a suggestion for misspelt names.
 */
import { analyze } from './effects.ts';
import { type Diagnostic, didYouMean, ProgmpError } from './errors.ts';
import { Op, type Program, S, TYPE_NAMES, type Type, X } from './ir.ts';
import { ALIASES, type Member, membersOf } from './members.ts';
import { type At, type PExpr, type PProgram, type PStmt, start } from './syntax.ts';

const PREDEFINED = [
  'Q',
  'QU',
  'RQ',
  'SUBFLOWS',
  'CURRENT_TIME_MS',
  'RANDOM',
  'R1',
  'R2',
  'R3',
  'R4',
  'R5',
  'R6',
];

interface Binding {
  slot: number;
  type: Type;
  nullable: boolean;
  line: number;
}

class Scope {
  readonly vars = new Map<string, Binding>();
  constructor(readonly parent: Scope | null) {}

  lookup(name: string): Binding | undefined {
    return this.vars.get(name) ?? this.parent?.lookup(name);
  }

  names(): string[] {
    return [...this.vars.keys(), ...(this.parent?.names() ?? [])];
  }
}

/** Checks a parsed program; throws ProgmpError listing every error. */
export function check(p: PProgram): Program {
  const c = new Checker();
  const body = c.block(p.body, new Scope(null), true);
  if (c.errors.length > 0) {
    c.errors.sort((a, b) => a.line - b.line || a.col - b.col);
    throw new ProgmpError(c.errors);
  }
  return { name: p.name, body, uses: analyze(body), slots: c.slots, sites: c.sites };
}

const elemOf = (t: Type): Type => (t === 'sbflist' ? 'subflow' : t === 'pktlist' ? 'packet' : 'error');
const fits = (got: Type, want: Type): boolean => got === want || got === 'null' || got === 'error';

class Checker {
  readonly errors: Diagnostic[] = [];
  slots = 0;
  sites = 0;
  private readonly defines = new Map<string, number>();

  private err(at: At, message: string): void {
    this.errors.push({ line: at.line, col: at.col, message });
  }

  private declare(
    scope: Scope,
    at: At & { name?: string },
    name: string,
    type: Type,
    nullable: boolean,
  ): number {
    if (PREDEFINED.includes(name) || this.defines.has(name))
      this.err(at, `cannot declare ${name}: the name is predefined (choose another name)`);
    const prev = scope.vars.get(name);
    if (prev !== undefined)
      this.err(
        at,
        `${name} is already declared in this block (line ${prev.line}); variables are single-assignment`,
      );
    const slot = this.slots++;
    scope.vars.set(name, { slot, type, nullable, line: at.line });
    return slot;
  }

  block(stmts: PStmt[], scope: Scope, top = false): S[] {
    const out: S[] = [];
    for (let i = 0; i < stmts.length; i++) {
      const st = stmts[i]!;
      if (i > 0 && stmts[i - 1]!.k === 'return') {
        this.err(
          st.k === 'var' ? st.kw : st,
          'statements after RETURN are unreachable: RETURN must end its block',
        );
        break;
      }
      const s = this.stmt(st, scope, top);
      if (s !== null) out.push(s);
    }
    return out;
  }

  private stmt(st: PStmt, scope: Scope, top: boolean): S | null {
    switch (st.k) {
      case 'var': {
        const init = this.expr(st.init, scope);
        if (init.type === 'null')
          this.err(st.init, `cannot infer the type of ${st.name} from NULL: give it a typed value`);
        const snapshot = init.op === Op.Queue ? this.sites++ : -1;
        const slot = this.declare(scope, st, st.name, init.type, init.nullable);
        return new S(Op.Var, init, null, slot, st.name, null, null, snapshot);
      }
      case 'set': {
        const reg = this.register(st.reg, scope);
        const v = this.expect(st.value, scope, 'int', 'SET value');
        return new S(Op.Set, v, null, reg);
      }
      case 'if': {
        const cond = this.expect(st.cond, scope, 'bool', 'IF condition');
        const then = this.block(st.then, new Scope(scope));
        const alt = st.else === null ? null : this.block(st.else, new Scope(scope));
        return new S(Op.If, cond, null, 0, '', then, alt);
      }
      case 'foreach': {
        const list = this.expr(st.list, scope);
        if (list.type !== 'sbflist' && list.type !== 'pktlist' && list.type !== 'error')
          this.err(
            st.list,
            `FOREACH expects a subflow list or a packet list but got ${TYPE_NAMES[list.type]}`,
          );
        const inner = new Scope(scope);
        const slot = this.declare(inner, st, st.name, elemOf(list.type), false);
        const body = this.block(st.body, new Scope(inner));
        return new S(Op.Foreach, list, null, slot, st.name, body);
      }
      case 'drop':
        return new S(Op.Drop, this.expect(st.e, scope, 'packet', 'DROP'));
      case 'print': {
        const fmt = this.expect(st.fmt, scope, 'string', 'PRINT format');
        let v: X | null = null;
        if (st.value !== null) {
          v = this.expr(st.value, scope);
          if (v.type === 'sbflist' || v.type === 'pktlist')
            this.err(
              start(st.value),
              `PRINT cannot print a ${TYPE_NAMES[v.type]}: print its COUNT or an element`,
            );
        }
        return new S(Op.Print, fmt, v);
      }
      case 'return':
        return new S(Op.Return);
      case 'void':
        return new S(Op.Void, st.e === null ? null : this.expr(st.e, scope));
      case 'expr': {
        const e = st.e;
        if (e.k !== 'push' && e.k !== 'setuser') return null;
        const sbf = this.expect(
          e.obj,
          scope,
          'subflow',
          e.k === 'push' ? 'PUSH receiver' : 'SET_USER receiver',
        );
        const arg =
          e.k === 'push'
            ? this.expect(e.arg, scope, 'packet', 'PUSH')
            : this.expect(e.arg, scope, 'int', 'SET_USER');
        return new S(e.k === 'push' ? Op.Push : Op.SetUser, sbf, arg);
      }
      case 'define':
        if (!top) {
          this.err(st, 'DEFINE belongs at the top level of the program, not inside a block');
          return null;
        }
        for (const d of st.regs) {
          const m = /^R([1-6])$/.exec(d.reg);
          if (m === null) this.err(d, `register ${d.reg} does not exist (R1..R6)`);
          else if (
            PREDEFINED.includes(d.name) ||
            scope.lookup(d.name) !== undefined ||
            this.defines.has(d.name)
          )
            this.err(d, `cannot name ${d.reg} ${d.name}: the name is already in use`);
          else this.defines.set(d.name, Number(m[1]) - 1);
        }
        return null;
    }
  }

  private register(e: PExpr, scope: Scope): number {
    if (e.k === 'name' && scope.lookup(e.name) === undefined) {
      const d = this.defines.get(e.name);
      if (d !== undefined) return d;
      const m = /^R(\d+)$/.exec(e.name);
      if (m !== null) {
        const r = Number(m[1]);
        if (r >= 1 && r <= 6) return r - 1;
        this.err(e, `register ${e.name} does not exist (R1..R6)`);
        return 0;
      }
    }
    this.err(e, 'SET expects a register (R1..R6 or a DEFINE name) as its first argument');
    return 0;
  }

  private expect(e: PExpr, scope: Scope, want: Type, what: string): X {
    const x = this.expr(e, scope);
    if (!fits(x.type, want))
      this.err(start(e), `${what} expects ${article(want)} but got ${TYPE_NAMES[x.type]}`);
    return x;
  }

  private expr(e: PExpr, scope: Scope): X {
    switch (e.k) {
      case 'int':
        return new X(Op.Int, 'int', false, null, null, e.v);
      case 'str':
        return new X(Op.Str, 'string', false, null, null, 0, e.v);
      case 'bool':
        return new X(Op.Bool, 'bool', false, null, null, e.v ? 1 : 0);
      case 'null':
        return new X(Op.Null, 'null', true);
      case 'name':
        return this.name(e, scope);
      case 'not': {
        const v = this.expect(e.e, scope, 'bool', '!');
        return new X(Op.Not, 'bool', v.nullable, v);
      }
      case 'bin':
        return this.binary(e, scope);
      case 'member':
        return this.member(e, scope);
      case 'push':
      case 'setuser': {
        const what = e.k === 'push' ? 'PUSH' : 'SET_USER';
        this.err(e, `${what} is a statement, not a value: write sbf.${what}(...); on its own`);
        return new X(Op.Null, 'error', true);
      }
    }
  }

  private name(e: At & { name: string }, scope: Scope): X {
    const b = scope.lookup(e.name);
    if (b !== undefined) return new X(Op.Local, b.type, b.nullable, null, null, b.slot, e.name);
    const d = this.defines.get(e.name);
    if (d !== undefined) return new X(Op.Reg, 'int', false, null, null, d);
    switch (e.name) {
      case 'Q':
        return new X(Op.Queue, 'pktlist', false, null, null, 0);
      case 'QU':
        return new X(Op.Queue, 'pktlist', false, null, null, 1);
      case 'RQ':
        return new X(Op.Queue, 'pktlist', false, null, null, 2);
      case 'SUBFLOWS':
        return new X(Op.Subflows, 'sbflist', false);
      case 'CURRENT_TIME_MS':
        return new X(Op.Now, 'int', false);
      case 'RANDOM':
        return new X(Op.Random, 'int', false);
    }
    const m = /^R(\d+)$/.exec(e.name);
    if (m !== null) {
      const r = Number(m[1]);
      if (r >= 1 && r <= 6) return new X(Op.Reg, 'int', false, null, null, r - 1);
      this.err(e, `register ${e.name} does not exist (R1..R6)`);
    } else {
      const known = [...scope.names(), ...this.defines.keys(), ...PREDEFINED];
      this.err(e, `unknown name ${e.name}${didYouMean(e.name, known)}`);
    }
    return new X(Op.Null, 'error', true);
  }

  private binary(e: Extract<PExpr, { k: 'bin' }>, scope: Scope): X {
    const l = this.expr(e.l, scope);
    const r = this.expr(e.r, scope);
    const nullable = l.nullable || r.nullable;
    const need = (x: X, side: PExpr, want: Type) => {
      if (!fits(x.type, want))
        this.err(side, `${e.op} expects ${article(want)} but got ${TYPE_NAMES[x.type]}`);
    };
    switch (e.op) {
      case '+':
      case '-':
      case '*':
      case '/':
      case '%': {
        need(l, e.l, 'int');
        need(r, e.r, 'int');
        const op = { '+': Op.Add, '-': Op.Sub, '*': Op.Mul, '/': Op.Div, '%': Op.Mod }[e.op];
        const divides = (op === Op.Div || op === Op.Mod) && !(r.op === Op.Int && r.n !== 0);
        return new X(op, 'int', nullable || divides, l, r);
      }
      case '<':
      case '<=':
      case '>':
      case '>=': {
        need(l, e.l, 'int');
        need(r, e.r, 'int');
        const op = { '<': Op.Lt, '<=': Op.Le, '>': Op.Gt, '>=': Op.Ge }[e.op];
        return new X(op, 'bool', nullable, l, r);
      }
      case '==':
      case '!=': {
        const neg = e.op === '!=';
        if (r.type === 'null') return new X(neg ? Op.NotNull : Op.IsNull, 'bool', false, l);
        if (l.type === 'null') {
          this.err(start(e.l), `NULL goes on the right of ${e.op}: write x ${e.op} NULL`);
          return new X(Op.Bool, 'bool', false);
        }
        if (l.type !== 'error' && r.type !== 'error' && (l.type !== 'int' || r.type !== 'int'))
          this.err(
            e,
            `${e.op} compares two ints (or x ${e.op} NULL) but got ${TYPE_NAMES[l.type]} and ${TYPE_NAMES[r.type]}`,
          );
        return new X(neg ? Op.Ne : Op.Eq, 'bool', false, l, r);
      }
      case 'AND':
      case 'OR':
        need(l, e.l, 'bool');
        need(r, e.r, 'bool');
        return new X(e.op === 'AND' ? Op.And : Op.Or, 'bool', false, l, r);
    }
  }

  private member(e: Extract<PExpr, { k: 'member' }>, scope: Scope): X {
    const obj = this.expr(e.obj, scope);
    const bad = new X(Op.Null, 'error', true);
    if (obj.type === 'error') return bad;
    const table = membersOf(obj.type);
    if (table === null) {
      this.err(e, `${TYPE_NAMES[obj.type]} has no properties (found .${e.name})`);
      return bad;
    }
    const canonical = ALIASES[e.name] ?? e.name;
    const m: Member | undefined = Object.hasOwn(table, canonical) ? table[canonical] : undefined;
    if (m === undefined) {
      const names = [
        ...Object.keys(table),
        ...Object.keys(ALIASES).filter((a) => Object.hasOwn(table, ALIASES[a]!)),
      ];
      this.err(e, `unknown property ${e.name} for ${TYPE_NAMES[obj.type]}${didYouMean(e.name, names)}`);
      return bad;
    }
    const result: Type = m.result === 'elem' ? elemOf(obj.type) : m.result;
    switch (m.shape) {
      case 'prop':
        if (e.call)
          this.err(e, `${canonical} is a property, not a call: write .${canonical} without parentheses`);
        return new X(m.op, result, m.op === Op.Top ? true : obj.nullable, obj, null, m.prop);
      case 'call': {
        if (!e.call) {
          this.err(e, `${canonical} needs parentheses: write .${canonical}(${m.arg === null ? '' : m.arg})`);
          return bad;
        }
        if (e.param !== null)
          this.err(
            e.param,
            `${canonical} takes ${m.arg === null ? 'no argument' : `${article(m.arg)}`}, not a lambda`,
          );
        if (m.op === Op.Pop) {
          if (e.arg !== null) this.err(e.arg, 'POP takes no argument: write .POP()');
          if (obj.op !== Op.Queue)
            this.err(e, 'POP works on Q, QU or RQ only (a list variable or FILTER result is a snapshot)');
          return new X(Op.Pop, result, true, obj);
        }
        if (e.arg === null) {
          this.err(e, `${canonical} expects ${article(m.arg!)} argument: write .${canonical}(${m.arg})`);
          return bad;
        }
        const arg = this.expect(e.arg, scope, m.arg!, canonical);
        const nullable = m.op === Op.Get ? true : obj.nullable || arg.nullable;
        return new X(m.op, result, nullable, obj, arg);
      }
      case 'lambda': {
        if (!e.call || e.param === null || e.arg === null) {
          this.err(
            e,
            `${canonical} expects a lambda: write .${canonical}(x => ${m.arg === 'bool' ? 'condition' : 'int value'})`,
          );
          return bad;
        }
        const inner = new Scope(scope);
        if (PREDEFINED.includes(e.param.name) || this.defines.has(e.param.name))
          this.err(e.param, `cannot use ${e.param.name} as a lambda parameter: the name is predefined`);
        const slot = this.slots++;
        inner.vars.set(e.param.name, { slot, type: elemOf(obj.type), nullable: false, line: e.param.line });
        const body = this.expr(e.arg, inner);
        if (!fits(body.type, m.arg!))
          this.err(
            start(e.arg),
            `${canonical} expects ${article(m.arg!)} body but got ${TYPE_NAMES[body.type]}`,
          );
        const site = m.op === Op.Filter ? this.sites++ : -1;
        const nullable = m.op === Op.Min || m.op === Op.Max;
        return new X(
          m.op,
          m.op === Op.Filter ? obj.type : result,
          nullable,
          obj,
          body,
          slot,
          e.param.name,
          site,
        );
      }
    }
  }
}

const article = (t: Type): string => {
  const n = TYPE_NAMES[t];
  return /^[aeiou]/.test(n) ? `an ${n}` : `a ${n}`;
};
