import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type CouplingGroupHandle,
  createCc,
  createCouplingGroup,
  type Lia,
  liaAlpha,
  Reno,
} from '../../src/cc/index.ts';
import type { CcContext, CongestionControl } from '../../src/cc/types.ts';

const MSS = 1000;
const ctx = (o: Partial<CcContext> = {}): CcContext => ({
  mss: MSS,
  bytesInFlight: 0,
  srtt: 100_000,
  minRtt: 100_000,
  appLimited: false,
  ...o,
});

/** Doubles: alpha is exact to a few ulps (0.5 comes out as 0.4999999999999999). */
const close = (actual: number, expected: number) =>
  assert.ok(Math.abs(actual - expected) <= 1e-14 * expected, `${actual} ≉ ${expected}`);

interface View {
  srtt: number;
  active: boolean;
}

/** A LIA subflow in `group` in congestion avoidance with cwnd = ssthresh = w and the given RTT (µs). */
function liaAt(group: CouplingGroupHandle, w: number, srtt: number): { cc: Lia; view: View } {
  const view = { srtt, active: true };
  const cc = createCc('lia', { mss: MSS, group, view }) as Lia;
  cc.onCongestionEvent(0, ctx({ bytesInFlight: 2 * w }));
  cc.onRecoveryEnd(0, ctx());
  return { cc, view };
}

describe('LIA (RFC 6356)', () => {
  it('gives alpha = 1/2 and a quarter of Reno for two equal subflows', () => {
    const group = createCouplingGroup();
    const a = liaAt(group, 20_000, 100_000);
    const b = liaAt(group, 20_000, 100_000);
    assert.equal(group.size, 2);
    // alpha = 40000 · (20000/1e10) / (20000/1e5 + 20000/1e5)² = 40000·2e-6 / 0.16 = 0.5
    close(liaAlpha(group.members), 0.5);
    // increase = min(0.5·1000·1000/40000, 1000·1000/20000) = min(12.5, 50) = 12.5
    a.cc.onAck(0, 1000, ctx());
    assert.equal(a.cc.cwnd, 20_012);
    // B now sees cwnd_total = 40012: alpha = 40012·(20012/1e10)/((20012 + 20000)/1e5)² = 20012/40012;
    // increase = alpha·1e6/40012 = 20012e6/40012² = 12.4994 → 20012.
    b.cc.onAck(0, 1000, ctx());
    assert.equal(b.cc.cwnd, 20_012);
    assert.equal(b.cc.ssthresh, 20_000);
  });

  it('shares by window when RTTs are equal', () => {
    const group = createCouplingGroup();
    const a = liaAt(group, 30_000, 100_000);
    const b = liaAt(group, 10_000, 100_000);
    // alpha = 40000·(30000/r²)/(40000/r)² = 30000/40000 = 0.75
    close(liaAlpha(group.members), 0.75);
    // on B: min(0.75·1e6/40000, 1e6/10000) = min(18.75, 100) = 18.75
    b.cc.onAck(0, 1000, ctx());
    assert.equal(b.cc.cwnd, 10_018);
    // on A (total 40018, B at 10018): alpha = 40018·30000/(40018)² = 30000/40018,
    // min(30000·1e6/40018², 1e6/30000) = min(18.733, 33.3) → 30018
    a.cc.onAck(0, 1000, ctx());
    assert.equal(a.cc.cwnd, 30_018);
  });

  it('caps the increase at Reno on a long-RTT subflow', () => {
    const group = createCouplingGroup();
    // B: 10000 bytes at 100 ms; A: 100000 bytes at 1 s. Both send 0.1 byte/µs.
    const a = liaAt(group, 100_000, 1_000_000);
    liaAt(group, 10_000, 100_000);
    // alpha = 110000 · max(1e5/1e12, 1e4/1e10) / (0.1 + 0.1)² = 110000·1e-6/0.04 = 2.75
    close(liaAlpha(group.members), 2.75);
    // on A: min(2.75·1e6/110000, 1e6/100000) = min(25, 10) = 10: Reno's increase
    a.cc.onAck(0, 1000, ctx());
    assert.equal(a.cc.cwnd, 100_010);
  });

  it('leaves inactive members and members without an RTT out of the sums', () => {
    const group = createCouplingGroup();
    const a = liaAt(group, 20_000, 100_000);
    const b = liaAt(group, 20_000, 100_000);
    b.view.active = false;
    // A is alone: Reno, 1e6/20000 = 50
    a.cc.onAck(0, 1000, ctx());
    assert.equal(a.cc.cwnd, 20_050);
    b.view.active = true;
    b.view.srtt = 0;
    a.cc.onAck(0, 1000, ctx()); // Reno again: 1e6/20050 = 49 r17550 (the remainder carries)
    assert.equal(a.cc.cwnd, 20_099);
    b.view.srtt = 100_000;
    // coupled: alpha = 40099·(20099/1e10)/(40099/1e5)² = 20099/40099; increase = 20099e6/40099² = 12.4999
    a.cc.onAck(0, 1000, ctx());
    assert.equal(a.cc.cwnd, 20_111);
    b.cc.detach();
    assert.equal(group.size, 1);
    a.cc.onAck(0, 1000, ctx()); // alone again: Reno, (17550 + 1e6)/20111 = 50 → 20161
    assert.equal(a.cc.cwnd, 20_161);
  });

  it('steps three subflows with different RTTs and MSS_i exactly as RFC 6356 §3 writes it', () => {
    const group = createCouplingGroup();
    /** A subflow whose own MSS is `mss`, in congestion avoidance at cwnd = ssthresh = w. */
    const at = (w: number, srtt: number, mss: number) => {
      const cc = createCc('lia', { mss, group, view: { srtt, active: true } }) as Lia;
      cc.onCongestionEvent(0, ctx({ mss, bytesInFlight: 2 * w }));
      cc.onRecoveryEnd(0, ctx({ mss }));
      return cc;
    };
    const a = at(30_000, 100_000, 1000); // w/rtt = 0.3, w/rtt² = 3e-6
    const b = at(20_000, 20_000, 1000); // w/rtt = 1.0, w/rtt² = 5e-5: the max term, though not the largest window
    const c = at(10_000, 200_000, 1400); // w/rtt = 0.05, w/rtt² = 2.5e-7
    // alpha = 60000 · 5e-5 / (0.3 + 1 + 0.05)² = 3 / 1.8225
    close(liaAlpha(group.members), 1.6460905349794237);
    // C (MSS 1400, one segment acked): min(alpha · 1400 · 1400 / 60000, 1400 · 1400 / 10000) = min(53.772, 196)
    c.onAck(0, 1400, ctx({ mss: 1400 }));
    assert.equal(c.cwnd, 10_053);
    // A: total 60053, Σ w/rtt = 1.350265: alpha = 60053 · 5e-5 / 1.350265² = 1.64690, increase
    // min(alpha · 1e6 / 60053, 1e6 / 30000) = min(27.424, 33.3)
    close(liaAlpha(group.members), 1.6468979582208416);
    a.onAck(0, 1000, ctx());
    assert.equal(a.cwnd, 30_027);
    // B: total 60080, alpha = 1.64698, min(27.413, 1e6 / 20000 = 50)
    close(liaAlpha(group.members), 1.6469796798056306);
    b.onAck(0, 1000, ctx());
    assert.equal(b.cwnd, 20_027);
  });

  it('behaves exactly like Reno in a group of one', () => {
    const group = createCouplingGroup();
    const lia = createCc('lia', { mss: MSS, group, view: { srtt: 50_000, active: true } });
    const reno = new Reno({ mss: MSS });
    const script: Array<(cc: CongestionControl) => void> = [
      (cc) => cc.onAck(0, 1000, ctx()),
      (cc) => cc.onAck(0, 4000, ctx()),
      (cc) => cc.onCongestionEvent(0, ctx({ bytesInFlight: 17_000 })),
      (cc) => cc.onRecoveryEnd(0, ctx()),
      (cc) => cc.onAck(0, 700, ctx()),
      (cc) => cc.onAck(0, 1000, ctx()),
      (cc) => cc.onAck(0, 3, ctx()),
      (cc) => cc.onRto(0, ctx({ bytesInFlight: 9000 })),
      (cc) => cc.onAck(0, 1000, ctx()),
      (cc) => cc.onIdleRestart(0, ctx()),
      (cc) => cc.onAck(0, 2500, ctx()),
    ];
    for (const step of script) {
      step(lia);
      step(reno);
      assert.equal(lia.cwnd, reno.cwnd);
      assert.equal(lia.ssthresh, reno.ssthresh);
    }
  });
});
