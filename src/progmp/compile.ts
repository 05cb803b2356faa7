/**
 * The compiler: checked program → JavaScript source → a function built with `new Function` (code
 * generation, not I/O). It must behave exactly like interpret.ts — same evaluation order, NULL rules,
 * wrap-around and step count — and it is faster because it knows statically what the interpreter tests at
 * run time: it skips NULL checks on values the checker proved non-NULL (lambda parameters, FOREACH
 * variables, literals), inlines every property read, turns each lambda into a plain loop (no closure, no
 * array per decision: FILTER writes into a per-site buffer), and hoists the run's list views and buffers
 * into constants bound once per scheduler instance.
 */
import { Op, type Program, type S, SbfProp, type X } from './ir.ts';
import { BUDGET_EXCEEDED, type Runtime, sentOn, sentOnAll } from './runtime.ts';

/** Binds a compiled program to one Runtime; returns the run function. */
export type CompiledFactory = (rt: Runtime) => () => void;

const HELPERS = {
  sentOn,
  sentOnAll,
  stop(rt: Runtime, steps: number): never {
    rt.steps = steps;
    throw BUDGET_EXCEEDED;
  },
};

/** The generated source (for inspection) and its factory. */
export function compileProgram(program: Program): { source: string; factory: CompiledFactory } {
  const source = new Gen(program).source();
  const make = new Function('H', 'rt', source) as (h: typeof HELPERS, rt: Runtime) => () => void;
  return { source, factory: (rt) => make(HELPERS, rt) };
}

const SBF_FIELDS: Record<number, string> = {
  [SbfProp.RTT]: 'rtt',
  [SbfProp.RTT_VAR]: 'rttVar',
  [SbfProp.CWND]: 'cwnd',
  [SbfProp.SSTHRESH]: 'ssthresh',
  [SbfProp.SKBS_IN_FLIGHT]: 'skbsInFlight',
  [SbfProp.QUEUED]: 'queued',
  [SbfProp.LOST_SKBS]: 'lostSkbs',
  [SbfProp.IS_BACKUP]: 'isBackup',
  [SbfProp.THROTTLED]: 'throttled',
  [SbfProp.LOSSY]: 'lossy',
  [SbfProp.ID]: 'id',
  [SbfProp.DELAY_IN]: 'delayIn',
  [SbfProp.DELAY_OUT]: 'delayOut',
  [SbfProp.BW_OUT_SEND]: 'bwOutSend',
  [SbfProp.BW_OUT_ACK]: 'bwOutAck',
  [SbfProp.MSS]: 'mss',
  [SbfProp.USER]: 'user',
};
const PKT_FIELDS = ['seq', 'length', 'psh', 'user'];

const sbfProp = (r: string, prop: number): string =>
  prop === SbfProp.RTT_MS
    ? `Math.floor(${r}.rtt / 8000)`
    : prop === SbfProp.RTT_US
      ? `Math.floor(${r}.rtt / 8)`
      : `${r}.${SBF_FIELDS[prop]}`;

/** Expressions whose evaluation has no effect and whose text may be repeated. */
const simple = (x: X): boolean =>
  x.op === Op.Int || x.op === Op.Bool || x.op === Op.Null || x.op === Op.Local || x.op === Op.Reg;

const STEP = 'if (++steps > B) H.stop(rt, steps);';

class Gen {
  private temps = 0;
  private ids = 0;

  constructor(private readonly program: Program) {}

  source(): string {
    const body: string[] = [];
    this.stmts(this.program.body, body);
    const p = this.program;
    const sites = Array.from({ length: p.sites }, (_, i) => `S${i} = rt.sites[${i}]`);
    const locals = [
      ...Array.from({ length: p.slots }, (_, i) => `v${i} = null`),
      ...Array.from({ length: this.temps }, (_, i) => `t${i} = null`),
    ];
    return [
      "'use strict';",
      `const SB = rt.subflows, Q0 = rt.queues[0], Q1 = rt.queues[1], Q2 = rt.queues[2], B = rt.budget${sites.map((s) => `, ${s}`).join('')};`,
      'return function run() {',
      'const regs = rt.regs, out = rt.out;',
      'let steps = 0;',
      locals.length > 0 ? `let ${locals.join(', ')};` : '',
      'main: {',
      ...body,
      '}',
      'rt.steps = steps;',
      '};',
    ].join('\n');
  }

  private tmp(): string {
    return `t${this.temps++}`;
  }

  private stmts(body: S[], out: string[]): void {
    for (const s of body) {
      out.push(STEP);
      this.stmt(s, out);
    }
  }

  private stmt(s: S, out: string[]): void {
    switch (s.op) {
      case Op.Var: {
        const e = this.expr(s.a!, out);
        out.push(s.site >= 0 ? `v${s.n} = S${s.site}.copy(${e});` : `v${s.n} = ${e};`);
        return;
      }
      case Op.Set:
        out.push(`rt.set(${s.n}, ${this.expr(s.a!, out)});`);
        return;
      case Op.If: {
        out.push(`if (${this.truthy(s.a!, out)}) {`);
        this.stmts(s.body!, out);
        if (s.alt !== null) {
          out.push('} else {');
          this.stmts(s.alt, out);
        }
        out.push('}');
        return;
      }
      case Op.Foreach: {
        const l = this.expr(s.a!, out);
        const id = this.ids++;
        out.push(`{ const it${id} = ${l}.items, o${id} = ${l}.off, n${id} = ${l}.len;`);
        out.push(
          `for (let i${id} = 0; i${id} < n${id}; i${id}++) {`,
          STEP,
          `v${s.n} = it${id}[o${id} + i${id}];`,
        );
        this.stmts(s.body!, out);
        out.push('} }');
        return;
      }
      case Op.Drop:
        out.push(`rt.drop(${this.expr(s.a!, out)});`);
        return;
      case Op.Print: {
        if (s.b === null) {
          out.push(`rt.print(${this.expr(s.a!, out)}, undefined, '');`);
          return;
        }
        const [f, v] = this.pair(s.a!, s.b, out);
        out.push(`rt.print(${f}, ${v}, ${JSON.stringify(s.b.type)});`);
        return;
      }
      case Op.Return:
        out.push('break main;');
        return;
      case Op.Void:
        if (s.a !== null) out.push(`${this.expr(s.a, out)};`);
        return;
      case Op.Push:
      case Op.SetUser: {
        const id = this.ids++;
        const sbf = this.expr(s.a!, out);
        out.push(`{ const s${id} = ${sbf};`);
        if (s.a!.nullable) out.push(`if (s${id} !== null) {`);
        const arg = this.expr(s.b!, out);
        if (s.op === Op.SetUser) out.push(`rt.setUser(s${id}, ${arg});`);
        else if (s.b!.nullable)
          out.push(`{ const p${id} = ${arg}; if (p${id} !== null) out.push(s${id}, p${id}); }`);
        else out.push(`out.push(s${id}, ${arg});`);
        out.push(s.a!.nullable ? '} }' : '}');
        return;
      }
    }
  }

  /** `x === true` as cheaply as the type allows. */
  private truthy(x: X, pre: string[]): string {
    const e = this.expr(x, pre);
    return x.nullable ? `${e} === true` : e;
  }

  /** Two operands in source order: the first is saved in a temporary if the second needs statements. */
  private pair(a: X, b: X, pre: string[]): [string, string] {
    let l = this.expr(a, pre);
    const mark = pre.length;
    const r = this.expr(b, pre);
    if (pre.length > mark && !simple(a)) {
      const t = this.tmp();
      pre.splice(mark, 0, `${t} = ${l};`);
      l = t;
    }
    return [l, r];
  }

  /**
   * Binds operands that need a NULL test (or that are not simple and must not be evaluated twice) to
   * temporaries, in order, and guards `core` with the NULL tests.
   */
  private guarded(operands: [X, string][], extra: string[], core: (vals: string[]) => string): string {
    const binds: string[] = [];
    const conds: string[] = [];
    const vals: string[] = [];
    const anyNull = operands.some(([x]) => x.nullable) || extra.length > 0;
    for (const [x, text] of operands) {
      if (anyNull && !simple(x)) {
        const t = this.tmp();
        binds.push(`${t} = ${text}`);
        vals.push(t);
      } else vals.push(text);
      if (x.nullable) conds.push(`${vals[vals.length - 1]} === null`);
    }
    for (const e of extra) conds.push(e.replaceAll('$1', vals[1]!));
    const guard = conds.length > 0 ? `${conds.join(' || ')} ? null : ` : '';
    return `(${binds.map((b) => `${b}, `).join('')}${guard}${core(vals)})`;
  }

  private expr(x: X, pre: string[]): string {
    switch (x.op) {
      case Op.Int:
        return String(x.n);
      case Op.Str:
        return JSON.stringify(x.s);
      case Op.Bool:
        return x.n === 1 ? 'true' : 'false';
      case Op.Null:
        return 'null';
      case Op.Local:
        return `v${x.n}`;
      case Op.Reg:
        return `regs[${x.n}]`;
      case Op.Queue:
        return `Q${x.n}`;
      case Op.Subflows:
        return 'SB';
      case Op.Now:
        return 'rt.nowMs';
      case Op.Random:
        return 'rt.random()';
      case Op.Add:
      case Op.Sub:
      case Op.Mul:
      case Op.Div:
      case Op.Mod:
      case Op.Lt:
      case Op.Le:
      case Op.Gt:
      case Op.Ge: {
        const [l, r] = this.pair(x.a!, x.b!, pre);
        const divides = (x.op === Op.Div || x.op === Op.Mod) && !(x.b!.op === Op.Int && x.b!.n !== 0);
        const core = ([a, b]: string[]): string => {
          switch (x.op) {
            case Op.Add:
              return `(${a} + ${b}) >>> 0`;
            case Op.Sub:
              return `(${a} - ${b}) >>> 0`;
            case Op.Mul:
              return `Math.imul(${a}, ${b}) >>> 0`;
            case Op.Div:
              return `Math.floor(${a} / ${b})`;
            case Op.Mod:
              return `${a} % ${b}`;
            case Op.Lt:
              return `${a} < ${b}`;
            case Op.Le:
              return `${a} <= ${b}`;
            case Op.Gt:
              return `${a} > ${b}`;
            default:
              return `${a} >= ${b}`;
          }
        };
        return this.guarded(
          [
            [x.a!, l],
            [x.b!, r],
          ],
          divides ? ['$1 === 0'] : [],
          core,
        );
      }
      case Op.Eq:
      case Op.Ne: {
        const [l, r] = this.pair(x.a!, x.b!, pre);
        return `(${l} ${x.op === Op.Eq ? '===' : '!=='} ${r})`;
      }
      case Op.IsNull:
        return `(${this.expr(x.a!, pre)} === null)`;
      case Op.NotNull:
        return `(${this.expr(x.a!, pre)} !== null)`;
      case Op.And:
      case Op.Or: {
        const l = this.truthy(x.a!, pre);
        const rest: string[] = [];
        const r = this.truthy(x.b!, rest);
        if (rest.length === 0) return `(${l} ${x.op === Op.And ? '&&' : '||'} ${r})`;
        const t = this.tmp();
        pre.push(
          `${t} = ${l};`,
          x.op === Op.And ? `if (${t}) {` : `if (!${t}) {`,
          ...rest,
          `${t} = ${r};`,
          '}',
        );
        return t;
      }
      case Op.Not: {
        const e = this.expr(x.a!, pre);
        if (!x.a!.nullable) return `(!${e})`;
        const t = this.tmp();
        return `((${t} = ${e}) === null ? null : !${t})`;
      }
      case Op.SbfProp:
      case Op.PktProp: {
        const e = this.expr(x.a!, pre);
        const read = (r: string) => (x.op === Op.SbfProp ? sbfProp(r, x.n) : `${r}.${PKT_FIELDS[x.n]}`);
        if (!x.a!.nullable) return read(e);
        const t = this.tmp();
        return `((${t} = ${e}) === null ? null : ${read(t)})`;
      }
      case Op.HasWindow: {
        const [s, p] = this.pair(x.a!, x.b!, pre);
        return this.guarded(
          [
            [x.a!, s],
            [x.b!, p],
          ],
          [],
          ([a, b]) => `${b}.length <= ${a}.windowFree`,
        );
      }
      case Op.SentOn: {
        const [p, s] = this.pair(x.a!, x.b!, pre);
        return this.guarded(
          [
            [x.a!, p],
            [x.b!, s],
          ],
          [],
          ([a, b]) => `H.sentOn(${a}, ${b})`,
        );
      }
      case Op.SentOnAll:
        return this.guarded(
          [[x.a!, this.expr(x.a!, pre)]],
          [],
          ([a]) => `H.sentOnAll(${a}, rt.state.subflows)`,
        );
      case Op.Empty:
        return `(${this.expr(x.a!, pre)}.len === 0)`;
      case Op.Count:
        return `${this.expr(x.a!, pre)}.len`;
      case Op.Top: {
        const l = this.expr(x.a!, pre);
        return `(${l}.len > 0 ? ${l}.items[${l}.off] : null)`;
      }
      case Op.Get: {
        const [l, i] = this.pair(x.a!, x.b!, pre);
        const idx = simple(x.b!) ? i : this.tmp();
        const bind = idx === i ? '' : `${idx} = ${i}, `;
        const nullTest = x.b!.nullable ? `${idx} === null || ` : '';
        return `(${bind}${nullTest}${idx} >= ${l}.len ? null : ${l}.items[${l}.off + ${idx}])`;
      }
      case Op.Pop:
        return `rt.pop(${this.expr(x.a!, pre)})`;
      case Op.Filter:
      case Op.Min:
      case Op.Max:
      case Op.Sum:
        return this.lambda(x, pre);
    }
    throw new Error(`progmp: statement op ${x.op} used as an expression`);
  }

  /** FILTER / MIN / MAX / SUM as one loop over a snapshot of the list. */
  private lambda(x: X, pre: string[]): string {
    const l = this.expr(x.a!, pre);
    const id = this.ids++;
    const body: string[] = [];
    const key = this.expr(x.b!, body);
    const k = `k${id}`;
    const e = `e${id}`;
    const loop = (init: string, each: string, done: string) => {
      pre.push(`{ const it${id} = ${l}.items, o${id} = ${l}.off, n${id} = ${l}.len; ${init}`);
      pre.push(`for (let i${id} = 0; i${id} < n${id}; i${id}++) {`, STEP);
      pre.push(`const ${e} = it${id}[o${id} + i${id}]; v${x.n} = ${e};`, ...body, each, `} ${done} }`);
    };
    switch (x.op) {
      case Op.Filter: {
        const cond = x.b!.nullable ? `${key} === true` : key;
        loop(
          `const b${id} = S${x.site}.items; let m${id} = 0;`,
          `if (${cond}) b${id}[m${id}++] = ${e};`,
          `S${x.site}.off = 0; S${x.site}.len = m${id};`,
        );
        return `S${x.site}`;
      }
      case Op.Sum: {
        const t = this.tmp();
        const add = x.b!.nullable
          ? `if (${k} !== null) ${t} = (${t} + ${k}) >>> 0;`
          : `${t} = (${t} + ${k}) >>> 0;`;
        loop(`${t} = 0;`, `const ${k} = ${key}; ${add}`, '');
        return t;
      }
      default: {
        // Strict comparison keeps the first element on ties; a non-NULL key beats the start value.
        const t = this.tmp();
        const max = x.op === Op.Max;
        const best = `bk${id}`;
        const better = `${k} ${max ? '>' : '<'} ${best}`;
        const test = x.b!.nullable ? `${k} !== null && ${better}` : better;
        loop(
          `${t} = null; let ${best} = ${max ? -1 : 'Infinity'};`,
          `const ${k} = ${key}; if (${test}) { ${t} = ${e}; ${best} = ${k}; }`,
          '',
        );
        return t;
      }
    }
  }
}
