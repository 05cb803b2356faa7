import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DataReassembly } from '../../src/mptcp/reassembly.ts';
import { Rng } from '../../src/util/rng.ts';

const bytes = (from: number, n: number) => Uint8Array.from({ length: n }, (_, i) => (from + i) % 251);
const concat = (parts: Uint8Array[]) => Buffer.concat(parts.map((p) => Buffer.from(p)));

test('in-order data is delivered at once; a hole holds later data until it is filled', () => {
  const r = new DataReassembly(1 << 20);
  assert.deepEqual(concat(r.insert(0, bytes(0, 10)).deliver), Buffer.from(bytes(0, 10)));
  const later = r.insert(20, bytes(20, 10));
  assert.equal(later.deliver.length, 0);
  assert.equal(r.bufferedBytes, 10);
  const fill = r.insert(10, bytes(10, 10));
  assert.deepEqual(concat(fill.deliver), Buffer.from(bytes(10, 20)));
  assert.equal(r.expected, 30);
  assert.equal(r.bufferedBytes, 0);
});

test('duplicates and overlaps are counted and never delivered twice; the window bounds what is held', () => {
  const r = new DataReassembly(100);
  r.insert(0, bytes(0, 50));
  const dup = r.insert(40, bytes(40, 20));
  assert.equal(dup.duplicate, 10);
  assert.deepEqual(concat(dup.deliver), Buffer.from(bytes(50, 10)));
  const far = r.insert(150, bytes(150, 30));
  assert.equal(far.beyondWindow, 20);
  assert.equal(r.bufferedBytes, 10);
  const beyond = r.insert(500, bytes(500, 10));
  assert.equal(beyond.beyondWindow, 10);
  assert.equal(r.bufferedBytes, 10);
});

test('random arrival orders with duplicates reassemble the exact stream (property, 300 seeds)', () => {
  for (let seed = 1; seed <= 300; seed++) {
    const rng = new Rng(seed);
    const total = 1 + rng.int(20000);
    const segs: [number, number][] = [];
    for (let off = 0; off < total; ) {
      const n = Math.min(total - off, 1 + rng.int(1500));
      segs.push([off, n]);
      off += n;
    }
    // Duplicates with other boundaries (like a reinjection on another subflow with another MSS).
    for (let k = rng.int(10); k > 0; k--) {
      const a = rng.int(total);
      segs.push([a, 1 + rng.int(Math.min(3000, total - a))]);
    }
    for (let i = segs.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [segs[i], segs[j]] = [segs[j]!, segs[i]!];
    }
    const r = new DataReassembly(1 << 30);
    const out: Uint8Array[] = [];
    for (const [off, n] of segs) out.push(...r.insert(off, bytes(off, n)).deliver);
    const got = concat(out);
    assert.equal(got.length, total, `seed ${seed}`);
    assert.ok(got.equals(Buffer.from(bytes(0, total))), `seed ${seed}: stream differs`);
    assert.equal(r.bufferedBytes, 0);
  }
});

test('a held piece is a view of the data unless it is a small part of a large buffer, which is copied', () => {
  const held = new DataReassembly(1 << 20);
  const big = bytes(100, 4000);
  held.insert(100, big);
  const [, second] = held.insert(0, bytes(0, 100)).deliver;
  assert.equal(second!.buffer, big.buffer, 'a whole out-of-order insert is kept as a view');
  const r = new DataReassembly(1 << 20);
  r.insert(1000, bytes(1000, 4000));
  // Mostly overlapping data: only 100 new bytes of a 4000-byte buffer, so they are copied.
  const overlap = bytes(900, 4000);
  r.insert(900, overlap);
  const parts = r.insert(0, bytes(0, 900)).deliver;
  assert.deepEqual(concat(parts), Buffer.from(bytes(0, 5000)));
  const piece = parts.find((p) => p.length === 100)!;
  assert.notEqual(piece.buffer, overlap.buffer, '100 bytes of a 4000-byte buffer are copied');
});
