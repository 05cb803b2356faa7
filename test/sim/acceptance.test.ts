/**
 * Acceptance checks of issue 3 on the scenario files in scenarios/, run at full length: CUBIC fills a
 * 100 Mbit/s path, Reno under random loss follows the Mathis model, two Reno flows share fairly, a run is
 * byte-for-byte deterministic, and 200 seeded transfers under loss, reordering, duplication and corruption
 * deliver every byte intact and close cleanly within their time bound.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { PacketSink } from '../../src/sim/network.ts';
import { jainIndex, withoutWallClock } from '../../src/sim/result.ts';
import { runScenario } from '../../src/sim/runner.ts';
import { parseScenario, type Scenario } from '../../src/sim/scenario.ts';
import { Rng } from '../../src/util/rng.ts';
import { RetransmissionAudit } from './retransmission-audit.ts';

const load = (name: string): Scenario =>
  parseScenario(JSON.parse(readFileSync(new URL(`../../scenarios/${name}.json`, import.meta.url), 'utf8')), {
    defaultName: name,
  });

/** Watches the wire: the IP + TCP header bytes of the largest data segments (options included). */
class HeaderMeter implements PacketSink {
  largestPayload = 0;
  overhead = 0;
  add(_time: number, p: Uint8Array): void {
    const ihl = (p[0]! & 0x0f) * 4;
    const total = (p[2]! << 8) | p[3]!;
    const headers = ihl + (p[ihl + 12]! >>> 4) * 4;
    const payload = total - headers;
    if (payload > this.largestPayload) {
      this.largestPayload = payload;
      this.overhead = headers;
    }
  }
}

describe('acceptance (issue 3)', () => {
  it('CUBIC reaches at least 95 % of the payload capacity of 100 Mbit/s, 20 ms RTT, 1 BDP queue, 30 s', () => {
    const scenario = load('cubic-100m');
    const meter = new HeaderMeter();
    const r = runScenario(scenario, { capture: meter });
    const f = r.flows[0]!;
    const mss = f.subflows[0]!.mss;
    assert.equal(meter.largestPayload, mss, 'full segments carry the negotiated send MSS');
    const capacityMbps = (100 * mss) / (mss + meter.overhead);
    const share = f.goodputMbps / capacityMbps;
    console.log(
      `cubic: goodput ${f.goodputMbps} Mbit/s, capacity ${capacityMbps.toFixed(2)} (MSS ${mss}, headers ${meter.overhead}), ${(100 * share).toFixed(1)} %, retransmitted ${f.subflows[0]!.bytesRetransmitted} B, ${r.events} events`,
    );
    assert.equal(f.integrity, true);
    assert.ok(
      share >= 0.95,
      `goodput ${f.goodputMbps} Mbit/s is ${(100 * share).toFixed(1)} % of ${capacityMbps}`,
    );
    assert.ok(share <= 1.0001, 'goodput cannot exceed the capacity');
  });

  it('Reno under 1 % random loss is within 0.7–1.6 × 1.22·MSS/(RTT·√p) (10 Mbit/s, 40 ms RTT, 120 s), and SACK recovery resends data that was not lost in at most 5 % of retransmissions', () => {
    // The scenario's own seed, and more: a lost retransmission or a timeout shows up in some seeds only.
    const scenario = load('reno-loss');
    for (let seed = scenario.seed; seed < scenario.seed + 6; seed++) {
      const audit = new RetransmissionAudit();
      const r = runScenario(scenario, { capture: audit, seed });
      const f = r.flows[0]!;
      const mss = f.subflows[0]!.mss;
      const modelMbps = (1.22 * mss * 8) / (0.04 * Math.sqrt(0.01)) / 1e6;
      const ratio = f.goodputMbps / modelMbps;
      const a = audit.report();
      console.log(
        `reno-loss seed ${seed}: goodput ${f.goodputMbps} Mbit/s, model ${modelMbps.toFixed(3)} (MSS ${mss}), ratio ${ratio.toFixed(3)}, srtt ${f.subflows[0]!.srttMs} ms; ${a.segments} data segments, ${a.dropped} dropped, ${a.retransmissions} retransmitted, ${a.spurious} of them spurious`,
      );
      assert.equal(f.integrity, true);
      assert.ok(ratio >= 0.7 && ratio <= 1.6, `seed ${seed}: ratio ${ratio.toFixed(3)} outside 0.7–1.6`);
      // The network's own record of what it dropped and delivered, not the engine's opinion.
      assert.ok(a.dropped > 0.005 * a.segments, `seed ${seed}: the path really lost data segments`);
      assert.ok(a.retransmissions >= 0.9 * a.dropped, `seed ${seed}: lost segments were retransmitted`);
      assert.ok(
        a.spurious <= 0.05 * a.retransmissions,
        `seed ${seed}: ${a.spurious} of ${a.retransmissions} retransmissions resent data that had arrived`,
      );
      assert.equal(
        f.subflows[0]!.bytesRetransmitted,
        a.retransmittedBytes,
        `seed ${seed}: the engine counts the retransmissions the network carried`,
      );
    }
  });

  it("two Reno flows sharing 100 Mbit/s for 60 s: Jain's index ≥ 0.95", () => {
    const r = runScenario(load('reno-fairness'));
    const goodputs = r.flows.map((f) => f.goodputMbps);
    const jain = jainIndex(goodputs);
    console.log(`reno-fairness: goodputs ${goodputs.join(', ')} Mbit/s, Jain ${jain.toFixed(4)}`);
    for (const f of r.flows) assert.equal(f.integrity, true);
    assert.ok(jain >= 0.95, `Jain's index ${jain.toFixed(4)} for ${goodputs.join(' / ')} Mbit/s`);
    assert.ok(goodputs[0]! + goodputs[1]! > 90, 'together the flows fill the bottleneck');
  });

  it('is deterministic: the same scenario and seed give the same JSON apart from wallMs and eventsPerSecond', () => {
    const scenario = load('example');
    const a = runScenario(scenario, { wallClock: () => performance.now() });
    const b = runScenario(scenario, { wallClock: () => performance.now() });
    assert.equal(JSON.stringify(withoutWallClock(a)), JSON.stringify(withoutWallClock(b)));
    const other = runScenario(scenario, { seed: scenario.seed + 1 });
    assert.notEqual(JSON.stringify(withoutWallClock(other)), JSON.stringify(withoutWallClock(a)));
    for (const f of a.flows) {
      assert.equal(f.completed, true, `${f.name} completed`);
      assert.equal(f.integrity, true, `${f.name} intact`);
    }
  });

  it('200 seeded 1–10 MB transfers under loss, reordering, duplication and corruption arrive intact', () => {
    const failures: string[] = [];
    let bytes = 0;
    let events = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const rng = new Rng(seed);
      const size = 1_000_000 + rng.int(9_000_001);
      const rateMbps = 10 + rng.int(91);
      const delayMs = 1 + rng.int(30);
      const loss = rng.float() * 0.1;
      const corrupt = rng.float() * 0.02;
      const reorder = rng.float() * 0.05;
      const duplicate = rng.float() * 0.05;
      const direction = rng.chance(0.5) ? 'upload' : 'download';
      const cc = rng.chance(0.5) ? 'reno' : 'cubic';
      // The time bound: four times the transfer at the lower of the link rate and the loss-limited rate of
      // the data direction, plus a minute for handshake and closing timeouts at 10 % loss. The loss-limited
      // rate is Padhye et al.'s (PFTK), which counts retransmission timeouts (200 ms minimum, delayed ACKs:
      // b = 2); Mathis's formula leaves them out and overstates the rate several times at 10 % loss on a
      // 4 ms path, where timeouts decide it.
      const p = 1 - (1 - loss) * (1 - corrupt);
      const rttS = (4 * delayMs) / 1000;
      const t0 = Math.max(0.2, 4 * rttS);
      const perSegmentS =
        rttS * Math.sqrt((4 * p) / 3) + t0 * Math.min(1, 3 * Math.sqrt((6 * p) / 8)) * p * (1 + 32 * p * p);
      const lossBps = p > 0 ? (1448 * 8) / perSegmentS : Number.POSITIVE_INFINITY;
      const boundS = 60 + (4 * size * 8) / Math.min(rateMbps * 1e6, lossBps);
      const scenario = parseScenario({
        name: `integrity-${seed}`,
        seed,
        until: `${Math.ceil(boundS)}s`,
        sample: '1s',
        links: {
          a: {
            rate: `${rateMbps}Mbps`,
            delay: `${delayMs}ms`,
            queue: '100pkt',
            loss,
            corrupt,
            reorder,
            duplicate,
          },
          b: { rate: '1Gbps', delay: `${delayMs}ms` },
        },
        paths: { p: ['a', 'b'] },
        flows: [{ name: 'x', protocol: 'tcp', direction, cc, workload: { bulk: size } }],
      });
      const r = runScenario(scenario);
      const f = r.flows[0]!;
      events += r.events;
      bytes += f.bytesDelivered;
      const ok =
        f.completed && f.integrity && f.bytesDelivered === size && f.subflows[0]!.closedReason === null;
      if (!ok) {
        failures.push(
          `seed ${seed} (${size} B ${direction} ${cc}, ${rateMbps} Mbit/s, ${delayMs} ms, loss ${(loss * 100).toFixed(1)} %, corrupt ${(corrupt * 100).toFixed(1)} %, reorder ${(reorder * 100).toFixed(1)} %, dup ${(duplicate * 100).toFixed(1)} %): completed ${f.completed} integrity ${f.integrity} delivered ${f.bytesDelivered} closed ${f.subflows[0]!.closedReason} at ${r.simulatedMs} ms of ${Math.ceil(boundS)} s`,
        );
      }
    }
    console.log(
      `integrity: ${200 - failures.length}/200 intact, ${(bytes / 1e6).toFixed(0)} MB, ${events} events`,
    );
    assert.deepEqual(failures, []);
  });
});
