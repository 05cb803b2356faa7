import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CUBIC_ALPHA, Cubic, cubicK, wCubic } from '../../src/cc/index.ts';
import type { CcContext } from '../../src/cc/types.ts';
import { SECOND } from '../../src/util/time.ts';

const MSS = 1000;
const RTT = 100_000; // 100 ms
const ctx = (o: Partial<CcContext> = {}): CcContext => ({
  mss: MSS,
  bytesInFlight: 0,
  srtt: RTT,
  minRtt: RTT,
  appLimited: false,
  ...o,
});

const close = (actual: number, expected: number, eps = 1e-9) =>
  assert.ok(Math.abs(actual - expected) <= eps * Math.max(1, Math.abs(expected)), `${actual} ≉ ${expected}`);

/** Slow start from 10 to 100 segments, then a loss at t = 0 with FlightSize 100 segments. */
function afterFirstLoss(): Cubic {
  const cc = new Cubic({ mss: MSS, now: 0 });
  for (let i = 0; i < 90; i++) cc.onAck(0, 1000, ctx());
  assert.equal(cc.cwnd, 100_000);
  cc.onCongestionEvent(0, ctx({ bytesInFlight: 100_000 }));
  cc.onRecoveryEnd(0, ctx());
  return cc;
}

// K for W_max = 100, cwnd_epoch = 70 segments: ∛((100 − 70)/0.4) = ∛75.
const K = 4.217163326508746;

describe('CUBIC formulas (RFC 9438 §4.2)', () => {
  it('computes K and W_cubic(t) as the RFC writes them', () => {
    close(cubicK(100, 70), K); // 4.2171633265² · 4.2171633265 = 75.000
    close(cubicK(59.5, 49), 2.9719609763815646); // ∛(10.5/0.4) = ∛26.25
    assert.equal(cubicK(50, 70), 0); // W_max below cwnd_epoch: no concave part
    close(wCubic(0, K, 100), 70); // 0.4·(−∛75)³ + 100 = −30 + 100
    close(wCubic(1, K, 100), 86.68076383512988); // 0.4·(−3.2171633)³ + 100 = 0.4·(−33.298) + 100
    close(wCubic(2, K, 100), 95.64033568663878); // 0.4·(−2.2171633)³ + 100 = 0.4·(−10.899) + 100
    close(wCubic(K, K, 100), 100); // the plateau at W_max
    close(wCubic(K + 1, K, 100), 100.4); // 0.4·1³ + 100
    close(wCubic(10, K, 100), 177.35399908835427); // 0.4·(5.7828367)³ + 100 = 0.4·193.385 + 100
    close(CUBIC_ALPHA, 0.9 / 1.7); // 3·0.3/1.7
  });
});

describe('CUBIC controller', () => {
  it('reduces by β = 0.7 and remembers W_max on the first loss', () => {
    const cc = afterFirstLoss();
    assert.equal(cc.ssthresh, 70_000); // 100000·0.7
    assert.equal(cc.cwnd, 70_000);
    assert.equal(cc.wMaxBytes, 100_000);
  });

  it('follows W_est, then W_cubic(t + RTT), then the 1.5·cwnd cap', () => {
    const cc = afterFirstLoss();
    // t = 0 (the epoch starts): W_est = 70000 + α·1000·1000/70000 = 70000 + 0.5294118·14.285714 = 70007.563;
    // W_cubic(0) = 70000 < W_est, so the Reno-friendly region sets cwnd = W_est.
    cc.onAck(0, 1000, ctx());
    close(cc.kSeconds, K);
    assert.equal(cc.cwnd, 70_007);
    // t = 1 s: W_est = 70015.125 < W_cubic(1) = 86680.76. target = W_cubic(1.1) = 87884.575 (inside
    // [cwnd, 1.5·cwnd]); cwnd += 1000·(87884.575 − 70007.563)/70007.563 = 255.358 → 70262.921.
    cc.onAck(1 * SECOND, 1000, ctx());
    assert.equal(cc.cwnd, 70_262);
    // t = 10 s: W_cubic(10.1) = 181436.7 > 1.5·70262.921 = 105394.4, so target is the cap and
    // cwnd += 1000·(0.5·cwnd)/cwnd = 500 → 70762.921.
    cc.onAck(10 * SECOND, 1000, ctx());
    assert.equal(cc.cwnd, 70_762);
  });

  it('is concave below W_max and convex above it', () => {
    // A large window (W_max = 1000 segments, K = ∛(300/0.4) = 9.09 s) so that W_cubic, not the Reno-friendly
    // W_est (0.53 segment per RTT), drives the window on both sides of W_max.
    const cc = new Cubic({ mss: MSS, now: 0 });
    for (let i = 0; i < 990; i++) cc.onAck(0, 1000, ctx());
    cc.onCongestionEvent(0, ctx({ bytesInFlight: 1_000_000 }));
    cc.onRecoveryEnd(0, ctx());
    // An ACK clock: each 100 ms round acknowledges one window in MSS-sized ACKs spread over the round.
    const ends: number[] = [cc.cwnd];
    for (let round = 0; round < 180; round++) {
      const segments = Math.floor(cc.cwnd / MSS);
      for (let i = 0; i < segments; i++) {
        cc.onAck(round * RTT + Math.floor((i * RTT) / segments), MSS, ctx());
      }
      ends.push(cc.cwnd);
    }
    const growth = (round: number) => (ends[round + 10] ?? 0) - (ends[round] ?? 0);
    // cwnd leads W_cubic(t) by one RTT, so it reaches W_max = 1000000 near t = K − RTT ≈ 9 s (round 90).
    assert.ok(Math.abs((ends[90] ?? 0) - 1_000_000) < 1000, `cwnd ${ends[90]} at t≈K`);
    for (let round = 0; round + 10 < 90; round += 10) {
      assert.ok(growth(round) > growth(round + 10), `concave: growth slows before W_max (round ${round})`);
    }
    for (let round = 100; round + 10 < 180; round += 10) {
      assert.ok(growth(round + 10) > growth(round), `convex: growth speeds up after W_max (round ${round})`);
    }
  });

  it('applies fast convergence when a loss comes below W_max', () => {
    const cc = afterFirstLoss();
    // Second loss at cwnd 70000 < W_max 100000: W_max = 70000·(1 + 0.7)/2 = 59500;
    // ssthresh = cwnd = 70000·0.7 = 49000 (FlightSize 70000).
    cc.onCongestionEvent(0, ctx({ bytesInFlight: 70_000 }));
    assert.equal(cc.wMaxBytes, 59_500);
    assert.equal(cc.ssthresh, 49_000);
    assert.equal(cc.cwnd, 49_000);
    cc.onAck(0, 1000, ctx()); // the next epoch: K = ∛((59.5 − 49)/0.4) = ∛26.25
    close(cc.kSeconds, 2.9719609763815646);
    // A loss at or above W_max just records cwnd as the new W_max.
    const up = afterFirstLoss();
    up.onAck(0, 1000, ctx());
    up.onAck(10 * SECOND, 1000, ctx()); // cwnd 70507.563 (capped step), below W_max: fast convergence again
    up.onCongestionEvent(10 * SECOND, ctx({ bytesInFlight: 70_000 }));
    close(up.wMaxBytes ?? 0, (70_507.56302521008 * 1.7) / 2);
  });

  it('restarts the epoch after idle', () => {
    const cc = afterFirstLoss();
    cc.onAck(0, 1000, ctx()); // epoch starts at t = 0, cwnd 70007.563
    cc.onIdleRestart(9 * SECOND, ctx()); // cwnd = min(IW, cwnd) = 10000, ssthresh stays 70000
    assert.equal(cc.cwnd, 10_000);
    for (let i = 0; i < 30; i++) cc.onAck(10 * SECOND, 2000, ctx()); // slow start: 10000 + 30·2000 = 70000
    assert.equal(cc.cwnd, 70_000);
    // First CA ACK at t = 10 s opens a new epoch (t = 0, K = ∛75 again): Reno-friendly, +7.563, not the +500 the
    // old epoch's t = 10 s would give.
    cc.onAck(10 * SECOND, 1000, ctx());
    assert.equal(cc.cwnd, 70_007);
    close(cc.kSeconds, K);
  });

  it('keeps application-limited time out of t', () => {
    const cc = afterFirstLoss();
    cc.onAck(0, 1000, ctx()); // epoch starts at 0, cwnd 70007.563
    cc.onAck(9 * SECOND, 1000, ctx({ appLimited: true })); // 9 s without growth: the epoch moves to 9 s
    assert.equal(cc.cwnd, 70_007);
    // t = 1 s (not 10 s): the same step as at t = 1 in the sequence above, +255.358.
    cc.onAck(10 * SECOND, 1000, ctx());
    assert.equal(cc.cwnd, 70_262);
  });

  it('after an RTO starts the next stage with K = 0 and W_max = cwnd', () => {
    const cc = afterFirstLoss();
    cc.onRto(0, ctx({ bytesInFlight: 40_000 })); // ssthresh = 40000·0.7 = 28000, cwnd 1 MSS
    assert.equal(cc.ssthresh, 28_000);
    assert.equal(cc.cwnd, 1000);
    assert.equal(cc.wMaxBytes, undefined);
    for (let i = 0; i < 13; i++) cc.onAck(0, 2000, ctx()); // 1000 + 13·2000 = 27000
    cc.onAck(0, 1000, ctx()); // exactly ssthresh
    assert.equal(cc.cwnd, 28_000);
    // First CA ACK: W_max = cwnd_epoch = 28000, K = 0; W_est = 28000 + α·1000·1000/28000 = 28018.907
    // (α = 0.5294 since W_est < cwnd_prior = 70000) > W_cubic(0) = 28000: Reno-friendly.
    cc.onAck(0, 1000, ctx());
    assert.equal(cc.kSeconds, 0);
    assert.equal(cc.wMaxBytes, 28_000);
    assert.equal(cc.cwnd, 28_018);
  });

  it('after a spurious RTO returns to the window and W_max it had (RFC 9438 §4.9)', () => {
    const cc = afterFirstLoss();
    const before = { cwnd: cc.cwnd, ssthresh: cc.ssthresh, wMax: cc.wMaxBytes };
    cc.onRto(0, ctx({ bytesInFlight: 40_000 }));
    cc.onUndo(0, ctx());
    assert.deepEqual({ cwnd: cc.cwnd, ssthresh: cc.ssthresh, wMax: cc.wMaxBytes }, before);
    // The next congestion-avoidance ACK starts an epoch from the restored W_max: K as after the first loss.
    cc.onAck(RTT, 1000, ctx());
    close(cc.kSeconds, K);
  });

  it('after a spurious fast recovery returns to the window and W_max it had (RFC 9438 §4.9)', () => {
    const cc = afterFirstLoss();
    const before = { cwnd: cc.cwnd, ssthresh: cc.ssthresh, wMax: cc.wMaxBytes };
    cc.onCongestionEvent(0, ctx({ bytesInFlight: 40_000 }));
    assert.notEqual(cc.wMaxBytes, before.wMax);
    cc.onRecoveryEnd(0, ctx());
    cc.onUndo(0, ctx());
    assert.deepEqual({ cwnd: cc.cwnd, ssthresh: cc.ssthresh, wMax: cc.wMaxBytes }, before);
  });
});
