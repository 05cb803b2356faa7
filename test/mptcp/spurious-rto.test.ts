import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MS, SECOND } from '../../src/util/time.ts';
import { bed, fullmeshPair, pattern } from './harness.ts';

// A subflow pulls its data one segment at a time, so after a timeout it has no new data of its own for
// F-RTO's step 2b. When the ACKs were only late (a receiver descheduled, as host steal does), the ACK of
// data sent before the timeout must prove it spurious and give the window back; otherwise the subflow
// restarts from one segment and, under LIA beside a large sibling, regrows by a few bytes per ACK.
test('a delay spike on one path fires a subflow RTO; F-RTO finds it spurious and the subflow keeps its window', () => {
  const outcome: Record<string, { spurious: number; before: number; after: number }> = {};
  for (const frto of [true, false]) {
    const path = { rate: 20e6, delay: 10 * MS, queue: { packets: 50 } };
    const b = bed(11, [path, path], { tcp: { frto } });
    const { conn } = fullmeshPair(b);
    let sent = 0;
    const pump = () => {
      for (let n = 1; n > 0; sent += n) n = conn.write(pattern(sent, 64 * 1024));
      b.clientHost.wake();
    };
    conn.onEstablished = pump;
    conn.onWritable = pump;
    b.clientHost.wake();
    b.sim.run(2 * SECOND);
    const sf1 = conn.subflows[0]!;
    const before = sf1.tcp.info().cwnd;
    // Path 1's ACKs sent in the next 100 ms arrive 400 ms late (well past the subflow's RTO); nothing is lost.
    b.net.setLink('l1', { delay: 410 * MS }, 'down');
    b.sim.run(b.sim.now + 100 * MS);
    b.net.setLink('l1', { delay: 10 * MS }, 'down');
    b.sim.run(b.sim.now + 600 * MS);
    const after = sf1.tcp.info().cwnd;
    outcome[String(frto)] = { spurious: b.client.tcp.counters.TCPSpuriousRTOs, before, after };
    assert.ok(b.client.tcp.counters.TCPTimeouts >= 1, 'the spike fired a timeout');
  }
  const on = outcome.true!;
  const off = outcome.false!;
  assert.equal(on.spurious, 1);
  assert.ok(on.after >= on.before, `window ${on.before} before the spike, ${on.after} after`);
  // Go-back-N slow-starts from one segment to half the window (102903 → 55195 bytes here).
  assert.ok(off.after < 0.6 * off.before, `without F-RTO ${off.before} before, ${off.after} after`);
});
