import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ndiffportsManager } from '../../src/pm/ndiffports.ts';
import { passiveManager } from '../../src/pm/passive.ts';
import { MS } from '../../src/util/time.ts';
import { assertDelivered, clientAddress, on, pmBed, run, serverAddress } from './bed.ts';

test('ndiffports: n subflows on the initial pair, distinct source ports, each carrying data', () => {
  const b = pmBed(11, [{}, {}]);
  const r = run(b, 8_000_000, { clientPm: ndiffportsManager({ subflows: 4 }) });
  assertDelivered(r);
  const subs = r.clientSubflows;
  assert.equal(subs.length, 4);
  assert.equal(on(subs, clientAddress(1), serverAddress(1)).length, 4, 'all on the initial pair');
  assert.equal(new Set(subs.map((s) => s.local.port)).size, 4, 'distinct source ports');
  // Coupled congestion control on one bottleneck shares unevenly; each still carries a real share.
  for (const s of subs) assert.ok(s.bytesSent > 100_000, `subflow ${s.id} sent ${s.bytesSent}`);
  assert.equal(on(subs, clientAddress(2)).length, 0, 'the second address is not used');
});

test('ndiffports: a subflow the server resets is re-created with backoff', () => {
  const b = pmBed(12, [{ rate: 10e6 }]);
  let closedAt = -1;
  const r = run(b, 6_000_000, {
    clientPm: ndiffportsManager({ subflows: 3 }),
    at: [
      [
        1000 * MS,
        (conn) => {
          // The server closes one of the joins (as an administrator would): the client sees a reset.
          const sc = b.server.connections()[0]!;
          const join = sc.liveSubflows().find((s) => s.kind === 'join')!;
          closedAt = b.sim.now;
          sc.closeSubflow(join.id);
          void conn;
        },
      ],
    ],
  });
  assertDelivered(r);
  const subs = r.clientSubflows;
  assert.equal(subs.length, 4, 'three, then one replacement');
  const replacement = r.clientEvents.find(
    (x) => x.e.type === 'sub_established' && x.at > closedAt && x.e.subflow === 4,
  );
  assert.ok(replacement, 'the replacement was established');
  const delay = (replacement.at - closedAt) / MS;
  // rejoinInitial (250 ms) plus the join's handshake through a loaded queue (up to 120 ms each way).
  assert.ok(delay >= 250 && delay < 650, `re-created after ${delay} ms`);
  assert.ok(subs[3]!.bytesSent > 100_000, `the replacement sent ${subs[3]!.bytesSent}`);
});

test('ndiffports against a passive server with a limit: joins beyond it are refused', () => {
  const b = pmBed(13, [{}]);
  const r = run(b, 3_000_000, {
    clientPm: ndiffportsManager({ subflows: 4 }),
    serverPm: () => passiveManager({ subflows: 2 }),
    until: 3000 * MS,
  });
  assertDelivered(r);
  assert.equal(r.serverSubflows.length, 3, 'the server kept the initial subflow and two joins');
  assert.ok(b.server.counters.MPJoinRejected >= 1, `refused ${b.server.counters.MPJoinRejected}`);
  const working = r.clientSubflows.filter((s) => s.bytesSent > 0);
  assert.equal(working.length, 3);
});

test('ndiffports: the only interface goes down and returns: the connection survives on re-created subflows', () => {
  const b = pmBed(14, [{ rate: 10e6 }]);
  const r = run(b, 4_000_000, {
    clientPm: ndiffportsManager({ subflows: 2 }),
    at: [
      [1000 * MS, () => b.net.setInterface('p1', false)],
      [1500 * MS, () => b.net.setInterface('p1', true)],
    ],
  });
  assertDelivered(r);
  assert.equal(r.conn.closedReason, null, 'a clean close');
  const before = r.clientSubflows.filter((s) => s.closedReason === 'interface down');
  const after = r.clientEvents.filter((x) => x.e.type === 'sub_established' && x.at > 1500 * MS);
  assert.equal(before.length, 2, 'both lost with the interface');
  assert.equal(after.length, 2, 'both re-created');
  assert.ok(after[1]!.at - 1500 * MS < 100 * MS, `re-created by ${(after[1]!.at - 1500 * MS) / MS} ms`);
});
