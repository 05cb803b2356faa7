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
  // The first 20 new segments are lost, once (their retransmissions get through).
  let first = -1;
  let seg = 0;
  const lost = new Set<number>();
  net.drop = (s) => {
    if (s.dir !== 'ab' || s.p.len === 0) return false;
    if (first < 0) {
      first = s.p.seq;
      seg = s.p.len;
    }
    const k = ((s.p.seq - first) >>> 0) / seg;
    if (k >= 20 || lost.has(s.p.seq)) return false;
    lost.add(s.p.seq);
    return true;
  };
  // The largest number of data segments sent at one instant (one ACK's worth) while recovering.
  let burst = 0;
  let at = -1;
  let run = 0;
  net.tap = (s) => {
    const recovering = client.info().caState === 'recovery';
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
  return { cwnd, burst };
}

test('a heavy loss below ssthresh: RFC 6675 retransmits in one burst, PRR a few segments per ACK', () => {
  const rfc = heavyLoss(false);
  const prr = heavyLoss(true);
  // ssthresh (half the window) is above what the flight keeps once the 20 are marked lost.
  assert.ok(rfc.cwnd / 2 > (64 - 20) * MSS, `the window outgrew the peer's buffer (${rfc.cwnd} B)`);
  assert.equal(prr.cwnd, rfc.cwnd, 'the same window at the loss');
  assert.ok(rfc.burst >= 15, `RFC 6675 sent ${rfc.burst} segments at once`);
  assert.ok(prr.burst <= 2, `PRR sent ${prr.burst} segments at once, what an ACK delivered plus one`);
});
