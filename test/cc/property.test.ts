import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  baliaIncrease,
  CC_NAMES,
  type CcName,
  createCc,
  createCouplingGroup,
  liaIncrease,
  oliaIncrease,
} from '../../src/cc/index.ts';
import type { CcContext, CongestionControl } from '../../src/cc/types.ts';
import { Rng } from '../../src/util/rng.ts';

interface Sub {
  cc: CongestionControl;
  view: { srtt: number; active: boolean };
}

/** Random ACK / loss / RTO / idle / path-change sequences on a group of 1–3 subflows. */
function run(name: CcName, seed: number, steps: number): { coupledChecks: number } {
  const rng = new Rng(seed);
  const mss = 500 + rng.int(1000);
  const group = createCouplingGroup();
  const subs: Sub[] = [];
  const count = 1 + rng.int(3);
  for (let i = 0; i < count; i++) {
    const view = { srtt: 5_000 + rng.int(500_000), active: true };
    subs.push({ cc: createCc(name, { mss, group, view, now: 0, initialCwnd: 1 + rng.int(10) }), view });
  }
  let now = 0;
  let coupledChecks = 0;
  const where = (step: number, what: string) => `${name} seed ${seed} step ${step}: ${what}`;
  for (let step = 0; step < steps; step++) {
    now += rng.int(50_000);
    const sub = subs[rng.int(subs.length)];
    assert.ok(sub);
    const { cc, view } = sub;
    const ctx: CcContext = {
      mss,
      bytesInFlight: rng.int(2 * cc.cwnd + 1),
      srtt: view.srtt,
      minRtt: view.srtt,
      appLimited: rng.chance(0.1),
    };
    const roll = rng.float();
    const member = group.members.find((m) => m.cc === cc);
    assert.ok(member);
    if (roll < 0.75) {
      const acked = 1 + rng.int(3 * mss);
      const before = cc.cwnd;
      const inCa = before >= cc.ssthresh && !ctx.appLimited;
      const coupled = inCa && member.eligible && group.eligibleCount() > 1;
      if (coupled) {
        // The coupled increase never exceeds Reno's on the same subflow (LIA by its min, BALIA by design).
        const reno = (acked * mss) / before;
        if (name === 'lia') assert.ok(liaIncrease(group.members, member, acked) <= reno * (1 + 1e-12));
        if (name === 'balia') assert.ok(baliaIncrease(group.members, member, acked) <= reno * (1 + 1e-12));
        if (name === 'olia') {
          // OLIA may pass Reno on one path; the connection's per-RTT growth stays within one MSS.
          let perRtt = 0;
          for (const m of group.members) {
            if (m.eligible) perRtt += (m.cwnd / mss) * oliaIncrease(group.members, m, mss);
          }
          assert.ok(perRtt <= mss * (1 + 1e-9), where(step, `OLIA total per-RTT increase ${perRtt}`));
        }
        coupledChecks++;
      }
      cc.onAck(now, acked, ctx);
      if (inCa && name !== 'cubic' && name !== 'olia') {
        // Through the controller: at most Reno's increase plus the one byte that flooring can show.
        assert.ok(cc.cwnd - before <= (acked * mss) / before + 1, where(step, `grew ${cc.cwnd - before}`));
      }
    } else if (roll < 0.85) {
      cc.onCongestionEvent(now, ctx);
      assert.ok(cc.cwnd >= 2 * mss, where(step, `cwnd ${cc.cwnd} < 2·MSS after a loss`));
      assert.ok(cc.ssthresh >= 2 * mss, where(step, `ssthresh ${cc.ssthresh} < 2·MSS after a loss`));
    } else if (roll < 0.9) {
      cc.onRecoveryEnd(now, ctx);
    } else if (roll < 0.93) {
      cc.onRto(now, ctx);
      assert.equal(cc.cwnd, mss);
    } else if (roll < 0.96) {
      cc.onIdleRestart(now, ctx);
    } else if (roll < 0.98) {
      view.active = !view.active;
    } else {
      view.srtt = rng.chance(0.1) ? 0 : 1_000 + rng.int(1_000_000);
    }
    for (const s of subs) {
      assert.ok(Number.isInteger(s.cc.cwnd), where(step, `cwnd ${s.cc.cwnd} not an integer`));
      assert.ok(s.cc.cwnd >= mss, where(step, `cwnd ${s.cc.cwnd} < 1 MSS`));
      assert.ok(s.cc.ssthresh === Number.POSITIVE_INFINITY || Number.isFinite(s.cc.ssthresh));
      assert.ok(s.cc.ssthresh >= 2 * mss, where(step, `ssthresh ${s.cc.ssthresh}`));
    }
  }
  return { coupledChecks };
}

describe('congestion control properties (seeded)', () => {
  for (const name of CC_NAMES) {
    it(`${name}: windows stay finite and ≥ 1 MSS (≥ 2 after a loss); coupled growth is bounded by Reno`, () => {
      let coupledChecks = 0;
      for (let seed = 1; seed <= 40; seed++) coupledChecks += run(name, seed, 2000).coupledChecks;
      if (name === 'lia' || name === 'olia' || name === 'balia') {
        assert.ok(coupledChecks > 1000, `only ${coupledChecks} coupled ACKs were checked`);
      }
    });
  }
});
