/**
 * Lent receive buffers (SegmentStack.receive's payloadLent): a transport that reads every datagram into the
 * same memory lends the payload for the call only. Here the server's host copies each payload into one scratch
 * buffer, lends it, and scribbles over it once receive() returns, on lossy, reordering paths: any byte the
 * engine kept without copying (out-of-order data, a checksummed mapping's parts, a fallback's stream) would be
 * scribbled on and break the transfer's integrity.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MptcpConfig } from '../../src/mptcp/config.ts';
import { fullmeshManager } from '../../src/pm/fullmesh.ts';
import type { LinkConfig } from '../../src/sim/link.ts';
import { SECOND } from '../../src/util/time.ts';
import { type Bed, bed, clientAddress, transfer } from './harness.ts';

const TOTAL = 3_000_000;
const LOSSY: Partial<LinkConfig>[] = [
  { loss: 0.02, reorder: 0.05, jitter: 2_000 },
  { loss: 0.01, reorder: 0.05, rate: 30e6, delay: 30_000 },
];

/** Makes `b`'s server read its segments' payloads from one reused buffer; `lend`: say so (payloadLent). */
function reuseServerMemory(b: Bed, lend: boolean): { lent: () => number } {
  // As large as the payload (so a view of it looks worth keeping to keepBytes), new only when sizes change;
  // a Buffer, as the addon lends (whose slice() is a view, not a copy).
  let scratch = Buffer.alloc(0);
  let lent = 0;
  const receive = b.server.receive.bind(b.server);
  b.server.receive = (now, src, dst, segment, checksumVerified) => {
    const headerLength = (segment[12]! >>> 4) * 4;
    const n = segment.length - headerLength;
    if (scratch.length !== n) scratch = Buffer.alloc(n);
    scratch.set(segment.subarray(headerLength));
    if (n > 0) lent++;
    receive(now, src, dst, segment.subarray(0, headerLength), checksumVerified, scratch, lend);
    scratch.fill(0xee);
  };
  return { lent: () => lent };
}

function run(seed: number, config: Partial<MptcpConfig>, lend: boolean, lentReader: boolean, paths = LOSSY) {
  const b = bed(seed, paths, config);
  const r = reuseServerMemory(b, lend);
  const pm = fullmeshManager({ localAddresses: paths.map((_, i) => clientAddress(i + 1)) });
  const t = transfer(b, TOTAL, { until: 120 * SECOND, lentReader, pm });
  return { ...t, lent: r.lent(), counters: b.server.counters };
}

for (const lentReader of [false, true]) {
  const reader = lentReader ? 'an onLentData reader' : 'an onData reader';
  test(`lent payloads on lossy, reordering paths: every byte arrives intact, to ${reader}`, () => {
    for (const seed of [1, 2, 3]) {
      const r = run(seed, {}, true, lentReader);
      assert.ok(r.lent > 1000, `payloads were lent (${r.lent})`);
      assert.ok(r.counters.OFOQueue > 0, 'some data waited out of order (so copies were needed)');
      assert.ok(r.intact, `seed ${seed}: ${r.all.length} bytes, the pattern broken`);
    }
  });
}

test('lent payloads with DSS checksums (parts of a mapping wait for the rest) arrive intact', () => {
  const r = run(4, { checksum: true }, true, true);
  assert.ok(r.lent > 1000);
  assert.ok(r.intact, `${r.all.length} bytes, the pattern broken`);
});

test('lent payloads after a fallback to plain TCP (a middlebox strips the options) arrive intact', () => {
  const r = run(5, {}, true, true, [{ stripMptcpOptions: true, loss: 0.01, reorder: 0.05 }]);
  assert.equal(r.conn.fallback, true, 'the connection fell back');
  assert.ok(r.intact, `${r.all.length} bytes, the pattern broken`);
});

test('control: reused memory the transport claims to hand over is scribbled on, and the transfer breaks', () => {
  const r = run(1, {}, false, false);
  assert.ok(r.lent > 1000);
  assert.equal(r.intact, false, 'views of the reused buffer were kept, so bytes changed under them');
});
