/**
 * The compiler: checked program → JavaScript source → a ProgmpScheduler subclass made with `new Function`
 * (code generation, not I/O), one class per program, whose `schedule` method is the program between the
 * prologue and epilogue of a run (scheduler.ts). It must behave exactly like the interpreter — same
 * evaluation order, NULL rules, wrap-around and step count — and it is fast because it settles at compile
 * time what the interpreter settles per node, per run:
 *
 * - a run reads the engine's state directly: SUBFLOWS and each queue as a local array with a local read
 *   position (POP moves the index), the registers as a local typed array; the step count and the changed
 *   flag are locals, and a run over budget leaves by `break`, not by an exception;
 * - a list is four locals or constants (items, offset, length, root length), never an object;
 * - lists follow the evaluation plan (plan.ts): a FILTER chain is fused into the one loop that consumes it,
 *   a VAR over SUBFLOWS with stable predicates is not built but applied where it is used (and once an
 *   EMPTY test found its first subflow, later loops start there);
 * - NULL tests only on values the checker found nullable, property reads inline, steps charged once per
 *   loop rather than per element (runtime.ts).
 */
import type { SchedulerOptions } from '../sched/types.ts';
import { Op, type Program, type S, SbfProp, type X } from './ir.ts';
import { below, iterates, optimised, type Plan } from './plan.ts';
import { BUDGET_EXCEEDED, sentOn, sentOnAll } from './runtime.ts';
import { MAX_RERUNS, ProgmpScheduler } from './scheduler.ts';

/**
 * Does every change of state come with a push? True when the program never SETs, SET_USERs or DROPs and
 * every POP is the packet of a PUSH: a PUSH evaluates it only for a subflow, and pushes what it returns.
 * Such a run never changes state without pushing, so it never asks for a re-run (scheduler.ts).
 */
function pushesAllItChanges(body: S[]): boolean {
  const pops = (x: X | null): boolean => x !== null && (x.op === Op.Pop || pops(x.a) || pops(x.b));
  return body.every((s) => {
    if (s.op === Op.Set || s.op === Op.SetUser || s.op === Op.Drop) return false;
    const packet = s.op === Op.Push && s.b!.op === Op.Pop ? null : s.b;
    return !pops(s.a) && !pops(packet) && pushesAllItChanges(s.body ?? []) && pushesAllItChanges(s.alt ?? []);
  });
}

/** The scheduler class of a compiled program. */
export type CompiledClass = new (
  name: string,
  program: Program,
  options?: SchedulerOptions,
) => ProgmpScheduler;

const HELPERS = { Base: ProgmpScheduler, sentOn, sentOnAll, BUDGET_EXCEEDED };

/** The generated source (for inspection) and the class it defines. */
export function compileProgram(program: Program): { source: string; Compiled: CompiledClass } {
  const source = new Gen(program).source();
  const make = new Function('H', source) as (h: typeof HELPERS) => CompiledClass;
  return { source, Compiled: make(HELPERS) };
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

/** A built list: JavaScript expressions for its items array, offset, length and root length. */
interface Mat {
  lazy: false;
  items: string;
  off: string;
  len: string;
  bound: string;
}

/** A list not built: SUBFLOWS filtered by these FILTER nodes (root first), applied where it is used. */
interface Lazy {
  lazy: true;
  preds: X[];
  /**
   * A local holding the index of the first subflow that passes `preds` once a loop has found it (the
   * predicates are stable, so it holds for the run: later loops start there and skip testing it), the
   * count of SUBFLOWS when none does, -1 while unknown; '' when not kept.
   */
  first: string;
}

type ListCode = Mat | Lazy;

const SUBFLOWS: Mat = { lazy: false, items: 'sb', off: '0', len: 'nsb', bound: 'nsb' };

/** Text that stays valid while a list VAR is in scope (run constants, or locals nobody reassigns then). */
const STEADY = /^(0|sb|nsb|S\d+|q\di|t\d+|v\d+[onb])$/;

/** What consumes the elements of a fused loop ('filter' builds the list and reports where it is). */
type Consumer =
  | { k: 'filter'; x: X; len: string; bound: string }
  | { k: 'min' | 'max' | 'sum'; x: X }
  | { k: 'count' | 'empty' | 'top' }
  | { k: 'get'; index: string }
  | { k: 'foreach'; s: S };

class Gen {
  private readonly plan: Plan;
  private temps = 0;
  private ids = 0;
  /** JavaScript names of lambda parameters and FOREACH variables while their loops are generated. */
  private readonly names = new Map<number, string>();
  /** How each list VAR (by slot) is held. */
  private readonly lists = new Map<number, ListCode>();
  /** Locals declared for list VARs. */
  private readonly listLocals: string[] = [];
  /** List VARs some EMPTY tests (directly or through FILTERs). */
  private readonly emptied = new Set<number>();
  /** Slots of VARs held in locals (lambda parameters and FOREACH variables are loop constants). */
  private readonly scalars = new Set<number>();
  /** Site buffers the code builds lists in (fused FILTERs need none). */
  private readonly sites = new Set<number>();
  /** The program changes state only by pushing what it POPs: a run never asks for a re-run. */
  private readonly pushesAll: boolean;
  /** Depth of loop predicates and lambdas being generated (FOREACH bodies not counted: rounds check). */
  private nested = 0;

  constructor(private readonly program: Program) {
    this.plan = optimised(program.uses);
    const expr = (x: X | null): void => {
      if (x === null) return;
      if (x.op === Op.Empty) {
        let l = x.a!;
        while (l.op === Op.Filter) l = l.a!;
        if (l.op === Op.Local) this.emptied.add(l.n);
      }
      expr(x.a);
      expr(x.b);
    };
    const stmts = (body: S[] | null): void => {
      for (const st of body ?? []) {
        expr(st.a);
        expr(st.b);
        stmts(st.body);
        stmts(st.alt);
      }
    };
    stmts(program.body);
    this.pushesAll = pushesAllItChanges(program.body);
  }

  source(): string {
    const p = this.program;
    const u = p.uses;
    const body: string[] = [];
    this.stmts(p.body, body);
    const head: string[] = [];
    if (u.regs) head.push('const regs = st.registers;');
    if (u.subflows) head.push('const sb = st.subflows, nsb = sb.length;');
    ['q', 'qu', 'rq'].forEach((name, k) => {
      if (!u.queues[k]) return;
      head.push(
        // Not Math.min, whose result the JIT may keep as a double, and every index with it.
        `const q${k}i = st.${name}.packets, q${k}n = q${k}i.length; let q${k}h = st.${name}.head; if (q${k}h > q${k}n) q${k}h = q${k}n;`,
      );
    });
    if (u.now) head.push('const now = Math.floor(st.now / 1000) % 4294967296;');
    const locals = [
      ...[...this.scalars].map((n) => `v${n} = null`),
      ...Array.from({ length: this.temps }, (_, i) => `t${i} = null`),
      ...this.listLocals.map((l) => `${l} = 0`),
    ];
    // Site buffers belong to the instance: FILTER results of one connection's run.
    const sites = [...this.sites].sort((a, b) => a - b).map((i) => `S${i}`);
    return [
      "'use strict';",
      'const { sentOn, sentOnAll, BUDGET_EXCEEDED } = H;',
      'return class Compiled extends H.Base {',
      'constructor(name, program, options) {',
      'super(name, program, options);',
      ...sites.map((b) => `this.${b} = [];`),
      '}',
      'schedule(st) {',
      // The prologue of ProgmpScheduler.schedule (scheduler.ts), cut to what this program needs.
      'const clock = this.clock, clock0 = clock === undefined ? 0 : clock();',
      'const rt = this.rt, out = this.out, B = rt.budget;',
      'out.begin();',
      u.writes ? 'rt.begin(st.registers);' : '',
      sites.length > 0 ? `const ${sites.map((b) => `${b} = this.${b}`).join(', ')};` : '',
      this.pushesAll ? 'let steps = 0;' : 'let steps = 0, changed = false;',
      ...head,
      locals.length > 0 ? `let ${locals.join(', ')};` : '',
      ...(u.random ? ['try {'] : []),
      'main: {',
      ...body,
      '}',
      ...(u.random ? ['} catch (e) {', 'if (e !== BUDGET_EXCEEDED) throw e;', '}'] : []),
      'rt.steps = steps;',
      // The epilogue, likewise.
      'if (steps > B) this.overBudget(st);',
      u.prints ? 'if (rt.printed.length !== 0) this.flushPrinted(st);' : '',
      ...(this.pushesAll
        ? []
        : [
            `if (changed && steps <= B && out.pushes === 0 && this.rerunsInARow < ${MAX_RERUNS}) this.rerun();`,
            'else this.rerunsInARow = 0;',
          ]),
      'const stats = this.stats;',
      'stats.executions++;',
      'stats.actions += out.count;',
      'if (clock !== undefined) stats.timeSpent += clock() - clock0;',
      'return out;',
      '}',
      '};',
    ].join('\n');
  }

  private tmp(): string {
    return `t${this.temps++}`;
  }

  private name(slot: number): string {
    return this.names.get(slot) ?? `v${slot}`;
  }

  /** Runs `gen` with `slot` named `js`, restoring the previous name afterwards. */
  private named<T>(slot: number, js: string, gen: () => T): T {
    const prev = this.names.get(slot);
    this.names.set(slot, js);
    try {
      return gen();
    } finally {
      if (prev === undefined) this.names.delete(slot);
      else this.names.set(slot, prev);
    }
  }

  private stmts(body: S[], out: string[]): void {
    for (const s of body) {
      out.push('steps++;');
      this.stmt(s, out);
    }
  }

  private stmt(s: S, out: string[]): void {
    switch (s.op) {
      case Op.Var:
        this.var(s, out);
        return;
      case Op.Set: {
        const v = this.expr(s.a!, out);
        const r = `regs[${s.n}]`;
        const nul = s.a!.nullable ? 'x !== null && ' : '';
        out.push(`{ const x = ${v}; if (${nul}${r} !== x) { ${r} = x; changed = true; } }`);
        return;
      }
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
      case Op.Foreach:
        this.iterate(s.a!, { k: 'foreach', s }, out);
        return;
      case Op.Drop:
        out.push(`{ const p = ${this.expr(s.a!, out)}; if (p !== null && out.drop(p)) changed = true; }`);
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
        if (s.op === Op.SetUser) out.push(`if (rt.setUser(s${id}, ${arg})) changed = true;`);
        else if (s.b!.nullable)
          out.push(`{ const p${id} = ${arg}; if (p${id} !== null) out.push(s${id}, p${id}); }`);
        else out.push(`out.push(s${id}, ${arg});`);
        out.push(s.a!.nullable ? '} }' : '}');
        return;
      }
    }
  }

  private var(s: S, out: string[]): void {
    const init = s.a!;
    if (init.type !== 'sbflist' && init.type !== 'pktlist') {
      this.scalars.add(s.n);
      out.push(`v${s.n} = ${this.expr(init, out)};`);
      return;
    }
    // Kept unbuilt (plan.ts): it costs its steps now.
    const preds = this.plan.lazy(init, (slot) => {
      const l = this.lists.get(slot);
      return l?.lazy === true ? l.preds : undefined;
    });
    if (preds !== null) {
      // The first-match index pays only where an EMPTY test precedes other loops over the VAR.
      const first = this.emptied.has(s.n) ? `h${s.n}` : '';
      if (first !== '') {
        this.listLocals.push(first);
        out.push(`${first} = -1;`);
      }
      this.lists.set(s.n, { lazy: true, preds, first });
      let filters = 0;
      for (let x = init; x.op === Op.Filter; x = x.a!) filters++;
      if (filters > 0) out.push(`steps += ${filters === 1 ? '' : `${filters} * `}nsb;`);
      return;
    }
    // A built list (or a queue snapshot): keep what may change later in locals of its own.
    const l = this.list(init, out) as Mat;
    const bind = (text: string, suffix: string): string => {
      if (STEADY.test(text)) return text;
      const local = `v${s.n}${suffix}`;
      this.listLocals.push(local);
      out.push(`${local} = ${text};`);
      return local;
    };
    const off = bind(l.off, 'o');
    const len = bind(l.len, 'n');
    const bound = l.bound === l.len ? len : bind(l.bound, 'b');
    this.lists.set(s.n, { lazy: false, items: l.items, off, len, bound });
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
        return this.name(x.n);
      case Op.Reg:
        return `regs[${x.n}]`;
      case Op.Now:
        return 'now';
      case Op.Random:
        return '(steps > B && rt.stop(steps), st.random() >>> 0)';
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
          ([a, b]) => `sentOn(${a}, ${b})`,
        );
      }
      case Op.SentOnAll:
        return this.guarded([[x.a!, this.expr(x.a!, pre)]], [], ([a]) => `sentOnAll(${a}, sb)`);
      case Op.Empty:
        return this.iterate(x.a!, { k: 'empty' }, pre);
      case Op.Count:
        return this.iterate(x.a!, { k: 'count' }, pre);
      case Op.Top:
        return this.iterate(x.a!, { k: 'top' }, pre);
      case Op.Get: {
        const l = this.list(x.a!, pre);
        if (l.lazy) {
          const i = this.expr(x.b!, pre);
          const index = simple(x.b!) ? i : this.tmp();
          if (index !== i) pre.push(`${index} = ${i};`);
          return this.iterate(x.a!, { k: 'get', index }, pre, l);
        }
        // The list is read after the index is evaluated (a POP in the index moves a queue first).
        const i = this.expr(x.b!, pre);
        const idx = simple(x.b!) ? i : this.tmp();
        const bind = idx === i ? '' : `${idx} = ${i}, `;
        const nullTest = x.b!.nullable ? `${idx} === null || ` : '';
        const at = l.off === '0' ? idx : `${l.off} + ${idx}`;
        return `(${bind}${nullTest}${idx} >= ${l.len} ? null : ${l.items}[${at}])`;
      }
      case Op.Pop: {
        const k = x.a!.n;
        const mark = this.pushesAll ? '' : 'changed = true, ';
        return `(q${k}h < q${k}n ? (${mark}q${k}i[q${k}h++]) : null)`;
      }
      case Op.Min:
        return this.iterate(x.a!, { k: 'min', x }, pre);
      case Op.Max:
        return this.iterate(x.a!, { k: 'max', x }, pre);
      case Op.Sum:
        return this.iterate(x.a!, { k: 'sum', x }, pre);
    }
    throw new Error(`progmp: op ${x.op} is not a scalar expression`);
  }

  /** A list value; FILTERs are built (fused with the pure part of the chain below them). */
  private list(x: X, pre: string[]): ListCode {
    switch (x.op) {
      case Op.Subflows:
        return SUBFLOWS;
      case Op.Queue: {
        const k = x.n;
        const len = `(q${k}n - q${k}h)`;
        return { lazy: false, items: `q${k}i`, off: `q${k}h`, len, bound: len };
      }
      case Op.Local:
        return this.lists.get(x.n)!;
      case Op.Filter: {
        const c: Consumer = { k: 'filter', x, len: '', bound: '' };
        this.iterate(x.a!, c, pre);
        return { lazy: false, items: `S${x.site}`, off: '0', len: c.len, bound: c.bound };
      }
    }
    throw new Error(`progmp: op ${x.op} is not a list`);
  }

  /**
   * One loop over the root of `listX` applying the fusable FILTERs below `c` inline, feeding `c`. Charges
   * the steps of every iteration it stands for. Returns the consumer's value ('' for 'filter' and
   * 'foreach').
   */
  private iterate(listX: X, c: Consumer, pre: string[], known?: ListCode): string {
    const lambda = c.k === 'filter' || c.k === 'min' || c.k === 'max' || c.k === 'sum' ? c.x.b! : null;
    const inline = known === undefined ? this.plan.inline(listX, c.k, lambda) : [];
    const base = known ?? this.list(below(listX, inline), pre);
    const root = base.lazy ? SUBFLOWS : base;
    const preds = base.lazy ? [...base.preds, ...inline] : inline;
    const charge = inline.length + (iterates(c.k) ? 1 : 0);
    // Without predicates, the list operations need no loop.
    if (preds.length === 0)
      switch (c.k) {
        case 'count':
          return root.len;
        case 'empty':
          return `(${root.len} === 0)`;
        case 'top':
          return `(${root.len} > 0 ? ${root.items}[${root.off}] : null)`;
      }
    const id = this.ids++;
    const [it, o, n, e] = [`it${id}`, `o${id}`, `n${id}`, `e${id}`];
    // The root's length is read once, as the loop starts (a queue's may change inside it).
    const bound = root.bound === root.len ? n : root.bound;
    const offset = root.off === '0' ? '' : `, ${o} = ${root.off}`;
    // A loop over SUBFLOWS outside any other loop's lambda is short: the budget is held against the count
    // at the next check instead (the next RANDOM draw, FOREACH round or the end), which stops the run all
    // the same, as no effect before it outlives a stopped run.
    const short = root === SUBFLOWS && this.nested === 0 && c.k !== 'foreach';
    if (charge > 0)
      pre.push(
        `steps += ${charge === 1 ? root.bound : `${charge} * ${root.bound}`};${short ? '' : ' if (steps > B) break main;'}`,
      );
    pre.push(`{ const ${it} = ${root.items}${offset}, ${n} = ${root.len};`);
    let result = '';
    let init = '';
    switch (c.k) {
      case 'filter': {
        this.sites.add(c.x.site);
        c.len = this.tmp();
        c.bound = STEADY.test(root.bound) ? root.bound : this.tmp();
        init = `${c.len} = 0;${c.bound === root.bound ? '' : ` ${c.bound} = ${bound};`}`;
        break;
      }
      case 'min':
      case 'max':
        // A key of 0 until the first element: an integer local, where ±Infinity would make it a double.
        result = this.tmp();
        init = `${result} = null; let bk${id} = 0;`;
        break;
      case 'sum':
      case 'count':
        result = this.tmp();
        init = `${result} = 0;`;
        break;
      case 'empty':
        result = this.tmp();
        init = `${result} = true;`;
        break;
      case 'top':
        result = this.tmp();
        init = `${result} = null;`;
        break;
      case 'get':
        result = this.tmp();
        init = `${result} = null; let c${id} = 0;`;
        break;
    }
    if (init !== '') pre.push(init);
    // Over an unbuilt VAR, start at its first passing subflow if known, and skip testing that one.
    const h = base.lazy ? base.first : '';
    const own = h !== '' && base.lazy ? base.preds.length : 0;
    pre.push(`for (let i${id} = ${h === '' ? '0' : `${h} > 0 ? ${h} : 0`}; i${id} < ${n}; i${id}++) {`);
    if (c.k === 'foreach') pre.push('if (steps > B) break main;');
    pre.push(`const ${e} = ${it}[${offset === '' ? '' : `${o} + `}i${id}];`);
    if (own > 0) pre.push(`if (i${id} !== ${h}) {`);
    else if (h !== '') pre.push(`if (${h} < 0) ${h} = i${id};`);
    this.nested++;
    preds.forEach((p, j) => {
      this.named(p.n, e, () => {
        const cond = this.truthy(p.b!, pre);
        pre.push(`if (!(${cond})) continue;`);
      });
      if (j === own - 1) pre.push(`if (${h} < 0) ${h} = i${id}; }`);
    });
    if (c.k === 'foreach') this.nested--;
    switch (c.k) {
      case 'filter': {
        const len = c.len;
        this.named(c.x.n, e, () => {
          const cond = this.truthy(c.x.b!, pre);
          pre.push(`if (${cond}) S${c.x.site}[${len}++] = ${e};`);
        });
        break;
      }
      case 'min':
      case 'max':
        this.named(c.x.n, e, () => {
          const k = `k${id}`;
          pre.push(`const ${k} = ${this.expr(c.x.b!, pre)};`);
          const better = `(${result} === null || ${k} ${c.k === 'max' ? '>' : '<'} bk${id})`;
          const test = c.x.b!.nullable ? `${k} !== null && ${better}` : better;
          pre.push(`if (${test}) { ${result} = ${e}; bk${id} = ${k}; }`);
        });
        break;
      case 'sum':
        this.named(c.x.n, e, () => {
          const k = `k${id}`;
          pre.push(`const ${k} = ${this.expr(c.x.b!, pre)};`);
          const add = `${result} = (${result} + ${k}) >>> 0;`;
          pre.push(c.x.b!.nullable ? `if (${k} !== null) ${add}` : add);
        });
        break;
      case 'count':
        pre.push(`${result}++;`);
        break;
      case 'empty':
        pre.push(`${result} = false; break;`);
        break;
      case 'top':
        pre.push(`${result} = ${e}; break;`);
        break;
      case 'get':
        pre.push(`if (c${id}++ === ${c.index}) { ${result} = ${e}; break; }`);
        break;
      case 'foreach':
        this.named(c.s.n, e, () => this.stmts(c.s.body!, pre));
        break;
    }
    if (c.k !== 'foreach') this.nested--;
    pre.push('}');
    if (h !== '') pre.push(`if (${h} < 0) ${h} = ${n};`);
    pre.push('}');
    return result;
  }
}
