import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type Balia,
  baliaAlpha,
  baliaIncrease,
  type CouplingGroupHandle,
  createCc,
  createCouplingGroup,
  type GroupMember,
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

/** A BALIA subflow with cwnd = ssthresh = w, set up while inactive so its own halving is Reno's. */
function baliaAt(group: CouplingGroupHandle, w: number, srtt: number): Balia {
  const view = { srtt, active: false };
  const cc = createCc('balia', { mss: MSS, group, view }) as Balia;
  cc.onCongestionEvent(0, ctx({ bytesInFlight: 2 * w }));
  cc.onRecoveryEnd(0, ctx());
  view.active = true;
  return cc;
}

const memberOf = (group: CouplingGroupHandle, cc: CongestionControl): GroupMember => {
  const m = group.members.find((x) => x.cc === cc);
  assert.ok(m);
  return m;
};

describe('BALIA', () => {
  it('increases by (x_r/rtt_r)/(Σx)²·((1+α)/2)·((4+α)/5) per byte·MSS', () => {
    const group = createCouplingGroup();
    const a = baliaAt(group, 20_000, RTT);
    const b = baliaAt(group, 10_000, RTT);
    const mA = memberOf(group, a);
    const mB = memberOf(group, b);
    // x_A = 0.2, x_B = 0.1 bytes/µs; α_A = 0.2/0.2 = 1, α_B = 0.2/0.1 = 2
    assert.equal(baliaAlpha(group.members, mA), 1);
    assert.equal(baliaAlpha(group.members, mB), 2);
    // A: (0.2/1e5)/0.09 · (2/2)·(5/5) · 1e6 = 22.222
    close(baliaIncrease(group.members, mA, 1000), 22.222222222222218);
    // B: (0.1/1e5)/0.09 · (3/2)·(6/5) · 1e6 = 11.111·1.8 = 20.0
    close(baliaIncrease(group.members, mB, 1000), 20);
    a.onAck(0, 1000, ctx());
    assert.equal(a.cwnd, 20_022);
    // B with A at 20022: x_A = 0.20022, α_B = 2.0022, Σx = 0.30022;
    // (0.1/1e5)/0.30022² · (3.0022/2)·(6.0022/5) · 1e6 = 19.9927 → 10019.99
    b.onAck(0, 1000, ctx());
    assert.equal(b.cwnd, 10_019);
  });

  it('decreases by w/2·min(α, 1.5) on a loss', () => {
    const group = createCouplingGroup();
    const a = baliaAt(group, 20_000, RTT);
    const b = baliaAt(group, 10_000, RTT);
    // B: α = 2 → min(2, 1.5) = 1.5; FlightSize 10000 − 5000·1.5 = 2500
    b.onCongestionEvent(0, ctx({ bytesInFlight: 10_000 }));
    assert.equal(b.ssthresh, 2500);
    assert.equal(b.cwnd, 2500);
    // A: α = 1 → 20000 − 10000 = 10000 (Reno's halving)
    a.onCongestionEvent(0, ctx({ bytesInFlight: 20_000 }));
    assert.equal(a.ssthresh, 10_000);
    // B at 2500, A at 10000: α_B = 4 → 1.5; FlightSize 2000 → max(2000 − 1500, 2·MSS) = 2000
    b.onCongestionEvent(0, ctx({ bytesInFlight: 2000 }));
    assert.equal(b.ssthresh, 2000);
  });

  it('steps three subflows with different RTTs (alpha from the fastest rate)', () => {
    const group = createCouplingGroup();
    const a = baliaAt(group, 20_000, 100_000); // x = 0.2
    const b = baliaAt(group, 10_000, 50_000); // x = 0.2
    const c = baliaAt(group, 5000, 200_000); // x = 0.025: alpha = 8
    const [mA, mB, mC] = [a, b, c].map((cc) => memberOf(group, cc));
    assert.deepEqual(
      [mA!, mB!, mC!].map((m) => baliaAlpha(group.members, m)),
      [1, 1, 8],
    );
    // Σx = 0.425. A: (0.2/1e5)/0.180625 · 1 · 1 · 1e6 = 11.0727; B (half the RTT): 22.1453;
    // C: (0.025/2e5)/0.180625 · (9/2) · (12/5) · 1e6 = 7.4740
    close(baliaIncrease(group.members, mA!, 1000), 11.072664359861587);
    close(baliaIncrease(group.members, mB!, 1000), 22.145328719723175);
    close(baliaIncrease(group.members, mC!, 1000), 7.4740484429065726);
    c.onAck(0, 1000, ctx());
    assert.equal(c.cwnd, 5007);
    // A after C grew to 5007 (Σx = 0.425035): 11.0708
    close(baliaIncrease(group.members, mA!, 1000), 11.070840852168125);
  });

  it('decreases by w/2·alpha for alpha between 1 and 1.5', () => {
    const group = createCouplingGroup();
    baliaAt(group, 20_000, RTT); // x = 0.2
    const d = baliaAt(group, 16_000, RTT); // x = 0.16: alpha = 1.25
    // 16000 − 8000 · 1.25 = 6000
    d.onCongestionEvent(0, ctx({ bytesInFlight: 16_000 }));
    assert.equal(d.ssthresh, 6000);
    assert.equal(d.cwnd, 6000);
  });

  it('behaves exactly like Reno in a group of one', () => {
    const balia = createCc('balia', {
      mss: MSS,
      group: createCouplingGroup(),
      view: { srtt: RTT, active: true },
    });
    const reno = new Reno({ mss: MSS });
    for (const step of [
      (cc: CongestionControl) => cc.onAck(0, 3000, ctx()),
      (cc: CongestionControl) => cc.onCongestionEvent(0, ctx({ bytesInFlight: 15_000 })),
      (cc: CongestionControl) => cc.onAck(0, 1000, ctx()),
      (cc: CongestionControl) => cc.onAck(0, 1, ctx()),
      (cc: CongestionControl) => cc.onCongestionEvent(0, ctx({ bytesInFlight: 7001 })),
      (cc: CongestionControl) => cc.onAck(0, 1000, ctx()),
    ]) {
      step(balia);
      step(reno);
      assert.equal(balia.cwnd, reno.cwnd);
      assert.equal(balia.ssthresh, reno.ssthresh);
    }
  });
});
