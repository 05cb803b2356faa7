import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_TCP_CONFIG } from '../../src/tcp/config.ts';
import { MS, SECOND } from '../../src/util/time.ts';
import { bed, fullmeshPair, pattern } from './harness.ts';

// RFC 5681 §4.1 shrinks an idle subflow's window when it next sends. The scheduler decides before that send,
// so it must see the shrunk window: packets pushed against the old one would wait a round trip on that
// subflow while the other could carry them. The redundant scheduler pushes to every subflow with room while
// the first one pulls, so it is the one that would fill the second subflow past its window.
test('after an idle period the scheduler sees the restart window: a burst leaves no packet waiting on a subflow', () => {
  const b = bed(7, [{ delay: 5 * MS }, { delay: 10 * MS }], { scheduler: 'redundant' });
  const { conn, server } = fullmeshPair(b);
  let written = 0;
  const write = (n: number) => {
    const end = written + n;
    while (written < end) written += conn.write(pattern(written, Math.min(64 * 1024, end - written)));
    b.clientHost.wake();
  };
  b.clientHost.wake();
  b.sim.run(200 * MS);
  // Warm both windows well past the initial window, then go idle for longer than any RTO.
  write(3_000_000);
  b.sim.run(b.sim.now + 2 * SECOND);
  assert.ok(server() !== null);
  assert.equal(conn.subflows.length, 2);
  // The restart window: the initial window of segments of 1448 bytes (MSS 1460 less the timestamps).
  const iw = DEFAULT_TCP_CONFIG.initialCwnd * 1448;
  for (const sf of conn.subflows)
    assert.ok(sf.tcp.info().cwnd > 2 * iw, `subflow ${sf.id} warmed to ${sf.tcp.info().cwnd} bytes`);
  b.sim.run(b.sim.now + 2 * SECOND);
  write(200_000);
  b.sim.run(b.sim.now + 1);
  for (const sf of conn.subflows) {
    assert.ok(sf.tcp.info().cwnd <= iw, `subflow ${sf.id} restarted at ${sf.tcp.info().cwnd} bytes`);
    assert.equal(sf.pushed.length, 0, `subflow ${sf.id} holds ${sf.pushed.length} packets it cannot send`);
  }
});
