/**
 * What both forms of a running program (interpret.ts, compile.ts) share so that they behave identically:
 * list values, the step rule, undoing register and USER writes, the PRINT buffer.
 *
 * Steps, the unit of the budget: one per statement executed, charged as it starts; and for each FILTER,
 * MIN, MAX, SUM and FOREACH, one per element of the list's root — SUBFLOWS, or the queue (as it was then)
 * that the list was filtered from — charged at once as the iteration starts. Charging the root's length,
 * an upper bound of the list's own, lets a back end filter a list lazily, where it is used, and still
 * count exactly the same. The count is held against the budget before every RANDOM draw (the only effect
 * a stopped run leaves behind), as each iteration and each FOREACH round starts (except, under the plan,
 * an iteration over SUBFLOWS outside any lambda: short, it waits for the next check), and at the end; a
 * run over budget is stopped (the interpreter throws BUDGET_EXCEEDED, compiled code leaves its block) and
 * reports RunStatus.OVER_BUDGET. So a run stops in one form iff it stops in the other, after the same
 * draws; only where it noticed may differ.
 */
import type { OutcomeBuffer } from '../sched/outcome.ts';
import type { SchedPacket, SchedState, SchedSubflow } from '../sched/types.ts';

/**
 * A list value: `len` elements from `items[off]`; `bound` is the length of its root (see the step rule).
 * FILTER results live in per-site buffers that are reused run after run (a site's previous result is
 * always dead when the site runs again: lambdas return scalars and a VAR is re-bound when its statement
 * runs again), so lists cost no allocation per decision.
 */
export class ListVal {
  items: readonly unknown[] = EMPTY;
  off = 0;
  len = 0;
  bound = 0;

  /** Copies another list's extent (a snapshot of a live queue). */
  copy(from: ListVal): ListVal {
    this.items = from.items;
    this.off = from.off;
    this.len = from.len;
    this.bound = from.bound;
    return this;
  }
}

const EMPTY: readonly unknown[] = [];

/** Thrown (never constructed per run) when a run exceeds its step budget. */
export const BUDGET_EXCEEDED: { readonly budget: true } = Object.freeze({ budget: true });

export const DEFAULT_STEP_BUDGET = 100_000;

/** How a run ended. */
export const RunStatus = {
  UNCHANGED: 0,
  /** It changed state: a POP that returned a packet, a DROP, a register or USER write. */
  CHANGED: 1,
  /** It went over its step budget and was stopped. */
  OVER_BUDGET: 2,
} as const;

/** A run of a program on one scheduler state, for the instance owning `rt`; returns a RunStatus. */
export type RunFn = (state: SchedState, rt: Runtime) => number;

/** Per scheduler instance (per connection), shared by every run: what outlives a single evaluation. */
export class Runtime {
  /** Steps the last run counted (at least the budget + 1 when it was stopped). */
  steps = 0;
  readonly printed: string[] = [];
  private readonly savedRegs = new Uint32Array(6);
  /** (subflow, previous USER) pairs, to undo SET_USER when the run is discarded. */
  private readonly userLog: (SchedSubflow | number)[] = [];
  private userLogLen = 0;

  constructor(
    readonly budget: number,
    readonly out: OutcomeBuffer,
    /** The program can SET or SET_USER: runs must be undoable. */
    readonly writes: boolean,
  ) {}

  /** Prepares a run: remembers the registers when the program can change them. */
  begin(regs: Uint32Array): void {
    if (!this.writes) return;
    this.savedRegs.set(regs);
    this.userLogLen = 0;
  }

  /** Undoes the run's register and USER changes and forgets its PRINT lines (budget exceeded). */
  rollback(regs: Uint32Array): void {
    if (this.writes) {
      regs.set(this.savedRegs);
      for (let i = this.userLogLen - 2; i >= 0; i -= 2)
        (this.userLog[i] as SchedSubflow).user = this.userLog[i + 1] as number;
      this.userLogLen = 0;
    }
    this.printed.length = 0;
  }

  /** Stops the run (over budget). */
  stop(steps: number): never {
    this.steps = steps;
    throw BUDGET_EXCEEDED;
  }

  /** SET_USER; true when the value changed. */
  setUser(s: SchedSubflow, v: number | null): boolean {
    if (v === null || s.user === v) return false;
    this.userLog[this.userLogLen++] = s;
    this.userLog[this.userLogLen++] = s.user;
    s.user = v;
    return true;
  }

  print(fmt: string, v: unknown, type: string): void {
    this.printed.push(format(fmt, v, type));
  }
}

/** PRINT text of a value of the given checked type. */
export function show(v: unknown, type: string): string {
  if (v === null || v === undefined) return 'NULL';
  if (type === 'bool') return v ? 'TRUE' : 'FALSE';
  if (type === 'subflow') return `subflow ${(v as SchedSubflow).id}`;
  if (type === 'packet') return `packet ${(v as SchedPacket).seq}`;
  return String(v);
}

/**
 * PRINT formatting: `%%` is a percent sign and the first of `%d %u %i %s` becomes the value; without such a
 * conversion a given value is appended after a space.
 */
export function format(fmt: string, v: unknown, type: string): string {
  let out = '';
  let used = type === '';
  for (let i = 0; i < fmt.length; i++) {
    const c = fmt[i]!;
    const n = fmt[i + 1];
    if (c === '%' && n === '%') {
      out += '%';
      i++;
    } else if (c === '%' && !used && (n === 'd' || n === 'u' || n === 'i' || n === 's')) {
      out += show(v, type);
      used = true;
      i++;
    } else out += c;
  }
  return used ? out : `${out} ${show(v, type)}`;
}

/** `p.SENT_ON(s)`. */
export function sentOn(p: SchedPacket, s: SchedSubflow): boolean {
  const on = p.sentOn;
  for (let i = 0; i < on.length; i++) if (on[i] === s) return true;
  return false;
}

/** `p.SENT_ON_ALL`: the packet was given to every subflow in SUBFLOWS. */
export function sentOnAll(p: SchedPacket, sbfs: readonly SchedSubflow[]): boolean {
  for (let i = 0; i < sbfs.length; i++) if (!sentOn(p, sbfs[i]!)) return false;
  return true;
}
