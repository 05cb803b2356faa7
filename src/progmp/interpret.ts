/**
 * The interpreter. It generates no source text: once per program it turns the checked program into a tree
 * of closures ("closure compilation"), one per node, each specialised for its node's shape — NULL tests
 * only where the checker found a value may be NULL, a property of the element a lambda visits read by a
 * closure of its own, AND/OR chains of three as one closure, lists evaluated by the plan shared with the
 * compiler (plan.ts: VARs over SUBFLOWS kept unbuilt, FILTER chains fused into the loop that consumes
 * them, their tests of IS_BACKUP, THROTTLED and LOSSY read as a bit mask: elemtest.ts) — and a run calls
 * the root. With `reference`, every list is built where it stands instead: that
 * form defines the semantics (evaluation order — left to right, both operands of arithmetic and
 * comparisons always evaluated, AND/OR short-circuit, a NULL PUSH/SET_USER receiver skips its argument —
 * the NULL rules, 32-bit wrap-around and the step rule, runtime.ts), and the tests hold the planned
 * interpreter and the compiled form against it.
 *
 * Closures: an expression is `(e) => value`, where `e` is the element the innermost enclosing lambda is
 * visiting (so a lambda reads its parameter without touching memory); variables, FOREACH variables and
 * the parameters of outer lambdas live in the slot array `f`. A statement or block is `() => boolean`,
 * true when RETURN ended the run. The JIT inlines a closure only if its literal made no other closure, so
 * the builder avoids calls through arrays (blocks and chains are balanced trees of two- and three-way
 * closures) and builds one tree per program, shared by its instances (runs never interleave).
 */
import type { OutcomeBuffer } from '../sched/outcome.ts';
import type { SchedPacket, SchedState, SchedSubflow } from '../sched/types.ts';
import { bits, both, ElemTest, elemTest, passes } from './elemtest.ts';
import { Op, type Program, type S, type X } from './ir.ts';
import { below, type ConsumerKind, iterates, NO_PLAN, optimised, type Plan } from './plan.ts';
import {
  BUDGET_EXCEEDED,
  ListVal,
  type RunFn,
  RunStatus,
  type Runtime,
  sentOn,
  sentOnAll,
} from './runtime.ts';

type Ev = (e: unknown) => unknown;
type Ex = () => boolean;

/** A subflow property of the lambda's element, by SbfProp number. */
const SBF_OF_ELEM: readonly Ev[] = [
  (e) => (e as SchedSubflow).rtt,
  (e) => Math.floor((e as SchedSubflow).rtt / 8000),
  (e) => Math.floor((e as SchedSubflow).rtt / 8),
  (e) => (e as SchedSubflow).rttVar,
  (e) => (e as SchedSubflow).cwnd,
  (e) => (e as SchedSubflow).ssthresh,
  (e) => (e as SchedSubflow).skbsInFlight,
  (e) => (e as SchedSubflow).queued,
  (e) => (e as SchedSubflow).lostSkbs,
  (e) => (e as SchedSubflow).isBackup,
  (e) => (e as SchedSubflow).throttled,
  (e) => (e as SchedSubflow).lossy,
  (e) => (e as SchedSubflow).id,
  (e) => (e as SchedSubflow).delayIn,
  (e) => (e as SchedSubflow).delayOut,
  (e) => (e as SchedSubflow).bwOutSend,
  (e) => (e as SchedSubflow).bwOutAck,
  (e) => (e as SchedSubflow).mss,
  (e) => (e as SchedSubflow).user,
];

/** `!` of the boolean subflow properties of the lambda's element (IS_BACKUP, THROTTLED, LOSSY). */
const NOT_SBF_OF_ELEM: Readonly<Record<number, Ev>> = {
  9: (e) => !(e as SchedSubflow).isBackup,
  10: (e) => !(e as SchedSubflow).throttled,
  11: (e) => !(e as SchedSubflow).lossy,
};

/** A packet property of the lambda's element, by PktProp number. */
const PKT_OF_ELEM: readonly Ev[] = [
  (e) => (e as SchedPacket).seq,
  (e) => (e as SchedPacket).length,
  (e) => (e as SchedPacket).psh,
  (e) => (e as SchedPacket).user,
];

/** A consumer's loop under the plan: the list, the fused predicates, the steps per root element. */
interface Scan {
  /** The list looped over: SUBFLOWS or a queue (read directly), else evaluated by `root`. */
  fixed: ListVal | null;
  root: Ev;
  /** The element test: the unbuilt VAR's predicates, then the fused FILTERs' (elemtest.ts); or null. */
  test: ElemTest | null;
  /** Predicate parameters a nested lambda reads: stored in their slots for each element. */
  stores: readonly number[];
  mult: number;
  /**
   * A loop over SUBFLOWS outside any lambda, whose steps are counted without holding them against the
   * budget: the next check (a RANDOM draw, a FOREACH round, the end of the run) stops the run all the
   * same, and nothing done before it outlives a stopped run.
   */
  short: boolean;
}

/** An unbuilt VAR: its FILTER nodes over SUBFLOWS and their test. */
interface LazyVar {
  preds: X[];
  own: ElemTest | null;
  stores: number[];
}

/** AND of closures (NULL counts as false): a balanced tree of two- and three-way closures. */
function all(es: Ev[]): Ev {
  if (es.length === 1) return es[0]!;
  if (es.length === 2) {
    const [a, b] = es as [Ev, Ev];
    return (e) => a(e) === true && b(e) === true;
  }
  if (es.length === 3) {
    const [a, b, c] = es as [Ev, Ev, Ev];
    return (e) => a(e) === true && b(e) === true && c(e) === true;
  }
  const mid = Math.ceil(es.length / 2);
  return all([all(es.slice(0, mid)), all(es.slice(mid))]);
}

/** OR of closures, like `all`. */
function any(es: Ev[]): Ev {
  if (es.length === 1) {
    const [a] = es as [Ev];
    return (e) => a(e) === true;
  }
  if (es.length === 2) {
    const [a, b] = es as [Ev, Ev];
    return (e) => a(e) === true || b(e) === true;
  }
  if (es.length === 3) {
    const [a, b, c] = es as [Ev, Ev, Ev];
    return (e) => a(e) === true || b(e) === true || c(e) === true;
  }
  const mid = Math.ceil(es.length / 2);
  return any([any(es.slice(0, mid)), any(es.slice(mid))]);
}

/** The state of the run in progress, shared by the closures of one program (one tree per program). */
class Frame {
  steps = 0;
  changed = false;
  regs: Uint32Array = new Uint32Array(6);
  state: SchedState | null = null;
  nowMs = 0;
  budget = 0;
  rt: Runtime | null = null;
  out: OutcomeBuffer | null = null;

  charge(n: number): void {
    this.steps += n;
    if (this.steps > this.budget) this.rt!.stop(this.steps);
  }

  check(): void {
    if (this.steps > this.budget) this.rt!.stop(this.steps);
  }
}

const built = new WeakMap<Program, RunFn>();
const builtReference = new WeakMap<Program, RunFn>();

/**
 * The run function of `program`, shared by its scheduler instances (each passes its Runtime). The closure
 * tree, and the run function too, are built once per program: runs never interleave, and a closure per
 * instance would give the JIT many closures per literal, which it does not inline (a second connection
 * would undo the first's optimised code). `reference` evaluates without the plan (every FILTER built
 * where it stands).
 */
export function interpreter(program: Program, reference = false): RunFn {
  const cache = reference ? builtReference : built;
  let run = cache.get(program);
  if (run === undefined) {
    run = new Builder(program, reference ? NO_PLAN : optimised(program.uses)).run();
    cache.set(program, run);
  }
  return run;
}

class Builder {
  private readonly f: unknown[];
  private readonly fr = new Frame();
  private readonly sb = new ListVal();
  private readonly qs = [new ListVal(), new ListVal(), new ListVal()];
  private readonly sites: ListVal[];
  /** Parameter slots of the lambdas being built, innermost last. */
  private readonly params: number[] = [];
  /** Lambda parameters read from a nested lambda: their loops must also store the element in `f`. */
  private readonly stored = new Set<number>();
  /** VARs kept unbuilt (plan.ts). */
  private readonly lazy = new Map<number, LazyVar>();

  constructor(
    private readonly program: Program,
    private readonly plan: Plan,
  ) {
    this.f = new Array(program.slots).fill(null);
    this.sites = Array.from({ length: program.sites }, () => {
      const l = new ListVal();
      l.items = [];
      return l;
    });
  }

  run(): RunFn {
    const body = this.block(this.program.body);
    const { fr, sb, qs } = this;
    const uses = this.program.uses;
    const [useQ, useQU, useRQ] = uses.queues;
    const useSb = uses.subflows;
    const useNow = uses.now;
    const useRandom = uses.random;
    const useRegs = uses.regs;
    return (state, rt) => {
      // The frame is the program's; the instance changes only when several connections run it.
      if (fr.rt !== rt) {
        fr.rt = rt;
        fr.out = rt.out;
        fr.budget = rt.budget;
      }
      if (useRandom) fr.state = state;
      if (useRegs) fr.regs = state.registers;
      if (useSb) {
        const s = state.subflows;
        sb.items = s;
        sb.len = sb.bound = s.length;
      }
      if (useQ) view(qs[0]!, state.q.packets, state.q.head);
      if (useQU) view(qs[1]!, state.qu.packets, state.qu.head);
      if (useRQ) view(qs[2]!, state.rq.packets, state.rq.head);
      if (useNow) fr.nowMs = Math.floor(state.now / 1000) % 4294967296;
      fr.steps = 0;
      fr.changed = false;
      try {
        body();
      } catch (e) {
        if (e !== BUDGET_EXCEEDED) throw e;
      }
      rt.steps = fr.steps;
      return fr.steps > fr.budget
        ? RunStatus.OVER_BUDGET
        : fr.changed
          ? RunStatus.CHANGED
          : RunStatus.UNCHANGED;
    };
  }

  /** A block as a balanced tree of two- and three-statement closures (no array-indexed calls). */
  private block(body: S[]): Ex {
    const join = (ss: Ex[]): Ex => {
      if (ss.length === 1) return ss[0]!;
      if (ss.length === 2) {
        const [a, b] = ss as [Ex, Ex];
        return () => a() || b();
      }
      if (ss.length === 3) {
        const [a, b, c] = ss as [Ex, Ex, Ex];
        return () => a() || b() || c();
      }
      const mid = Math.ceil(ss.length / 2);
      return join([join(ss.slice(0, mid)), join(ss.slice(mid))]);
    };
    return join(body.map((s) => this.stmt(s)));
  }

  private stmt(s: S): Ex {
    const { fr, f } = this;
    switch (s.op) {
      case Op.Var: {
        const preds = this.plan.lazy(s.a!, (slot) => this.lazy.get(slot)?.preds);
        if (preds !== null) {
          // Not built: it costs its steps here.
          const [own, stores] = this.tests(preds, true);
          this.lazy.set(s.n, { preds, own, stores });
          let filters = 0;
          for (let x = s.a!; x.op === Op.Filter; x = x.a!) filters++;
          const sb = this.sb;
          return () => {
            fr.steps += 1 + filters * sb.len;
            return false;
          };
        }
        const v = this.expr(s.a!);
        const n = s.n;
        if (s.site >= 0) {
          const snap = this.sites[s.site]!;
          return () => {
            fr.steps++;
            f[n] = snap.copy(v(null) as ListVal);
            return false;
          };
        }
        return () => {
          fr.steps++;
          f[n] = v(null);
          return false;
        };
      }
      case Op.Set: {
        const v = this.expr(s.a!);
        const r = s.n;
        return () => {
          fr.steps++;
          const x = v(null) as number | null;
          const regs = fr.regs;
          if (x !== null && regs[r] !== x) {
            regs[r] = x;
            fr.changed = true;
          }
          return false;
        };
      }
      case Op.If: {
        // IF (!RQ.EMPTY), IF (Q.EMPTY) and the like test the queue's length themselves.
        const neg = s.a!.op === Op.Not;
        const test = neg ? s.a!.a! : s.a!;
        const fixed =
          test.op === Op.Empty && (test.a!.op === Op.Queue || test.a!.op === Op.Subflows)
            ? test.a!.op === Op.Queue
              ? this.qs[test.a!.n]!
              : this.sb
            : null;
        if (fixed !== null) {
          const then = this.block(s.body!);
          const alt = s.alt === null ? null : this.block(s.alt);
          return () => {
            fr.steps++;
            if ((fixed.len === 0) !== neg) return then();
            return alt === null ? false : alt();
          };
        }
        const c = this.expr(s.a!);
        const then = this.block(s.body!);
        if (s.alt === null)
          return () => {
            fr.steps++;
            return c(null) === true && then();
          };
        const alt = this.block(s.alt);
        return () => {
          fr.steps++;
          return c(null) === true ? then() : alt();
        };
      }
      case Op.Foreach: {
        const scan = this.scan(s.a!, 'foreach', null);
        if (scan !== null) {
          const { fixed, root, test, stores, mult } = scan;
          const body = this.block(s.body!);
          const n = s.n;
          return () => {
            fr.steps++;
            const l = fixed ?? (root(null) as ListVal);
            fr.charge(mult * l.bound);
            const { items, off, len } = l;
            for (let k = 0; k < len; k++) {
              const it = items[off + k];
              for (let j = 0; j < stores.length; j++) f[stores[j]!] = it;
              if (test !== null && !passes(it, test)) continue;
              fr.check();
              f[n] = it;
              if (body()) return true;
            }
            return false;
          };
        }
        const l = this.expr(s.a!);
        const body = this.block(s.body!);
        const n = s.n;
        return () => {
          fr.steps++;
          const list = l(null) as ListVal;
          fr.charge(list.bound);
          const items = list.items;
          const off = list.off;
          const len = list.len;
          for (let k = 0; k < len; k++) {
            fr.check();
            f[n] = items[off + k];
            if (body()) return true;
          }
          return false;
        };
      }
      case Op.Drop: {
        const p = this.expr(s.a!);
        return () => {
          fr.steps++;
          const x = p(null) as SchedPacket | null;
          if (x !== null && fr.out!.drop(x)) fr.changed = true;
          return false;
        };
      }
      case Op.Print: {
        const fmt = this.expr(s.a!);
        if (s.b === null)
          return () => {
            fr.steps++;
            fr.rt!.print(fmt(null) as string, undefined, '');
            return false;
          };
        const v = this.expr(s.b);
        const type = s.b.type;
        return () => {
          fr.steps++;
          const text = fmt(null) as string;
          fr.rt!.print(text, v(null), type);
          return false;
        };
      }
      case Op.Return:
        return () => {
          fr.steps++;
          return true;
        };
      case Op.Void: {
        if (s.a === null)
          return () => {
            fr.steps++;
            return false;
          };
        const v = this.expr(s.a);
        return () => {
          fr.steps++;
          v(null);
          return false;
        };
      }
      case Op.Push: {
        const sbf = this.expr(s.a!);
        const pkt = this.expr(s.b!);
        return () => {
          fr.steps++;
          const x = sbf(null) as SchedSubflow | null;
          if (x !== null) {
            const p = pkt(null) as SchedPacket | null;
            if (p !== null) fr.out!.push(x, p);
          }
          return false;
        };
      }
      case Op.SetUser: {
        const sbf = this.expr(s.a!);
        const v = this.expr(s.b!);
        return () => {
          fr.steps++;
          const x = sbf(null) as SchedSubflow | null;
          if (x !== null && fr.rt!.setUser(x, v(null) as number | null)) fr.changed = true;
          return false;
        };
      }
    }
    throw new Error(`progmp: expression op ${s.op} used as a statement`);
  }

  private expr(x: X): Ev {
    const fr = this.fr;
    switch (x.op) {
      case Op.Int:
      case Op.Str:
      case Op.Bool: {
        const v = x.op === Op.Int ? x.n : x.op === Op.Str ? x.s : x.n === 1;
        return () => v;
      }
      case Op.Null:
        return () => null;
      case Op.Local:
        return this.local(x.n);
      case Op.Reg: {
        const r = x.n;
        return () => fr.regs[r];
      }
      case Op.Queue: {
        const q = this.qs[x.n]!;
        return () => q;
      }
      case Op.Subflows: {
        const sb = this.sb;
        return () => sb;
      }
      case Op.Now:
        return () => fr.nowMs;
      case Op.Random: {
        return () => {
          fr.check();
          return fr.state!.random() >>> 0;
        };
      }
      case Op.Add:
      case Op.Sub:
      case Op.Mul:
      case Op.Div:
      case Op.Mod:
        return this.arith(x);
      case Op.Lt:
      case Op.Le:
      case Op.Gt:
      case Op.Ge:
        return this.compare(x);
      case Op.Eq:
      case Op.Ne: {
        const a = this.expr(x.a!);
        const b = this.expr(x.b!);
        return x.op === Op.Eq ? (e) => a(e) === b(e) : (e) => a(e) !== b(e);
      }
      case Op.IsNull: {
        const a = this.expr(x.a!);
        return (e) => a(e) === null;
      }
      case Op.NotNull: {
        const a = this.expr(x.a!);
        return (e) => a(e) !== null;
      }
      case Op.And:
      case Op.Or:
        return this.logic(x);
      case Op.Not: {
        const r = x.a!;
        if (r.op === Op.SbfProp && this.isElem(r.a!)) {
          const g = NOT_SBF_OF_ELEM[r.n];
          if (g !== undefined) return g;
        }
        if (r.op === Op.Empty) return this.length(r.a!, 'nonempty');
        const a = this.expr(r);
        if (!r.nullable) return (e) => !a(e);
        return (e) => {
          const v = a(e);
          return v === null ? null : !v;
        };
      }
      case Op.SbfProp: {
        if (this.isElem(x.a!)) return SBF_OF_ELEM[x.n]!;
        const a = this.expr(x.a!);
        const g = SBF_OF_ELEM[x.n]!;
        if (!x.a!.nullable) return (e) => g(a(e));
        return (e) => {
          const s = a(e);
          return s === null ? null : g(s);
        };
      }
      case Op.PktProp: {
        if (this.isElem(x.a!)) return PKT_OF_ELEM[x.n]!;
        const a = this.expr(x.a!);
        const g = PKT_OF_ELEM[x.n]!;
        if (!x.a!.nullable) return (e) => g(a(e));
        return (e) => {
          const p = a(e);
          return p === null ? null : g(p);
        };
      }
      case Op.HasWindow: {
        const a = this.expr(x.a!);
        const b = this.expr(x.b!);
        return (e) => {
          const s = a(e) as SchedSubflow | null;
          const p = b(e) as SchedPacket | null;
          return s === null || p === null ? null : p.length <= s.windowFree;
        };
      }
      case Op.SentOn: {
        const a = this.expr(x.a!);
        const b = this.expr(x.b!);
        return (e) => {
          const p = a(e) as SchedPacket | null;
          const s = b(e) as SchedSubflow | null;
          return p === null || s === null ? null : sentOn(p, s);
        };
      }
      case Op.SentOnAll: {
        const a = this.expr(x.a!);
        const sb = this.sb;
        return (e) => {
          const p = a(e) as SchedPacket | null;
          return p === null ? null : sentOnAll(p, sb.items as readonly SchedSubflow[]);
        };
      }
      case Op.Empty:
        return this.length(x.a!, 'empty');
      case Op.Count:
        return this.length(x.a!, 'count');
      case Op.Top: {
        const scan = this.scan(x.a!, 'top', null);
        if (scan !== null) return this.scanned(scan, 'top');
        const a = this.expr(x.a!);
        return (e) => {
          const l = a(e) as ListVal;
          return l.len > 0 ? l.items[l.off] : null;
        };
      }
      case Op.Get: {
        const scan = this.scan(x.a!, 'get', null);
        const b = this.expr(x.b!);
        if (scan !== null) return this.scannedGet(scan, b);
        const a = this.expr(x.a!);
        return (e) => {
          const l = a(e) as ListVal;
          const i = b(e) as number | null;
          return i === null || i >= l.len ? null : l.items[l.off + i];
        };
      }
      case Op.Pop: {
        const q = this.qs[x.a!.n]!;
        return () => {
          if (q.len === 0) return null;
          q.len = --q.bound;
          fr.changed = true;
          return q.items[q.off++];
        };
      }
      case Op.Filter:
      case Op.Min:
      case Op.Max:
      case Op.Sum: {
        const kind =
          x.op === Op.Filter ? 'filter' : x.op === Op.Min ? 'min' : x.op === Op.Max ? 'max' : 'sum';
        const scan = this.scan(x.a!, kind, x.b!);
        if (scan !== null) return this.scannedLambda(scan, x);
        return x.op === Op.Filter ? this.filter(x) : x.op === Op.Sum ? this.sum(x) : this.minMax(x);
      }
    }
    throw new Error(`progmp: statement op ${x.op} used as an expression`);
  }

  /**
   * The loop a consumer of `list` runs under the plan (plan.ts): over SUBFLOWS for a VAR kept unbuilt, else
   * over the list below the fused FILTERs, testing their predicates inline. Null when nothing is fused.
   */
  private scan(list: X, kind: ConsumerKind, lambda: X | null): Scan | null {
    const inline = this.plan.inline(list, kind, lambda);
    const base = below(list, inline);
    const lazy = base.op === Op.Local ? this.lazy.get(base.n) : undefined;
    if (lazy === undefined && inline.length === 0) return null;
    const sb = this.sb;
    const fixed =
      lazy !== undefined || base.op === Op.Subflows ? sb : base.op === Op.Queue ? this.qs[base.n]! : null;
    const root: Ev = fixed !== null ? () => fixed : this.expr(base);
    const [extra, stores] = this.tests(inline, fixed === sb || base.type === 'sbflist');
    return {
      fixed,
      root,
      test: both(lazy?.own ?? null, extra),
      stores: [...(lazy?.stores ?? []), ...stores],
      mult: inline.length + (iterates(kind) ? 1 : 0),
      short: fixed === sb && this.params.length === 0 && kind !== 'foreach',
    };
  }

  /**
   * The test of FILTER predicates (null for none), over subflows when `sbf` (elemtest.ts), and the
   * parameters their loop must store.
   */
  private tests(preds: readonly X[], sbf: boolean): [ElemTest | null, number[]] {
    const terms: (readonly [X, number])[] = [];
    const collect = (y: X, slot: number): void => {
      if (y.op === Op.And) {
        collect(y.a!, slot);
        collect(y.b!, slot);
      } else terms.push([y, slot]);
    };
    for (const p of preds) collect(p.b!, p.n);
    if (terms.length === 0) return [null, []];
    const stores = new Set<number>();
    const residual = (rest: readonly (readonly [X, number])[]): Ev | null => {
      if (rest.length === 0) return null;
      const cs = rest.map(([t, slot]) => {
        this.params.push(slot);
        const c = this.expr(t);
        this.params.pop();
        if (this.stored.has(slot)) stores.add(slot);
        return c;
      });
      return all(cs);
    };
    const test = sbf ? elemTest(terms, residual) : new ElemTest(0, 0, residual(terms), false);
    return [test, [...stores]];
  }

  /**
   * EMPTY, !EMPTY or COUNT: of a scanned list, or read straight from a queue, SUBFLOWS or a variable
   * without calling the list's closure.
   */
  private length(x: X, what: 'empty' | 'nonempty' | 'count'): Ev {
    const scan = this.scan(x, what === 'count' ? 'count' : 'empty', null);
    if (scan !== null) return this.scanned(scan, what);
    const fixed = x.op === Op.Queue ? this.qs[x.n]! : x.op === Op.Subflows ? this.sb : null;
    if (fixed !== null)
      return what === 'empty'
        ? () => fixed.len === 0
        : what === 'nonempty'
          ? () => fixed.len !== 0
          : () => fixed.len;
    if (x.op === Op.Local) {
      const f = this.f;
      const n = x.n;
      return what === 'empty'
        ? () => (f[n] as ListVal).len === 0
        : what === 'nonempty'
          ? () => (f[n] as ListVal).len !== 0
          : () => (f[n] as ListVal).len;
    }
    const l = this.expr(x);
    return what === 'empty'
      ? (e) => (l(e) as ListVal).len === 0
      : what === 'nonempty'
        ? (e) => (l(e) as ListVal).len !== 0
        : (e) => (l(e) as ListVal).len;
  }

  /** EMPTY, !EMPTY, COUNT or TOP of a scanned list. */
  private scanned(sc: Scan, kind: 'empty' | 'nonempty' | 'count' | 'top'): Ev {
    const { fixed, root, test, stores, mult, short } = sc;
    const { fr, f } = this;
    // EMPTY or !EMPTY over SUBFLOWS or a queue, storing no parameter: a small closure of its own (see
    // scannedLambda).
    if ((kind === 'empty' || kind === 'nonempty') && fixed !== null && stores.length === 0)
      return anyOf(fr, fixed, mult, short, test, kind === 'empty');
    return (e) => {
      const l = fixed ?? (root(e) as ListVal);
      if (short) fr.steps += mult * l.bound;
      else if (mult > 0) fr.charge(mult * l.bound);
      const { items, off, len } = l;
      let n = 0;
      for (let k = 0; k < len; k++) {
        const it = items[off + k];
        for (let j = 0; j < stores.length; j++) f[stores[j]!] = it;
        if (test !== null && !passes(it, test)) continue;
        if (kind === 'count') n++;
        else return kind === 'empty' ? false : kind === 'nonempty' ? true : it;
      }
      return kind === 'count' ? n : kind === 'empty' ? true : kind === 'nonempty' ? false : null;
    };
  }

  /** GET(i) of a scanned list (the list, not built, is "evaluated" before the index). */
  private scannedGet(sc: Scan, index: Ev): Ev {
    const { fixed, root, test, stores } = sc;
    const f = this.f;
    return (e) => {
      const l = fixed ?? (root(e) as ListVal);
      const i = index(e) as number | null;
      if (i === null) return null;
      const { items, off, len } = l;
      let n = 0;
      for (let k = 0; k < len; k++) {
        const it = items[off + k];
        for (let j = 0; j < stores.length; j++) f[stores[j]!] = it;
        if (test !== null && !passes(it, test)) continue;
        if (n++ === i) return it;
      }
      return null;
    };
  }

  /** FILTER, MIN, MAX or SUM over a scanned list. */
  private scannedLambda(sc: Scan, x: X): Ev {
    const { fixed, root, test, stores, mult, short } = sc;
    const [body, store] = this.lambda(x);
    const { fr, f } = this;
    const slot = x.n;
    const op = x.op;
    const filter = op === Op.Filter;
    const sum = op === Op.Sum;
    const max = op === Op.Max;
    const dst = filter ? this.sites[x.site]! : null;
    // MIN or MAX over SUBFLOWS or a queue storing no parameter, the common case, as a closure of its own
    // (bestOf): the JIT inlines closures only up to a total size per optimised function.
    if ((op === Op.Min || max) && fixed !== null && stores.length === 0 && !store) {
      return bestOf(fr, fixed, mult, short, test, body, max);
    }
    return (e) => {
      const l = fixed ?? (root(e) as ListVal);
      const bound = l.bound;
      if (short) fr.steps += mult * bound;
      else fr.charge(mult * bound);
      const { items, off, len } = l;
      const buf = dst?.items as unknown[];
      let m = 0;
      let best: unknown = null;
      let bestKey = 0;
      for (let k = 0; k < len; k++) {
        const it = items[off + k];
        for (let j = 0; j < stores.length; j++) f[stores[j]!] = it;
        if (test !== null && !passes(it, test)) continue;
        if (store) f[slot] = it;
        const v = body(it);
        if (filter) {
          if (v === true) buf[m++] = it;
        } else if (v !== null) {
          const key = v as number;
          if (sum) m = (m + key) >>> 0;
          else if (best === null || (max ? key > bestKey : key < bestKey)) {
            best = it;
            bestKey = key;
          }
        }
      }
      if (dst === null) return sum ? m : best;
      dst.off = 0;
      dst.len = m;
      dst.bound = bound;
      return dst;
    };
  }

  /** `x` is the parameter of the innermost lambda being built. */
  private isElem(x: X): boolean {
    return x.op === Op.Local && this.params.length > 0 && x.n === this.params[this.params.length - 1];
  }

  private local(slot: number): Ev {
    const params = this.params;
    if (params.length > 0 && slot === params[params.length - 1]) return (e) => e;
    if (params.includes(slot)) this.stored.add(slot);
    const f = this.f;
    return () => f[slot];
  }

  private arith(x: X): Ev {
    const a = this.expr(x.a!);
    const r = x.b!;
    const k = r.op === Op.Int ? r.n : -1;
    const b = this.expr(r);
    if (x.a!.nullable || r.nullable || ((x.op === Op.Div || x.op === Op.Mod) && k <= 0)) {
      const op = x.op;
      return (e) => {
        const l = a(e) as number | null;
        const v = b(e) as number | null;
        if (l === null || v === null) return null;
        // Literal Op numbers: an imported binding may be read through a getter at run time.
        switch (op) {
          case 10 /* Add */:
            return (l + v) >>> 0;
          case 11 /* Sub */:
            return (l - v) >>> 0;
          case 12 /* Mul */:
            return Math.imul(l, v) >>> 0;
          case 13 /* Div */:
            return v === 0 ? null : Math.floor(l / v);
          default:
            return v === 0 ? null : l % v;
        }
      };
    }
    if (k >= 0)
      switch (x.op) {
        case Op.Add:
          return (e) => ((a(e) as number) + k) >>> 0;
        case Op.Sub:
          return (e) => ((a(e) as number) - k) >>> 0;
        case Op.Mul:
          return (e) => Math.imul(a(e) as number, k) >>> 0;
        case Op.Div:
          return (e) => Math.floor((a(e) as number) / k);
        default:
          return (e) => (a(e) as number) % k;
      }
    switch (x.op) {
      case Op.Add:
        return (e) => ((a(e) as number) + (b(e) as number)) >>> 0;
      case Op.Sub:
        return (e) => ((a(e) as number) - (b(e) as number)) >>> 0;
      case Op.Mul:
        return (e) => Math.imul(a(e) as number, b(e) as number) >>> 0;
      case Op.Div:
        return (e) => Math.floor((a(e) as number) / (b(e) as number));
      default:
        return (e) => (a(e) as number) % (b(e) as number);
    }
  }

  private compare(x: X): Ev {
    const a = this.expr(x.a!);
    const r = x.b!;
    const b = this.expr(r);
    if (x.a!.nullable || r.nullable) {
      const op = x.op;
      return (e) => {
        const l = a(e) as number | null;
        const v = b(e) as number | null;
        if (l === null || v === null) return null;
        return op === 15 /* Lt */ ? l < v : op === 16 /* Le */ ? l <= v : op === 17 /* Gt */ ? l > v : l >= v;
      };
    }
    if (r.op === Op.Int) {
      const k = r.n;
      switch (x.op) {
        case Op.Lt:
          return (e) => (a(e) as number) < k;
        case Op.Le:
          return (e) => (a(e) as number) <= k;
        case Op.Gt:
          return (e) => (a(e) as number) > k;
        default:
          return (e) => (a(e) as number) >= k;
      }
    }
    switch (x.op) {
      case Op.Lt:
        return (e) => (a(e) as number) < (b(e) as number);
      case Op.Le:
        return (e) => (a(e) as number) <= (b(e) as number);
      case Op.Gt:
        return (e) => (a(e) as number) > (b(e) as number);
      default:
        return (e) => (a(e) as number) >= (b(e) as number);
    }
  }

  /** AND / OR chains as one closure; NULL counts as false and neither ever gives NULL. */
  private logic(x: X): Ev {
    const terms: X[] = [];
    const collect = (y: X): void => {
      if (y.op === x.op) {
        collect(y.a!);
        collect(y.b!);
      } else terms.push(y);
    };
    collect(x);
    const cs = terms.map((t) => this.expr(t));
    return x.op === Op.And ? all(cs) : any(cs);
  }

  /** The body of lambda `x` (its parameter bound to the element), and whether its loop must store it. */
  private lambda(x: X): [Ev, boolean] {
    this.params.push(x.n);
    const body = this.expr(x.b!);
    this.params.pop();
    return [body, this.stored.has(x.n)];
  }

  private filter(x: X): Ev {
    const l = this.expr(x.a!);
    const [pred, store] = this.lambda(x);
    const { fr, f } = this;
    const slot = x.n;
    const dst = this.sites[x.site]!;
    const buf = dst.items as unknown[];
    return (e) => {
      const list = l(e) as ListVal;
      const bound = list.bound;
      fr.charge(bound);
      const items = list.items;
      const off = list.off;
      const len = list.len;
      let m = 0;
      for (let k = 0; k < len; k++) {
        const it = items[off + k];
        if (store) f[slot] = it;
        if (pred(it) === true) buf[m++] = it;
      }
      dst.off = 0;
      dst.len = m;
      dst.bound = bound;
      return dst;
    };
  }

  /** MIN / MAX: NULL keys are skipped; a strictly better key is needed to replace, so ties keep the first. */
  private minMax(x: X): Ev {
    const l = this.expr(x.a!);
    const [key, store] = this.lambda(x);
    const { fr, f } = this;
    const slot = x.n;
    const max = x.op === Op.Max;
    return (e) => {
      const list = l(e) as ListVal;
      fr.charge(list.bound);
      const items = list.items;
      const off = list.off;
      const len = list.len;
      let best: unknown = null;
      let bestKey = 0;
      for (let k = 0; k < len; k++) {
        const it = items[off + k];
        if (store) f[slot] = it;
        const v = key(it) as number | null;
        if (v !== null && (best === null || (max ? v > bestKey : v < bestKey))) {
          best = it;
          bestKey = v;
        }
      }
      return best;
    };
  }

  private sum(x: X): Ev {
    const l = this.expr(x.a!);
    const [key, store] = this.lambda(x);
    const { fr, f } = this;
    const slot = x.n;
    return (e) => {
      const list = l(e) as ListVal;
      fr.charge(list.bound);
      const items = list.items;
      const off = list.off;
      const len = list.len;
      let total = 0;
      for (let k = 0; k < len; k++) {
        const it = items[off + k];
        if (store) f[slot] = it;
        const v = key(it) as number | null;
        if (v !== null) total = (total + v) >>> 0;
      }
      return total;
    };
  }
}

const NO_TEST = new ElemTest(0, 0, null, true);

/**
 * EMPTY (`none`) or !EMPTY over SUBFLOWS or a queue (`fixed`) under an element test, storing no
 * parameter: a small closure of its own, one literal per shape (short or not, with or without a closure
 * test), so that each stays small: the JIT inlines only up to a total size of code per optimised function.
 */
function anyOf(
  fr: Frame,
  fixed: ListVal,
  mult: number,
  short: boolean,
  test: ElemTest | null,
  none: boolean,
): Ev {
  const { mask, want, rest } = test ?? NO_TEST;
  if (short && rest === null)
    return () => {
      fr.steps += mult * fixed.bound;
      const { items, off, len } = fixed;
      for (let k = 0; k < len; k++) if ((bits(items[off + k] as SchedSubflow) & mask) === want) return !none;
      return none;
    };
  return () => {
    if (short) fr.steps += mult * fixed.bound;
    else if (mult > 0) fr.charge(mult * fixed.bound);
    const { items, off, len } = fixed;
    for (let k = 0; k < len; k++) {
      const it = items[off + k];
      if (mask !== 0 && (bits(it as SchedSubflow) & mask) !== want) continue;
      if (rest === null || rest(it) === true) return !none;
    }
    return none;
  };
}

/** MIN or MAX over SUBFLOWS or a queue (`fixed`) under an element test, storing no parameter, like anyOf. */
function bestOf(
  fr: Frame,
  fixed: ListVal,
  mult: number,
  short: boolean,
  test: ElemTest | null,
  key: Ev,
  max: boolean,
): Ev {
  const { mask, want, rest } = test ?? NO_TEST;
  if (short && rest !== null && !max)
    return () => {
      fr.steps += mult * fixed.bound;
      const { items, off, len } = fixed;
      let best: unknown = null;
      let bestKey = 0;
      for (let k = 0; k < len; k++) {
        const it = items[off + k];
        if ((bits(it as SchedSubflow) & mask) !== want || rest(it) !== true) continue;
        const v = key(it) as number | null;
        if (v !== null && (best === null || v < bestKey)) {
          best = it;
          bestKey = v;
        }
      }
      return best;
    };
  return () => {
    if (short) fr.steps += mult * fixed.bound;
    else fr.charge(mult * fixed.bound);
    const { items, off, len } = fixed;
    let best: unknown = null;
    let bestKey = 0;
    for (let k = 0; k < len; k++) {
      const it = items[off + k];
      if (mask !== 0 && (bits(it as SchedSubflow) & mask) !== want) continue;
      if (rest !== null && rest(it) !== true) continue;
      const v = key(it) as number | null;
      if (v !== null && (best === null || (max ? v > bestKey : v < bestKey))) {
        best = it;
        bestKey = v;
      }
    }
    return best;
  };
}

function view(l: ListVal, packets: readonly SchedPacket[], head: number): void {
  l.items = packets;
  l.off = head;
  l.len = l.bound = packets.length > head ? packets.length - head : 0;
}
