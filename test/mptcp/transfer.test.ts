import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fullmeshManager } from '../../src/pm/fullmesh.ts';
import { MS } from '../../src/util/time.ts';
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
