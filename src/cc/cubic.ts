/**
 * CUBIC (RFC 9438): after a loss the window follows W_cubic(t) = C(t−K)³ + W_max, concave up to the previous
 * maximum and convex beyond it, never slower than an equivalent Reno (the Reno-friendly region). Slow start is
 * Reno's with byte counting, with HyStart++ (RFC 9406, RFC 9438 §4.10) when the `hystart` option is on.
 */
import { type Duration, type Instant, SECOND } from '../util/time.ts';
import { type CcOptions, Reno } from './reno.ts';
import type { CcContext } from './types.ts';

/** RFC 9438 §5.1: C = 0.4 (segments/s³). */
export const CUBIC_C = 0.4;
/** RFC 9438 §4.6: β_cubic = 0.7. */
export const CUBIC_BETA = 0.7;
/** RFC 9438 §4.3: α_cubic = 3(1−β)/(1+β), Reno's average window for AIMD(α, β). */
export const CUBIC_ALPHA = (3 * (1 - CUBIC_BETA)) / (1 + CUBIC_BETA);

/** RFC 9438 Figure 2: K = ∛((W_max − cwnd_epoch)/C), windows in segments, K in seconds (0 when W_max ≤ cwnd_epoch). */
export function cubicK(wMaxSegments: number, cwndEpochSegments: number): number {
  return Math.cbrt(Math.max(0, wMaxSegments - cwndEpochSegments) / CUBIC_C);
}

/** RFC 9438 Figure 1: W_cubic(t) = C(t−K)³ + W_max, in segments, t and K in seconds. */
export function wCubic(tSeconds: number, k: number, wMaxSegments: number): number {
  const d = tSeconds - k;
  return CUBIC_C * d * d * d + wMaxSegments;
}

export class Cubic extends Reno {
  override readonly name: string = 'cubic';
  /** W_max in bytes; undefined before the first loss and after an RTO (then set at the epoch start, K = 0). */
  private wMax: number | undefined;
  private k = 0;
  /** Start of the current congestion-avoidance stage (µs), undefined until its first ACK. */
  private epochStart: Instant | undefined;
  /** Reno-friendly window estimate W_est in bytes. */
  private wEst = 0;
  /** cwnd when ssthresh was last set (RFC 9438 cwnd_prior), bytes. */
  private cwndPrior = 0;
  /** Time of the last ACK, to keep application-limited periods out of t. */
  private lastAck: Instant;
  /** W_max and cwnd_prior before the current loss episode's response (saveBeforeLoss), for onUndo (RFC 9438 §4.9). */
  private cubicBeforeLoss: { wMax: number | undefined; cwndPrior: number } | null = null;

  constructor(opts: CcOptions) {
    super(opts);
    this.lastAck = opts.now ?? 0;
  }

  /** The current W_max in bytes (undefined before the first loss), for inspection. */
  get wMaxBytes(): number | undefined {
    return this.wMax;
  }

  /** The current K in seconds, for inspection. */
  get kSeconds(): number {
    return this.k;
  }

  override onAck(now: Instant, ackedBytes: number, ctx: CcContext): void {
    super.onAck(now, ackedBytes, ctx);
    this.lastAck = now;
  }

  override onCongestionEvent(now: Instant, ctx: CcContext): void {
    const cw = this.cw;
    // §4.6: ssthresh = max(flight_size·β, 2), cwnd = max(ssthresh, 2), through lossSsthresh.
    super.onCongestionEvent(now, ctx);
    // RFC 9438 §4.7 fast convergence: a loss below the previous W_max means the share shrank; release more.
    this.wMax = this.wMax !== undefined && cw < this.wMax ? (cw * (1 + CUBIC_BETA)) / 2 : cw;
    this.cwndPrior = cw;
    this.epochStart = undefined;
  }

  override onRto(now: Instant, ctx: CcContext): void {
    const cw = this.cw;
    const first = !this.rtoBackedOff && !ctx.keepSsthresh;
    super.onRto(now, ctx);
    // §4.8: Reno's loss window with β for ssthresh; the next stage starts with K = 0 and W_max = cwnd_epoch.
    if (first) this.cwndPrior = cw;
    this.wMax = undefined;
    this.epochStart = undefined;
  }

  override onUndo(now: Instant, ctx: CcContext): void {
    // §4.9: back to the state before the loss response; the next congestion-avoidance stage computes K from it.
    const b = this.cubicBeforeLoss;
    if (b !== null) {
      this.wMax = b.wMax;
      this.cwndPrior = b.cwndPrior;
      this.epochStart = undefined;
      this.cubicBeforeLoss = null;
    }
    super.onUndo(now, ctx);
  }

  /** Reno's record, and CUBIC's W_max and cwnd_prior beside it (taken at the same moments, before the cut). */
  protected override saveBeforeLoss(): void {
    super.saveBeforeLoss();
    this.cubicBeforeLoss = { wMax: this.wMax, cwndPrior: this.cwndPrior };
  }

  override onIdleRestart(now: Instant, ctx: CcContext, halvings?: number): void {
    super.onIdleRestart(now, ctx, halvings);
    this.epochStart = undefined;
  }

  protected override lossSsthresh(ctx: CcContext): number {
    return Math.max(Math.floor(ctx.bytesInFlight * CUBIC_BETA), 2 * this.smss);
  }

  protected override onAppLimited(now: Instant): void {
    // §5.8: t must not include periods in which cwnd did not grow because the application had nothing to send.
    if (this.epochStart !== undefined) this.epochStart += now - this.lastAck;
  }

  protected override congestionAvoidance(now: Instant, ackedBytes: number, ctx: CcContext): void {
    const mss = this.smss;
    if (this.epochStart === undefined) this.startEpoch(now);
    const epochStart = this.epochStart ?? now;
    const wMax = (this.wMax ?? this.cw) / mss;
    const t = (now - epochStart) / SECOND;
    // §4.3: W_est += α_cubic·segments_acked/cwnd, with α_cubic = 1 once W_est reaches cwnd_prior.
    const alpha = this.wEst >= this.cwndPrior ? 1 : CUBIC_ALPHA;
    this.wEst += (alpha * mss * ackedBytes) / this.cw;
    if (wCubic(t, this.k, wMax) * mss < this.wEst) {
      // Reno-friendly region: follow W_est (never shrinking the window on an ACK).
      this.cw = Math.max(this.cw, this.wEst);
      return;
    }
    // §4.2: target = W_cubic(t + RTT) clamped to [cwnd, 1.5·cwnd]; §4.4/4.5: cwnd += (target − cwnd)/cwnd
    // per segment acknowledged, i.e. ackedBytes·(target − cwnd)/cwnd bytes.
    const rtt: Duration = ctx.srtt;
    const target = Math.min(Math.max(wCubic(t + rtt / SECOND, this.k, wMax) * mss, this.cw), 1.5 * this.cw);
    this.cw += (ackedBytes * (target - this.cw)) / this.cw;
  }

  private startEpoch(now: Instant): void {
    this.epochStart = now;
    this.wEst = this.cw;
    if (this.wMax === undefined) {
      this.wMax = this.cw;
      this.k = 0;
    } else {
      this.k = cubicK(this.wMax / this.smss, this.cw / this.smss);
    }
  }
}
