import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fullmeshManager } from '../../src/pm/fullmesh.ts';
import { MS } from '../../src/util/time.ts';
import { assertDelivered, clientAddress, on, pmBed, run } from './bed.ts';

const three = [clientAddress(1), clientAddress(2), clientAddress(3)];

test('fullmesh: one subflow per local address, each carrying data', () => {
  const b = pmBed(21, [{}, {}, {}]);
  const r = run(b, 9_000_000, { clientPm: fullmeshManager({ localAddresses: three }) });
  assertDelivered(r);
  assert.equal(r.clientSubflows.length, 3);
  for (const a of three) {
    const [s] = on(r.clientSubflows, a);
    assert.ok(s && s.bytesSent > 1_500_000, `${a} sent ${s?.bytesSent}`);
  }
});

test('fullmesh: an interface down closes its subflow; back up, the subflow is re-created at once and carries data', () => {
  const b = pmBed(22, [{}, {}]);
  const r = run(b, 12_000_000, {
    clientPm: fullmeshManager({ localAddresses: [clientAddress(1), clientAddress(2)] }),
    at: [
      [1000 * MS, () => b.net.setInterface('p2', false)],
      [2000 * MS, () => b.net.setInterface('p2', true)],
    ],
  });
  assertDelivered(r);
  const p2 = on(r.clientSubflows, clientAddress(2));
  assert.equal(p2.length, 2, 'the lost subflow and its replacement');
  assert.equal(p2[0]!.closedReason, 'interface down');
  const back = r.clientEvents.find((x) => x.e.type === 'sub_established' && x.e.subflow === p2[1]!.id)!;
  const after = (back.at - 2000 * MS) / MS;
  // No backoff wait for a returning address: one join handshake (SYN, SYN/ACK, ACK, fourth ACK).
  assert.ok(after < 100, `re-created ${after} ms after the interface came back`);
  assert.ok(p2[1]!.bytesSent > 1_000_000, `replacement sent ${p2[1]!.bytesSent}`);
  assert.equal(b.clientHost.stats.timerStalls, 0);
  // Nothing was tried while the interface was down.
  const opened = r.clientEvents.filter((x) => x.e.type === 'sub_established' && x.at > 1000 * MS);
  assert.equal(opened.length, 1);
});

test('fullmesh: subflows from backup addresses start as backup (MP_JOIN B bit) and stay idle while the others work', () => {
  const b = pmBed(23, [{}, {}]);
  const r = run(b, 6_000_000, {
    clientPm: fullmeshManager({
      localAddresses: [clientAddress(1), clientAddress(2)],
      backupAddresses: [clientAddress(2)],
    }),
  });
  assertDelivered(r);
  const [s1] = on(r.clientSubflows, clientAddress(1));
  const [s2] = on(r.clientSubflows, clientAddress(2));
  assert.equal(s2!.backup.local, true);
  assert.equal(
    on(r.serverSubflows, null, clientAddress(2))[0]!.backup.remote,
    true,
    'the server saw the B bit',
  );
  assert.equal(s1!.backup.local, false);
  assert.equal(b.server.counters.MPPrioRx, 0, 'no MP_PRIO needed');
  assert.ok(s2!.bytesSent < 0.01 * s1!.bytesSent, `backup sent ${s2!.bytesSent}, active ${s1!.bytesSent}`);
});

test('fullmesh: with the initial address in the backup list, the initial subflow becomes backup by MP_PRIO', () => {
  const b = pmBed(24, [{}, {}]);
  const r = run(b, 4_000_000, {
    clientPm: fullmeshManager({
      localAddresses: [clientAddress(1), clientAddress(2)],
      backupAddresses: [clientAddress(1)],
    }),
  });
  assertDelivered(r);
  const [s1] = on(r.clientSubflows, clientAddress(1));
  const [s2] = on(r.clientSubflows, clientAddress(2));
  assert.equal(s1!.backup.local, true);
  assert.equal(s2!.backup.local, false);
  assert.equal(b.server.counters.MPPrioRx, 1);
  assert.equal(on(r.serverSubflows, null, clientAddress(1))[0]!.backup.remote, true);
  // Before the MP_PRIO the initial subflow carried the first window; after it, almost nothing.
  assert.ok(s2!.bytesSent > 10 * s1!.bytesSent, `active ${s2!.bytesSent}, backup ${s1!.bytesSent}`);
});
