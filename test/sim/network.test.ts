import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Simulator } from '../../src/sim/events.ts';
import { stripMptcpOptions } from '../../src/sim/middlebox.ts';
import { Network, NetworkConfigError } from '../../src/sim/network.ts';
import type { OutSegment, SegmentStack } from '../../src/stack.ts';
import { Rng } from '../../src/util/rng.ts';
import { MS } from '../../src/util/time.ts';
import { parseIpv4 } from '../../src/wire/address.ts';
import { DecodeError } from '../../src/wire/errors.ts';
import { decodeIpv4, encodeIp, Ipv4Flag } from '../../src/wire/ip.ts';
import { CapableFlag } from '../../src/wire/mptcp-types.ts';
import {
  decodeTcp,
  encodeTcp,
  mptcpOptions,
  TcpFlag,
  type TcpOption,
  verifyTcpChecksum,
} from '../../src/wire/tcp.ts';

const CLIENT1 = '10.0.1.1';
const CLIENT2 = '10.0.2.1';
const SERVER = '10.1.1.1';

/** A stack that sends what the test queues and records what arrives. */
class Recorder implements SegmentStack {
  readonly out: OutSegment[] = [];
  readonly got: { time: number; src: string; dst: string; segment: Uint8Array; verified: boolean }[] = [];
  readonly addressEvents: string[] = [];
  receive(now: number, src: string, dst: string, segment: Uint8Array, checksumVerified = false): void {
    this.got.push({ time: now, src, dst, segment: segment.slice(), verified: checksumVerified });
  }
  poll(): OutSegment | null {
    return this.out.shift() ?? null;
  }
  nextDeadline(): number | null {
    return null;
  }
  onTimer(): void {}
  onAddressChange(now: number, address: string, up: boolean): void {
    this.addressEvents.push(`${now}:${address}:${up ? 'up' : 'down'}`);
  }
}

const bytesOf = (a: string) => parseIpv4(a) as Uint8Array;

function segment(
  src: string,
  dst: string,
  opts: { seq?: number; payload?: number; options?: TcpOption[] } = {},
) {
  return encodeTcp(
    {
      srcPort: 45001,
      dstPort: 45002,
      seq: opts.seq ?? 1,
      ack: 0,
      flags: TcpFlag.ACK,
      reserved: 0,
      window: 65535,
      checksum: 0,
      urgent: 0,
      options: opts.options ?? [],
    },
    new Uint8Array(opts.payload ?? 0).fill(0x61),
    { src: bytesOf(src), dst: bytesOf(dst) },
  );
}

/** Two paths sharing a core link, as in the scenario examples. */
function twoPaths(core: object = {}) {
  const sim = new Simulator(1);
  const net = new Network(sim);
  net.addLink('wifi', { delay: 10 * MS });
  net.addLink('lte', { delay: 40 * MS });
  net.addLink('core', { delay: 1 * MS, ...core });
  net.addPath('p1', ['wifi', 'core'], CLIENT1);
  net.addPath('p2', ['lte', 'core'], CLIENT2);
  const client = new Recorder();
  const server = new Recorder();
  const ch = net.addHost('client', [CLIENT1, CLIENT2]);
  const sh = net.addHost('server', [SERVER]);
  ch.attach(client);
  sh.attach(server);
  const send = (stack: Recorder, host: typeof ch, s: OutSegment) => {
    stack.out.push(s);
    host.wake();
  };
  return {
    sim,
    net,
    client,
    server,
    ch,
    sh,
    fromClient: (s: OutSegment) => send(client, ch, s),
    fromServer: (s: OutSegment) => send(server, sh, s),
  };
}

test('the client address picks the path: forward links up, reverse links down, in reverse order', () => {
  const { sim, net, client, server, fromClient, fromServer } = twoPaths();
  const seg = segment(CLIENT1, SERVER, { payload: 100 });
  fromClient({ src: CLIENT1, dst: SERVER, segment: seg });
  sim.run(100 * MS);
  assert.equal(server.got.length, 1);
  assert.equal(server.got[0]!.time, 11 * MS);
  assert.deepEqual(server.got[0]!.segment, seg);
  assert.equal(server.got[0]!.src, CLIENT1);
  assert.equal(server.got[0]!.dst, SERVER);
  // The bytes arrive as sent: the host vouches for the checksum (receive offload).
  assert.equal(server.got[0]!.verified, true);
  // The server answers the client's other address: that reply crosses core then lte.
  fromServer({ src: SERVER, dst: CLIENT2, segment: segment(SERVER, CLIENT2) });
  sim.run(200 * MS);
  assert.equal(client.got.length, 1);
  assert.equal(client.got[0]!.time, 100 * MS + 41 * MS);
  assert.equal(net.linkStats('wifi').up.delivered, 1);
  assert.equal(net.linkStats('core').up.delivered, 1);
  assert.equal(net.linkStats('core').down.delivered, 1);
  assert.equal(net.linkStats('lte').down.delivered, 1);
  assert.equal(net.linkStats('lte').up.sent, 0);
  assert.equal(net.linkStats('wifi').down.sent, 0);
  assert.equal(net.linkStats('wifi').up.bytes, 20 + 20 + 100);
});

test('hosts frame segments in IPv4: valid header checksum, TTL 64, DF, incrementing id, the given TOS', () => {
  const { sim, net, fromClient } = twoPaths();
  const seen: Uint8Array[] = [];
  net.tap((e) => {
    assert.equal(e.path, 'p1');
    assert.equal(e.direction, 'up');
    assert.equal(e.ipHeaderLength, 20);
    seen.push(e.packet);
  });
  for (let i = 0; i < 3; i++)
    fromClient({ src: CLIENT1, dst: SERVER, segment: segment(CLIENT1, SERVER, { seq: i }), tos: 0xb8 });
  sim.run(100 * MS);
  assert.equal(seen.length, 3);
  const ids = seen.map((p) => {
    const ip = decodeIpv4(p);
    assert.ok(!(ip instanceof DecodeError), String(ip));
    assert.equal(ip.ttl, 64);
    assert.equal(ip.flags, Ipv4Flag.DF);
    assert.equal(ip.protocol, 6);
    assert.equal((ip.dscp << 2) | ip.ecn, 0xb8);
    assert.equal(ip.totalLength, p.length);
    return ip.id;
  });
  assert.deepEqual(ids, [ids[0], ids[0]! + 1, ids[0]! + 2]);
});

test('a link shared by two paths is one bottleneck: both paths queue behind each other', () => {
  // 8 Mbit/s core: a 1000-byte packet takes 1 ms. Ten packets from each path arrive at core together.
  const { sim, net, server, fromClient } = twoPaths({ rate: 8_000_000, delay: 0 });
  net.setLink('lte', { delay: 10 * MS });
  for (let i = 0; i < 10; i++) {
    fromClient({ src: CLIENT1, dst: SERVER, segment: segment(CLIENT1, SERVER, { seq: i, payload: 960 }) });
    fromClient({ src: CLIENT2, dst: SERVER, segment: segment(CLIENT2, SERVER, { seq: i, payload: 960 }) });
  }
  sim.run(100 * MS);
  assert.equal(server.got.length, 20);
  // Served one at a time, alternating between the paths: the last leaves after 20 packet times.
  assert.deepEqual(
    server.got.map((g) => g.time),
    Array.from({ length: 20 }, (_, k) => 10 * MS + (k + 1) * MS),
  );
  assert.deepEqual(
    server.got.slice(0, 4).map((g) => g.src),
    [CLIENT1, CLIENT2, CLIENT1, CLIENT2],
  );
  assert.equal(net.linkStats('core').up.maxQueuePackets, 20);
});

test('interface down: the host is told, packets from and to the address are dropped until it is up', () => {
  const { sim, net, client, server, fromClient, fromServer } = twoPaths();
  sim.at(5 * MS, () => net.setInterface('p2', false));
  sim.at(6 * MS, () => {
    fromClient({ src: CLIENT2, dst: SERVER, segment: segment(CLIENT2, SERVER) });
    fromServer({ src: SERVER, dst: CLIENT2, segment: segment(SERVER, CLIENT2) });
    fromClient({ src: CLIENT1, dst: SERVER, segment: segment(CLIENT1, SERVER) });
  });
  sim.at(20 * MS, () => net.setInterface('p2', true));
  sim.at(21 * MS, () => fromClient({ src: CLIENT2, dst: SERVER, segment: segment(CLIENT2, SERVER) }));
  sim.run(200 * MS);
  assert.deepEqual(client.addressEvents, [`${5 * MS}:${CLIENT2}:down`, `${20 * MS}:${CLIENT2}:up`]);
  assert.equal(net.stats.interfaceDown, 2);
  assert.deepEqual(
    server.got.map((g) => [g.src, g.time]),
    [
      [CLIENT1, 17 * MS],
      [CLIENT2, 62 * MS],
    ],
  );
  assert.equal(client.got.length, 0);
  assert.equal(net.interfaceUp('p2'), true);
});

test('a packet in flight to an address whose interface went down is dropped on arrival', () => {
  const { sim, net, client, fromServer } = twoPaths();
  fromServer({ src: SERVER, dst: CLIENT2, segment: segment(SERVER, CLIENT2) });
  sim.at(20 * MS, () => net.setInterface('p2', false));
  sim.run(200 * MS);
  assert.equal(client.got.length, 0);
  assert.equal(net.stats.interfaceDown, 1);
});

test('unroutable packets, unknown destinations and foreign sources are counted, not sent', () => {
  const { sim, net, ch, sh, fromClient, fromServer } = twoPaths();
  fromServer({ src: SERVER, dst: '10.1.9.9', segment: segment(SERVER, '10.1.9.9') });
  fromClient({ src: CLIENT1, dst: '10.1.9.9', segment: segment(CLIENT1, '10.1.9.9') });
  fromClient({ src: '10.0.7.1', dst: SERVER, segment: segment('10.0.7.1', SERVER) });
  sim.run(100 * MS);
  assert.equal(net.stats.unroutable, 1);
  assert.equal(net.stats.noHost, 1);
  assert.equal(ch.stats.badSource, 1);
  assert.equal(sh.stats.sent, 1);
});

test('corruption: a header bit fails the IP checksum at the host, a segment bit fails the TCP checksum', () => {
  const { sim, net, server, sh, fromClient } = twoPaths();
  net.setLink('wifi', { corrupt: 1 });
  const n = 400;
  for (let i = 0; i < n; i++)
    fromClient({ src: CLIENT1, dst: SERVER, segment: segment(CLIENT1, SERVER, { seq: i, payload: 20 }) });
  sim.run(100 * MS);
  assert.equal(net.linkStats('wifi').up.corrupted, n);
  // 20 of the 60 bytes are IP header: about a third of the flips hit it.
  assert.ok(sh.stats.badIpHeader > n / 5 && sh.stats.badIpHeader < n / 2, `${sh.stats.badIpHeader}`);
  assert.equal(server.got.length + sh.stats.badIpHeader, n);
  for (const g of server.got) {
    assert.ok(!verifyTcpChecksum(bytesOf(g.src), bytesOf(g.dst), g.segment));
    // A corrupted packet is never vouched for: the stack sums it and drops it.
    assert.equal(g.verified, false);
  }
});

const mpCapable: TcpOption = {
  kind: 'mptcp',
  mptcp: { subtype: 'MP_CAPABLE', version: 1, flags: CapableFlag.H, senderKey: 0x0123456789abcdefn },
};

test('the middlebox turns kind-30 options into NOPs and the TCP checksum stays valid', () => {
  const { sim, net, server, fromClient } = twoPaths();
  net.setLink('core', { stripMptcpOptions: true });
  const layouts: TcpOption[][] = [
    [mpCapable],
    // An odd offset: NOP, then the MPTCP option, then a timestamp after it.
    [{ kind: 'nop' }, mpCapable, { kind: 'timestamp', tsval: 7, tsecr: 9 }],
    [{ kind: 'mss', mss: 1460 }, { kind: 'sackPermitted' }],
  ];
  for (const [i, options] of layouts.entries())
    fromClient({
      src: CLIENT1,
      dst: SERVER,
      segment: segment(CLIENT1, SERVER, { seq: i, payload: 33, options }),
    });
  sim.run(100 * MS);
  assert.equal(server.got.length, 3);
  for (const [i, g] of server.got.entries()) {
    assert.ok(verifyTcpChecksum(bytesOf(CLIENT1), bytesOf(SERVER), g.segment), `segment ${i}: bad checksum`);
    // Rewritten segments are summed again by the stack; the untouched third one is vouched for.
    assert.equal(g.verified, i === 2, `segment ${i}: verified`);
    const d = decodeTcp(g.segment);
    assert.ok(!(d instanceof DecodeError));
    assert.deepEqual(mptcpOptions(d), []);
    assert.equal(d.seq, i);
    assert.equal(d.payload.length, 33);
  }
  const second = decodeTcp(server.got[1]!.segment) as Exclude<ReturnType<typeof decodeTcp>, DecodeError>;
  assert.equal(second.options.filter((o) => o.kind === 'nop').length, 1 + 12);
  assert.deepEqual(
    second.options.find((o) => o.kind === 'timestamp'),
    { kind: 'timestamp', tsval: 7, tsecr: 9 },
  );
  // The third segment had no MPTCP option: untouched.
  const third = decodeTcp(server.got[2]!.segment) as Exclude<ReturnType<typeof decodeTcp>, DecodeError>;
  assert.deepEqual(third.options.slice(0, 2), [{ kind: 'mss', mss: 1460 }, { kind: 'sackPermitted' }]);
  assert.equal(net.linkStats('core').up.stripped, 2);
});

test('a link going down mid-path drops silently; the hosts are not told', () => {
  const { sim, net, client, server, fromClient } = twoPaths();
  sim.at(15 * MS, () => net.setLink('wifi', { up: false }));
  sim.at(16 * MS, () => fromClient({ src: CLIENT1, dst: SERVER, segment: segment(CLIENT1, SERVER) }));
  sim.at(30 * MS, () => net.setLink('wifi', { up: true }));
  sim.at(31 * MS, () => fromClient({ src: CLIENT1, dst: SERVER, segment: segment(CLIENT1, SERVER) }));
  sim.run(100 * MS);
  assert.deepEqual(
    server.got.map((g) => g.time),
    [42 * MS],
  );
  assert.equal(net.linkStats('wifi').up.dropped.down, 1);
  assert.deepEqual(client.addressEvents, []);
});

test('configuration mistakes throw NetworkConfigError with a hint', () => {
  const sim = new Simulator(1);
  const net = new Network(sim);
  net.addLink('a', {});
  assert.throws(() => net.addLink('a', {}), NetworkConfigError);
  assert.throws(() => net.addPath('p', ['a', 'nope'], CLIENT1), /no link 'nope'/);
  net.addPath('p', ['a'], CLIENT1);
  assert.throws(() => net.addPath('q', ['a'], CLIENT1), /already picks path 'p'/);
  net.addHost('h', [CLIENT1]);
  assert.throws(() => net.addHost('g', [CLIENT1]), /belongs to host 'h'/);
  assert.throws(() => net.setInterface('nope', false), /no path 'nope'/);
});

test('IPv6 addresses are framed in IPv6 and routed the same way', () => {
  const sim = new Simulator(1);
  const net = new Network(sim);
  net.addLink('l', { delay: 3 * MS });
  net.addPath('p', ['l'], '2001:db8::1');
  const client = new Recorder();
  const server = new Recorder();
  const ch = net.addHost('c', ['2001:db8::1']);
  ch.attach(client);
  const sh = net.addHost('s', ['2001:db8:1::1']);
  sh.attach(server);
  const v6 = (a: string) => {
    const b = new Uint8Array(16);
    b.set(a === '2001:db8::1' ? [0x20, 0x01, 0x0d, 0xb8] : [0x20, 0x01, 0x0d, 0xb8, 0, 1]);
    b[15] = 1;
    return b;
  };
  const seg = encodeTcp(
    {
      srcPort: 45010,
      dstPort: 45011,
      seq: 5,
      ack: 0,
      flags: TcpFlag.SYN,
      reserved: 0,
      window: 1000,
      checksum: 0,
      urgent: 0,
      options: [],
    },
    undefined,
    { src: v6('2001:db8::1'), dst: v6('2001:db8:1::1') },
  );
  const seen: number[] = [];
  net.tap((e) => seen.push(e.packet[0]! >>> 4, e.ipHeaderLength));
  client.out.push({ src: '2001:db8::1', dst: '2001:db8:1::1', segment: seg });
  ch.wake();
  sim.run(20 * MS);
  assert.deepEqual(seen, [6, 40]);
  assert.equal(server.got.length, 1);
  assert.equal(server.got[0]!.time, 3 * MS);
  assert.equal(server.got[0]!.src, '2001:db8::1');
  assert.ok(verifyTcpChecksum(v6('2001:db8::1'), v6('2001:db8:1::1'), server.got[0]!.segment));
});

test('the middlebox handles IPv6 and never throws on arbitrary bytes', () => {
  const src = new Uint8Array(16);
  const dst = new Uint8Array(16);
  src.set([0x20, 0x01, 0x0d, 0xb8]);
  dst.set([0x20, 0x01, 0x0d, 0xb8, 0, 1]);
  const tcp = encodeTcp(
    {
      srcPort: 45030,
      dstPort: 45031,
      seq: 1,
      ack: 0,
      flags: TcpFlag.SYN,
      reserved: 0,
      window: 100,
      checksum: 0,
      urgent: 0,
      options: [{ kind: 'nop' }, mpCapable],
    },
    undefined,
    { src, dst },
  );
  const packet = encodeIp(
    {
      version: 6,
      trafficClass: 0,
      flowLabel: 0,
      nextHeader: 6,
      hopLimit: 64,
      src,
      dst,
      extensions: new Uint8Array(0),
    },
    tcp,
  );
  const out = stripMptcpOptions(packet);
  assert.ok(out);
  const d = decodeTcp(out.subarray(40));
  assert.ok(!(d instanceof DecodeError));
  assert.deepEqual(mptcpOptions(d), []);
  assert.ok(verifyTcpChecksum(src, dst, out.subarray(40)));
  assert.equal(stripMptcpOptions(packet.subarray(0, 50)), null);
  const rng = new Rng(99);
  for (let i = 0; i < 20_000; i++) {
    const junk = rng.fill(new Uint8Array(rng.int(80)));
    if (junk.length > 0) junk[0] = (rng.chance(0.5) ? 0x45 : 0x60) | (junk[0]! & 0x0f);
    if (junk.length > 9) junk[9] = 6;
    if (junk.length > 6 && junk[0]! >>> 4 === 6) junk[6] = 6;
    stripMptcpOptions(junk);
  }
});

test('a capture sink learns which captured packets arrived: the links know what they dropped', () => {
  const { sim, net, server, fromClient } = twoPaths({ loss: 0.3 });
  const sent: Uint8Array[] = [];
  const arrived: { time: number; packet: Uint8Array }[] = [];
  const viaLte: Uint8Array[] = [];
  net.capture({
    add: (_t, p) => sent.push(p),
    arrived: (time, packet) => arrived.push({ time, packet }),
  });
  // A sink on another path's link hears of no arrival of this path's packets.
  net.capture({ add: () => {}, arrived: (_t, p) => viaLte.push(p) }, { link: 'lte' });
  for (let i = 0; i < 100; i++)
    fromClient({ src: CLIENT1, dst: SERVER, segment: segment(CLIENT1, SERVER, { seq: i }) });
  sim.run(100 * MS);
  assert.equal(sent.length, 100);
  assert.equal(arrived.length, server.got.length);
  assert.ok(arrived.length > 50 && arrived.length < 90, `${arrived.length} of 100 arrived at 30 % loss`);
  assert.equal(arrived.length, net.linkStats('core').up.delivered);
  // The very packets that were sent, in order, at their arrival time.
  let at = 0;
  for (const a of arrived) {
    const i = sent.indexOf(a.packet, at);
    assert.ok(i >= at, 'an arrival is one of the captured packets, in sending order');
    at = i + 1;
    assert.equal(a.time, 11 * MS);
  }
  assert.equal(viaLte.length, 0);
});
