import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PathManager } from '../../src/mptcp/connection.ts';
import { checkEndpoints, checkLimits, parseIpMptcp } from '../../src/pm/endpoint-config.ts';
import { type EndpointsOptions, endpointsManager } from '../../src/pm/endpoints.ts';
import { PathManagerError } from '../../src/pm/errors.ts';
import { MS } from '../../src/util/time.ts';
import { assertDelivered, clientAddress, on, pmBed, run, serverAddress } from './bed.ts';

const cli = (opts: EndpointsOptions): PathManager => endpointsManager(opts);
const srv = (opts: EndpointsOptions) => () => endpointsManager(opts);
/** The test bed's routing in the testbed's `--pm server` mode: server address K is reached over path K. */
const route = (remote: string) => clientAddress(Number(remote.split('.')[3]));
const wide = { subflows: 8, addAddrAccepted: 8 };

test('subflow endpoints: one subflow from each toward the peer initial address, each carrying data', () => {
  const b = pmBed(31, [{}, {}, {}]);
  const r = run(b, 9_000_000, {
    clientPm: cli({
      endpoints: [
        { address: clientAddress(2), id: 2, flags: ['subflow'] },
        { address: clientAddress(3), id: 3, flags: ['subflow'] },
      ],
    }),
    serverPm: srv({ endpoints: [], limits: wide }),
  });
  assertDelivered(r);
  assert.equal(r.clientSubflows.length, 3);
  for (const k of [1, 2, 3]) {
    const [s] = on(r.clientSubflows, clientAddress(k), serverAddress(1));
    assert.ok(s && s.bytesSent > 1_000_000, `path ${k} sent ${s?.bytesSent}`);
    // The endpoint id is the address id on the wire (0 for the initial subflow's address).
    assert.equal(s.addressId, k === 1 ? 0 : k);
    if (k > 1) assert.equal(on(r.serverSubflows, null, clientAddress(k))[0]!.remoteAddressId, k);
  }
});

test('the subflows limit (Linux default 2) caps the subflows created from endpoints', () => {
  const b = pmBed(32, [{}, {}, {}, {}]);
  const r = run(b, 6_000_000, {
    clientPm: cli({
      endpoints: [2, 3, 4].map((k) => ({ address: clientAddress(k), flags: ['subflow' as const] })),
    }),
    serverPm: srv({ endpoints: [], limits: wide }),
  });
  assertDelivered(r);
  assert.deepEqual(
    r.clientSubflows.map((s) => s.local.address),
    [clientAddress(1), clientAddress(2), clientAddress(3)],
  );
});

test('the server refuses joins beyond its subflows limit; the client retries them with backoff', () => {
  const b = pmBed(33, [{}, {}, {}]);
  const r = run(b, 20_000_000, {
    clientPm: cli({
      endpoints: [2, 3].map((k) => ({ address: clientAddress(k), flags: ['subflow' as const] })),
    }),
    serverPm: srv({ endpoints: [], limits: { subflows: 1 } }),
  });
  assertDelivered(r);
  assert.equal(r.serverSubflows.length, 2, 'initial + one join');
  const refused = b.server.counters.MPJoinRejected;
  const seconds = r.doneAt / 1e6;
  // 250 ms, 500 ms, then every rejoinMax (1 s): about 2 + (duration − 0.75 s) attempts.
  assert.ok(
    refused >= 2 && refused <= 2 + Math.ceil(seconds),
    `${refused} refusals in ${seconds.toFixed(2)} s`,
  );
  assert.ok(r.serverEvents.every((x) => x.e.type !== 'sub_established' || x.e.subflow <= 2));
});

test('signal endpoints: ADD_ADDR reaches the peer, which joins them when it accepts announcements', () => {
  const b = pmBed(34, [{}, {}, {}], { servers: 3 });
  const r = run(b, 9_000_000, {
    clientPm: cli({ endpoints: [], limits: wide, route }),
    serverPm: srv({
      endpoints: [
        { address: serverAddress(2), id: 2, flags: ['signal'] },
        { address: serverAddress(3), id: 3, flags: ['signal'] },
      ],
      limits: wide,
    }),
  });
  assertDelivered(r);
  const announced = r.clientEvents.flatMap((x) => (x.e.type === 'announced' ? [x.e] : []));
  assert.deepEqual(
    announced.map((e) => [e.addressId, e.address]),
    [
      [2, serverAddress(2)],
      [3, serverAddress(3)],
    ],
  );
  assert.equal(b.client.counters.AddAddr, 2);
  assert.equal(b.server.counters.EchoAdd, 2, 'both echoed');
  for (const k of [1, 2, 3]) {
    const [s] = on(r.clientSubflows, clientAddress(k), serverAddress(k));
    assert.ok(s && s.bytesSent > 1_000_000, `path ${k} sent ${s?.bytesSent}`);
  }
  assert.equal(r.clientSubflows.length, 3);
});

test('signal and subflow endpoints together give the five subflows of the testbed `--pm both` mode', () => {
  const b = pmBed(35, [{}, {}, {}], { servers: 3 });
  const r = run(b, 6_000_000, {
    clientPm: cli({
      endpoints: [2, 3].map((k) => ({ address: clientAddress(k), id: k, flags: ['subflow' as const] })),
      limits: wide,
      route,
    }),
    serverPm: srv({
      endpoints: [2, 3].map((k) => ({ address: serverAddress(k), id: k, flags: ['signal' as const] })),
      limits: wide,
    }),
  });
  assertDelivered(r);
  const pairs = r.clientSubflows.map((s) => `${s.local.address}>${s.remote.address}`).sort();
  assert.deepEqual(pairs, [
    `${clientAddress(1)}>${serverAddress(1)}`,
    `${clientAddress(2)}>${serverAddress(1)}`,
    `${clientAddress(2)}>${serverAddress(2)}`,
    `${clientAddress(3)}>${serverAddress(1)}`,
    `${clientAddress(3)}>${serverAddress(3)}`,
  ]);
});

test('add_addr_accepted: 0 (the default) only echoes; 1 joins the first announced address only', () => {
  for (const accept of [0, 1]) {
    const b = pmBed(36, [{}, {}, {}], { servers: 3 });
    const r = run(b, 2_000_000, {
      clientPm: cli({ endpoints: [], limits: { addAddrAccepted: accept }, route }),
      serverPm: srv({
        endpoints: [2, 3].map((k) => ({ address: serverAddress(k), flags: ['signal' as const] })),
        limits: wide,
      }),
    });
    assertDelivered(r);
    assert.equal(b.client.counters.AddAddr, 2, 'both announcements arrived');
    assert.equal(b.server.counters.EchoAdd, 2, 'and were echoed');
    const remotes = r.clientSubflows.map((s) => s.remote.address);
    assert.deepEqual(remotes, accept === 0 ? [serverAddress(1)] : [serverAddress(1), serverAddress(2)]);
  }
});

test('fullmesh endpoints: subflows to the initial address and to every accepted announcement', () => {
  const b = pmBed(37, [{}, {}], { servers: 2 });
  const r = run(b, 4_000_000, {
    clientPm: cli({
      endpoints: [{ address: clientAddress(2), flags: ['subflow', 'fullmesh'] }],
      limits: wide,
    }),
    serverPm: srv({ endpoints: [{ address: serverAddress(2), flags: ['signal'] }], limits: wide }),
  });
  assertDelivered(r);
  const pairs = r.clientSubflows.map((s) => `${s.local.address}>${s.remote.address}`);
  // The announced address is joined from the fullmesh endpoint only (not from the default route).
  assert.deepEqual(pairs, [
    `${clientAddress(1)}>${serverAddress(1)}`,
    `${clientAddress(2)}>${serverAddress(1)}`,
    `${clientAddress(2)}>${serverAddress(2)}`,
  ]);
});

test('backup endpoints: subflows from them and joins to them are backup on both sides', () => {
  const b = pmBed(38, [{}, {}, {}], { servers: 2 });
  const r = run(b, 3_000_000, {
    clientPm: cli({
      endpoints: [
        { address: clientAddress(1), flags: ['backup'] },
        { address: clientAddress(2), flags: ['subflow', 'backup'] },
        { address: clientAddress(3), flags: ['subflow'] },
      ],
      limits: wide,
      route,
    }),
    serverPm: srv({ endpoints: [{ address: serverAddress(2), flags: ['signal', 'backup'] }], limits: wide }),
  });
  assertDelivered(r);
  const local = (a: string, remote = serverAddress(1)) => on(r.clientSubflows, a, remote)[0]!.backup;
  assert.deepEqual(
    local(clientAddress(1)),
    { local: true, remote: false },
    'initial: MP_PRIO from the client',
  );
  assert.deepEqual(local(clientAddress(2)), { local: true, remote: false }, 'B bit in the MP_JOIN SYN');
  assert.deepEqual(local(clientAddress(3)), { local: false, remote: false });
  // The announced server address is backup: the server's SYN/ACK of the join to it has the B bit (as in
  // Linux), so no MP_PRIO is needed.
  assert.deepEqual(local(clientAddress(2), serverAddress(2)), { local: true, remote: true });
  assert.equal(b.client.counters.MPPrioRx, 0);
});

test('an endpoint subflow lost with its interface is re-created when the interface comes back', () => {
  const b = pmBed(39, [{}, {}]);
  const r = run(b, 12_000_000, {
    clientPm: cli({ endpoints: [{ address: clientAddress(2), id: 5, flags: ['subflow'] }] }),
    // Room for the replacement beside the server's copy of the lost subflow, which never hears of the loss.
    serverPm: srv({ endpoints: [], limits: { subflows: 2 } }),
    at: [
      [800 * MS, () => b.net.setInterface('p2', false)],
      [1600 * MS, () => b.net.setInterface('p2', true)],
    ],
  });
  assertDelivered(r);
  const p2 = on(r.clientSubflows, clientAddress(2));
  assert.equal(p2.length, 2);
  assert.equal(p2[0]!.closedReason, 'interface down');
  assert.equal(p2[1]!.addressId, 5, 'the endpoint id again');
  const back = r.clientEvents.find((x) => x.e.type === 'sub_established' && x.e.subflow === p2[1]!.id)!;
  assert.ok(back.at - 1600 * MS < 100 * MS, `back after ${(back.at - 1600 * MS) / MS} ms`);
  assert.ok(p2[1]!.bytesSent > 1_000_000, `replacement sent ${p2[1]!.bytesSent}`);
  assert.equal(b.clientHost.stats.timerStalls, 0);
});

test('at the join limit, a replacement joins once the server dropped its copy of the lost subflow (REMOVE_ADDR)', () => {
  // The server allows one join. The client's interface on p2 goes down: its subflow dies locally and the
  // client withdraws the address (REMOVE_ADDR on a pure ACK, even while it is busy sending), so the server
  // drops its copy at once and the replacement is accepted as soon as the interface returns.
  const b = pmBed(41, [{ rate: 2e6 }, { rate: 2e6 }]);
  const r = run(b, 3_000_000, {
    clientPm: cli({ endpoints: [{ address: clientAddress(2), flags: ['subflow'] }] }),
    serverPm: srv({ endpoints: [], limits: { subflows: 1 } }),
    at: [
      [800 * MS, () => b.net.setInterface('p2', false)],
      [1600 * MS, () => b.net.setInterface('p2', true)],
    ],
  });
  assertDelivered(r);
  const lost = r.serverEvents.find(
    (x) => x.e.type === 'sub_closed' && x.e.remote.startsWith(clientAddress(2)),
  )!;
  const back = r.clientEvents.find(
    (x) => x.e.type === 'sub_established' && x.e.local.startsWith(clientAddress(2)) && x.at > 1600 * MS,
  )!;
  assert.ok(lost.at > 800 * MS && lost.at < 1300 * MS, `server dropped its copy at ${lost.at / MS} ms`);
  assert.ok(back.at > 1600 * MS && back.at < 2700 * MS, `replacement at ${back.at / MS} ms`);
  assert.equal(b.server.counters.MPJoinRejected, 0, 'no join was refused');
  const sub = r.clientSubflows.find((s) => back.e.type === 'sub_established' && s.id === back.e.subflow)!;
  assert.ok(sub.bytesSent > 100_000, `replacement sent ${sub.bytesSent}`);
});

test('a signal address whose interface returns is announced again', () => {
  // The client announces its second address. (The server's joins toward it are refused: a client does not
  // listen; only the announcements matter here.)
  const b = pmBed(40, [{}, {}]);
  const r = run(b, 12_000_000, {
    clientPm: cli({ endpoints: [{ address: clientAddress(2), id: 7, flags: ['signal'] }] }),
    serverPm: srv({ endpoints: [], limits: wide }),
    at: [
      [800 * MS, () => b.net.setInterface('p2', false)],
      [1600 * MS, () => b.net.setInterface('p2', true)],
    ],
  });
  assertDelivered(r);
  const seen = r.serverEvents.flatMap((x) =>
    x.e.type === 'announced' || x.e.type === 'removed' ? [[x.e.type, x.e.addressId, x.at > 1600 * MS]] : [],
  );
  assert.deepEqual(seen, [
    ['announced', 7, false],
    ['removed', 7, false],
    ['announced', 7, true],
  ]);
  const again = r.serverEvents.filter((x) => x.e.type === 'announced')[1]!;
  assert.ok(again.at < 1700 * MS, `announced again at ${again.at / MS} ms`);
});

test('a short transfer over endpoint subflows ends cleanly when its DATA_FIN leaves before reinjections', () => {
  // Seed 31, 2 MB: the DATA_FIN goes out while data is in flight, then a timeout fills RQ (this stalled the
  // host timer until the connection's DATA_FIN deadline waited for RQ to drain).
  const b = pmBed(31, [{}, {}, {}]);
  const r = run(b, 2_000_000, {
    clientPm: cli({
      endpoints: [2, 3].map((k) => ({ address: clientAddress(k), id: k, flags: ['subflow' as const] })),
    }),
    serverPm: srv({ endpoints: [], limits: wide }),
  });
  assertDelivered(r);
  assert.equal(r.conn.closedReason, null);
});

test('endpoint configuration is checked as `ip mptcp` checks it', () => {
  const bad: [() => unknown, RegExp][] = [
    [() => checkEndpoints([{ address: '10.0.2.1', flags: ['signal', 'fullmesh'] }]), /signal and fullmesh/],
    [
      () =>
        checkEndpoints([
          { address: '10.0.2.1', id: 2, flags: [] },
          { address: '10.0.3.1', id: 2, flags: [] },
        ]),
      /id 2 is given twice/,
    ],
    [() => checkEndpoints([{ address: '10.0.2', flags: [] }]), /not an IPv4 or IPv6/],
    [
      () => checkEndpoints(Array.from({ length: 9 }, (_, i) => ({ address: `10.0.${i}.1`, flags: [] }))),
      /at most 8/,
    ],
    [() => checkLimits({ subflows: 9 }), /0\.\.8/],
    [() => parseIpMptcp('ip mptcp endpoint add 10.0.2.1 port 4000 signal'), /unsupported word "port"/],
  ];
  for (const [f, re] of bad)
    assert.throws(f, (e: unknown) => e instanceof PathManagerError && re.test(e.message));
  // Ids left out take the lowest free ones.
  assert.deepEqual(
    checkEndpoints([
      { address: '10.0.2.1', flags: [] },
      { address: '10.0.3.1', id: 1, flags: [] },
      { address: '10.0.4.1', flags: [] },
    ]).map((e) => e.id),
    [2, 1, 3],
  );
});

test('the testbed scripts configuration reads as endpoints and limits', () => {
  const cfg = parseIpMptcp(`
    # testbed --pm both, client side
    ip mptcp limits set subflows 8 add_addr_accepted 8
    ip mptcp endpoint add 10.0.2.1 dev eth2 id 2 subflow
    ip mptcp endpoint add 10.0.3.1 dev eth3 id 3 subflow backup
  `);
  assert.deepEqual(cfg, {
    limits: { subflows: 8, addAddrAccepted: 8 },
    endpoints: [
      { address: '10.0.2.1', id: 2, flags: ['subflow'] },
      { address: '10.0.3.1', id: 3, flags: ['subflow', 'backup'] },
    ],
  });
});
