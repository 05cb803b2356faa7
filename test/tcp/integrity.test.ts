import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TcpConfig } from '../../src/tcp/config.ts';
import { MS, SECOND } from '../../src/util/time.ts';
import { A, B, Net, pattern, pump, Sink } from './net.ts';

/** A whole transfer both ways over a lossy, reordering, duplicating path: every byte intact, clean close. */
function run(seed: number, size: number, config: Partial<TcpConfig>) {
  const link = {
    delay: (5 + (seed % 4) * 10) * MS,
    rate: 5_000_000 + (seed % 3) * 5_000_000,
    queueBytes: 300_000,
    loss: 0.01 + (seed % 3) * 0.01,
    reorder: 0.02,
    reorderDelay: 3 * MS,
    duplicate: 0.01,
  };
  const net = new Net({ seed, ab: link, configA: config, configB: config });
  const up = pattern(size, seed);
  const down = pattern(size >> 3, seed + 1);
  const atServer = new Sink();
  const atClient = new Sink();
  const reasons: (string | null)[] = [];
  net.b.listen(80, (c) => {
    c.onData = (d) => atServer.push(d);
    c.onEnd = () => {
      atServer.ended = true;
    };
    c.onClose = (r) => reasons.push(r);
    pump(c, down);
  });
  const client = net.a.connect(0, { local: A, remote: B, remotePort: 80 });
  client.onData = (d) => atClient.push(d);
  client.onEnd = () => {
    atClient.ended = true;
  };
  client.onClose = (r) => reasons.push(r);
  client.onEstablished = () => pump(client, up);
  net.run(600 * SECOND, () => reasons.length === 2);
  assert.deepEqual(reasons, [null, null], `seed ${seed}: both sides closed cleanly`);
  assert.ok(atServer.ended && atClient.ended);
  assert.ok(Buffer.from(atServer.bytes()).equals(Buffer.from(up)), `seed ${seed}: upload intact`);
  assert.ok(Buffer.from(atClient.bytes()).equals(Buffer.from(down)), `seed ${seed}: download intact`);
  return net;
}

test('1–10 MB transfers over many seeds with loss, reordering and duplication arrive intact (SACK, timestamps)', () => {
  let dropped = 0;
  let retrans = 0;
  let dsack = 0;
  for (let seed = 1; seed <= 10; seed++) {
    const net = run(seed, 1_000_000 * (1 + (seed % 10)), {});
    dropped += net.dropped;
    retrans += net.a.counters.RetransSegs + net.b.counters.RetransSegs;
    dsack += net.a.counters.TCPDSACKRecv;
  }
  assert.ok(dropped > 1000, `the paths really were lossy (${dropped} segments dropped)`);
  assert.ok(retrans > 500, `lost data was retransmitted (${retrans} retransmissions)`);
  assert.ok(dsack > 0, 'duplicates were reported with D-SACK');
});

test('the same without SACK and timestamps (NewReno), with F-RTO, and with delayed ACKs off', () => {
  for (let seed = 11; seed <= 14; seed++) run(seed, 2_000_000, { sack: false, timestamps: false });
  for (let seed = 15; seed <= 17; seed++) run(seed, 2_000_000, { frto: true });
  for (let seed = 18; seed <= 19; seed++)
    run(seed, 1_000_000, { delayedAck: false, nagle: false, windowScale: false });
});

test('same seed, same run: counters are reproducible', () => {
  const a = run(7, 1_000_000, {});
  const b = run(7, 1_000_000, {});
  assert.deepEqual({ ...a.a.counters }, { ...b.a.counters });
  assert.equal(a.now, b.now);
});
