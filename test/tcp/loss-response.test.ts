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

/** A window grown by 300 KB of bulk data, then a loss in a flight of 12 segments. */
function shortFlightLoss(ssthreshFromCwnd: boolean) {
  const net = new Net({ seed: 31, ab: { delay: 10 * MS }, configA: { nagle: false, ssthreshFromCwnd } });
  const { client, sink } = sinkPair(net);
  net.run(50 * MS);
  client.write(pattern(300_000, 1));
  net.run(net.now + 2 * SECOND, () => sink.length === 300_000);
  // A short pause (every ACK back; well under the RTO, so no idle restart), then 12 segments, the first lost.
  net.run(net.now + 30 * MS);
  const cwnd = client.info().cwnd;
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
