import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MptcpConnection } from '../../src/mptcp/connection.ts';
import { MptcpStateError } from '../../src/mptcp/connection.ts';
import { endpointsManager } from '../../src/pm/endpoints.ts';
import { PathManagerError } from '../../src/pm/errors.ts';
import { fullmeshManager } from '../../src/pm/fullmesh.ts';
import { type UserspaceEvent, userspaceManager, userspaceOf } from '../../src/pm/userspace.ts';
import { MS } from '../../src/util/time.ts';
import { assertDelivered, clientAddress, on, pmBed, run, serverAddress } from './bed.ts';

test('userspace: opens nothing by itself; the application hears the announcement and joins it', () => {
  const b = pmBed(51, [{}, {}], { servers: 2 });
  const heard: string[] = [];
  const pm = userspaceManager({
    onEvent: (conn, e) => {
      heard.push(e.type);
      // The application's policy: join every announced address from the second interface.
      if (e.type === 'announced') pm.openSubflow(conn, clientAddress(2), e.address);
    },
  });
  const r = run(b, 6_000_000, {
    clientPm: pm,
    serverPm: () => endpointsManager({ endpoints: [{ address: serverAddress(2), flags: ['signal'] }] }),
  });
  assertDelivered(r);
  assert.deepEqual(heard.slice(0, 2), ['established', 'announced']);
  assert.deepEqual(
    r.clientSubflows.map((s) => `${s.local.address}>${s.remote.address}`),
    [`${clientAddress(1)}>${serverAddress(1)}`, `${clientAddress(2)}>${serverAddress(2)}`],
  );
  for (const s of r.clientSubflows) assert.ok(s.bytesSent > 1_000_000, `subflow ${s.id} sent ${s.bytesSent}`);
});

test('userspace: joins are accepted by the application predicate; path-manager events reach its callback', () => {
  const b = pmBed(52, [{}, {}, {}]);
  const events: UserspaceEvent[] = [];
  let asked = 0;
  const r = run(b, 4_000_000, {
    clientPm: fullmeshManager({ localAddresses: [1, 2, 3].map(clientAddress) }),
    serverPm: () =>
      userspaceManager({
        onEvent: (_c, e) => events.push(e),
        // Only one join: the application wants two subflows at most.
        acceptJoin: (conn) => {
          asked++;
          return conn.subflowCount() < 2;
        },
      }),
    until: 3000 * MS,
  });
  assertDelivered(r);
  assert.equal(r.serverSubflows.length, 2);
  assert.ok(asked >= 2, `asked ${asked} times`);
  assert.ok(b.server.counters.MPJoinRejected >= 1);
  assert.equal(events[0]!.type, 'established');
  // At the end the first subflow to close is reported; the last one ends the connection, which the path
  // manager is not told about (the application hears it on conn.onEvent).
  const closed = events.flatMap((e) => (e.type === 'sub_closed' ? [e.subflow] : []));
  assert.equal(closed.length, 1);
  assert.ok(r.serverSubflows.some((s) => s.id === closed[0]));
});

test('userspace: a subflow the application opened is re-created after an interface outage; one it closed is not', () => {
  const b = pmBed(53, [{}, {}, {}]);
  const events: UserspaceEvent[] = [];
  const pm = userspaceManager({ onEvent: (_c, e) => events.push(e) });
  let p2 = -1;
  let p3 = -1;
  const r = run(b, 14_000_000, {
    clientPm: pm,
    at: [
      [
        100 * MS,
        (conn) => {
          p2 = pm.openSubflow(conn, clientAddress(2), serverAddress(1), { backup: true });
          p3 = pm.openSubflow(conn, clientAddress(3), serverAddress(1));
        },
      ],
      [500 * MS, (conn) => pm.setBackup(conn, p2, false)],
      [800 * MS, () => b.net.setInterface('p2', false)],
      [900 * MS, (conn) => pm.closeSubflow(conn, p3)],
      [1600 * MS, () => b.net.setInterface('p2', true)],
    ],
  });
  assertDelivered(r);
  const two = on(r.clientSubflows, clientAddress(2));
  assert.equal(two.length, 2, 'opened, lost, re-created');
  assert.equal(two[1]!.backup.local, false, 'the re-created subflow keeps the priority set later');
  assert.ok(two[1]!.bytesSent > 1_000_000, `re-created sent ${two[1]!.bytesSent}`);
  assert.equal(on(r.clientSubflows, clientAddress(3)).length, 1, 'closed by the application: not re-created');
  assert.deepEqual(
    events.filter((e) => e.type === 'interface'),
    [
      { type: 'interface', address: clientAddress(2), up: false },
      { type: 'interface', address: clientAddress(2), up: true },
    ],
  );
});

test('userspace helpers refuse misuse with typed errors', () => {
  const b = pmBed(54, [{}, {}]);
  const pm = userspaceManager();
  let conn: MptcpConnection | null = null;
  run(b, 100_000, {
    clientPm: pm,
    at: [
      [
        1 * MS,
        (c) => {
          conn = c;
          // Not established yet: the connection refuses.
          assert.throws(() => pm.openSubflow(c, clientAddress(2), serverAddress(1)), MptcpStateError);
        },
      ],
    ],
  });
  const c = conn as MptcpConnection | null;
  assert.ok(c);
  assert.equal(userspaceOf(c), pm);
  const other = userspaceManager();
  assert.throws(() => other.closeSubflow(c, 1), PathManagerError);
  const server = b.server.connections()[0] ?? null;
  if (server) assert.throws(() => userspaceOf(server), PathManagerError);
});
