/**
 * A small two-host network for the TCP tests, in virtual time: each direction has a one-way delay, an
 * optional rate with a drop-tail queue, and seeded loss, reordering and duplication, plus a scripted drop
 * hook and a tap. It drives the endpoints through receive/poll/nextDeadline/onTimer only.
 */
import type { OutSegment } from '../../src/stack.ts';
import type { TcpConfig } from '../../src/tcp/config.ts';
import type { TcpConnection } from '../../src/tcp/connection.ts';
import { TcpEndpoint } from '../../src/tcp/endpoint.ts';
import type { SubflowHook } from '../../src/tcp/hook.ts';
import { ParsedSegment, parseSegment } from '../../src/tcp/segment.ts';
import { Rng } from '../../src/util/rng.ts';
import { type Duration, type Instant, MS } from '../../src/util/time.ts';

export const A = '10.0.0.1';
export const B = '10.0.0.2';

export interface LinkOptions {
  delay: Duration;
  /** Bytes per second; 0 = no serialization delay. */
  rate?: number;
  /** Drop-tail queue bound in bytes (with rate). */
  queueBytes?: number;
  loss?: number;
  reorder?: number;
  reorderDelay?: Duration;
  duplicate?: number;
}

/** A segment seen on a link: parsed header fields and the raw bytes. */
export interface Seen {
  at: Instant;
  dir: 'ab' | 'ba';
  /** Count of segments offered to this link so far, starting at 1. */
  n: number;
  p: ParsedSegment;
  bytes: Uint8Array;
}

interface Ev {
  at: Instant;
  order: number;
  to: TcpEndpoint;
  src: string;
  dst: string;
  seg: Uint8Array;
}

class Link {
  freeAt = 0;
  count = 0;
  constructor(
    readonly opts: LinkOptions,
    readonly dir: 'ab' | 'ba',
  ) {}
}

export class Net {
  now: Instant = 0;
  readonly a: TcpEndpoint;
  readonly b: TcpEndpoint;
  readonly rng: Rng;
  /** Segments delivered to an endpoint, and segments the links lost or their queues dropped. */
  delivered = 0;
  dropped = 0;
  /** Called for every segment offered to a link; return true to drop it. */
  drop: ((s: Seen) => boolean) | null = null;
  /** Extra delay (µs) for a segment that is not dropped, e.g. a delay spike. */
  extraDelay: ((s: Seen) => number) | null = null;
  /** Called for every segment offered to a link (before drop decisions). */
  tap: ((s: Seen) => void) | null = null;
  /** Timers run this long after their deadline (a busy process's late timers); 0: on time. */
  timerLate: Duration = 0;
  private readonly ab: Link;
  private readonly ba: Link;
  private heap: Ev[] = [];
  private order = 0;

  constructor(opts: {
    seed: number;
    ab: LinkOptions;
    ba?: LinkOptions;
    configA?: Partial<TcpConfig>;
    configB?: Partial<TcpConfig>;
  }) {
    this.rng = new Rng(opts.seed);
    this.a = new TcpEndpoint({ rng: this.rng.fork(), config: opts.configA });
    this.b = new TcpEndpoint({ rng: this.rng.fork(), config: opts.configB });
    this.ab = new Link(opts.ab, 'ab');
    this.ba = new Link(opts.ba ?? opts.ab, 'ba');
  }

  /** Polls both endpoints and puts their output on the links (a segment whose data went apart, joined). */
  flush(): void {
    for (let s = this.a.poll(this.now); s !== null; s = this.a.poll(this.now))
      this.send(this.ab, this.b, s.src, s.dst, this.joined(s));
    for (let s = this.b.poll(this.now); s !== null; s = this.b.poll(this.now))
      this.send(this.ba, this.a, s.src, s.dst, this.joined(s));
  }

  /** Segments polled with their data apart (TcpConfig.gatherPayload), each listed before joining. */
  readonly gathered: OutSegment[] = [];

  private joined(s: OutSegment): Uint8Array {
    if (s.payload === undefined) return s.segment;
    this.gathered.push(s);
    const out = new Uint8Array(s.segment.length + s.payload.length);
    out.set(s.segment);
    out.set(s.payload, s.segment.length);
    return out;
  }

  /** Injects a segment as if it arrived at `to` now (for forged-segment tests); `payload`: its data, apart. */
  inject(to: 'a' | 'b', src: string, dst: string, seg: Uint8Array, payload?: Uint8Array): void {
    (to === 'a' ? this.a : this.b).receive(this.now, src, dst, seg, false, payload);
    this.flush();
  }

  private send(link: Link, to: TcpEndpoint, src: string, dst: string, seg: Uint8Array): void {
    link.count++;
    let extra = 0;
    if (this.tap !== null || this.drop !== null || this.extraDelay !== null) {
      const p = new ParsedSegment();
      parseSegment(seg, p);
      const seen: Seen = { at: this.now, dir: link.dir, n: link.count, p, bytes: seg };
      this.tap?.(seen);
      if (this.drop?.(seen)) return;
      extra = this.extraDelay?.(seen) ?? 0;
    }
    const o = link.opts;
    if (o.loss && this.rng.chance(o.loss)) {
      this.dropped++;
      return;
    }
    let depart = this.now;
    if (o.rate) {
      const start = Math.max(this.now, link.freeAt);
      if (o.queueBytes !== undefined && ((start - this.now) * o.rate) / 1e6 > o.queueBytes) {
        this.dropped++;
        return;
      }
      depart = start + Math.round(((seg.length + 40) * 1e6) / o.rate);
      link.freeAt = depart;
    }
    let at = depart + o.delay + extra;
    if (o.reorder && this.rng.chance(o.reorder)) at += o.reorderDelay ?? o.delay;
    this.push({ at, order: this.order++, to, src, dst, seg });
    if (o.duplicate && this.rng.chance(o.duplicate))
      this.push({ at: at + 1, order: this.order++, to, src, dst, seg });
  }

  /** Runs until `until` (virtual µs) or until `stop()` returns true; returns the time reached. */
  run(until: Instant, stop?: () => boolean): Instant {
    this.flush();
    while (!stop?.()) {
      const ev = this.heap[0];
      const da = (this.a.nextDeadline() ?? Number.POSITIVE_INFINITY) + this.timerLate;
      const db = (this.b.nextDeadline() ?? Number.POSITIVE_INFINITY) + this.timerLate;
      const t = Math.min(ev ? ev.at : Number.POSITIVE_INFINITY, da, db);
      if (t > until) {
        this.now = Math.max(this.now, until === Number.POSITIVE_INFINITY ? this.now : until);
        break;
      }
      this.now = Math.max(this.now, t);
      if (ev && ev.at <= this.now) {
        this.pop();
        this.delivered++;
        ev.to.receive(this.now, ev.src, ev.dst, ev.seg);
      } else {
        if (da <= this.now) this.a.onTimer(this.now);
        if (db <= this.now) this.b.onTimer(this.now);
      }
      this.flush();
    }
    return this.now;
  }

  private push(e: Ev): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (less(h[p]!, e)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = e;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && less(h[r]!, h[l]!) ? r : l;
      if (less(last, h[c]!)) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
  }
}

const less = (x: Ev, y: Ev): boolean => x.at < y.at || (x.at === y.at && x.order < y.order);

/** Deterministic test payload: byte i of a stream is a function of i and the seed. */
export function pattern(len: number, seed: number, offset = 0): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) {
    const x = offset + i;
    out[i] = (x * 131 + (x >>> 8) * 7 + seed) & 0xff;
  }
  return out;
}

/** Writes `data` into `conn` as fast as its send buffer allows, then end()s it if asked. */
export function pump(
  conn: { write(d: Uint8Array): number; end(): void; onWritable?: () => void },
  data: Uint8Array,
  end = true,
): void {
  let off = 0;
  const go = () => {
    while (off < data.length) {
      const n = conn.write(data.subarray(off, Math.min(data.length, off + 65536)));
      off += n;
      if (n === 0) return;
    }
    if (end) conn.end();
  };
  conn.onWritable = go;
  go();
}

/** Collects received bytes into one buffer. */
export class Sink {
  private chunks: Uint8Array[] = [];
  length = 0;
  ended = false;
  push(b: Uint8Array): void {
    this.chunks.push(b);
    this.length += b.length;
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    this.chunks = [out];
    return out;
  }
}

/**
 * b listens on port 80 and collects what it receives into a Sink (closing when the peer does); a connects to it.
 * `server()` is b's connection once accepted.
 */
export function sinkPair(net: Net) {
  const sink = new Sink();
  let server: TcpConnection | null = null;
  net.b.listen(80, (c) => {
    server = c;
    c.onData = (d) => sink.push(d);
    c.onEnd = () => {
      sink.ended = true;
      c.end();
    };
  });
  const client = net.a.connect(0, { local: A, remote: B, remotePort: 80 });
  return { client, sink, server: () => server };
}

/**
 * `total` bytes from a to b (port 80), written as fast as a's send buffer takes them (or pulled from `source`,
 * an upper layer's hook), until they have all arrived or `until`; returns when they did (-1: not all) and the
 * sending connection.
 */
export function bulkTransfer(net: Net, total: number, until: Instant, source?: SubflowHook) {
  let got = 0;
  let doneAt = -1;
  net.b.listen(80, (c) => {
    c.onData = (b) => {
      got += b.length;
      if (got === total) doneAt = net.now;
    };
  });
  const conn = net.a.connect(0, { local: A, remote: B, remotePort: 80, ...(source ? { hook: source } : {}) });
  let sent = 0;
  const chunk = new Uint8Array(65536);
  const fill = () => {
    while (sent < total) {
      const k = conn.write(chunk.subarray(0, Math.min(chunk.length, total - sent)));
      if (k === 0) return;
      sent += k;
    }
  };
  if (source) conn.onEstablished = () => conn.wake();
  else {
    conn.onEstablished = fill;
    conn.onWritable = fill;
  }
  net.run(until, () => doneAt >= 0);
  return { got, doneAt, conn };
}

/** An established pair with some data exchanged; `last` holds the latest segment seen in each direction. */
export function established(seed: number) {
  const net = new Net({ seed, ab: { delay: 5 * MS } });
  let server: TcpConnection | null = null;
  net.b.listen(80, (c) => {
    server = c;
  });
  const client = net.a.connect(0, { local: A, remote: B, remotePort: 80 });
  const last: { ab?: Seen; ba?: Seen } = {};
  const fromB: Seen[] = [];
  net.tap = (s) => {
    last[s.dir] = s;
    if (s.dir === 'ba') fromB.push(s);
  };
  net.run(50 * MS);
  client.write(new Uint8Array(3000));
  net.run(200 * MS);
  // B's RCV.NXT is the ACK it last sent; A's next sequence number is the same value.
  const rcvNxtB = last.ba!.p.ack;
  const sndNxtB = last.ab!.p.ack;
  return { net, client, server: server! as TcpConnection, rcvNxtB, sndNxtB, fromB };
}
