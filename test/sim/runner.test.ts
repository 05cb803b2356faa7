import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Simulator } from '../../src/sim/events.ts';
import { runScenario, UnsupportedScenarioError } from '../../src/sim/runner.ts';
import { parseScenario } from '../../src/sim/scenario.ts';
import { ScenarioError } from '../../src/sim/units.ts';
import { type AppEnv, type AppSocket, ByteChannel, FlowApp, PayloadSource } from '../../src/sim/workload.ts';
import { Rng } from '../../src/util/rng.ts';
import { DecodeError } from '../../src/wire/errors.ts';
import { PcapWriter, readCapture } from '../../src/wire/pcap.ts';

/** An in-memory connection end: bounded buffer, 1 ms one-way delay, an optional byte mangler. */
class Pipe implements AppSocket {
  peer!: Pipe;
  buffered = 0;
  ended = false;
  closed = false;
  onEstablished?: () => void;
  onData?: (bytes: Uint8Array) => void;
  onWritable?: () => void;
  onEnd?: () => void;
  onClose?: (reason: string | null) => void;
  private sentBytes = 0;

  constructor(
    private readonly sim: Simulator,
    private readonly capacity: number,
    private readonly mangle?: (offset: number, bytes: Uint8Array) => void,
  ) {}

  write(data: Uint8Array): number {
    const n = Math.min(data.length, this.capacity - this.buffered);
    if (n === 0) return 0;
    const copy = data.slice(0, n);
    this.mangle?.(this.sentBytes, copy);
    this.sentBytes += n;
    this.buffered += n;
    this.sim.after(1000, () => {
      this.buffered -= n;
      this.peer.onData?.(copy);
      this.onWritable?.();
    });
    return n;
  }

  end(): void {
    this.ended = true;
    this.sim.after(1000, () => {
      this.peer.onEnd?.();
      if (this.peer.ended) {
        this.closeBoth();
      }
    });
  }

  private closeBoth(): void {
    for (const p of [this, this.peer]) {
      if (!p.closed) {
        p.closed = true;
        p.onClose?.(null);
      }
    }
  }
}

function pair(sim: Simulator, capacity: number, mangleUp?: (offset: number, bytes: Uint8Array) => void) {
  const client = new Pipe(sim, capacity, mangleUp);
  const server = new Pipe(sim, capacity);
  client.peer = server;
  server.peer = client;
  return { client, server };
}

function runApp(
  workload: unknown,
  direction: 'upload' | 'download',
  opts: { capacity?: number; mangle?: (o: number, b: Uint8Array) => void; until?: number } = {},
) {
  const scenario = parseScenario({
    links: { l: { rate: '10Mbps' } },
    paths: { p: ['l'] },
    flows: [{ direction, workload }],
  });
  const sim = new Simulator(1);
  const env: AppEnv = { now: () => sim.now, after: (d, fn) => void sim.after(d, fn) };
  const app = new FlowApp(scenario.flows[0]!, env, new Rng(5));
  const { client, server } = pair(sim, opts.capacity ?? 10_000, opts.mangle);
  sim.at(0, () => {
    app.attachClient(client);
    app.attachServer(server);
    client.onEstablished?.();
  });
  sim.run(opts.until ?? 100_000_000, () => app.closed);
  return { app, sim };
}

describe('workload building blocks', () => {
  it('PayloadSource gives the same stream whatever the read sizes', () => {
    const a = new PayloadSource(new Rng(9));
    const b = new PayloadSource(new Rng(9));
    const take = (src: PayloadSource, sizes: number[]) => {
      const out: number[] = [];
      for (let s of sizes) {
        // peek never crosses a block boundary: read until the size is made up.
        while (s > 0) {
          const chunk = src.peek(s);
          for (const byte of chunk) out.push(byte);
          src.consume(chunk.length);
          s -= chunk.length;
        }
      }
      return out;
    };
    const x = take(a, [70_000, 70_000]);
    const y = take(b, [1, 65_535, 3, 1000, 73_461]);
    assert.equal(x.length, 140_000);
    assert.deepEqual(y.slice(0, 140_000), x);
    assert.notDeepEqual(take(new PayloadSource(new Rng(10)), [100]), x.slice(0, 100));
  });

  it('PayloadSource: after 1 MiB of fresh bytes, blocks are windows of them; a shifted stream still differs', () => {
    const src = new PayloadSource(new Rng(4));
    const blocks: Uint8Array[] = [];
    for (let i = 0; i < 40; i++) {
      const b = src.peek(65_536);
      assert.equal(b.length, 65_536);
      blocks.push(b);
      src.consume(b.length);
    }
    const fresh = Buffer.concat(blocks.slice(0, 16));
    const ring = Buffer.concat([fresh, fresh]);
    for (const b of blocks.slice(16)) {
      assert.ok(ring.indexOf(Buffer.from(b.subarray(0, 64))) >= 0, 'a window of the first 1 MiB');
    }
    // Bytes delivered at a wrong offset (by a byte, a segment, a block, the pool) differ from those written.
    const stream = Buffer.concat(blocks);
    for (const d of [1, 8, 1448, 65_536 - 1448, 65_536, 1_048_576]) {
      let same = 0;
      for (let o = 0; o + d + 32 <= stream.length; o += 997)
        if (stream.compare(stream, o + d, o + d + 32, o, o + 32) === 0) same++;
      assert.equal(same, 0, `shift ${d}`);
    }
    const again = new PayloadSource(new Rng(4));
    for (let i = 0; i < 40; i++) {
      assert.deepEqual(again.peek(65_536), blocks[i]);
      again.consume(65_536);
    }
  });

  it('ByteChannel checks order and content across different chunkings', () => {
    const payload = new Rng(3).fill(new Uint8Array(10_000));
    const c = new ByteChannel();
    c.recordWrite(payload.subarray(0, 3000));
    c.recordWrite(payload.subarray(3000));
    c.recordDelivery(payload.subarray(0, 1));
    assert.equal(c.intact(), true);
    assert.equal(c.complete(), false);
    c.recordDelivery(payload.subarray(1, 7777));
    c.recordDelivery(payload.subarray(7777));
    assert.equal(c.complete(), true);

    const bad = new ByteChannel();
    bad.recordWrite(payload);
    const mangled = payload.slice();
    mangled[4321] ^= 0x10;
    bad.recordDelivery(mangled.subarray(0, 5000));
    assert.equal(bad.firstMismatch, 4321);
    assert.equal(bad.intact(), false);

    const swapped = new ByteChannel();
    swapped.recordWrite(payload);
    swapped.recordDelivery(payload.subarray(1448, 2896));
    assert.equal(swapped.intact(), false);

    const extra = new ByteChannel();
    extra.recordWrite(payload.subarray(0, 10));
    extra.recordDelivery(payload.subarray(0, 11));
    assert.equal(extra.firstMismatch, 10);
    assert.equal(extra.intact(), false);
  });
});

describe('FlowApp over an in-memory pipe', () => {
  it('bulk upload through a small buffer: every byte, in order, then both close', () => {
    const { app } = runApp({ bulk: '1MB' }, 'upload', { capacity: 1000 });
    assert.equal(app.payloadDelivered, 1_000_000);
    assert.equal(app.up.written, 1_000_000);
    assert.equal(app.completed, true);
    assert.equal(app.integrity, true);
    assert.equal(app.down.written, 0);
  });

  it('bulk download: the server sends, the client counts', () => {
    const { app } = runApp({ bulk: 123_457 }, 'download');
    assert.equal(app.payloadDelivered, 123_457);
    assert.equal(app.down.delivered, 123_457);
    assert.equal(app.completed, true);
  });

  it('a flipped byte on the way fails integrity and completion', () => {
    const { app } = runApp({ bulk: '200KB' }, 'upload', {
      mangle: (offset, bytes) => {
        if (offset <= 150_000 && 150_000 < offset + bytes.length) bytes[150_000 - offset] ^= 1;
      },
    });
    assert.equal(app.up.firstMismatch, 150_000);
    assert.equal(app.integrity, false);
    assert.equal(app.completed, false);
  });

  it('download requests: sizes cycled, one after another with the gap', () => {
    const { app } = runApp({ requests: { sizes: [5000, 20_000], count: 3, gap: '10ms' } }, 'download');
    assert.deepEqual(
      app.requests.map((r) => r.size),
      [5000, 20_000, 5000],
    );
    // 1 ms each way and a 10 000-byte buffer: 5000 B take one round trip; 20 000 B go in two halves, the
    // second written when the first has left (1 ms later).
    assert.deepEqual(
      app.requests.map((r) => r.fctMs),
      [2, 3, 2],
    );
    assert.deepEqual(
      app.requests.map((r) => r.startMs),
      [0, 12, 25],
    );
    assert.equal(app.payloadDelivered, 30_000);
    assert.equal(app.up.written, 24, 'three 8-byte requests');
    assert.equal(app.completed, true);
  });

  it('upload requests: the body goes up, an 8-byte answer comes back', () => {
    const { app } = runApp({ requests: { sizes: ['30KB'], count: 2 } }, 'upload');
    assert.equal(app.requests.length, 2);
    assert.equal(app.payloadDelivered, 60_000);
    assert.equal(app.up.written, 60_016);
    assert.equal(app.down.written, 16);
    assert.equal(app.completed, true);
  });

  it('stream: chunk every chunk/rate, rate changes on time, ends after its duration', () => {
    const { app, sim } = runApp(
      {
        stream: { rate: '1MB/s', chunk: '100KB', duration: '1s', changes: [{ at: '500ms', rate: '2MB/s' }] },
      },
      'upload',
      { capacity: 1_000_000 },
    );
    // 5 chunks at 100 ms, then 10 at 50 ms.
    assert.equal(app.payloadDelivered, 1_500_000);
    assert.equal(app.completed, true);
    assert.ok(sim.now >= 1_000_000 && sim.now < 1_010_000, `closed at ${sim.now}`);
  });

  it('bulk forever never finishes', () => {
    const { app, sim } = runApp({ bulk: 'forever' }, 'upload', { until: 50_000 });
    assert.equal(sim.now, 50_000);
    assert.equal(app.completed, false);
    assert.equal(app.integrity, true);
    assert.ok(app.payloadDelivered > 0);
  });
});

const base = (flows: unknown[], extra: Record<string, unknown> = {}) =>
  parseScenario({
    seed: 3,
    until: '20s',
    sample: '100ms',
    links: { l: { rate: '20Mbps', delay: '10ms', queue: '100pkt' }, m: { rate: '10Mbps', delay: '5ms' } },
    paths: { p: ['l'], q: ['m'] },
    flows,
    ...extra,
  });

/** Bytes over the timeline: Σ Mbit/s × interval. */
function timelineBytes(
  points: { t: number; goodputMbps: number }[],
  pick = (p: { goodputMbps: number }) => p.goodputMbps,
) {
  let prev = 0;
  let bits = 0;
  for (const p of points) {
    bits += pick(p as never) * 1e6 * (p.t - prev);
    prev = p.t;
  }
  return bits / 8;
}

describe('runScenario over the TCP engine', () => {
  it('a bulk upload completes, with exact subflow identity and consistent time series', () => {
    const r = runScenario(base([{ name: 'up', protocol: 'tcp', cc: 'cubic', workload: { bulk: '2MB' } }]));
    assert.equal(r.scenario, 'scenario');
    assert.equal(r.seed, 3);
    const f = r.flows[0]!;
    assert.equal(f.completed, true);
    assert.equal(f.integrity, true);
    assert.equal(f.fallback, false);
    assert.equal(f.bytesDelivered, 2_000_000);
    // At least the serialisation of 2 MB at 20 Mbit/s (payload share 1448/1500) plus the handshake RTT.
    const floorMs = ((2_000_000 * 8 * 1500) / 1448 / 20e6) * 1000 + 20;
    assert.ok(f.completionMs! > floorMs && f.completionMs! < 3 * floorMs, `completion ${f.completionMs} ms`);
    assert.equal(f.goodputMbps, Number(((2_000_000 * 8) / (f.completionMs! * 1000)).toFixed(3)));
    const s = f.subflows[0]!;
    assert.deepEqual(
      {
        id: s.id,
        path: s.path,
        local: s.local,
        remote: s.remote,
        backup: s.backup,
        established: s.established,
      },
      {
        id: 1,
        path: 'p',
        local: '10.0.1.1:40001',
        remote: '10.1.0.1:45000',
        backup: false,
        established: true,
      },
    );
    assert.equal(s.closedReason, null);
    assert.equal(s.mss, 1448);
    assert.ok(
      s.bytesSent >= 2_000_000 && s.bytesSent - s.bytesRetransmitted === 2_000_000,
      `sent ${s.bytesSent}`,
    );
    assert.ok(s.srttMs >= 20 && s.srttMs < 80, `srtt ${s.srttMs}`);
    // The run stops once the flow is done, long before `until`.
    assert.ok(r.simulatedMs < 5000 && r.simulatedMs >= f.completionMs!, `stopped at ${r.simulatedMs}`);
    assert.deepEqual(
      f.timeline.slice(0, 3).map((p) => p.t),
      [0.1, 0.2, 0.3],
    );
    assert.ok(Math.abs(f.timeline.at(-1)!.t - r.simulatedMs / 1000) < 1e-6, 'the last sample ends the run');
    assert.ok(Math.abs(timelineBytes(f.timeline) - 2_000_000) < 2000);
    const sent = timelineBytes(
      f.timeline,
      (p) => (p as unknown as { perPathMbps: { p: number } }).perPathMbps.p,
    );
    assert.ok(Math.abs(sent - s.bytesSent) < 2000, `per-path bytes ${sent} vs sent ${s.bytesSent}`);
    assert.deepEqual(Object.keys(f.timeline[0]!.perPathMbps), ['p']);
  });

  it('download requests run one after another on one connection', () => {
    const r = runScenario(
      base([
        {
          name: 'web',
          protocol: 'tcp',
          paths: ['q'],
          direction: 'download',
          start: '1s',
          workload: { requests: { sizes: ['10KB', '200KB'], count: 4, gap: '50ms' } },
        },
      ]),
    );
    const f = r.flows[0]!;
    assert.equal(f.completed, true);
    assert.equal(f.bytesDelivered, 420_000);
    assert.deepEqual(
      f.requests.map((q) => q.size),
      [10_000, 200_000, 10_000, 200_000],
    );
    assert.equal(f.subflows[0]!.local, '10.0.2.1:40001');
    // The first request leaves when the handshake completes (one 10 ms RTT after 1 s); each takes at least an RTT.
    assert.ok(
      f.requests[0]!.startMs >= 1010 && f.requests[0]!.startMs < 1020,
      `first at ${f.requests[0]!.startMs}`,
    );
    for (let i = 0; i < 4; i++) {
      const q = f.requests[i]!;
      assert.ok(q.fctMs! >= 10, `request ${i}: ${q.fctMs} ms`);
      if (i > 0) {
        const prev = f.requests[i - 1]!;
        assert.ok(
          Math.abs(q.startMs - (prev.startMs + prev.fctMs! + 50)) < 0.01,
          `request ${i} starts after the gap`,
        );
      }
    }
    // 200 KB at 10 Mbit/s takes at least 160 ms.
    assert.ok(f.requests[1]!.fctMs! > 160);
    assert.ok(f.timeline.filter((p) => p.t <= 1).every((p) => p.goodputMbps === 0));
  });

  it('a link down stops the flow, which recovers when it is back; the run ends at `until`', () => {
    const r = runScenario(
      base([{ name: 'x', protocol: 'tcp', workload: { bulk: 'forever' } }], {
        until: '8s',
        timeline: [
          { at: '2s', link: 'l', set: { up: false } },
          { at: '4s', link: 'l', set: { up: true } },
        ],
      }),
    );
    const f = r.flows[0]!;
    assert.equal(r.simulatedMs, 8000);
    assert.equal(f.completed, false);
    assert.equal(f.completionMs, null);
    assert.equal(f.integrity, true);
    const at = (lo: number, hi: number) => f.timeline.filter((p) => p.t > lo && p.t <= hi);
    assert.ok(
      at(2.1, 4).every((p) => p.goodputMbps === 0),
      'nothing delivered while down',
    );
    // Only the backed-off retransmission timeouts still send (one segment each) into the dead link.
    const probes = at(2.1, 4).filter((p) => p.perPathMbps.p > 0);
    assert.ok(probes.length >= 2 && probes.length <= 5, `${probes.length} timeouts`);
    assert.ok(probes.every((p) => p.perPathMbps.p < 0.2));
    assert.ok(
      at(1, 2).every((p) => p.goodputMbps > 15),
      'full speed before',
    );
    assert.ok(
      at(6, 8).some((p) => p.goodputMbps > 15),
      'back to full speed after',
    );
    assert.equal(f.goodputMbps, Number(((f.bytesDelivered * 8) / 8e6).toFixed(3)));
  });

  it('an interface going down drops the path until it comes back', () => {
    const r = runScenario(
      base(
        [{ name: 'x', protocol: 'tcp', paths: ['q'], direction: 'download', workload: { bulk: 'forever' } }],
        {
          until: '6s',
          timeline: [
            { at: '1s', path: 'q', set: { interface: 'down' } },
            { at: '3s', path: 'q', set: { interface: 'up' } },
          ],
        },
      ),
    );
    const f = r.flows[0]!;
    const window = f.timeline.filter((p) => p.t > 1.1 && p.t <= 3);
    assert.ok(window.every((p) => p.goodputMbps === 0));
    assert.ok(f.timeline.filter((p) => p.t > 5).some((p) => p.goodputMbps > 5));
  });

  it('captures every packet when asked', () => {
    const writer = new PcapWriter();
    const r = runScenario(base([{ protocol: 'tcp', workload: { bulk: '100KB' } }]), { capture: writer });
    assert.equal(r.flows[0]!.completed, true);
    const cap = readCapture(writer.toBytes());
    assert.ok(!(cap instanceof DecodeError));
    const first = cap.records[0]!.data;
    assert.equal(first[0]! >>> 4, 4, 'raw IPv4');
    assert.deepEqual([...first.subarray(12, 16)], [10, 0, 1, 1]);
    assert.ok(cap.records.length > 70, `${cap.records.length} packets`);
  });

  it('a seed option replaces the scenario seed', () => {
    const s = base([{ protocol: 'tcp', workload: { bulk: '100KB' } }]);
    assert.equal(runScenario(s, { seed: 99 }).seed, 99);
  });

  it('applies per-flow engine settings to both ends of MPTCP and TCP flows', () => {
    const s = base([
      { name: 'mp', protocol: 'mptcp', paths: ['p'], workload: { bulk: '300KB' } },
      { name: 'tcp', protocol: 'tcp', paths: ['p'], start: '5s', workload: { bulk: '300KB' } },
    ]);
    const plain = runScenario(s);
    // The client's send MSS shows its own setting (less timestamps, 12, and on a subflow the DSS, 28); the
    // server's receive buffer, which only the receiving end of an upload uses, shows that the server got them.
    const small = { rcvBuf: 8192, rcvBufMax: 8192, autotune: false };
    const r = runScenario(s, {
      engine: {
        mp: { mptcp: { rcvBuf: 8192, rcvBufMax: 8192, tcp: { ...small, mss: 1000 } } },
        tcp: { tcp: small },
      },
    });
    assert.equal(r.flows[0]!.subflows[0]!.mss, 1000 - 40);
    for (const [i, f] of r.flows.entries()) {
      assert.ok(f.completed && f.integrity, f.name);
      const [was, now] = [plain.flows[i]!.completionMs!, f.completionMs!];
      // 300 KB through an 8 KB window at 20 ms RTT: about 37 round trips instead of a few.
      assert.ok(now > 3 * was, `${f.name}: ${now} ms with the small server buffer, ${was} ms without`);
    }
  });

  it('refuses engine settings for no flow, of the wrong kind, or for what the scenario sets', () => {
    const s = base([
      { name: 'mp', protocol: 'mptcp', workload: { bulk: '1KB' } },
      { name: 'tcp', protocol: 'tcp', workload: { bulk: '1KB' } },
    ]);
    const refused = (engine: Record<string, unknown>, path: string) =>
      assert.throws(
        () => runScenario(s, { engine: engine as never }),
        (e: unknown) => e instanceof ScenarioError && e.path === path,
        path,
      );
    refused({ nobody: {} }, 'options.engine.nobody');
    refused({ mp: { tcp: { mss: 1000 } } }, 'options.engine.mp.tcp');
    refused({ tcp: { mptcp: {} } }, 'options.engine.tcp.mptcp');
    refused({ mp: { mptcp: { scheduler: 'roundrobin' } } }, 'options.engine.mp.mptcp.scheduler');
    refused({ mp: { mptcp: { tcp: { ccFactory: () => null } } } }, 'options.engine.mp.mptcp.tcp.ccFactory');
    refused({ tcp: { tcp: { cc: 'reno' } } }, 'options.engine.tcp.tcp.cc');
  });

  it('refuses a ProgMP scheduler file the caller did not read, naming the field', () => {
    const s = base([
      { protocol: 'mptcp', scheduler: { progmp: 'missing.progmp' }, workload: { bulk: '1MB' } },
    ]);
    assert.throws(
      () => runScenario(s),
      (e: unknown) =>
        e instanceof UnsupportedScenarioError &&
        e instanceof ScenarioError &&
        e.path === 'flows[0].scheduler' &&
        /missing\.progmp was not read/.test(e.message),
    );
  });
});
