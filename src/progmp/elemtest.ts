/**
 * Element tests of the interpreter's loops over SUBFLOWS: in the predicates a loop applies (an unbuilt VAR's,
 * fused FILTERs', plan.ts) the AND terms that test a boolean property of the element (IS_BACKUP,
 * THROTTLED, LOSSY, maybe negated) become one bit mask read without a call; whatever else remains is the
 * closure `rest`, run after the mask. A closure's call sites are shared by every closure of its literal, so
 * V8 inlines them only while few programs run: a test read as data costs the same whatever else runs.
 *
 * Order: the flag terms are pure and cost no steps, so testing them first changes nothing as long as the
 * terms left to `rest` before them are pure and cost no steps too (effects.ts); from the first term that is
 * not, everything stays in `rest`, in source order.
 */
import type { SchedSubflow } from '../sched/types.ts';
import { free, pure } from './effects.ts';
import { Op, SbfProp, type X } from './ir.ts';

type Ev = (e: unknown) => unknown;

/** Bits of the boolean subflow properties in masks, by SbfProp number (as `bits` sets them). */
const FLAG_BIT: Readonly<Record<number, number>> = {
  [SbfProp.IS_BACKUP]: 1,
  [SbfProp.THROTTLED]: 2,
  [SbfProp.LOSSY]: 4,
};

export class ElemTest {
  constructor(
    /** Flag bits tested, and the value each must have. */
    readonly mask: number,
    readonly want: number,
    /** The remaining terms, or null. */
    readonly rest: Ev | null,
    /** `rest` is pure and costs no steps: flag tests may go before it. */
    readonly restFree: boolean,
  ) {}
}

/** Never passes: no element's bits equal `want` under `mask`. */
const NEVER = new ElemTest(7, 8, null, true);

/** Test `a`, then `b` (either may be null), as one test when `a`'s rest lets `b`'s flags go first. */
export function both(a: ElemTest | null, b: ElemTest | null): ElemTest | null {
  if (a === null) return b;
  if (b === null) return a;
  if (!a.restFree) return new ElemTest(a.mask, a.want, (e) => a.rest!(e) === true && passes(e, b), false);
  // A flag required both ways: the merged test cannot pass (and skipping `a`'s rest is unobservable).
  if ((a.mask & b.mask & (a.want ^ b.want)) !== 0) return NEVER;
  const ra = a.rest;
  const rb = b.rest;
  const rest = ra === null ? rb : rb === null ? ra : (e: unknown) => ra(e) === true && rb(e) === true;
  return new ElemTest(a.mask | b.mask, a.want | b.want, rest, b.restFree);
}

/** Does subflow `s` pass test `t` (NULL from `rest` counts as false)? Small, so that loops inline it. */
export function passes(s: unknown, t: ElemTest): boolean {
  if (t.mask !== 0 && (bits(s as SchedSubflow) & t.mask) !== t.want) return false;
  return t.rest === null || t.rest(s) === true;
}

export function bits(s: SchedSubflow): number {
  return (s.isBackup ? 1 : 0) | (s.throttled ? 2 : 0) | (s.lossy ? 4 : 0);
}

/**
 * The test of AND terms `terms` (each with its lambda's parameter slot) over subflows; `residual` builds the
 * closure of the terms left to `rest`, in order.
 */
export function elemTest(
  terms: readonly (readonly [X, number])[],
  residual: (rest: readonly (readonly [X, number])[]) => Ev | null,
): ElemTest {
  let mask = 0;
  let want = 0;
  const rest: (readonly [X, number])[] = [];
  let restFree = true;
  for (const term of terms) {
    const [t, slot] = term;
    const neg = t.op === Op.Not;
    const p = neg ? t.a! : t;
    const bit = p.op === Op.SbfProp && p.a!.op === Op.Local && p.a!.n === slot ? (FLAG_BIT[p.n] ?? 0) : 0;
    if (bit !== 0 && restFree) {
      if ((mask & bit) !== 0 && (want & bit) !== (neg ? 0 : bit)) return NEVER;
      mask |= bit;
      if (!neg) want |= bit;
    } else {
      rest.push(term);
      restFree &&= pure(t) && free(t);
    }
  }
  return new ElemTest(mask, want, residual(rest), restFree);
}
