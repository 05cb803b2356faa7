import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeCaptureFile } from '../../src/inspect/packets.ts';
import { fullmeshManager } from '../../src/pm/fullmesh.ts';
import { MS } from '../../src/util/time.ts';
import { verifyDssChecksum } from '../../src/wire/dss-checksum.ts';
import { DecodeError } from '../../src/wire/errors.ts';
import { PcapWriter } from '../../src/wire/pcap.ts';
import { bed, clientAddress, transfer } from './harness.ts';

test('one subflow: MP_CAPABLE handshake, data by DSS, DATA_FIN both ways, clean close', () => {
  const b = bed(1, [{}]);
  const r = transfer(b, 2_000_000);
  assert.equal(r.conn.fallback, false);
  assert.ok(r.intact, `received ${r.all.length} bytes`);
  assert.ok(r.ended);
  assert.equal(r.conn.state, 'closed');
  assert.equal(r.conn.closedReason, null);
});

test('two paths with fullmesh: both subflows carry data, every byte arrives in order', () => {
  const b = bed(2, [{ queue: { packets: 170 } }, { queue: { packets: 170 } }]);
  const r = transfer(b, 60_000_000, {
    pm: fullmeshManager({ localAddresses: [clientAddress(1), clientAddress(2)] }),
  });
  assert.ok(r.intact, `received ${r.all.length} bytes`);
  const subs = r.conn.subflows;
  assert.equal(subs.length, 2);
  for (const s of subs) assert.ok(s.bytesSent > 20_000_000, `subflow ${s.id} sent ${s.bytesSent}`);
  const seconds = r.doneAt / 1e6;
  const mbps = (60_000_000 * 8) / seconds / 1e6;
  // Including the handshakes and slow start; the steady state is checked by the 30 s scenario.
  assert.ok(mbps > 140, `goodput ${mbps.toFixed(1)} Mbit/s over two 100 Mbit/s paths`);
  void MS;
});

test('with DSS checksums negotiated, every mapping on the wire carries its RFC 8684 §3.3.1 checksum', () => {
  const b = bed(3, [{}], { checksum: true });
  const w = new PcapWriter();
  b.net.capture(w);
  const r = transfer(b, 300_000);
  assert.ok(r.intact);
  assert.equal(r.serverConn?.checksums, true);
  const cap = decodeCaptureFile(w.toBytes());
  assert.ok(!(cap instanceof DecodeError));
  const idsn = r.conn.localIdsn;
  let checked = 0;
  for (const s of cap.segments) {
    for (const o of s.mptcp) {
      if (o.subtype === 'MP_CAPABLE' && o.dataLength !== undefined && s.payload.length === o.dataLength) {
        assert.ok(
          verifyDssChecksum((idsn + 1n) & ((1n << 64n) - 1n), 1, o.dataLength, o.checksum!, s.payload),
        );
        checked++;
      }
      if (
        o.subtype === 'DSS' &&
        o.dsn !== undefined &&
        s.payload.length > 0 &&
        s.payload.length === o.dataLength
      ) {
        assert.ok(o.checksum !== undefined, `frame ${s.frame} has no checksum`);
        assert.ok(verifyDssChecksum(o.dsn, o.ssn!, o.dataLength, o.checksum, s.payload), `frame ${s.frame}`);
        checked++;
      }
    }
  }
  assert.ok(checked > 150, `checked ${checked} mappings`);
});
