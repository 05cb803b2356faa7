/**
 * MptcpConnection.retainedFrom(): below it the connection never reads the bytes it was given again, so a
 * writer may reuse that memory (the socket API does, for its write copies). DATA_ACK alone is not enough: a
 * subflow that carried a copy (redundancy, reinjection) may still resend it at the subflow level, and with
 * DSS checksums a changed resend fails the checksum.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MptcpConnection } from '../../src/mptcp/connection.ts';
import { fullmeshManager } from '../../src/pm/fullmesh.ts';
import { MS } from '../../src/util/time.ts';
import { bed, clientAddress, isPattern, PORT, pattern, SERVER } from './harness.ts';

const CHUNK = 64 * 1024;
const TOTAL = 6_000_000;

/**
 * Sends TOTAL bytes of the pattern over two lossy paths with every packet on both (redundant), DSS checksums
 * on, from copies the writer scribbles over and reuses once they are below `released(conn)`.
 */
function run(released: (c: MptcpConnection) => number) {
  const b = bed(
    7,
    [
      { delay: 10 * MS, loss: 0.02 },
      { delay: 40 * MS, loss: 0.02 },
    ],
    { checksum: true, scheduler: 'redundant' },
  );
  const received: Uint8Array[] = [];
  let server: MptcpConnection | null = null;
  b.server.listen(PORT, (c) => {
    server = c;
    c.onData = (d) => received.push(d.slice());
    c.onEnd = () => c.end();
  });
  const conn = b.client.connect(b.sim.now, {
    local: clientAddress(1),
    remote: SERVER,
    remotePort: PORT,
    pathManager: fullmeshManager({ localAddresses: [clientAddress(1), clientAddress(2)] }),
  });
  const lent: { copy: Uint8Array; end: number }[] = [];
  const spare: Uint8Array[] = [];
  let sent = 0;
  let reused = 0;
  let heldBack = 0;
  const pump = () => {
    while (sent < TOTAL) {
      const n = Math.min(CHUNK, TOTAL - sent);
      // Whole writes only, so every copy is either wholly taken or still the writer's.
      if (conn.writableLength < n) return;
      const from = released(conn);
      if (from < conn.info().sndUna) heldBack++;
      while (lent.length > 0 && lent[0]!.end <= from) spare.push(lent.shift()!.copy.fill(0xee));
      const old = spare.pop();
      if (old) reused++;
      const copy = old ?? new Uint8Array(CHUNK);
      copy.set(pattern(sent, n));
      assert.equal(conn.write(copy.subarray(0, n)), n);
      sent += n;
      lent.push({ copy, end: sent });
      b.clientHost.wake();
    }
    conn.end();
    b.clientHost.wake();
  };
  conn.onEstablished = pump;
  conn.onWritable = pump;
  b.clientHost.wake();
  b.sim.run(120_000 * MS, () => conn.isClosed() && server?.isClosed() === true);
  const all = Buffer.concat(received);
  return {
    intact: all.length === TOTAL && isPattern(all),
    csumErrors: b.server.counters.DataCsumErr,
    reused,
    heldBack,
  };
}

test('retainedFrom: reusing memory below it keeps every DSS checksum and every byte right', (t) => {
  const r = run((c) => c.retainedFrom());
  t.diagnostic(`reused ${r.reused} times; held back below DATA_ACK ${r.heldBack} times`);
  assert.ok(r.reused > 10, `memory was reused (${r.reused} times)`);
  assert.ok(r.heldBack > 0, 'a subflow still held data DATA_ACK had covered');
  assert.equal(r.csumErrors, 0);
  assert.ok(r.intact);
});

test('reusing memory as soon as DATA_ACK covers it breaks the checksums of resent copies', (t) => {
  const r = run((c) => c.info().sndUna);
  t.diagnostic(`${r.csumErrors} DSS checksum failures`);
  assert.ok(r.csumErrors > 0, 'a resend from reused memory failed its DSS checksum');
});
