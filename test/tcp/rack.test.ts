/** RACK-TLP loss detection (RFC 8985): tail loss probes, time-based loss marking, reordering tolerance. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TcpConfig } from '../../src/tcp/config.ts';
import { seqDiff } from '../../src/tcp/seq.ts';
import { MS, SECOND } from '../../src/util/time.ts';
import { type LinkOptions, Net, pattern, pump, type Seen, sinkPair } from './net.ts';

const MSS = 1448;
const RTT = 20 * MS;

function setup(
  seed: number,
  configA: Partial<TcpConfig> = {},
  configB: Partial<TcpConfig> = {},
  link: LinkOptions = { delay: RTT / 2 },
) {
  const net = new Net({ seed, ab: link, configA: { nagle: false, rackTlp: true, ...configA }, configB });
  const { client, sink, server } = sinkPair(net);
  net.run(50 * MS);
  // A first exchange gives the sender RTT samples (SRTT = 20 ms).
  client.write(new Uint8Array(4 * MSS));
  net.run(net.now + 100 * MS);
  return { net, client, sink, server: () => server()! };
}

/**
 * Watches A's data segments: drops the first transmissions numbered in `drop` (1-based, counted from the
 * next one sent) and the retransmissions whose turn is listed in `dropCopies` (1 = first copy), and
 * records when each segment and the ACKs in the other direction went by.
 */
function watch(net: Net, drop: number[], dropCopies: number[] = []) {
  let base = -1;
  let n = 0;
  let copies = 0;
  const firstAt = new Map<number, number>();
  const retransAt: { seg: number; at: number }[] = [];
  const acks: { at: number; ack: number }[] = [];
  net.drop = (s: Seen) => {
    if (s.dir === 'ba') {
      if (base >= 0) acks.push({ at: s.at, ack: seqDiff(s.p.ack, base) / MSS });
      return false;
    }
    if (s.p.len === 0) return false;
    if (base < 0) base = s.p.seq;
    const seg = seqDiff(s.p.seq, base) / MSS + 1;
    if (!firstAt.has(seg)) {
      firstAt.set(seg, s.at);
      n++;
      return drop.includes(n);
    }
    retransAt.push({ seg, at: s.at });
    return dropCopies.includes(++copies);
  };
  return { firstAt, retransAt, acks };
}

test('TLP: the last segment of a flight is repaired by a probe after 2·SRTT + the ACK-delay allowance', () => {
  for (const rackTlp of [true, false]) {
    // B acknowledges every segment, and A's allowance for a delayed ACK says so (5 ms).
    const { net, client, sink } = setup(71, { tlpMaxAckDelay: 5 * MS, rackTlp }, { delayedAck: false });
    const w = watch(net, [10]);
    const start = net.now;
    client.write(pattern(10 * MSS, 1));
    net.run(net.now + 2 * SECOND, () => sink.length === 14 * MSS);
    assert.equal(sink.length, 14 * MSS);
    const lastAck = w.acks.filter((a) => a.ack === 9)[0]!.at + RTT / 2;
    const repaired = w.retransAt[0]!.at;
    const c = net.a.counters;
    if (!rackTlp) {
      assert.equal(c.TCPTimeouts, 1, 'without TLP the RTO repairs it');
      assert.ok(repaired - lastAck >= 200 * MS);
      continue;
    }
    assert.equal(c.TCPLossProbes, 1);
    assert.equal(c.TCPTimeouts, 0);
    // PTO = 2·SRTT + 5 ms, armed by the ACK that left one segment in flight (SRTT within a few µs of 20 ms).
    assert.ok(
      Math.abs(repaired - lastAck - (2 * RTT + 5 * MS)) < 100,
      `probe ${(repaired - lastAck) / MS} ms`,
    );
    assert.ok(net.now - start < 100 * MS);
    // The probe was a retransmission and no D-SACK came: once an ACK goes beyond it, the window is reduced.
    assert.equal(c.TCPLossProbeRecovery, 0, 'the ACK up to the probe may still be for the original');
    const cwnd = client.info().cwnd;
    client.write(new Uint8Array(MSS));
    net.run(net.now + 100 * MS);
    assert.equal(c.TCPLossProbeRecovery, 1);
    assert.ok(client.info().ssthresh < 1e9 && client.info().cwnd < cwnd, 'congestion response taken');
  }
});

test('TLP: with one segment in flight and the default 200 ms allowance, the probe goes out in place of the RTO', () => {
  const { net, client, sink } = setup(72, {}, { delayedAck: false });
  const w = watch(net, [10]);
  client.write(pattern(10 * MSS, 2));
  const rto = client.info().rto;
  net.run(net.now + 2 * SECOND, () => sink.length === 14 * MSS);
  assert.equal(sink.length, 14 * MSS);
  const lastAck = w.acks.filter((a) => a.ack === 9)[0]!.at + RTT / 2;
  // 2·SRTT + 200 ms is later than the RTO deadline, so the probe takes the RTO's time (RFC 8985 §7.2).
  assert.ok(Math.abs(w.retransAt[0]!.at - lastAck - rto) < 2 * MS);
  const c = net.a.counters;
  assert.equal(c.TCPLossProbes, 1);
  assert.equal(c.TCPTimeouts, 0, 'a probe, not a timeout: no go-back-N, no loss window');
  assert.ok(client.info().cwnd >= 10 * MSS);
});

test('TLP: when the probe is lost too, the retransmission timeout still repairs the tail', () => {
  const { net, client, sink } = setup(73, { tlpMaxAckDelay: 5 * MS }, { delayedAck: false });
  const w = watch(net, [10], [1]);
  client.write(pattern(10 * MSS, 3));
  net.run(net.now + 3 * SECOND, () => sink.length === 14 * MSS);
  assert.deepEqual(Buffer.from(sink.bytes().subarray(4 * MSS)), Buffer.from(pattern(10 * MSS, 3)));
  const c = net.a.counters;
  assert.equal(c.TCPLossProbes, 1);
  assert.equal(c.TCPTimeouts, 1);
  assert.equal(w.retransAt.length, 2);
  // The RTO restarted when the probe went out.
  const gap = w.retransAt[1]!.at - w.retransAt[0]!.at;
  assert.ok(gap >= 200 * MS && gap < 260 * MS, `RTO after the probe: ${gap / MS} ms`);
});

test('RACK: the last 3 of 10 segments lost are found once the probe is SACKed, well before an RTO', () => {
  for (const rackTlp of [true, false]) {
    const { net, client, sink } = setup(74, { rackTlp }, { delayedAck: false });
    const w = watch(net, [8, 9, 10]);
    const start = net.now;
    client.write(pattern(10 * MSS, 4));
    net.run(net.now + 3 * SECOND, () => sink.length === 14 * MSS);
    assert.deepEqual(Buffer.from(sink.bytes().subarray(4 * MSS)), Buffer.from(pattern(10 * MSS, 4)));
    const c = net.a.counters;
    const took = net.now - start;
    if (!rackTlp) {
      assert.equal(c.TCPTimeouts, 1, 'without RACK-TLP this tail costs a timeout');
      assert.ok(took > 200 * MS);
      continue;
    }
    assert.equal(c.TCPTimeouts, 0);
    assert.equal(c.TCPLossProbes, 1);
    assert.equal(c.TCPSackRecovery, 1, 'RACK marked 8 and 9 lost: fast recovery');
    // Probe (10) after 2·SRTT + 2 ms past the ACK of 7; then 8 and 9 a round trip later.
    assert.deepEqual(
      w.retransAt.map((r) => r.seg),
      [10, 8, 9],
    );
    const ack7 = w.acks.filter((a) => a.ack === 7)[0]!.at + RTT / 2;
    assert.ok(Math.abs(w.retransAt[0]!.at - ack7 - (2 * RTT + 2 * MS)) < 100);
    assert.ok(took < 120 * MS, `took ${took / MS} ms`);
  }
});

test('RACK: reordering by less than the reordering window (min RTT / 4) retransmits nothing', () => {
  const { net, client, sink } = setup(75, {}, { delayedAck: false });
  let base = -1;
  // Segment 9 of 10 arrives 3 ms late: segment 10 overtakes it (the window is 5 ms).
  net.extraDelay = (s) => {
    if (s.dir !== 'ab' || s.p.len === 0) return 0;
    if (base < 0) base = s.p.seq;
    return seqDiff(s.p.seq, base) === 8 * MSS ? 3 * MS : 0;
  };
  client.write(pattern(10 * MSS, 5));
  net.run(net.now + SECOND, () => sink.length === 14 * MSS);
  assert.equal(sink.length, 14 * MSS);
  net.run(net.now + 100 * MS);
  const c = net.a.counters;
  assert.equal(c.RetransSegs, 0);
  assert.equal(c.TCPSACKReorder, 1, 'the late segment was seen as reordering');
  assert.equal(net.b.counters.TCPDSACKOldSent, 0);
});

test('RACK: D-SACKs widen the reordering window (reo_wnd_mult), so a path that keeps reordering stops costing retransmissions', () => {
  // Every 40th data segment arrives 12 ms late on a 20 ms path: past the initial window (min RTT / 4 = 5 ms),
  // inside three quarters of min RTT (15 ms). Each spurious retransmission comes back as a D-SACK.
  const { net, client, sink } = setup(76);
  const seen = new Set<number>();
  const late = new Set<number>();
  net.extraDelay = (s) => {
    if (s.dir !== 'ab' || s.p.len === 0 || seen.has(s.p.seq)) return 0;
    seen.add(s.p.seq);
    if (seen.size % 40 !== 0) return 0;
    late.add(s.p.seq);
    return 12 * MS;
  };
  // 8 KB every 10 ms (6.5 Mbit/s), application-limited on an unshaped path: nothing is lost.
  const data = pattern(300 * 8192, 6);
  let sent = 0;
  const phase = (steps: number) => {
    const r0 = net.a.counters.RetransSegs;
    const l0 = late.size;
    for (let k = 0; k < steps; k++) {
      sent += client.write(data.subarray(sent, sent + 8192));
      net.run(net.now + 10 * MS);
    }
    return { retrans: net.a.counters.RetransSegs - r0, late: late.size - l0 };
  };
  const first = phase(100);
  const then = phase(200);
  net.run(net.now + 5 * SECOND, () => sink.length === 4 * MSS + data.length);
  assert.equal(sent, data.length);
  assert.deepEqual(Buffer.from(sink.bytes().subarray(4 * MSS)), Buffer.from(data));
  assert.ok(
    first.retrans > 0 && net.b.counters.TCPDSACKOldSent > 0,
    'early late segments were retransmitted',
  );
  // Without the D-SACK response (and with DupThresh marking beside RACK) each late segment here cost a
  // retransmission: 14 for 14.
  assert.ok(then.late >= 10, `${then.late} late segments in the last 2 s`);
  assert.equal(then.retrans, 0, `${then.retrans} retransmissions for ${then.late} late segments`);
});

test('RACK: a lost retransmission is sent again once a later segment is SACKed (DupThresh alone waits for the RTO)', () => {
  for (const rackTlp of [true, false]) {
    const { net, client, sink } = setup(76, { rackTlp }, { delayedAck: false });
    // Segment 4 of 8 and its first retransmission are lost.
    const w = watch(net, [4], [1]);
    const data = pattern(9 * MSS, 6);
    client.write(data.subarray(0, 8 * MSS));
    // One more segment, written just after the retransmission left.
    net.run(net.now + SECOND, () => w.retransAt.length > 0);
    client.write(data.subarray(8 * MSS));
    net.run(net.now + 3 * SECOND, () => sink.length === 13 * MSS);
    assert.deepEqual(Buffer.from(sink.bytes().subarray(4 * MSS)), Buffer.from(data));
    const c = net.a.counters;
    if (!rackTlp) {
      assert.equal(c.TCPTimeouts, 1);
      continue;
    }
    assert.equal(c.TCPTimeouts, 0);
    assert.equal(c.TCPLostRetransmit, 1);
    assert.deepEqual(
      w.retransAt.map((r) => r.seg),
      [4, 4],
    );
    // Found lost when segment 9's SACK arrived, a round trip after the first retransmission.
    const gap = w.retransAt[1]!.at - w.retransAt[0]!.at;
    assert.ok(gap >= RTT && gap < RTT + 5 * MS, `resent after ${gap / MS} ms`);
  }
});

test('RACK-TLP: bulk transfers with random loss and reordering arrive intact', () => {
  for (const seed of [81, 82, 83]) {
    const link: LinkOptions = {
      delay: 10 * MS,
      rate: 2_000_000,
      queueBytes: 60_000,
      loss: 0.02,
      reorder: 0.01,
      reorderDelay: 2 * MS,
    };
    const { net, client, sink } = setup(seed, {}, {}, link);
    const data = pattern(1_500_000, seed);
    pump(client, data);
    net.run(net.now + 120 * SECOND, () => sink.ended);
    assert.ok(sink.ended, `seed ${seed}: transfer finished`);
    assert.deepEqual(Buffer.from(sink.bytes().subarray(4 * MSS)), Buffer.from(data));
    // RACK saw the reordering (and tolerated it: the data is intact either way).
    assert.ok(net.a.counters.TCPSACKReorder > 0);
  }
});
