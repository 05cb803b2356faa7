/**
 * The window after an idle period longer than the RTO (TcpConfig.slowStartAfterIdle): RFC 5681 §4.1 restarts
 * from min(IW, cwnd); with idleDecay, Linux's tcp_cwnd_restart halves the window once per RTO idle after the
 * first and raises ssthresh to 3/4 of it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MS, SECOND } from '../../src/util/time.ts';
import { Net, pattern, sinkPair } from './net.ts';

const MSS = 1448;
const IW = 10 * MSS;

/** Grows the window with 600 KB of bulk data (one loss early on), idles `rtos` RTOs, writes again: the window the write starts with. */
function afterIdle(idleDecay: boolean, rtos: number) {
  const net = new Net({ seed: 41, ab: { delay: 10 * MS }, configA: { nagle: false, idleDecay } });
  const { client, sink } = sinkPair(net);
  net.run(50 * MS);
  // One loss early in the bulk phase, so ssthresh is set and the window grows past it in congestion avoidance.
  let k = 0;
  net.drop = (s) => s.dir === 'ab' && s.p.len > 0 && ++k === 5;
  client.write(pattern(600_000, 1));
  net.run(net.now + 2 * SECOND, () => sink.length === 600_000);
  net.run(net.now + 30 * MS); // every ACK back
  net.drop = null;
  const before = client.info();
  net.run(net.now + rtos * before.rto - 30 * MS);
  client.write(pattern(400 * MSS, 2));
  net.run(net.now + 1 * MS);
  const after = client.info();
  net.run(net.now + 5 * SECOND, () => sink.length === 600_000 + 400 * MSS);
  assert.equal(sink.length, 600_000 + 400 * MSS);
  return { before, after };
}

test('idle restart: RFC 5681 falls to the initial window, Linux halves the window per RTO idle', () => {
  const rfc = afterIdle(false, 1.5);
  assert.ok(rfc.before.cwnd > 2 * IW, `the bulk phase grew the window (${rfc.before.cwnd} B)`);
  assert.equal(rfc.after.cwnd, IW);
  assert.equal(rfc.after.ssthresh, rfc.before.ssthresh);

  const once = afterIdle(true, 1.5);
  assert.equal(once.before.cwnd, rfc.before.cwnd, 'the same window before the idle period');
  assert.equal(once.after.cwnd, Math.floor(once.before.cwnd / 2));
  assert.ok(once.before.ssthresh < (once.before.cwnd * 3) / 4, 'the window had grown past 4/3 of ssthresh');
  assert.equal(
    once.after.ssthresh,
    Math.floor((once.before.cwnd * 3) / 4),
    'ssthresh rises to 3/4 of the window',
  );

  const thrice = afterIdle(true, 3.5);
  assert.equal(thrice.after.cwnd, Math.max(IW, Math.floor(thrice.before.cwnd / 8)));
});
