import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MS, SECOND } from '../../src/util/time.ts';
import { A, B, Net } from './net.ts';

test('100 Mbit/s for 30 s of virtual time: near line rate, and how fast the loop runs', (t) => {
  const rate = 12_500_000;
  const net = new Net({
    seed: 61,
    ab: { delay: 10 * MS, rate, queueBytes: 250_000 },
    ba: { delay: 10 * MS },
  });
  let got = 0;
  net.b.listen(80, (c) => {
    c.onData = (b) => {
      got += b.length;
    };
  });
  const conn = net.a.connect(0, { local: A, remote: B, remotePort: 80 });
  const chunk = new Uint8Array(65536);
  const fill = () => {
    while (conn.write(chunk) > 0);
  };
  conn.onEstablished = fill;
  conn.onWritable = fill;
  const t0 = performance.now();
  net.run(30 * SECOND);
  const wall = (performance.now() - t0) / 1000;
  const goodput = (got * 8) / 30e6;
  t.diagnostic(
    `${net.delivered} segments in ${wall.toFixed(2)} s wall: ${Math.round(net.delivered / wall)} segments/s, ` +
      `${(30 / wall).toFixed(1)}× real time, goodput ${goodput.toFixed(1)} Mbit/s`,
  );
  // Payload share of the wire (1448 of 1500 bytes) caps goodput at 96.5 Mbit/s.
  assert.ok(goodput > 90, `goodput ${goodput} Mbit/s`);
  assert.ok(net.delivered > 350_000);
  assert.equal(conn.info().state, 'ESTABLISHED');
});
