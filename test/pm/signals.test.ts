/** Engine problems the path-manager tests ran into, now fixed: kept so they stay fixed. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { endpointsManager } from '../../src/pm/endpoints.ts';
import { MS } from '../../src/util/time.ts';
import { assertDelivered, clientAddress, pmBed, run } from './bed.ts';

// Signals used to wait for a pure ACK, which a client busy sending data rarely sends (8.5 s late here).
test('REMOVE_ADDR for an address whose interface went down reaches the peer promptly during an upload', () => {
  const b = pmBed(41, [{ rate: 2e6 }, { rate: 2e6 }]);
  const r = run(b, 3_000_000, {
    clientPm: endpointsManager({ endpoints: [{ address: clientAddress(2), flags: ['subflow'] }] }),
    serverPm: () => endpointsManager({ endpoints: [], limits: { subflows: 1 } }),
    at: [[800 * MS, () => b.net.setInterface('p2', false)]],
  });
  assertDelivered(r);
  const removed = r.serverEvents.find((x) => x.e.type === 'removed');
  assert.ok(
    removed && removed.at < 1800 * MS,
    `REMOVE_ADDR arrived at ${removed ? removed.at / MS : '-'} ms`,
  );
});
