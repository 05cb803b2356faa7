/**
 * The tree-walking interpreter over the checked program. It defines the semantics the compiled form must
 * reproduce exactly: evaluation order (left to right, both operands of arithmetic and comparisons always
 * evaluated, AND/OR short-circuit, a NULL PUSH/SET_USER receiver skips its argument), the NULL rules, 32-bit
 * wrap-around, and the step count (see runtime.ts).
 *
 * The switches use the numeric values of Op, SbfProp and PktProp (ir.ts) as literal case labels so V8
 * compiles them to jump tables; test/progmp/semantics.test.ts pins those values.
 */
import type { SchedPacket, SchedSubflow } from '../sched/types.ts';
import type { Program, S, X } from './ir.ts';
import { BUDGET_EXCEEDED, type ListVal, type Runtime, sentOn, sentOnAll } from './runtime.ts';

export class Interpreter {
  private readonly f: unknown[];

  constructor(
    private readonly program: Program,
    private readonly rt: Runtime,
  ) {
    this.f = new Array(program.slots).fill(null);
  }

  /** One run of the program. */
  run(): void {
    this.exec(this.program.body);
  }

  private step(): void {
    if (++this.rt.steps > this.rt.budget) throw BUDGET_EXCEEDED;
  }

  /** Executes statements; true when RETURN ended the run. */
  private exec(body: S[]): boolean {
    const rt = this.rt;
    for (let i = 0; i < body.length; i++) {
      const s = body[i]!;
      this.step();
      switch (s.op) {
        case 40 /* Var */:
          {
            const v = this.eval(s.a!);
            this.f[s.n] = s.site >= 0 ? rt.sites[s.site]!.copy(v as ListVal) : v;
            break;
          }
        case 41 /* Set */:
          rt.set(s.n, this.eval(s.a!) as number | null);
          break;
        case 42 /* If */:
          if (this.eval(s.a!) === true) {
            if (this.exec(s.body!)) return true;
          } else if (s.alt !== null && this.exec(s.alt)) return true;
          break;
        case 43 /* Foreach */:
          {
            const l = this.eval(s.a!) as ListVal;
            const items = l.items;
            const off = l.off;
            const n = l.len;
            for (let k = 0; k < n; k++) {
              this.step();
              this.f[s.n] = items[off + k];
              if (this.exec(s.body!)) return true;
            }
            break;
          }
        case 44 /* Drop */:
          rt.drop(this.eval(s.a!) as SchedPacket | null);
          break;
        case 45 /* Print */:
          {
            const fmt = this.eval(s.a!) as string;
            if (s.b === null) rt.print(fmt, undefined, '');
            else rt.print(fmt, this.eval(s.b), s.b.type);
            break;
          }
        case 46 /* Return */:
          return true;
        case 47 /* Void */:
          if (s.a !== null) this.eval(s.a);
          break;
        case 48 /* Push */:
          {
            const sbf = this.eval(s.a!) as SchedSubflow | null;
            if (sbf === null) break;
            const p = this.eval(s.b!) as SchedPacket | null;
            if (p !== null) rt.out.push(sbf, p);
            break;
          }
        case 49 /* SetUser */:
          {
            const sbf = this.eval(s.a!) as SchedSubflow | null;
            if (sbf !== null) rt.setUser(sbf, this.eval(s.b!) as number | null);
            break;
          }
      }
    }
    return false;
  }

  private eval(x: X): unknown {
    const rt = this.rt;
    switch (x.op) {
      case 0 /* Int */:
        return x.n;
      case 1 /* Str */:
        return x.s;
      case 2 /* Bool */:
        return x.n === 1;
      case 3 /* Null */:
        return null;
      case 4 /* Local */:
        return this.f[x.n];
      case 5 /* Reg */:
        return rt.regs[x.n];
      case 6 /* Queue */:
        return rt.queues[x.n as 0 | 1 | 2];
      case 7 /* Subflows */:
        return rt.subflows;
      case 8 /* Now */:
        return rt.nowMs;
      case 9 /* Random */:
        return rt.random();
      case 10 /* Add */:
      case 11 /* Sub */:
      case 12 /* Mul */:
      case 13 /* Div */:
      case 14 /* Mod */:
      case 15 /* Lt */:
      case 16 /* Le */:
      case 17 /* Gt */:
      case 18 /* Ge */:
        {
          const a = this.eval(x.a!) as number | null;
          const b = this.eval(x.b!) as number | null;
          if (a === null || b === null) return null;
          switch (x.op) {
            case 10 /* Add */:
              return (a + b) >>> 0;
            case 11 /* Sub */:
              return (a - b) >>> 0;
            case 12 /* Mul */:
              return Math.imul(a, b) >>> 0;
            case 13 /* Div */:
              return b === 0 ? null : Math.floor(a / b);
            case 14 /* Mod */:
              return b === 0 ? null : a % b;
            case 15 /* Lt */:
              return a < b;
            case 16 /* Le */:
              return a <= b;
            case 17 /* Gt */:
              return a > b;
            default:
              return a >= b;
          }
        }
      case 19 /* Eq */:
        return this.eval(x.a!) === this.eval(x.b!);
      case 20 /* Ne */:
        return this.eval(x.a!) !== this.eval(x.b!);
      case 21 /* IsNull */:
        return this.eval(x.a!) === null;
      case 22 /* NotNull */:
        return this.eval(x.a!) !== null;
      case 23 /* And */:
        return this.eval(x.a!) === true && this.eval(x.b!) === true;
      case 24 /* Or */:
        return this.eval(x.a!) === true || this.eval(x.b!) === true;
      case 25 /* Not */:
        {
          const v = this.eval(x.a!);
          return v === null ? null : !v;
        }
      case 26 /* SbfProp */:
        {
          // A lambda parameter or variable receiver (the common case) is read without a recursive call.
          const a = x.a!;
          const s = (a.op === 4 /* Local */ ? this.f[a.n] : this.eval(a)) as SchedSubflow | null;
          return s === null ? null : subflowProp(s, x.n);
        }
      case 27 /* PktProp */:
        {
          const p = this.eval(x.a!) as SchedPacket | null;
          return p === null ? null : packetProp(p, x.n);
        }
      case 28 /* HasWindow */:
        {
          const s = this.eval(x.a!) as SchedSubflow | null;
          const p = this.eval(x.b!) as SchedPacket | null;
          return s === null || p === null ? null : p.length <= s.windowFree;
        }
      case 29 /* SentOn */:
        {
          const p = this.eval(x.a!) as SchedPacket | null;
          const s = this.eval(x.b!) as SchedSubflow | null;
          return p === null || s === null ? null : sentOn(p, s);
        }
      case 30 /* SentOnAll */:
        {
          const p = this.eval(x.a!) as SchedPacket | null;
          return p === null ? null : sentOnAll(p, rt.state.subflows);
        }
      case 31 /* Empty */:
        return (this.eval(x.a!) as ListVal).len === 0;
      case 32 /* Count */:
        return (this.eval(x.a!) as ListVal).len;
      case 33 /* Top */:
        {
          const l = this.eval(x.a!) as ListVal;
          return l.len > 0 ? l.items[l.off] : null;
        }
      case 34 /* Get */:
        {
          const l = this.eval(x.a!) as ListVal;
          const i = this.eval(x.b!) as number | null;
          return i === null || i >= l.len ? null : l.items[l.off + i];
        }
      case 39 /* Pop */:
        return rt.pop(this.eval(x.a!) as ListVal);
      case 35 /* Filter */:
        {
          const l = this.eval(x.a!) as ListVal;
          const items = l.items;
          const off = l.off;
          const n = l.len;
          const dst = rt.sites[x.site]!;
          const buf = dst.items as unknown[];
          let m = 0;
          for (let k = 0; k < n; k++) {
            this.step();
            const e = items[off + k];
            this.f[x.n] = e;
            if (this.eval(x.b!) === true) buf[m++] = e;
          }
          dst.off = 0;
          dst.len = m;
          return dst;
        }
      case 36 /* Min */:
      case 37 /* Max */:
        {
          const l = this.eval(x.a!) as ListVal;
          const items = l.items;
          const off = l.off;
          const n = l.len;
          const max = x.op === 37 /* Max */;
          let best: unknown = null;
          let bestKey = 0;
          for (let k = 0; k < n; k++) {
            this.step();
            const e = items[off + k];
            this.f[x.n] = e;
            const key = this.eval(x.b!) as number | null;
            if (key !== null && (best === null || (max ? key > bestKey : key < bestKey))) {
              best = e;
              bestKey = key;
            }
          }
          return best;
        }
      case 38 /* Sum */:
        {
          const l = this.eval(x.a!) as ListVal;
          const items = l.items;
          const off = l.off;
          const n = l.len;
          let sum = 0;
          for (let k = 0; k < n; k++) {
            this.step();
            this.f[x.n] = items[off + k];
            const key = this.eval(x.b!) as number | null;
            if (key !== null) sum = (sum + key) >>> 0;
          }
          return sum;
        }
    }
    throw new Error(`progmp: statement op ${x.op} used as an expression`);
  }
}

export function subflowProp(s: SchedSubflow, prop: number): number | boolean {
  switch (prop) {
    case 0 /* RTT */:
      return s.rtt;
    case 1 /* RTT_MS */:
      return Math.floor(s.rtt / 8000);
    case 2 /* RTT_US */:
      return Math.floor(s.rtt / 8);
    case 3 /* RTT_VAR */:
      return s.rttVar;
    case 4 /* CWND */:
      return s.cwnd;
    case 5 /* SSTHRESH */:
      return s.ssthresh;
    case 6 /* SKBS_IN_FLIGHT */:
      return s.skbsInFlight;
    case 7 /* QUEUED */:
      return s.queued;
    case 8 /* LOST_SKBS */:
      return s.lostSkbs;
    case 9 /* IS_BACKUP */:
      return s.isBackup;
    case 10 /* THROTTLED */:
      return s.throttled;
    case 11 /* LOSSY */:
      return s.lossy;
    case 12 /* ID */:
      return s.id;
    case 13 /* DELAY_IN */:
      return s.delayIn;
    case 14 /* DELAY_OUT */:
      return s.delayOut;
    case 15 /* BW_OUT_SEND */:
      return s.bwOutSend;
    case 16 /* BW_OUT_ACK */:
      return s.bwOutAck;
    case 17 /* MSS */:
      return s.mss;
    default:
      return s.user;
  }
}

export function packetProp(p: SchedPacket, prop: number): number | boolean {
  switch (prop) {
    case 0 /* SEQ */:
      return p.seq;
    case 1 /* LENGTH */:
      return p.length;
    case 2 /* PSH */:
      return p.psh;
    default:
      return p.user;
  }
}
