/**
 * The connection-level send queue (src/mptcp/send-queue.ts): how writes become packets, and write coalescing
 * (MptcpConfig.coalesceWrites), which lets small writes queued behind a full window share full segments.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SendQueues } from '../../src/mptcp/send-queue.ts';
import { MS, SECOND } from '../../src/util/time.ts';
import { bed, fullmeshPair, pattern } from './harness.ts';

const bytes = (from: number, n: number) => Uint8Array.from(pattern(from, n));
const packets = (s: SendQueues) =>
  Array.from({ length: s.q.size }, (_, i) => s.q.at(i)!).map((p) => ({
    offset: p.offset,
    length: p.length,
    psh: p.psh,
    user: p.user,
  }));
const spans = (s: SendQueues) => packets(s).map((p) => [p.offset, p.length]);

test('without coalescing every write is cut into packets of its own', () => {
  const s = new SendQueues(0, 1000, 1 << 20);
  s.write(bytes(0, 8), 0);
  s.write(bytes(8, 1500), 0);
  assert.deepEqual(packets(s), [
    { offset: 0, length: 8, psh: true, user: 0 },
    { offset: 8, length: 1000, psh: false, user: 0 },
    { offset: 1008, length: 500, psh: true, user: 0 },
  ]);
});

test('coalescing: a write tops up the short newest packet of Q, then cuts the rest as usual', () => {
  const s = new SendQueues(0, 1000, 1 << 20, true);
  s.write(bytes(0, 8), 0);
  s.write(bytes(8, 1500), 0);
  // PSH: the first packet holds the end of the first write.
  assert.deepEqual(packets(s), [
    { offset: 0, length: 1000, psh: true, user: 0 },
    { offset: 1000, length: 508, psh: true, user: 0 },
  ]);
  assert.equal(s.bytesInQ, 1508);
  assert.equal(s.written, 1508);
  // The bytes are the writes' bytes, in order.
  const joined = Buffer.concat([s.q.at(0)!.data, s.q.at(1)!.data]);
  assert.ok(joined.equals(bytes(0, 1508)));
  // A write that fits the tail leaves it pushed (PSH) and adds no packet.
  s.write(bytes(1508, 100), 0);
  assert.deepEqual(packets(s).at(-1), { offset: 1000, length: 608, psh: true, user: 0 });
  assert.equal(s.q.size, 2);
});

test('coalescing stops at what the scheduler or the application set apart', () => {
  const s = new SendQueues(0, 1000, 1 << 20, true);
  s.write(bytes(0, 100), 0);
  // Another USER (per-write packet properties): a packet of its own.
  s.write(bytes(100, 100), 7);
  assert.deepEqual(
    packets(s).map((p) => [p.length, p.user]),
    [
      [100, 0],
      [100, 7],
    ],
  );
  // The tail left Q (the scheduler pushed it): the next write does not reach into a sent packet.
  s.scheduled(s.q.at(1)!);
  s.write(bytes(200, 100), 7);
  assert.deepEqual(spans(s), [
    [0, 100],
    [200, 100],
  ]);
  assert.equal(s.qu.at(0)!.length, 100);
  // A full tail takes nothing.
  s.write(bytes(300, 900), 7);
  s.write(bytes(1200, 10), 7);
  assert.deepEqual(spans(s), [
    [0, 100],
    [200, 1000],
    [1200, 10],
  ]);
  // The send buffer bound holds as before.
  const small = new SendQueues(0, 1000, 150, true);
  assert.equal(small.write(bytes(0, 100), 0), 100);
  assert.equal(small.write(bytes(100, 100), 0), 50);
  assert.equal(small.q.size, 1);
  assert.equal(small.q.at(0)!.length, 150);
});

test('coalescing never changes bytes already handed out, and follows a change of packet size', () => {
  const s = new SendQueues(0, 1000, 1 << 20, true);
  s.write(bytes(0, 100), 0);
  s.write(bytes(100, 100), 0); // the tail now grows in a buffer of the queue's own
  const sent = s.q.at(0)!;
  const view = sent.data;
  const copy = Uint8Array.from(view);
  s.scheduled(sent); // handed to a subflow: its bytes may be on the wire or in a capture
  for (let i = 0; i < 20; i++) s.write(bytes(200 + i * 30, 30), 0);
  assert.deepEqual(view, copy);
  assert.deepEqual(Buffer.from(s.q.at(0)!.data), Buffer.from(bytes(200, 600)));

  // The scheduler took the newest packet before an older one: Q's last (short, and of the same USER as the
  // next write) no longer ends where that write begins, so nothing joins it.
  const t = new SendQueues(0, 1000, 1 << 20, true);
  t.write(bytes(0, 100), 0);
  t.write(bytes(100, 50), 7);
  t.scheduled(t.q.at(1)!);
  t.write(bytes(150, 50), 0);
  assert.deepEqual(spans(t), [
    [0, 100],
    [150, 50],
  ]);

  // The packet size grows (a subflow with more room) and shrinks mid-tail: the bytes stay the writes'.
  const u = new SendQueues(0, 1000, 1 << 20, true);
  u.write(bytes(0, 990), 0);
  u.write(bytes(990, 5), 0);
  u.packetSize = 1020;
  u.write(bytes(995, 20), 0);
  u.packetSize = 500;
  u.write(bytes(1015, 10), 0);
  assert.deepEqual(spans(u), [
    [0, 1015],
    [1015, 10],
  ]);
  assert.deepEqual(Buffer.concat([u.q.at(0)!.data, u.q.at(1)!.data]), Buffer.from(bytes(0, 1025)));
});

test('coalescing keeps memory near the bytes queued: short tails give back what they did not use', () => {
  const s = new SendQueues(0, 1420, 1 << 24, true);
  for (let i = 0; i < 1000; i++) {
    s.write(bytes(i * 70, 20), 0);
    s.write(bytes(i * 70 + 20, 50), 0);
    s.scheduled(s.q.at(0)!);
  }
  const buffers = new Set(Array.from({ length: s.qu.size }, (_, i) => s.qu.at(i)!.data.buffer));
  // 70 KB of data: two 64 KB slabs, not one 1420-byte slice per packet (22 slabs).
  assert.ok(buffers.size <= 2, `${buffers.size} slabs for 70 KB`);
  assert.deepEqual(
    Buffer.concat(Array.from({ length: s.qu.size }, (_, i) => s.qu.at(i)!.data)),
    Buffer.from(bytes(0, 70_000)),
  );
});

/** 200-byte writes kept ahead of 2 × 10 Mbit/s for 5 s; the client's data segments and the bytes delivered. */
function smallWrites(coalesceWrites: boolean): { segments: number; delivered: number; intact: boolean } {
  const b = bed(
    1,
    [
      { rate: 10e6, delay: 10 * MS, queue: { packets: 60 } },
      { rate: 10e6, delay: 20 * MS, queue: { packets: 60 } },
    ],
    { coalesceWrites },
  );
  const { conn, server } = fullmeshPair(b);
  let written = 0;
  const pump = () => {
    while (conn.writableLength >= 200) written += conn.write(pattern(written, 200));
    b.clientHost.wake();
  };
  conn.onEstablished = pump;
  conn.onWritable = pump;
  b.clientHost.wake();
  b.sim.run(300 * MS);
  let delivered = 0;
  let intact = true;
  const srv = server()!;
  srv.onData = (d: Uint8Array) => {
    // bytesDelivered already counts `d`: its stream offset is what came before.
    intact &&= Buffer.from(d).equals(Buffer.from(pattern(srv.bytesDelivered - d.length, d.length)));
    delivered += d.length;
  };
  const before = b.client.tcp.counters.OutSegs;
  b.sim.run(b.sim.now + 5 * SECOND);
  return { segments: b.client.tcp.counters.OutSegs - before, delivered, intact };
}

test('200-byte writes over 2 × 10 Mbit/s: coalesced into full segments, they deliver more with fewer segments', () => {
  const apart = smallWrites(false);
  const joined = smallWrites(true);
  const detail = `per write: ${apart.segments} segments, ${(apart.delivered / 1e6).toFixed(2)} MB; coalesced: ${joined.segments} segments, ${(joined.delivered / 1e6).toFixed(2)} MB`;
  // Measured: 39411 segments and 7.78 MB apart (12.5 Mbit/s), 8545 and 11.91 MB coalesced (19.1 Mbit/s).
  assert.ok(apart.intact && joined.intact, 'every byte delivered is the byte written');
  assert.ok(joined.delivered > 1.15 * apart.delivered, detail);
  assert.ok(joined.segments < apart.segments / 3, detail);
});
