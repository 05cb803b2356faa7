/**
 * How a program's lists are evaluated, decided once for both back ends (they follow the same plan, so
 * they count the same steps and make the same RANDOM draws; runtime.ts):
 *
 * - A FILTER chain is fused into the one loop that consumes it (FILTER, MIN, MAX, SUM, COUNT, EMPTY, TOP,
 *   FOREACH) when nothing could tell the difference: its predicates are pure (effects.ts); for a consumer
 *   whose own lambda runs between them, that lambda does not POP; for EMPTY and TOP, which stop at the
 *   first match, the predicates cost no steps; for FOREACH, whose body runs in between, they are stable.
 * - A VAR bound to a FILTER chain over SUBFLOWS (or over such a VAR) whose predicates are stable and cost
 *   no steps is not built: it stays its list of predicates, applied where the VAR is used. It costs its
 *   steps where it stands.
 *
 * The unoptimised plan (`NO_PLAN`: build every FILTER where it stands) defines the semantics; the
 * differential test holds the two against each other.
 */
import { free, pure, stable } from './effects.ts';
import { Op, type Uses, type X } from './ir.ts';

/** What consumes the elements of a loop. */
export type ConsumerKind = 'filter' | 'min' | 'max' | 'sum' | 'count' | 'empty' | 'top' | 'get' | 'foreach';

/** Does this consumer iterate its list (and so cost one step per root element)? */
export const iterates = (k: ConsumerKind): boolean =>
  k === 'filter' || k === 'min' || k === 'max' || k === 'sum' || k === 'foreach';

export interface Plan {
  /**
   * The FILTER nodes (root first) directly below a consumer of kind `k` that run inside its loop;
   * `lambda` is the consumer's lambda body (FILTER, MIN, MAX, SUM).
   */
  inline(list: X, k: ConsumerKind, lambda: X | null): X[];
  /** The FILTER nodes (root first) of a VAR initialiser kept unbuilt over SUBFLOWS, or null to build it. */
  lazy(init: X, lazyOf: (slot: number) => readonly X[] | undefined): X[] | null;
}

export function optimised(u: Uses): Plan {
  const fuses = (pred: X, k: ConsumerKind, lambda: X | null): boolean => {
    switch (k) {
      case 'get':
        return false;
      case 'foreach':
        return stable(pred, u);
      case 'count':
        return pure(pred);
      case 'empty':
      case 'top':
        return pure(pred) && free(pred);
      default:
        return pure(pred) && (lambda === null || pure(lambda));
    }
  };
  return {
    inline(list, k, lambda) {
      const inline: X[] = [];
      for (let cur = list; cur.op === Op.Filter && fuses(cur.b!, k, lambda); cur = cur.a!)
        inline.unshift(cur);
      return inline;
    },
    lazy(init, lazyOf) {
      const preds: X[] = [];
      let root = init;
      for (; root.op === Op.Filter && stable(root.b!, u) && free(root.b!); root = root.a!)
        preds.unshift(root);
      if (root.op === Op.Subflows) return preds;
      const base = root.op === Op.Local ? lazyOf(root.n) : undefined;
      return base === undefined ? null : [...base, ...preds];
    },
  };
}

/** Every FILTER built where it stands: the reference semantics. */
export const NO_PLAN: Plan = {
  inline: () => [],
  lazy: () => null,
};

/** The list below the FILTERs that `inline` fused. */
export const below = (list: X, inline: readonly X[]): X => (inline.length > 0 ? inline[0]!.a! : list);
