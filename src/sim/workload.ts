/**
 * The applications at both ends of a simulated flow: they write what the scenario's workload asks for and
 * check that every byte arrives intact and in order.
 *
 * Wire protocol of the workloads (so a capture can be read):
 * - bulk: the sender (client for "upload", server for "download", as soon as the connection is established)
 *   writes the bytes and then closes; the other side closes when it has read everything.
 * - requests, download: the client writes an 8-byte request (the response size, big-endian); the server
 *   answers with that many bytes. Upload: the client writes the 8-byte size then that many bytes; the server
 *   answers with an 8-byte acknowledgement (the size again). Requests are sequential on one connection: the
 *   next is written `gap` after the previous response was fully read. After the last one the client closes.
 * - stream: the sender writes `chunk` bytes every chunk/rate (the rate may change at given times), for
 *   `duration` when given (then closes) or until the run ends.
 * Payload bytes come from a seeded generator (PayloadSource), block by block as the sender needs them. Each
 * direction is checked in order: every delivered byte against the byte written at that stream offset.
 */
import type { Rng } from '../util/rng.ts';
import type { Duration, Instant } from '../util/time.ts';
import type { FlowSpec } from './scenario.ts';

/** One end of a connection as an application sees it: a TCP connection now, an MPTCP socket later. */
export interface AppSocket {
  /** Bytes accepted into the send buffer (fewer than offered when it is full; onWritable follows). */
  write(data: Uint8Array): number;
  end(): void;
  onEstablished?: (() => void) | undefined;
  onData?: ((bytes: Uint8Array) => void) | undefined;
  onWritable?: (() => void) | undefined;
  onEnd?: (() => void) | undefined;
  onClose?: ((reason: string | null) => void) | undefined;
}

/** What the applications need from the runner: the clock and timers (the runner flushes the hosts after them). */
export interface AppEnv {
  now(): Instant;
  after(delay: Duration, fn: () => void): void;
}

const BLOCK = 64 * 1024;
/** Random bytes generated per source; beyond them, blocks are windows of these at random offsets. */
const POOL_BLOCKS = 16;
const POOL = POOL_BLOCKS * BLOCK;
const HEADER = 8;

/**
 * Seeded random payload, handed out one block at a time; a block is never changed once handed out. The first
 * POOL bytes are freshly generated; after that each block is a window of them at a random offset (the pool
 * wraps around). Generating every byte of a 100 Mbit/s run took a sixth of its time. Bytes delivered at a
 * wrong offset still differ from those written there: within a block they come from another place of the
 * pool, and two blocks line up at a given shift about once in POOL.
 */
export class PayloadSource {
  private block: Uint8Array = new Uint8Array(0);
  private offset = 0;
  /** The fresh blocks handed out so far, until the pool is made of them. */
  private fresh: Uint8Array[] | null = [];
  private pool: Uint8Array = new Uint8Array(0);

  constructor(private readonly rng: Rng) {}

  /** Up to `max` (≥ 1) of the next bytes, not yet consumed. */
  peek(max: number): Uint8Array {
    if (this.offset === this.block.length) {
      this.block = this.nextBlock();
      this.offset = 0;
    }
    return this.block.subarray(this.offset, this.offset + Math.min(max, this.block.length - this.offset));
  }

  consume(n: number): void {
    this.offset += n;
  }

  private nextBlock(): Uint8Array {
    const fresh = this.fresh;
    if (fresh !== null) {
      if (fresh.length < POOL_BLOCKS) {
        const b = randomBlock(this.rng.u32());
        fresh.push(b);
        return b;
      }
      // The pool plus a copy of its first block, so that a window starting anywhere in it is contiguous.
      this.pool = new Uint8Array(POOL + BLOCK);
      for (let i = 0; i < POOL_BLOCKS; i++) this.pool.set(fresh[i]!, i * BLOCK);
      this.pool.copyWithin(POOL, 0, BLOCK);
      this.fresh = null;
    }
    const at = this.rng.int(POOL);
    return this.pool.subarray(at, at + BLOCK);
  }
}

/**
 * BLOCK random bytes from a 32-bit seed: splitmix32 over 32-bit words, several times faster than drawing
 * byte by byte, and random enough that a misplaced or altered byte cannot go unnoticed.
 */
function randomBlock(seed: number): Uint8Array {
  const words = new Uint32Array(BLOCK / 4);
  let s = seed | 0;
  for (let i = 0; i < words.length; i++) {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    words[i] = z ^ (z >>> 16);
  }
  return new Uint8Array(words.buffer);
}

/** One direction of a connection: what was written and what was delivered, compared in order. */
export class ByteChannel {
  written = 0;
  delivered = 0;
  /** Offset of the first delivered byte that differs from the written one, or -1. */
  firstMismatch = -1;
  // Written but not yet delivered, as Buffer views of the (unchanging) arrays that were written: a Buffer
  // compares a range of itself with a range of another array without making a view per delivery.
  private pending: Buffer[] = [];
  private head = 0;
  private headOffset = 0;

  recordWrite(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.pending.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
    this.written += bytes.length;
  }

  recordDelivery(bytes: Uint8Array): void {
    let i = 0;
    while (i < bytes.length && this.firstMismatch < 0) {
      const p = this.pending[this.head];
      if (p === undefined) {
        // More delivered than written.
        this.firstMismatch = this.delivered + i;
        break;
      }
      const k = Math.min(bytes.length - i, p.length - this.headOffset);
      if (p.compare(bytes, i, i + k, this.headOffset, this.headOffset + k) !== 0) {
        let j = 0;
        while (bytes[i + j] === p[this.headOffset + j]) j++;
        this.firstMismatch = this.delivered + i + j;
      }
      i += k;
      this.headOffset += k;
      if (this.headOffset === p.length) {
        this.head++;
        this.headOffset = 0;
        if (this.head > 1024 && this.head * 2 > this.pending.length) {
          this.pending = this.pending.slice(this.head);
          this.head = 0;
        }
      }
    }
    this.delivered += bytes.length;
  }

  /**
   * Every delivered byte equals the byte written at the same stream offset (compared in order against the
   * written arrays themselves, which is exact; a digest of both streams would add cost and no certainty).
   */
  intact(): boolean {
    return this.firstMismatch < 0 && this.delivered <= this.written;
  }

  /** Everything written was delivered and matched. */
  complete(): boolean {
    return this.delivered === this.written && this.intact();
  }
}

/** Bytes an application still has to write: literal messages and payload, written as the buffer allows. */
class Outbox {
  private readonly queue: (Uint8Array | number)[] = [];
  private ending = false;
  private ended = false;
  /** The connection closed (reset, timeout): writing would be an error, so nothing more is written. */
  dead = false;
  /** Called with the payload bytes each write accepted (for the data-direction count). */
  onPayloadWritten: ((n: number) => void) | null = null;

  constructor(
    private readonly sock: AppSocket,
    private readonly channel: ByteChannel,
    private readonly payload: PayloadSource,
  ) {
    sock.onWritable = () => this.flush();
  }

  message(bytes: Uint8Array): void {
    this.queue.push(bytes);
    this.flush();
  }

  /** `n` payload bytes (Infinity: write for ever). */
  payloadBytes(n: number): void {
    if (n > 0) this.queue.push(n);
    this.flush();
  }

  /** Close once everything queued is written. */
  end(): void {
    this.ending = true;
    this.flush();
  }

  flush(): void {
    if (this.dead) return;
    while (this.queue.length > 0) {
      const item = this.queue[0]!;
      if (typeof item === 'number') {
        const chunk = this.payload.peek(Math.min(item, BLOCK));
        const n = this.sock.write(chunk);
        this.channel.recordWrite(chunk.subarray(0, n));
        this.payload.consume(n);
        if (item - n > 0) this.queue[0] = item - n;
        else this.queue.shift();
        if (n < chunk.length) return;
      } else {
        const n = this.sock.write(item);
        this.channel.recordWrite(item.subarray(0, n));
        if (n < item.length) {
          this.queue[0] = item.subarray(n);
          return;
        }
        this.queue.shift();
      }
    }
    if (this.ending && !this.ended) {
      this.ended = true;
      this.sock.end();
    }
  }
}

/** Reads 8-byte big-endian sizes out of a byte stream. */
class HeaderReader {
  private readonly buf = new Uint8Array(HEADER);
  private have = 0;

  /** Consumes header bytes from `bytes` at `at`; returns [bytes used, size or null while incomplete]. */
  read(bytes: Uint8Array, at: number): [number, number | null] {
    const k = Math.min(HEADER - this.have, bytes.length - at);
    this.buf.set(bytes.subarray(at, at + k), this.have);
    this.have += k;
    if (this.have < HEADER) return [k, null];
    this.have = 0;
    const b = this.buf;
    const hi = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
    const lo = ((b[4]! << 24) | (b[5]! << 16) | (b[6]! << 8) | b[7]!) >>> 0;
    return [k, hi * 4294967296 + lo];
  }
}

function header(size: number): Uint8Array {
  const b = new Uint8Array(HEADER);
  const hi = Math.floor(size / 4294967296);
  const lo = size >>> 0;
  b[0] = hi >>> 24;
  b[1] = hi >>> 16;
  b[2] = hi >>> 8;
  b[3] = hi;
  b[4] = lo >>> 24;
  b[5] = lo >>> 16;
  b[6] = lo >>> 8;
  b[7] = lo;
  return b;
}

export interface RequestRecord {
  size: number;
  /** Simulated time the request was written, ms since the scenario started. */
  startMs: number;
  /** From the request's start to the last byte of its response (or upload) read, ms; null if unfinished. */
  fctMs: number | null;
}

/** Both applications of one flow and what they measured. */
export class FlowApp {
  /** Client to server, and server to client. */
  readonly up = new ByteChannel();
  readonly down = new ByteChannel();
  /** Workload payload bytes delivered in the data direction (headers of request workloads excluded). */
  payloadDelivered = 0;
  /** When the last payload byte was delivered. */
  lastPayloadAt: Instant | null = null;
  readonly requests: RequestRecord[] = [];
  /** undefined while open; then the close reason (null = clean). */
  clientClosed: string | null | undefined = undefined;
  serverClosed: string | null | undefined = undefined;
  private finished = false;
  private requestStart: Instant[] = [];
  private readonly clientPayload: PayloadSource;
  private readonly serverPayload: PayloadSource;

  constructor(
    readonly spec: FlowSpec,
    private readonly env: AppEnv,
    rng: Rng,
  ) {
    this.clientPayload = new PayloadSource(rng.fork());
    this.serverPayload = new PayloadSource(rng.fork());
  }

  /** The workload ran to its end: every byte or request it asked for was delivered. */
  get workloadFinished(): boolean {
    return this.finished;
  }

  /** The workload finished and both ends closed cleanly with every byte intact. */
  get completed(): boolean {
    return (
      this.finished &&
      this.clientClosed === null &&
      this.serverClosed === null &&
      this.up.complete() &&
      this.down.complete()
    );
  }

  /** Both ends are closed (whatever the reason): nothing more will happen on this flow. */
  get closed(): boolean {
    return this.clientClosed !== undefined && this.serverClosed !== undefined;
  }

  get integrity(): boolean {
    return this.up.intact() && this.down.intact();
  }

  private delivered(n: number): void {
    if (n === 0) return;
    this.payloadDelivered += n;
    this.lastPayloadAt = this.env.now();
  }

  /** The client's socket, right after it was opened (before the handshake). */
  attachClient(sock: AppSocket): void {
    const out = new Outbox(sock, this.up, this.clientPayload);
    sock.onClose = (reason) => {
      this.clientClosed = reason;
      out.dead = true;
    };
    const w = this.spec.workload;
    const upload = this.spec.direction === 'upload';
    if (w.kind === 'requests') {
      this.clientRequests(sock, out, w.sizes, w.count, w.gap);
      return;
    }
    if (upload) {
      sock.onEstablished = () => this.startSending(out);
      sock.onData = (bytes) => this.down.recordDelivery(bytes);
    } else {
      sock.onData = (bytes) => {
        this.down.recordDelivery(bytes);
        this.delivered(bytes.length);
      };
      sock.onEnd = () => {
        this.receiverEnded(this.down);
        out.end();
      };
    }
  }

  /** The server's socket, when the connection was accepted. */
  attachServer(sock: AppSocket): void {
    const out = new Outbox(sock, this.down, this.serverPayload);
    sock.onClose = (reason) => {
      this.serverClosed = reason;
      out.dead = true;
    };
    const w = this.spec.workload;
    const upload = this.spec.direction === 'upload';
    if (w.kind === 'requests') {
      this.serverRequests(sock, out);
      return;
    }
    if (upload) {
      sock.onData = (bytes) => {
        this.up.recordDelivery(bytes);
        this.delivered(bytes.length);
      };
      sock.onEnd = () => {
        this.receiverEnded(this.up);
        out.end();
      };
    } else {
      sock.onData = (bytes) => this.up.recordDelivery(bytes);
      this.startSending(out);
    }
  }

  /** Bulk or stream data from the sending side. */
  private startSending(out: Outbox): void {
    const w = this.spec.workload;
    if (w.kind === 'bulk') {
      out.payloadBytes(w.size ?? Number.POSITIVE_INFINITY);
      if (w.size !== null) out.end();
      return;
    }
    if (w.kind !== 'stream') return;
    const start = this.env.now();
    let rate = w.rate;
    for (const c of w.changes) {
      if (c.at <= start) rate = c.rate;
      else
        this.env.after(c.at - start, () => {
          rate = c.rate;
        });
    }
    const stopAt = w.duration === null ? Number.POSITIVE_INFINITY : start + w.duration;
    const tick = (): void => {
      if (this.env.now() >= stopAt) {
        out.end();
        return;
      }
      out.payloadBytes(w.chunk);
      this.env.after(Math.max(1, Math.round((w.chunk * 8 * 1e6) / rate)), tick);
    };
    tick();
  }

  /** The sender closed: a bulk or stream workload is finished when all it wrote arrived. */
  private receiverEnded(channel: ByteChannel): void {
    const w = this.spec.workload;
    if (w.kind === 'bulk' && w.size !== null && channel.delivered === w.size) this.finished = true;
    if (w.kind === 'stream' && channel.delivered === channel.written) this.finished = true;
  }

  private clientRequests(sock: AppSocket, out: Outbox, sizes: number[], count: number, gap: Duration): void {
    const upload = this.spec.direction === 'upload';
    let index = 0;
    let awaiting = 0;
    const ack = new HeaderReader();
    const send = (): void => {
      const size = sizes[index % sizes.length]!;
      this.requestStart.push(this.env.now());
      this.requests.push({ size, startMs: this.env.now() / 1000, fctMs: null });
      out.message(header(size));
      if (upload) out.payloadBytes(size);
      awaiting = upload ? HEADER : size;
    };
    const responded = (): void => {
      const r = this.requests[index]!;
      r.fctMs = (this.env.now() - this.requestStart[index]!) / 1000;
      index++;
      if (index === count) {
        this.finished = true;
        out.end();
      } else if (gap === 0) send();
      else this.env.after(gap, send);
    };
    sock.onEstablished = send;
    sock.onData = (bytes) => {
      this.down.recordDelivery(bytes);
      let at = 0;
      while (at < bytes.length && awaiting > 0) {
        if (upload) {
          const [used, size] = ack.read(bytes, at);
          at += used;
          awaiting -= used;
          if (size !== null) responded();
        } else {
          const k = Math.min(awaiting, bytes.length - at);
          at += k;
          awaiting -= k;
          this.delivered(k);
          if (awaiting === 0) responded();
        }
      }
    };
  }

  private serverRequests(sock: AppSocket, out: Outbox): void {
    const upload = this.spec.direction === 'upload';
    const requestHeader = new HeaderReader();
    let body = 0;
    let bodySize = 0;
    sock.onData = (bytes) => {
      this.up.recordDelivery(bytes);
      let at = 0;
      while (at < bytes.length) {
        if (body > 0) {
          const k = Math.min(body, bytes.length - at);
          at += k;
          body -= k;
          this.delivered(k);
          if (body === 0) out.message(header(bodySize));
          continue;
        }
        const [used, size] = requestHeader.read(bytes, at);
        at += used;
        if (size === null) continue;
        if (!upload) out.payloadBytes(size);
        else {
          body = size;
          bodySize = size;
        }
      }
    };
    sock.onEnd = () => out.end();
  }
}
