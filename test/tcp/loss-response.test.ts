/**
 * The window after a loss (TcpConfig.ssthreshFromCwnd): RFC 5681 halves the data in flight, Linux halves the
 * congestion window. They differ when the sender had less in flight than its window allowed at the loss, as
 * an MPTCP subflow the scheduler left short of data.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MS, SECOND } from '../../src/util/time.ts';
import { Net, pattern, sinkPair } from './net.ts';

const MSS = 1448;

/** A window grown by 300 KB of bulk data, then a short pause (every ACK back; well under the RTO, so no idle restart). */
function grownWindow(ssthreshFromCwnd: boolean) {
  const net = new Net({ seed: 31, ab: { delay: 10 * MS }, configA: { nagle: false, ssthreshFromCwnd } });
  const { client, sink } = sinkPair(net);
  net.run(50 * MS);
  client.write(pattern(300_000, 1));
  net.run(net.now + 2 * SECOND, () => sink.length === 300_000);
  net.run(net.now + 30 * MS);
  return { net, client, sink, cwnd: client.info().cwnd };
}

/** The grown window, then a loss in a flight of 12 segments. */
function shortFlightLoss(ssthreshFromCwnd: boolean) {
  const { net, client, sink, cwnd } = grownWindow(ssthreshFromCwnd);
  let dropped = false;
  net.drop = (s) => {
    if (dropped || s.dir !== 'ab' || s.p.len === 0) return false;
    dropped = true;
    return true;
  };
  client.write(pattern(12 * MSS, 2));
  net.run(net.now + 2 * SECOND, () => sink.length === 300_000 + 12 * MSS);
  assert.equal(sink.length, 300_000 + 12 * MSS);
  assert.equal(net.a.counters.TCPSackRecovery, 1, 'fast recovery, not a timeout');
  return { cwnd, ssthresh: client.info().ssthresh };
}

test('a loss in a short flight: RFC 5681 halves the flight, ssthreshFromCwnd halves the window', () => {
  const rfc = shortFlightLoss(false);
  const linux = shortFlightLoss(true);
  assert.ok(rfc.cwnd > 40 * MSS, `the bulk phase grew the window (${rfc.cwnd} B)`);
  assert.equal(linux.cwnd, rfc.cwnd, 'the same window before the loss');
  assert.equal(rfc.ssthresh, 6 * MSS, 'half of the 12 segments in flight');
  assert.equal(linux.ssthresh, Math.floor(linux.cwnd / 2), 'half of the window');
});

/** The grown window, then a loss in a flight of 12 segments whose retransmission is lost too: a timeout in recovery. */
function timeoutInRecovery(ssthreshFromCwnd: boolean) {
  const { net, client, sink, cwnd } = grownWindow(ssthreshFromCwnd);
  let firstSeq = -1;
  let drops = 0;
  net.drop = (s) => {
    if (s.dir !== 'ab' || s.p.len === 0 || drops === 2) return false;
    if (firstSeq < 0) firstSeq = s.p.seq;
    if (s.p.seq !== firstSeq) return false;
    drops++;
    return true;
  };
  let recoverySsthresh = 0;
  client.write(pattern(12 * MSS, 2));
  net.run(net.now + 5 * SECOND, () => {
    if (recoverySsthresh === 0 && client.info().caState === 'recovery')
      recoverySsthresh = client.info().ssthresh;
    return net.a.counters.TCPTimeouts > 0;
  });
  assert.equal(drops, 2, 'the segment and its fast retransmission were lost');
  assert.equal(net.a.counters.TCPSackRecovery, 1, 'fast recovery first');
  assert.equal(net.a.counters.TCPTimeouts, 1, 'then the timeout');
  const after = client.info().ssthresh;
  net.run(net.now + 2 * SECOND, () => sink.length === 300_000 + 12 * MSS);
  assert.equal(sink.length, 300_000 + 12 * MSS);
  return { cwnd, recoverySsthresh, after };
}

test('a timeout during fast recovery: RFC 5681 halves the pipe, ssthreshFromCwnd keeps the recovery ssthresh', () => {
  const rfc = timeoutInRecovery(false);
  const linux = timeoutInRecovery(true);
  assert.equal(linux.cwnd, rfc.cwnd, 'the same window before the loss');
  assert.equal(linux.recoverySsthresh, Math.floor(linux.cwnd / 2), 'recovery halved the window');
  assert.equal(linux.after, linux.recoverySsthresh, 'the timeout kept it');
  // The pipe at the timeout is what was neither SACKed nor marked lost: next to nothing.
  assert.equal(rfc.after, 2 * MSS);
});
