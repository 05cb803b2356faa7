/**
 * Reno (RFC 5681) with appropriate byte counting (RFC 3465), and the base the other controllers build on:
 * slow start, loss response, RTO loss window, idle restart, the loss-interval bookkeeping OLIA reads, and
 * membership of a coupling group.
 */
import type { Instant } from '../util/time.ts';
import type { Couplable, CouplingGroupHandle, GroupMember } from './coupling.ts';
import { HyStart } from './hystart.ts';
import type { CcContext, SubflowView } from './types.ts';

/** Options every controller takes (see `createCc`). */
export interface CcOptions {
  /** Sender MSS in bytes. */
  mss: number;
  /** Initial window in segments (default 10, as Linux and RFC 6928). */
  initialCwnd?: number;
  /** The connection's coupling group; needs `view`. */
  group?: CouplingGroupHandle;
  /** This subflow's live view for the group. */
  view?: SubflowView;
  /** Creation time (µs). */
  now?: Instant;
  /** Leave the initial slow start on an RTT rise (HyStart++, RFC 9406) instead of on the first loss. */
  hystart?: boolean;
}

/** Invalid controller options. */
export class CcConfigError extends Error {
  override name = 'CcConfigError';
}

/** RFC 3465 §2.2: at most L·MSS of window growth per ACK in slow start, with L = 2. */
const ABC_LIMIT = 2;

export class Reno implements Couplable {
  readonly name: string = 'reno';
  /** Congestion window in bytes; fractional in the coupled controllers and CUBIC, floored when read. */
  protected cw: number;
  protected thresh = Number.POSITIVE_INFINITY;
  protected smss: number;
  protected readonly initialWindow: number;
  protected readonly member: GroupMember | undefined;
  /** Set by an RTO, cleared by an ACK: a backed-off retransmission must not lower ssthresh again (RFC 5681 §3.1). */
  protected rtoBackedOff = false;
  /**
   * What the current loss episode's response cut (taken when recovery starts, or at a timeout that starts an
   * episode), for onUndo; null when there is nothing to restore.
   */
  private beforeLoss: {
    cw: number;
    thresh: number;
    sinceLoss: number;
    betweenLosses: number;
    hystart: HyStart | null;
  } | null = null;
  /** Acknowledged bytes × MSS not yet turned into window: congestion avoidance in exact integers. */
  private caCredit = 0;
  private sinceLoss = 0;
  private betweenLosses = 0;
  /** HyStart++ for the initial slow start; dropped once it is over. */
  private hystart: HyStart | null;

  constructor(opts: CcOptions) {
    const iw = opts.initialCwnd ?? 10;
    if (!Number.isInteger(opts.mss) || opts.mss <= 0) {
      throw new CcConfigError(`mss must be a positive integer number of bytes, got ${opts.mss}`);
    }
    if (!Number.isInteger(iw) || iw <= 0) {
      throw new CcConfigError(`initialCwnd is in segments and must be a positive integer, got ${iw}`);
    }
    if ((opts.group === undefined) !== (opts.view === undefined)) {
      throw new CcConfigError(
        'pass both group and view (the subflow whose srtt and active the group reads), or neither',
      );
    }
    this.smss = opts.mss;
    this.initialWindow = iw * opts.mss;
    this.cw = this.initialWindow;
    this.member = opts.group && opts.view ? opts.group.add(this, opts.view) : undefined;
    this.hystart = opts.hystart ? new HyStart() : null;
  }

  get cwnd(): number {
    return Math.floor(this.cw);
  }
  get ssthresh(): number {
    return this.thresh;
  }
  get mss(): number {
    return this.smss;
  }
  get bytesSinceLoss(): number {
    return this.sinceLoss;
  }
  get bytesBetweenLosses(): number {
    return this.betweenLosses;
  }

  onAck(now: Instant, ackedBytes: number, ctx: CcContext): void {
    this.smss = ctx.mss;
    this.rtoBackedOff = false;
    if (ackedBytes <= 0) return;
    this.sinceLoss += ackedBytes;
    if (ctx.appLimited) {
      this.onAppLimited(now);
      return;
    }
    let rest = ackedBytes;
    if (this.cw < this.thresh) {
      // RFC 5681 §3.1 slow start, counting bytes (RFC 3465) so delayed or stretch ACKs grow the window fairly.
      let increase = Math.min(ackedBytes, ABC_LIMIT * this.smss);
      if (this.hystart !== null) {
        const divisor = this.hystart.onAck(ackedBytes, this.cw, ctx.rttSample);
        if (divisor === 0) {
          this.hystart = null;
          this.thresh = this.cw;
          this.congestionAvoidance(now, ackedBytes, ctx);
          return;
        }
        increase /= divisor;
      }
      const room = this.thresh - this.cw;
      if (increase < room) {
        this.cw += increase;
        return;
      }
      this.cw = this.thresh;
      rest = ackedBytes - room;
      if (rest <= 0) return;
    }
    this.congestionAvoidance(now, rest, ctx);
  }

  onCongestionEvent(_now: Instant, ctx: CcContext): void {
    this.smss = ctx.mss;
    this.saveBeforeLoss();
    this.hystart = null;
    this.noteLoss();
    this.thresh = this.lossSsthresh(ctx);
    // RFC 6675 §5: the window becomes ssthresh when recovery starts; the engine paces recovery with pipe.
    this.cw = this.thresh;
    this.caCredit = 0;
  }

  onRecoveryEnd(_now: Instant, ctx: CcContext): void {
    this.smss = ctx.mss;
    // RFC 6582 §3.2 step 6: deflate to ssthresh on leaving recovery; never inflate (an RTO inside recovery
    // already dropped the window to the loss window).
    this.cw = Math.min(this.cw, this.thresh);
    this.caCredit = 0;
  }

  onRto(_now: Instant, ctx: CcContext): void {
    this.smss = ctx.mss;
    // A timeout inside fast recovery belongs to the loss episode the recovery already counted and answered
    // (and an undo goes back to before that recovery, as Linux's prior_cwnd does).
    if (this.startsEpisode(ctx)) this.saveBeforeLoss();
    this.hystart = null;
    if (!ctx.keepSsthresh) {
      this.noteLoss();
      if (!this.rtoBackedOff) this.thresh = this.lossSsthresh(ctx);
    }
    this.rtoBackedOff = true;
    // RFC 5681 §3.1: the loss window is one segment.
    this.cw = this.smss;
    this.caCredit = 0;
  }

  onUndo(_now: Instant, ctx: CcContext): void {
    this.smss = ctx.mss;
    const b = this.beforeLoss;
    if (b === null) return;
    this.beforeLoss = null;
    this.cw = Math.max(this.cw, b.cw);
    this.thresh = Math.max(this.thresh, b.thresh);
    // There was no loss: OLIA's loss intervals go back to what they were.
    this.sinceLoss += b.sinceLoss;
    this.betweenLosses = b.betweenLosses;
    // Back in the initial slow start, HyStart++ ends it again (Linux keeps HyStart through a recovery).
    this.hystart = b.hystart;
    this.caCredit = 0;
  }

  onIdleRestart(_now: Instant, ctx: CcContext, halvings?: number): void {
    this.smss = ctx.mss;
    // RFC 5681 §4.1: restart window RW = min(IW, cwnd).
    const rw = Math.min(this.cw, this.initialWindow);
    if (halvings === undefined) this.cw = rw;
    else {
      // Linux: slow start takes the window back to 3/4 of where it was.
      this.thresh = Math.max(this.thresh, Math.floor((this.cw * 3) / 4));
      this.cw = Math.max(rw, this.cw / 2 ** halvings);
    }
    this.caCredit = 0;
  }

  detach(): void {
    this.member?.group.remove(this.member);
  }

  /** onRto: whether this timeout starts a loss episode (CcContext.newEpisode). */
  protected startsEpisode(ctx: CcContext): boolean {
    return ctx.newEpisode ?? (!this.rtoBackedOff && !ctx.keepSsthresh);
  }

  /** Takes the record onUndo restores, before a loss response cuts anything; subclasses add their state. */
  protected saveBeforeLoss(): void {
    this.beforeLoss = {
      cw: this.cw,
      thresh: this.thresh,
      sinceLoss: this.sinceLoss,
      betweenLosses: this.betweenLosses,
      hystart: this.hystart,
    };
  }

  /** ssthresh after a loss: RFC 5681 equation (4), max(FlightSize/2, 2·SMSS). */
  protected lossSsthresh(ctx: CcContext): number {
    return Math.max(Math.floor(ctx.bytesInFlight / 2), 2 * this.smss);
  }

  /** Congestion-avoidance growth for `ackedBytes`; Reno's unless overridden. */
  protected congestionAvoidance(_now: Instant, ackedBytes: number, _ctx: CcContext): void {
    this.renoIncrease(ackedBytes);
  }

  /** An ACK arrived while the sender was application-limited (the window did not grow). */
  protected onAppLimited(_now: Instant): void {}

  /**
   * RFC 5681 §3.1 equation (3), cwnd += MSS·MSS/cwnd per MSS acknowledged, i.e. ackedBytes·MSS/cwnd: the
   * numerator is accumulated in integers so ACKs of a few bytes still count, and no rounding is ever lost.
   */
  protected renoIncrease(ackedBytes: number): void {
    const w = Math.floor(this.cw);
    this.caCredit += ackedBytes * this.smss;
    if (this.caCredit < w) return;
    const increase = Math.floor(this.caCredit / w);
    this.caCredit -= increase * w;
    this.cw += increase;
  }

  /** OLIA's loss intervals: the bytes since the previous loss become l1 unless no byte arrived in between. */
  private noteLoss(): void {
    if (this.sinceLoss === 0) return;
    this.betweenLosses = this.sinceLoss;
    this.sinceLoss = 0;
  }
}
