import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Reassembly } from '../../src/tcp/reassembly.ts';
import { EVER_RETRANS, LOST, RETRANS, SACKED, Scoreboard } from '../../src/tcp/scoreboard.ts';
import { allocBytes, allocFramed, framed, HEADROOM } from '../../src/tcp/segment.ts';
import { SendBuffer } from '../../src/tcp/send-buffer.ts';
import { seqDiff, seqGt, seqLt } from '../../src/tcp/seq.ts';
import { Rng } from '../../src/util/rng.ts';
import {
  internetChecksum,
  pseudoHeaderSum,
  segmentChecksum,
  transportChecksum,
} from '../../src/wire/checksum.ts';

test('sequence comparisons wrap at 2^32', () => {
  assert.ok(seqLt(0xfffffff0, 0x10));
  assert.ok(seqGt(0x10, 0xfffffff0));
  assert.equal(seqDiff(0x10, 0xfffffff0), 0x20);
});

test('the word-parallel checksum equals the byte-pair one for any length and alignment', () => {
  const rng = new Rng(1);
  const src = new Uint8Array([10, 0, 0, 1]);
  const dst = new Uint8Array([10, 0, 0, 2]);
  for (let i = 0; i < 500; i++) {
    const len = 20 + rng.int(1500);
    const off = rng.int(4) * (i % 2);
    const backing = rng.fill(new Uint8Array(len + off));
    const buf = backing.subarray(off);
    const want = transportChecksum(src, dst, 6, buf);
    assert.equal(
      segmentChecksum(pseudoHeaderSum(src, dst, 6, len), buf, 0, len),
      want,
      `len ${len} off ${off}`,
    );
  }
  assert.equal(
    segmentChecksum(0, new Uint8Array(8).fill(0xff), 0, 8),
    internetChecksum(new Uint8Array(8).fill(0xff)),
  );
});

test('send buffer: bounded, copies across blocks, releases acknowledged bytes, keeps record marks', () => {
  const sb = new SendBuffer(50_000);
  const rng = new Rng(2);
  const data = rng.fill(new Uint8Array(70_000));
  assert.equal(sb.write(data), 50_000);
  assert.equal(sb.space, 0);
  const out = new Uint8Array(20_000);
  sb.copyOut(10_000, 20_000, out, 0);
  assert.deepEqual(out, data.subarray(10_000, 30_000));
  sb.release(40_000);
  assert.equal(sb.write(data.subarray(50_000)), 20_000);
  sb.markRecord();
  sb.copyOut(45_000, 20_000, out, 0);
  assert.deepEqual(out, data.subarray(45_000, 65_000));
  assert.equal(sb.recordEnd(45_000), 70_000);
  assert.equal(sb.recordEnd(70_000), Number.POSITIVE_INFINITY);
});

test('send buffer: appended views and copied writes read back as one stream, in any order of reads and releases', () => {
  const rng = new Rng(3);
  const source = rng.fill(new Uint8Array(400_000));
  for (let trial = 0; trial < 20; trial++) {
    const sb = new SendBuffer(60_000);
    let written = 0;
    let released = 0;
    while (released < source.length) {
      // Appended views (an MPTCP subflow's pulled chunks) and copied writes (plain TCP), mixed.
      if (written < source.length && rng.int(3) > 0) {
        const n = Math.min(1 + rng.int(20_000), source.length - written);
        const view = source.subarray(written, written + n);
        written += rng.int(2) === 0 ? sb.append(view) : sb.write(view);
        assert.ok(sb.length <= 60_000, 'bounded');
      }
      // Reads anywhere in what is held (first sends and retransmissions), then an acknowledgement.
      for (let r = 0; r < 3 && sb.length > 0; r++) {
        const off = sb.start + rng.int(sb.length);
        const len = 1 + rng.int(Math.min(30_000, sb.end - off));
        const out = new Uint8Array(len + 2);
        sb.copyOut(off, len, out, 1);
        assert.deepEqual(
          out.subarray(1, 1 + len),
          source.subarray(off, off + len),
          `trial ${trial} off ${off}`,
        );
      }
      released = Math.min(written, released + rng.int(25_000));
      if (written === source.length) released = Math.min(written, released + 10_000);
      sb.release(released);
      assert.equal(sb.start, released);
    }
  }
});

test('outgoing segments leave headroom a driver can claim once, for the latest segment only', () => {
  const a = allocFramed(100);
  const b = allocFramed(60);
  assert.equal(framed(a, 20), null, 'not the latest segment');
  const p = framed(b, 20)!;
  assert.equal(p.length, 80);
  assert.equal(p.buffer, b.buffer);
  assert.equal(p.byteOffset + 20, b.byteOffset);
  assert.equal(framed(b, 20), null, 'claimed already');
  const c = allocFramed(10);
  assert.equal(framed(c, HEADROOM + 1), null, 'more than the headroom');
  assert.equal(framed(c, HEADROOM)!.length, HEADROOM + 10);
  // Carves never overlap, headroom included; fresh bytes from allocBytes are zero.
  const d = allocFramed(8);
  assert.ok(d.byteOffset - HEADROOM >= c.byteOffset + c.length || d.buffer !== c.buffer);
  assert.deepEqual(allocBytes(64), new Uint8Array(64));
});

test('scoreboard: SACK marks, IsLost frontier, pipe counters, NextSeg order, RTO go-back-N', () => {
  const sb = new Scoreboard();
  for (let i = 0; i < 200; i++) sb.push(i * 100, (i + 1) * 100, i, 0);
  assert.equal(sb.outstanding, 20_000);
  // SACK segments 3..9 (7 segments): 0..2 are lost (more than 2 MSS SACKed above), nothing above 9.
  assert.equal(sb.sack(300, 1000), 700);
  assert.equal(sb.sackRttSentAt, 3);
  assert.ok(sb.markLost(200));
  assert.equal(sb.lostBytes, 300);
  assert.equal(sb.nextLost(), 0);
  sb.markRetransmitted(0, 500, 20_000);
  assert.equal(sb.flags(0), LOST | RETRANS | EVER_RETRANS);
  assert.equal(sb.nextLost(), 1);
  assert.equal(sb.retransBytes, 100);
  // Cumulative ACK of 0..1: delivered excludes nothing SACKed; Karn: record 0 was retransmitted.
  assert.equal(sb.ackTo(200), 200);
  assert.equal(sb.ackedRetransmitted, true);
  assert.equal(sb.nextLost(), 2);
  // A partial ACK inside record 2 trims it.
  assert.equal(sb.ackTo(250), 50);
  assert.equal(sb.lostBytes, 50);
  // RTO: everything not SACKed is lost; the SACKed records stay SACKed.
  sb.markAllLost();
  assert.equal(sb.flags(5) & SACKED, SACKED);
  assert.equal(sb.lostBytes, 20_000 - 250 - 700);
  assert.equal(sb.retransBytes, 0);
  assert.equal(sb.nextLost(), 2);
  sb.clearSacks();
  assert.equal(sb.sackedBytes, 0);
  sb.split(2, 280);
  assert.equal(sb.end(2), 280);
  assert.equal(sb.start(3), 280);
  assert.equal(sb.outstanding, 20_000 - 250);
});

test('scoreboard: a retransmission is lost again once data sent after it is SACKed beyond the threshold', () => {
  const sb = new Scoreboard();
  for (let i = 0; i < 20; i++) sb.push(i * 100, (i + 1) * 100, i, 0);
  sb.sack(100, 600);
  sb.markLost(200);
  assert.equal(sb.nextLost(), 0);
  // Record 0 is retransmitted when 2000 bytes (records 0..19) had been sent; new records 20.. follow it.
  sb.markRetransmitted(0, 50, 2000);
  for (let i = 20; i < 30; i++) sb.push(i * 100, (i + 1) * 100, 60 + i, 0);
  assert.equal(sb.nextLost(), -1);
  // SACKs of data sent before the retransmission say nothing about it.
  sb.sack(600, 2000);
  assert.equal(sb.markLostRetransmissions(200), 0);
  // Two records sent after it arrive: within the reordering margin of 200 bytes.
  sb.sack(2000, 2200);
  assert.equal(sb.markLostRetransmissions(200), 0);
  assert.equal(sb.flags(0) & (LOST | RETRANS), LOST | RETRANS);
  // A third one: the retransmission is lost; it is due again and no longer counted in flight.
  sb.sack(2200, 2300);
  assert.equal(sb.markLostRetransmissions(200), 1);
  assert.equal(sb.flags(0) & (LOST | RETRANS | EVER_RETRANS), LOST | EVER_RETRANS);
  assert.equal(sb.retransBytes, 0);
  assert.equal(sb.nextLost(), 0);
  sb.markRetransmitted(0, 90, 3000);
  assert.equal(sb.markLostRetransmissions(200), 0);
});

test('scoreboard stays linear over a large window with scattered losses', () => {
  const sb = new Scoreboard();
  const n = 50_000;
  for (let i = 0; i < n; i++) sb.push(i * 1000, (i + 1) * 1000, i, 0);
  const t0 = performance.now();
  let lost = 0;
  for (let i = 0; i < n; i++) {
    if (i % 10 === 0) continue;
    sb.sack(i * 1000, (i + 1) * 1000);
    sb.markLost(2000);
    for (let k = sb.nextLost(); k >= 0; k = sb.nextLost()) {
      sb.markRetransmitted(k, 0, n * 1000);
      lost++;
    }
  }
  assert.equal(lost, n / 10);
  assert.ok(performance.now() - t0 < 2000);
});

test('reassembly: merges ranges, trims duplicates, reports SACK blocks by recency, respects its budget', () => {
  const r = new Reassembly(10_000);
  const seg = (n: number, v: number) => new Uint8Array(n).fill(v);
  assert.equal(r.insert(1000, seg(100, 1), 0, 100), 'stored');
  assert.equal(r.insert(3000, seg(100, 3), 0, 100), 'stored');
  assert.equal(r.insert(1100, seg(100, 2), 0, 100), 'stored');
  const out = new Float64Array(8);
  assert.equal(r.sackBlocks(out, 4, false), 2);
  assert.deepEqual([...out.subarray(0, 4)], [1000, 1200, 3000, 3100]);
  // Overlap: only the new part is stored, the duplicate part becomes a D-SACK block.
  assert.equal(r.insert(1150, seg(100, 9), 0, 100), 'stored');
  assert.equal(r.bytes, 350);
  assert.equal(r.sackBlocks(out, 4, true), 3);
  assert.deepEqual([...out.subarray(0, 6)], [1150, 1200, 1000, 1250, 3000, 3100]);
  // Bridging two ranges merges them.
  assert.equal(r.insert(1250, seg(1750, 4), 0, 1750), 'stored');
  assert.equal(r.ranges.length, 1);
  const rg = r.takeInOrder(1000)!;
  const bytes = Buffer.concat(rg.chunks);
  assert.equal(bytes.length, 2100);
  assert.equal(bytes[150], 2, 'the earlier copy wins');
  assert.equal(r.bytes, 0);
  // Budget: tiny segments are charged their overhead.
  let stored = 0;
  for (let i = 0; i < 1000; i++) if (r.insert(10_000 + 2 * i, seg(1, 1), 0, 1) === 'stored') stored++;
  assert.ok(r.cost <= 10_000);
  assert.equal(stored, Math.floor(10_000 / 129));
});

test('reassembly: duplicates that arrive before the next ACK extend one D-SACK block while they touch it', () => {
  const r = new Reassembly(10_000);
  const out = new Float64Array(8);
  // Three old duplicates in a row (a batch of late originals below RCV.NXT), then one apart from them.
  r.noteDuplicate(1000, 1100);
  r.noteDuplicate(1100, 1200);
  r.noteDuplicate(900, 1000);
  r.noteDuplicate(5000, 5100);
  assert.equal(r.sackBlocks(out, 4, true), 1);
  assert.deepEqual(
    [...out.subarray(0, 2)],
    [900, 1200],
    'one block for the run; a separate duplicate is not reported (Linux keeps the first block)',
  );
  // Once the ACK has carried it, the next duplicate starts a new block.
  r.dsackEnd = -1;
  r.noteDuplicate(5000, 5100);
  assert.equal(r.sackBlocks(out, 4, true), 1);
  assert.deepEqual([...out.subarray(0, 2)], [5000, 5100]);
});
