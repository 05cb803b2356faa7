import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { Simulator } from '../../src/sim/events.ts';
import { Network } from '../../src/sim/network.ts';
import type { OutSegment, SegmentStack } from '../../src/stack.ts';
import { TcpEndpoint } from '../../src/tcp/endpoint.ts';
import { Rng } from '../../src/util/rng.ts';
import { MS, SECOND } from '../../src/util/time.ts';
import { parseIpv4 } from '../../src/wire/address.ts';
import { DecodeError } from '../../src/wire/errors.ts';
import { decodeIpv4 } from '../../src/wire/ip.ts';
import { LinkType } from '../../src/wire/link.ts';
import { CapableFlag } from '../../src/wire/mptcp-types.ts';
import { PcapWriter, readCapture } from '../../src/wire/pcap.ts';
import { decodeTcp, encodeTcp, TcpFlag, type TcpOption } from '../../src/wire/tcp.ts';
import { MALFORMED_OR_BAD_CHECKSUM, TSHARK, tshark, tsharkExpert } from '../support/tshark.ts';

const CLIENT = '10.0.1.1';
const SERVER = '10.1.1.1';

/**
 * One side of a scripted TCP exchange with consistent sequence numbers: the client connects, sends `chunks`
 * segments of 1000 bytes and closes; the server acknowledges each and closes too.
 */
class ScriptedTcp implements SegmentStack {
  private readonly queue: OutSegment[] = [];
  private snd: number;
  private rcv = 0;
  private readonly addrs: { src: Uint8Array; dst: Uint8Array };

  constructor(
    private readonly local: string,
    private readonly remote: string,
    private readonly ports: [number, number],
    iss: number,
    private readonly chunks: number,
    private readonly mptcp: boolean,
  ) {
    this.snd = iss;
    this.addrs = { src: parseIpv4(local) as Uint8Array, dst: parseIpv4(remote) as Uint8Array };
  }

  connect(): void {
    this.send(TcpFlag.SYN, 0, this.synOptions());
    this.snd++;
  }

  private synOptions(): TcpOption[] {
    const o: TcpOption[] = [
      { kind: 'mss', mss: 1460 },
      { kind: 'sackPermitted' },
      { kind: 'timestamp', tsval: 1, tsecr: 0 },
      { kind: 'nop' },
      { kind: 'wscale', shift: 7 },
    ];
    if (this.mptcp)
      o.push({ kind: 'mptcp', mptcp: { subtype: 'MP_CAPABLE', version: 1, flags: CapableFlag.H } });
    return o;
  }

  private send(flags: number, payload: number, options: TcpOption[] = []): void {
    const data = new Uint8Array(payload);
    for (let i = 0; i < payload; i++) data[i] = 0x41 + (i % 26);
    const segment = encodeTcp(
      {
        srcPort: this.ports[0],
        dstPort: this.ports[1],
        seq: this.snd,
        ack: flags & TcpFlag.ACK ? this.rcv : 0,
        flags,
        reserved: 0,
        window: 1024,
        checksum: 0,
        urgent: 0,
        options,
      },
      data,
      this.addrs,
    );
    this.queue.push({ src: this.local, dst: this.remote, segment });
  }

  receive(_now: number, _src: string, _dst: string, bytes: Uint8Array): void {
    const s = decodeTcp(bytes);
    if (s instanceof DecodeError) return;
    const syn = (s.flags & TcpFlag.SYN) !== 0;
    const fin = (s.flags & TcpFlag.FIN) !== 0;
    this.rcv = (s.seq + s.payload.length + (syn ? 1 : 0) + (fin ? 1 : 0)) >>> 0;
    if (syn && !(s.flags & TcpFlag.ACK)) {
      // Server: answer the SYN.
      this.send(TcpFlag.SYN | TcpFlag.ACK, 0, this.synOptions());
      this.snd++;
    } else if (syn) {
      // Client: complete the handshake, send the data, then close.
      this.send(TcpFlag.ACK, 0);
      for (let i = 0; i < this.chunks; i++) {
        this.send(TcpFlag.ACK | TcpFlag.PSH, 1000);
        this.snd += 1000;
      }
      this.send(TcpFlag.FIN | TcpFlag.ACK, 0);
      this.snd++;
    } else if (fin && this.chunks === 0) {
      // Server: acknowledge and close in one segment.
      this.send(TcpFlag.FIN | TcpFlag.ACK, 0);
      this.snd++;
    } else if (s.payload.length > 0 || fin) this.send(TcpFlag.ACK, 0);
  }

  poll(): OutSegment | null {
    return this.queue.shift() ?? null;
  }
  nextDeadline(): number | null {
    return null;
  }
  onTimer(): void {}
}

function transfer(opts: { corrupt?: number; strip?: boolean; mptcp?: boolean } = {}) {
  const sim = new Simulator(4);
  const net = new Network(sim);
  net.addLink('access', { rate: 20_000_000, delay: 5 * MS, corrupt: opts.corrupt ?? 0 });
  net.addLink('core', { rate: 100_000_000, delay: 2 * MS, stripMptcpOptions: opts.strip ?? false });
  net.addPath('p1', ['access', 'core'], CLIENT);
  const path = new PcapWriter(LinkType.RAW);
  const core = new PcapWriter(LinkType.RAW);
  const access = new PcapWriter(LinkType.RAW);
  net.capture(path, { path: 'p1' });
  net.capture(core, { link: 'core' });
  net.capture(access, { link: 'access' });
  const client = new ScriptedTcp(CLIENT, SERVER, [45050, 45051], 1000, 40, opts.mptcp ?? false);
  const server = new ScriptedTcp(SERVER, CLIENT, [45051, 45050], 900_000, 0, opts.mptcp ?? false);
  const ch = net.addHost('client', [CLIENT]);
  net.addHost('server', [SERVER]).attach(server);
  ch.attach(client);
  client.connect();
  ch.wake();
  sim.run(2000 * MS);
  return { net, path, core, access };
}

/** Frame numbers of the packets that carry an MPTCP option, as tshark decodes them. */
const mptcpFrames = (bytes: Uint8Array) =>
  tshark(bytes, ['-Y', 'tcp.option_kind == 30', '-T', 'fields', '-e', 'frame.number']).trim().split(/\s+/);

test('a capture of a path holds every packet, in both directions, stamped when it entered the path', () => {
  const { path, core } = transfer();
  const c = readCapture(path.toBytes());
  assert.ok(!(c instanceof DecodeError));
  assert.equal(c.records[0]!.linkType, LinkType.RAW);
  // Client: SYN, ACK, 40 data segments, FIN, the last ACK. Server: SYN-ACK, 40 ACKs, FIN-ACK.
  const dirs = c.records.map((r) => {
    const ip = decodeIpv4(r.data);
    assert.ok(!(ip instanceof DecodeError));
    return ip.src[3] === 1 && ip.src[1] === 0 ? 'up' : 'down';
  });
  assert.equal(dirs.filter((d) => d === 'up').length, 2 + 40 + 2);
  assert.equal(dirs.filter((d) => d === 'down').length, 1 + 40 + 1);
  assert.equal(c.records[0]!.timeUs, 0);
  // The SYN-ACK enters the path at the server when the SYN arrives: 7 ms plus serialisation of 60 bytes.
  assert.equal(c.records[1]!.timeUs, 7 * MS + 24 + 5);
  for (let i = 1; i < c.records.length; i++) assert.ok(c.records[i]!.timeUs >= c.records[i - 1]!.timeUs);
  // The core link sees the same packets, later.
  assert.equal(core.count, path.count);
});

test('tshark finds no malformed packets and no bad checksums in a simulated transfer', (t) => {
  if (!existsSync(TSHARK)) {
    t.skip(`${TSHARK} is not installed`);
    return;
  }
  const { path, core, access } = transfer({ mptcp: true, strip: true });
  for (const w of [path, core, access]) {
    const report = tsharkExpert(w.toBytes());
    assert.doesNotMatch(report, MALFORMED_OR_BAD_CHECKSUM, report);
  }
  // The core link strips MPTCP options: its capture (taken as packets enter it) still shows the SYN and the
  // SYN-ACK with MP_CAPABLE, but on the access link only the client's SYN has one: the SYN-ACK was stripped.
  assert.deepEqual(mptcpFrames(core.toBytes()), ['1', '2']);
  assert.deepEqual(mptcpFrames(access.toBytes()), ['1']);
});

test('tshark does flag the corrupted packets of a lossy link (the check can fail)', (t) => {
  if (!existsSync(TSHARK)) {
    t.skip(`${TSHARK} is not installed`);
    return;
  }
  const { core, net } = transfer({ corrupt: 0.2 });
  assert.ok(net.linkStats('access').up.corrupted > 0);
  const report = tsharkExpert(core.toBytes());
  assert.match(report, MALFORMED_OR_BAD_CHECKSUM, report);
});

/** A real TCP transfer (src/tcp/endpoint.ts) over a lossy, queue-limited path, captured at the path. */
function tcpTransfer(seed: number) {
  const sim = new Simulator(seed);
  const net = new Network(sim);
  net.addLink('access', { rate: 20_000_000, delay: 10 * MS, loss: 0.01, queue: { packets: 50 } });
  net.addLink('core', { rate: 100_000_000, delay: 2 * MS, jitter: 1 * MS });
  net.addPath('p1', ['access', 'core'], CLIENT);
  const pcap = new PcapWriter(LinkType.RAW);
  net.capture(pcap, { path: 'p1' });
  const ch = net.addHost('client', [CLIENT]);
  const sh = net.addHost('server', [SERVER]);
  const client = new TcpEndpoint({ rng: sim.rng.fork() });
  const server = new TcpEndpoint({ rng: sim.rng.fork() });
  const data = new Rng(seed).fill(new Uint8Array(300_000));
  const received: Uint8Array[] = [];
  let endedAt = -1;
  server.listen(45080, (conn) => {
    conn.onData = (b) => received.push(b.slice());
    conn.onEnd = () => {
      endedAt = sim.now;
      conn.end();
      sh.wake();
    };
  });
  ch.attach(client);
  sh.attach(server);
  const conn = client.connect(sim.now, { local: CLIENT, remote: SERVER, remotePort: 45080 });
  let written = 0;
  const pump = () => {
    while (written < data.length) {
      const n = conn.write(data.subarray(written));
      if (n === 0) return;
      written += n;
    }
    conn.end();
  };
  conn.onEstablished = pump;
  conn.onWritable = pump;
  ch.wake();
  sim.run(60 * SECOND);
  const sha = (chunks: Uint8Array[]) => {
    const h = createHash('sha256');
    for (const c of chunks) h.update(c);
    return h.digest('hex');
  };
  return { net, pcap, endedAt, intact: sha(received) === sha([data]), events: sim.eventsProcessed };
}

test('a real TCP transfer over a lossy path: every byte arrives, the capture is clean and reproducible', (t) => {
  const a = tcpTransfer(5);
  assert.ok(a.endedAt > 0, 'the server saw the FIN');
  assert.ok(a.intact, 'the bytes received hash to the bytes written');
  const st = a.net.linkStats('access').up;
  assert.ok(st.dropped.loss + st.dropped.queue > 0, 'the path dropped some packets: recovery was exercised');
  // The same seed gives the same capture, byte for byte.
  const b = tcpTransfer(5);
  assert.deepEqual(b.pcap.toBytes(), a.pcap.toBytes());
  assert.equal(b.events, a.events);
  if (!existsSync(TSHARK)) {
    t.skip(`${TSHARK} is not installed`);
    return;
  }
  const report = tsharkExpert(a.pcap.toBytes());
  assert.doesNotMatch(report, MALFORMED_OR_BAD_CHECKSUM, report);
  assert.match(report, /retransmission/, 'tshark saw the retransmissions');
});
