/**
 * Proportional Rate Reduction (RFC 6937, TcpConfig.prr): the arithmetic of the per-ACK share, then a heavy
 * loss in a flight the peer's window had kept below the congestion window, where RFC 6675 retransmits every
 * marked segment at once and PRR keeps to the ACK clock.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Prr } from '../../src/tcp/prr.ts';
import { MS, SECOND } from '../../src/util/time.ts';
import { Net, pattern, sinkPair } from './net.ts';

const MSS = 1000;

test('above ssthresh, PRR sends ssthresh/RecoverFS of what is delivered, and the fast retransmit at once', () => {
  const prr = new Prr();
  prr.begin(20 * MSS, 10 * MSS);
  let pipe = 19 * MSS;
  let sent = 0;
  for (let ack = 1; ack <= 8; ack++) {
    // Each ACK delivers a segment: the pipe loses it and gains what was sent on the previous ACK.
    prr.onAck(MSS, pipe, MSS, false, false);
    const allowed = prr.cwnd - pipe;
    const n = Math.max(0, Math.floor(allowed / MSS));
    prr.onSend(n * MSS);
    sent += n;
    pipe += n * MSS - MSS;
    if (ack === 1) assert.equal(n, 1, 'the first ACK of recovery sends the fast retransmit');
  }
  assert.equal(sent, 4, 'half of the 8 delivered segments (ssthresh/RecoverFS = 1/2)');
});

test('below ssthresh, PRR sends what was delivered, plus a segment only when SND.UNA moved and nothing was lost', () => {
  const prr = new Prr();
  prr.begin(20 * MSS, 10 * MSS);
  prr.onAck(MSS, 4 * MSS, MSS, false, true);
  prr.onSend(MSS);
  assert.equal(prr.cwnd - 4 * MSS, MSS, 'first ACK: the fast retransmit');
  prr.onAck(2 * MSS, 3 * MSS, MSS, false, true);
  assert.equal(prr.cwnd - 3 * MSS, 2 * MSS, 'conservative: exactly the delivered data');
  prr.onSend(2 * MSS);
  prr.onAck(2 * MSS, 3 * MSS, MSS, true, false);
  assert.equal(prr.cwnd - 3 * MSS, 3 * MSS, 'slow-start reduction bound: one segment more');
  prr.onSend(3 * MSS);
  prr.onAck(20 * MSS, 2 * MSS, MSS, true, false);
  assert.equal(prr.cwnd, 10 * MSS, 'never above ssthresh');
});

/**
 * From now on, the a→b data segments numbered k (from 0, in full segments of the first one's size) for which
 * `which(k)` holds are lost the first time they are sent; their retransmissions get through. Returns their
 * sequence numbers.
 */
function dropOriginals(net: Net, which: (k: number) => boolean): Set<number> {
  let first = -1;
  let seg = 0;
  const lost = new Set<number>();
  net.drop = (s) => {
    if (s.dir !== 'ab' || s.p.len === 0) return false;
    if (first < 0) {
      first = s.p.seq;
      seg = s.p.len;
    }
    if (!which(((s.p.seq - first) >>> 0) / seg) || lost.has(s.p.seq)) return false;
    lost.add(s.p.seq);
    return true;
  };
  return lost;
}

/**
 * A window grown well beyond the peer's 64-segment buffer, then 120 segments of which the first 20 are lost
 * (an outage, or an overflow): the flight at the loss is the peer's window, the first SACKs mark all 20 lost
 * at once, and the pipe is far below ssthresh (half the grown window). Returns the window at the loss and the
 * most data segments sent at one instant (on one ACK: the link back is serialized) during recovery.
 */
function heavyLoss(prr: boolean) {
  const net = new Net({
    seed: 7,
    // Serialized, so ACKs come back one at a time (a queue deep enough never to drop).
    ab: { delay: 10 * MS, rate: 2_000_000, queueBytes: 1_000_000 },
    ba: { delay: 10 * MS },
    configA: { nagle: false, mss: MSS, rackTlp: true, ssthreshFromCwnd: true, prr },
    configB: { mss: MSS, rcvBuf: 64 * MSS, autotune: false },
  });
  const { client, sink } = sinkPair(net);
  net.run(50 * MS);
  client.write(pattern(600 * MSS, 1));
  net.run(net.now + 2 * SECOND, () => sink.length === 600 * MSS);
  const cwnd = client.info().cwnd;
  const lost = dropOriginals(net, (k) => k < 20);
  // The largest number of data segments sent at one instant (one ACK's worth) while recovering.
  let burst = 0;
  let at = -1;
  let run = 0;
  // Whether the window info() reports (what an MPTCP scheduler reads) was ever below ssthresh in recovery.
  let reportedBelow = false;
  net.tap = (s) => {
    const info = client.info();
    const recovering = info.caState === 'recovery';
    if (recovering && info.cwnd < info.ssthresh) reportedBelow = true;
    if (s.dir !== 'ab' || s.p.len === 0 || !recovering) return;
    run = s.at === at ? run + 1 : 1;
    at = s.at;
    burst = Math.max(burst, run);
  };
  const total = 600 * MSS + 120 * MSS;
  client.write(pattern(120 * MSS, 2));
  net.run(net.now + 5 * SECOND, () => sink.length === total);
  assert.equal(sink.length, total, 'everything arrived');
  const expected = new Uint8Array(total);
  expected.set(pattern(600 * MSS, 1));
  expected.set(pattern(120 * MSS, 2), 600 * MSS);
  assert.deepEqual(sink.bytes(), expected, 'in order, intact');
  assert.equal(lost.size, 20, 'twenty originals lost');
  assert.equal(net.a.counters.TCPSackRecovery, 1, 'one fast recovery');
  assert.equal(net.a.counters.TCPTimeouts, 0, 'no timeout');
  return { cwnd, burst, reportedBelow };
}

test('a heavy loss below ssthresh: RFC 6675 retransmits in one burst, PRR a few segments per ACK', () => {
  const rfc = heavyLoss(false);
  const prr = heavyLoss(true);
  // ssthresh (half the window) is above what the flight keeps once the 20 are marked lost.
  assert.ok(rfc.cwnd / 2 > (64 - 20) * MSS, `the window outgrew the peer's buffer (${rfc.cwnd} B)`);
  assert.equal(prr.cwnd, rfc.cwnd, 'the same window at the loss');
  assert.ok(rfc.burst >= 15, `RFC 6675 sent ${rfc.burst} segments at once`);
  assert.ok(prr.burst <= 2, `PRR sent ${prr.burst} segments at once, what an ACK delivered plus one`);
  assert.equal(rfc.reportedBelow, false, 'RFC 6675 reports ssthresh as the window in recovery');
  assert.equal(prr.reportedBelow, true, "PRR's window is the one reported in recovery");
});

/** Without SACK (NewReno): 6 segments, the second and fourth lost once. Returns the timeouts and the time taken. */
function newRenoTwoHoles(prr: boolean) {
  const net = new Net({
    seed: 3,
    ab: { delay: 10 * MS },
    configA: { nagle: false, mss: MSS, sack: false, prr },
    configB: { mss: MSS, sack: false },
  });
  const { client, sink } = sinkPair(net);
  net.run(50 * MS);
  const lost = dropOriginals(net, (k) => k === 1 || k === 3);
  const start = net.now;
  client.write(pattern(6 * (MSS - 12), 3));
  net.run(net.now + 5 * SECOND, () => sink.length === 6 * (MSS - 12));
  assert.equal(sink.length, 6 * (MSS - 12), 'everything arrived');
  assert.equal(lost.size, 2, 'two originals lost');
  assert.equal(net.a.counters.TCPRenoRecovery, 1, 'NewReno fast recovery');
  return { timeouts: net.a.counters.TCPTimeouts, ms: (net.now - start) / MS };
}

test('without SACK, a partial ACK delivers a segment: PRR retransmits the second hole, no timeout', () => {
  for (const prr of [false, true]) {
    const r = newRenoTwoHoles(prr);
    assert.equal(r.timeouts, 0, `prr ${prr}: the second hole needs no timeout`);
    assert.ok(r.ms < 100, `prr ${prr}: done in ${r.ms} ms, a few round trips of 20 ms`);
  }
});
