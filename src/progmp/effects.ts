/**
 * What each expression may do or read, and what the whole program touches. The back ends use it to skip
 * what a program never needs at run time, and to decide where a list may be filtered lazily (at the place
 * it is used) or a FILTER may be fused into the loop that consumes it: only where no program could tell
 * the difference, because the predicates involved read nothing that changes during the run.
 */
import { Fx, Op, type S, type Uses, type X } from './ir.ts';

/** Fills `fx` on every expression of `body` and returns what the program uses. */
export function analyze(body: S[]): Uses {
  const u: Uses = {
    queues: [false, false, false],
    subflows: false,
    regs: false,
    now: false,
    random: false,
    pops: false,
    sets: false,
    setUser: false,
    prints: false,
    writes: false,
  };
  const expr = (x: X | null): number => {
    if (x === null) return 0;
    let fx = expr(x.a) | expr(x.b);
    switch (x.op) {
      case Op.Random:
        fx |= Fx.RANDOM;
        u.random = true;
        break;
      case Op.Pop:
        fx |= Fx.POP;
        u.pops = true;
        break;
      case Op.Reg:
        fx |= Fx.REG;
        u.regs = true;
        break;
      case Op.Queue:
        fx |= Fx.QUEUE;
        u.queues[x.n as 0 | 1 | 2] = true;
        break;
      case Op.Subflows:
      case Op.SentOnAll:
        u.subflows = true;
        break;
      case Op.SbfProp:
        if (x.n === 18 /* USER */) fx |= Fx.USER;
        break;
      case Op.Now:
        u.now = true;
        break;
      case Op.Filter:
      case Op.Min:
      case Op.Max:
      case Op.Sum:
        fx |= Fx.LOOP;
        break;
    }
    x.fx = fx;
    return fx;
  };
  const stmts = (list: S[] | null): void => {
    for (const s of list ?? []) {
      if (s.op === Op.Set) u.sets = u.regs = true;
      if (s.op === Op.SetUser) u.setUser = true;
      if (s.op === Op.Print) u.prints = true;
      expr(s.a);
      expr(s.b);
      stmts(s.body);
      stmts(s.alt);
    }
  };
  stmts(body);
  u.writes = u.sets || u.setUser;
  return u;
}

/** Evaluating `x` changes nothing (no RANDOM draw, no POP): it may be evaluated in another order. */
export const pure = (x: X): boolean => (x.fx & (Fx.RANDOM | Fx.POP)) === 0;

/** Evaluating `x` costs no steps (no iteration inside): it may be evaluated more or fewer times. */
export const free = (x: X): boolean => (x.fx & Fx.LOOP) === 0;

/**
 * `x` is pure and reads nothing this program can change during a run (a register it SETs, a USER value it
 * writes, a queue it POPs): it has the same value wherever in the run it is evaluated.
 */
export const stable = (x: X, u: Uses): boolean =>
  pure(x) &&
  !((x.fx & Fx.REG) !== 0 && u.sets) &&
  !((x.fx & Fx.USER) !== 0 && u.setUser) &&
  !((x.fx & Fx.QUEUE) !== 0 && u.pops);
