import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type CouplingGroupHandle,
  createCc,
  createCouplingGroup,
  type GroupMember,
  Olia,
  oliaAlpha,
  oliaIncrease,
  Reno,
} from '../../src/cc/index.ts';
import type { CcContext, CongestionControl } from '../../src/cc/types.ts';

const MSS = 1000;
const RTT = 100_000;
const ctx = (o: Partial<CcContext> = {}): CcContext => ({
  mss: MSS,
  bytesInFlight: 0,
  srtt: RTT,
  minRtt: RTT,
  appLimited: false,
  ...o,
});

const close = (actual: number, expected: number) =>
  assert.ok(
    Math.abs(actual - expected) <= 1e-12 * Math.max(1, Math.abs(expected)),
    `${actual} ≉ ${expected}`,
  );

/** An OLIA subflow with cwnd = ssthresh = w after one loss, `before` bytes having arrived before that loss. */
function oliaAt(group: CouplingGroupHandle, w: number, srtt: number, before = 0): Olia {
  const cc = createCc('olia', { mss: MSS, group, view: { srtt, active: true } }) as Olia;
  for (let sent = 0; sent < before; sent += 1000) cc.onAck(0, 1000, ctx());
  cc.onCongestionEvent(0, ctx({ bytesInFlight: 2 * w }));
  cc.onRecoveryEnd(0, ctx());
  return cc;
}

const memberOf = (group: CouplingGroupHandle, cc: CongestionControl): GroupMember => {
  const m = group.members.find((x) => x.cc === cc);
  assert.ok(m);
  return m;
};

describe('OLIA', () => {
  it('keeps the loss intervals l1 (between the last two losses) and l2 (since the last)', () => {
    const cc = new Olia({ mss: MSS });
    cc.onAck(0, 3000, ctx());
    assert.equal(cc.bytesSinceLoss, 3000);
    cc.onCongestionEvent(0, ctx({ bytesInFlight: 20_000 }));
    assert.deepEqual([cc.bytesBetweenLosses, cc.bytesSinceLoss], [3000, 0]);
    cc.onAck(0, 500, ctx({ appLimited: true })); // delivered bytes count even when the window cannot grow
    cc.onAck(0, 700, ctx());
    cc.onRto(0, ctx({ bytesInFlight: 20_000 }));
    assert.deepEqual([cc.bytesBetweenLosses, cc.bytesSinceLoss], [1200, 0]);
    cc.onRto(0, ctx({ bytesInFlight: 20_000 })); // no byte in between: the interval is kept
    assert.deepEqual([cc.bytesBetweenLosses, cc.bytesSinceLoss], [1200, 0]);
  });

  it('splits like 1/(4w) between two equal paths (alpha = 0)', () => {
    const group = createCouplingGroup();
    const a = oliaAt(group, 20_000, RTT);
    oliaAt(group, 20_000, RTT);
    // Both have the largest window and l = 0: no collected path, alpha = 0.
    assert.equal(oliaAlpha(group.members, memberOf(group, a)), 0);
    // (20000/1e10)/(0.2 + 0.2)² · 1000 · 1000 = 2e-6/0.16 · 1e6 = 12.5
    a.onAck(0, 1000, ctx());
    assert.equal(a.cwnd, 20_012);
  });

  it('moves window from the max-window path to the best path', () => {
    const group = createCouplingGroup();
    const a = oliaAt(group, 20_000, RTT); // largest window, l_A = 0
    const b = oliaAt(group, 10_000, RTT, 5000); // l_B = l1 = 5000 bytes: the best path, not max-window
    const mA = memberOf(group, a);
    const mB = memberOf(group, b);
    // best_paths = {B} (5000²/1e5 = 250 > 0), max_w_paths = {A}, collected = {B}, n = 2
    assert.equal(oliaAlpha(group.members, mB), 0.5); // 1/(2·1)
    assert.equal(oliaAlpha(group.members, mA), -0.5); // −1/(2·1)
    // B: Σ w/rtt = 0.2 + 0.1 = 0.3; [(1e4/1e10)/0.09 + 0.5/1e4]·1e6 = (1.1111e-5 + 5e-5)·1e6 = 61.111
    b.onAck(0, 1000, ctx());
    assert.equal(b.cwnd, 10_061);
    // A (l_A = 1000 now, 1000²/1e5 = 10 < 250): Σ = 0.2 + 0.10061 = 0.30061;
    // [(2e4/1e10)/0.30061² − 0.5/2e4]·1e6 = (2.21321e-5 − 2.5e-5)·1e6 = −2.8679 → 19997.132
    close(oliaIncrease(group.members, mA, 1000), -2.867873263886409);
    a.onAck(0, 1000, ctx());
    assert.equal(a.cwnd, 19_997);
    // The shrink keeps A in congestion avoidance: ssthresh follows cwnd down.
    assert.equal(a.ssthresh, 19_997);
  });

  it('may exceed Reno on one path but not in total per RTT', () => {
    const group = createCouplingGroup();
    const a = oliaAt(group, 10_000, 10_000, 5000); // 10 ms, best (collected) path
    const b = oliaAt(group, 20_000, 1_000_000); // 1 s, max-window path
    const mA = memberOf(group, a);
    const mB = memberOf(group, b);
    // Σ w/rtt = 1 + 0.02 = 1.02. A: [(1e4/1e8)/1.0404 + 0.5/1e4]·1e6 = (9.6117e-5 + 5e-5)·1e6 = 146.117 > 100
    close(oliaIncrease(group.members, mA, 1000), 146.11687812379853);
    // B: [(2e4/1e12)/1.0404 − 0.5/2e4]·1e6 = −24.981
    close(oliaIncrease(group.members, mB, 1000), -24.980776624375242);
    // Per RTT each path acknowledges w/MSS segments: 10·146.117 + 20·(−24.981) = 961.55 ≤ one MSS.
    const perRtt = 10 * oliaIncrease(group.members, mA, 1000) + 20 * oliaIncrease(group.members, mB, 1000);
    close(perRtt, 961.5532487504806);
  });

  it('splits alpha over two max-window paths and one collected path (n = 3)', () => {
    const group = createCouplingGroup();
    const a = oliaAt(group, 30_000, RTT); // max window, l = 0
    const b = oliaAt(group, 30_000, RTT); // max window, l = 0
    const c = oliaAt(group, 10_000, RTT, 8000); // l = 8000: the best path, not max-window: collected
    const [mA, mB, mC] = [a, b, c].map((cc) => memberOf(group, cc));
    // |max_w_paths| = 2, |collected_paths| = 1, n = 3: alpha_C = 1/3, alpha_A = alpha_B = −1/6; they sum to 0.
    assert.equal(oliaAlpha(group.members, mC!), 1 / 3);
    assert.equal(oliaAlpha(group.members, mA!), -1 / 6);
    assert.equal(oliaAlpha(group.members, mB!), -1 / 6);
    // C: Σ w/rtt = 0.7; [(1e4/1e10)/0.49 + (1/3)/1e4] · 1e6 = 2.0408 + 33.3333 = 35.374
    c.onAck(0, 1000, ctx());
    assert.equal(c.cwnd, 10_035);
    // A (l_A = 1000 now, still below C's): Σ = 0.70035; [(3e4/1e10)/0.70035² − (1/6)/3e4] · 1e6 = 0.56078
    close(oliaIncrease(group.members, mA!, 1000), 0.5607755638341124);
    a.onAck(0, 1000, ctx());
    assert.equal(a.cwnd, 30_000); // 30000.56: the fraction is kept, the window read whole
    assert.equal(oliaAlpha(group.members, mB!), -1 / 6, 'A and B still tie for the largest window');
  });

  it('gives alpha = 0 everywhere when the best path is also a max-window path', () => {
    const group = createCouplingGroup();
    const d = oliaAt(group, 30_000, RTT, 8000); // best and largest
    const e = oliaAt(group, 10_000, RTT); // l = 0
    assert.equal(oliaAlpha(group.members, memberOf(group, d)), 0);
    assert.equal(oliaAlpha(group.members, memberOf(group, e)), 0);
    // E: (1e4/1e10)/0.4² · 1e6 = 6.25
    close(oliaIncrease(group.members, memberOf(group, e), 1000), 6.25);
  });

  it('behaves exactly like Reno in a group of one', () => {
    const olia = createCc('olia', {
      mss: MSS,
      group: createCouplingGroup(),
      view: { srtt: RTT, active: true },
    });
    const reno = new Reno({ mss: MSS });
    for (const step of [
      (cc: CongestionControl) => cc.onAck(0, 3000, ctx()),
      (cc: CongestionControl) => cc.onCongestionEvent(0, ctx({ bytesInFlight: 15_000 })),
      (cc: CongestionControl) => cc.onAck(0, 1000, ctx()),
      (cc: CongestionControl) => cc.onAck(0, 999, ctx()),
      (cc: CongestionControl) => cc.onRto(0, ctx({ bytesInFlight: 8000 })),
      (cc: CongestionControl) => cc.onAck(0, 1000, ctx()),
    ]) {
      step(olia);
      step(reno);
      assert.equal(olia.cwnd, reno.cwnd);
      assert.equal(olia.ssthresh, reno.ssthresh);
    }
  });
});
