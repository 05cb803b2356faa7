/**
 * What a running ProgMP program touches, shared by the interpreter and the compiled form so both behave
 * identically: list values, the run's view of Q/QU/RQ (POP moves a read position, never the engine's
 * queue), registers and USER values with rollback, the PRINT buffer, and the step counter.
 *
 * Steps: one per statement executed and one per list element visited by FILTER, MIN, MAX, SUM and FOREACH.
 * A run whose count exceeds the budget is stopped by throwing BUDGET_EXCEEDED.
 */
import type { OutcomeBuffer } from '../sched/outcome.ts';
import type { SchedPacket, SchedState, SchedSubflow } from '../sched/types.ts';
import type { Uses } from './ir.ts';

/**
 * A list value: `len` elements from `items[off]`. FILTER results live in per-site buffers that are reused
 * run after run (a site's previous result is always dead when the site runs again: lambdas return scalars
 * and a VAR is re-bound when its statement runs again), so lists cost no allocation per decision.
 */
export class ListVal {
  items: readonly unknown[] = EMPTY;
  off = 0;
  len = 0;

  /** Copies another list's extent (a snapshot of a live queue). */
  copy(from: ListVal): ListVal {
    this.items = from.items;
    this.off = from.off;
    this.len = from.len;
    return this;
  }
}

const EMPTY: readonly unknown[] = [];

/** Thrown (never constructed per run) when a run exceeds its step budget. */
export const BUDGET_EXCEEDED: { readonly budget: true } = Object.freeze({ budget: true });

export const DEFAULT_STEP_BUDGET = 100_000;

/** Per scheduler instance (per connection): reused by every run. */
export class Runtime {
  state!: SchedState;
  out!: OutcomeBuffer;
  regs!: Uint32Array;
  readonly subflows = new ListVal();
  /** Live views of Q, QU, RQ for this run (POP advances them). */
  readonly queues = [new ListVal(), new ListVal(), new ListVal()] as const;
  /** Per-site list buffers (FILTER results, VAR snapshots). */
  readonly sites: ListVal[];
  nowMs = 0;
  steps = 0;
  /** A POP returned a packet, a DROP was recorded, or a register or USER value changed. */
  changed = false;
  private readonly savedRegs = new Uint32Array(6);
  /** (subflow, previous USER) pairs, to undo SET_USER when the run is discarded. */
  private readonly userLog: (SchedSubflow | number)[] = [];
  private userLogLen = 0;
  readonly printed: string[] = [];

  constructor(
    siteCount: number,
    readonly budget: number,
    private readonly uses: Uses,
  ) {
    this.sites = Array.from({ length: siteCount }, () => {
      const l = new ListVal();
      l.items = [];
      return l;
    });
  }

  /** Prepares a run on `state`, only what the program uses. */
  begin(state: SchedState, out: OutcomeBuffer): void {
    const uses = this.uses;
    this.state = state;
    this.out = out;
    const regs = state.registers;
    this.regs = regs;
    if (uses.writes) {
      const saved = this.savedRegs;
      for (let i = 0; i < 6; i++) saved[i] = regs[i]!;
    }
    const sb = this.subflows;
    sb.items = state.subflows;
    sb.off = 0;
    sb.len = state.subflows.length;
    if (uses.queues[0]) view(this.queues[0], state.q.packets, state.q.head);
    if (uses.queues[1]) view(this.queues[1], state.qu.packets, state.qu.head);
    if (uses.queues[2]) view(this.queues[2], state.rq.packets, state.rq.head);
    if (uses.now) this.nowMs = Math.floor(state.now / 1000) % 4294967296;
    this.steps = 0;
    this.changed = false;
    this.userLogLen = 0;
    if (this.printed.length > 0) this.printed.length = 0;
  }

  /** Undoes the run's register and USER changes (budget exceeded). */
  rollback(): void {
    for (let i = 0; i < 6; i++) this.regs[i] = this.savedRegs[i]!;
    for (let i = this.userLogLen - 2; i >= 0; i -= 2)
      (this.userLog[i] as SchedSubflow).user = this.userLog[i + 1] as number;
    this.userLogLen = 0;
    this.printed.length = 0;
  }

  pop(q: ListVal): SchedPacket | null {
    if (q.len === 0) return null;
    const p = q.items[q.off] as SchedPacket;
    q.off++;
    q.len--;
    this.changed = true;
    return p;
  }

  set(reg: number, v: number | null): void {
    if (v === null || this.regs[reg] === v) return;
    this.regs[reg] = v;
    this.changed = true;
  }

  setUser(s: SchedSubflow, v: number | null): void {
    if (v === null || s.user === v) return;
    this.userLog[this.userLogLen++] = s;
    this.userLog[this.userLogLen++] = s.user;
    s.user = v;
    this.changed = true;
  }

  drop(p: SchedPacket | null): void {
    if (p !== null && this.out.drop(p)) this.changed = true;
  }

  random(): number {
    return this.state.random() >>> 0;
  }

  print(fmt: string, v: unknown, type: string): void {
    this.printed.push(format(fmt, v, type));
  }
}

function view(l: ListVal, packets: readonly SchedPacket[], head: number): void {
  l.items = packets;
  l.off = head;
  l.len = packets.length > head ? packets.length - head : 0;
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
