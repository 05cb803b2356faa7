import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { test } from 'node:test';
import { PatternVerifier } from '../../src/cli/pattern.ts';
import { connect, type MptcpEvent } from '../../src/index.ts';
import type { HostAddress } from '../../src/io/interfaces.ts';
import { udpAddonUnavailable } from '../../src/io/udp-native.ts';
import { LOOPBACK_PATHS, listen, within, writePattern } from '../api/support.ts';

/**
 * Registers the test twice: with the UDP addon's sockets (where it loads) and with node:dgram's, the two
 * datapaths of the UDP transport (chosen when a transport is created, here through MPTCP_TS_UDP_NATIVE).
 */
function bothPaths(name: string, opts: { timeout: number }, fn: () => Promise<void>): void {
  for (const native of [true, false]) {
    const why = native ? udpAddonUnavailable() : null;
    test(`${name} (${native ? 'addon' : 'node:dgram'})`, { ...opts, skip: why ?? false }, async () => {
      const before = process.env.MPTCP_TS_UDP_NATIVE;
      process.env.MPTCP_TS_UDP_NATIVE = native ? '1' : '0';
      try {
        await fn();
      } finally {
        if (before === undefined) delete process.env.MPTCP_TS_UDP_NATIVE;
        else process.env.MPTCP_TS_UDP_NATIVE = before;
      }
    });
  }
}

/** A host whose address list the test controls: 127.0.0.1/32 always, 127.0.0.2 while `second` is true. */
function fakeHost() {
  const state = { second: true };
  const addresses = (): HostAddress[] => [
    { address: '127.0.0.1', family: 4, prefix: 32, interface: 'lo', internal: true, linkLocal: false },
    ...(state.second
      ? [
          {
            address: '127.0.0.2',
            family: 4 as const,
            prefix: 32,
            interface: 'lo:1',
            internal: true,
            linkLocal: false,
          },
        ]
      : []),
  ];
  return { state, addresses };
}

bothPaths(
  'an address that disappears mid-transfer: its subflow fails over, the connection survives, and it returns',
  {
    timeout: 120_000,
  },
  async () => {
    const total = 30_000_000;
    const verifier = new PatternVerifier();
    const { server, port } = await listen((s) => {
      s.on('data', (d: Buffer) => verifier.update(d));
      s.on('end', () => s.end());
    });
    const host = fakeHost();
    const c = connect({
      port,
      host: '127.0.0.1',
      addresses: LOOPBACK_PATHS,
      transportOptions: { udp: { addresses: host.addresses, addressCheckInterval: 50 } },
    });
    const events: MptcpEvent[] = [];
    c.on('mptcp', (e: MptcpEvent) => events.push(e));
    await once(c, 'connect');
    c.resume();
    while (c.subflows().filter((s) => s.fullyEstablished).length < 2)
      await new Promise((r) => setTimeout(r, 20));
    const joinedOnSecond = () =>
      events.filter((e) => e.type === 'sub_established' && e.local.startsWith('127.0.0.2:')).length;
    // A third with both paths, a third after 127.0.0.2 vanished, and (once its subflow is back: a fast
    // transfer would otherwise end before the address check sees it) a third with both again.
    await writePattern(c, 0, total / 3);
    host.state.second = false;
    await writePattern(c, total / 3, (2 * total) / 3);
    host.state.second = true;
    const until = Date.now() + 20_000;
    while (joinedOnSecond() < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    await writePattern(c, (2 * total) / 3, total);
    c.end();
    await within(once(c, 'close'), 100_000, 'close');
    assert.ok(
      verifier.intact && verifier.bytes === total,
      `${verifier.bytes} bytes, intact ${verifier.intact}`,
    );
    const stats = c.transportStats;
    assert.equal(stats.addressDown, 1);
    assert.equal(stats.addressUp, 1);
    const down = c
      .subflows()
      .find((s) => s.local.address === '127.0.0.2' && s.closedReason === 'interface down');
    assert.ok(down, 'the subflow on the vanished address closed as interface down');
    assert.ok(joinedOnSecond() >= 2, 'a subflow on the address was established again when it came back');
    server.close();
  },
);

bothPaths(
  'a subflow whose local port cannot be bound fails at once (local RST); the connection goes on',
  {
    timeout: 60_000,
  },
  async () => {
    const { server, port } = await listen((s) => {
      s.resume();
      s.on('end', () => s.end());
    });
    const blocker = dgram.createSocket('udp4');
    blocker.bind(0, '127.0.0.2');
    await once(blocker, 'listening');
    const taken = blocker.address().port;
    const c = connect({ port, host: '127.0.0.1', addresses: ['127.0.0.1'], pathManager: 'passive' });
    await once(c, 'connect');
    const closed = new Promise<MptcpEvent>((resolve) =>
      c.on('mptcp', (e: MptcpEvent) => {
        if (e.type === 'sub_closed') resolve(e);
      }),
    );
    const t0 = performance.now();
    const id = c.openSubflow({ local: '127.0.0.2', localPort: taken });
    const e = await within(closed, 5000, 'sub_closed');
    assert.ok(performance.now() - t0 < 1000, 'failed without waiting for SYN retransmissions');
    assert.equal(e.type === 'sub_closed' && e.subflow, id);
    assert.equal(c.transportStats.bindFailures, 1);
    assert.equal(c.transportStats.localResets, 1);
    c.resume();
    c.end('still works');
    await once(c, 'close');
    blocker.close();
    server.close();
  },
);

bothPaths('datagrams that are not TCP-in-UDP are counted and dropped', { timeout: 30_000 }, async () => {
  let accepted = 0;
  const { server, port } = await listen((s) => {
    accepted++;
    s.resume();
    s.on('end', () => s.end());
  });
  const junk = dgram.createSocket('udp4');
  for (const b of [
    Buffer.alloc(3),
    Buffer.from([0x40, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    Buffer.alloc(100, 0xff),
  ])
    junk.send(b, port, '127.0.0.1');
  await new Promise((r) => setTimeout(r, 300));
  junk.close();
  assert.equal(server.transportStats.dropMalformed, 3);
  // The listener still works afterwards.
  const c = connect({ port, host: '127.0.0.1', addresses: ['127.0.0.1'] });
  await once(c, 'connect');
  while (accepted === 0) await new Promise((r) => setTimeout(r, 10));
  c.resume();
  c.end();
  await once(c, 'close');
  server.close();
});
