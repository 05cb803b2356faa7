import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Simulator } from '../../src/sim/events.ts';
import { parseScenario } from '../../src/sim/scenario.ts';
import { type AppEnv, type AppSocket, ByteChannel, FlowApp, PayloadSource } from '../../src/sim/workload.ts';
import { Rng } from '../../src/util/rng.ts';

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
