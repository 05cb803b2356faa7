/**
 * A simulated link: two independent directions, each a FIFO server with a drop-tail queue, a serialisation
 * rate, a propagation delay and the impairments of netem (jitter, loss, duplication, reordering, corruption).
 *
 * Sizes are L3 bytes: a packet's length is the length of its IP datagram, for the rate, the MTU and the byte
 * limit of the queue alike (no link-layer framing is added).
 *
 * A packet's schedule is fixed when it arrives: it starts serialising when the packets ahead of it are done,
 * at the rate then in force, and leaves `delay` (± jitter) after its last bit. So a change of rate, delay or
 * loss takes effect for packets arriving after the change; packets already queued or serialising finish as
 * planned. A direction that goes down drops everything it holds, queued or propagating.
 */
import type { Rng } from '../util/rng.ts';
import type { Duration, Instant } from '../util/time.ts';
import type { EventId, Simulator } from './events.ts';
import { type LossModelConfig, PacketLoss } from './loss.ts';
import { stripMptcpOptions } from './middlebox.ts';

export interface QueueLimit {
  /** Packets in the direction's queue, the one being serialised included. */
  packets?: number;
  /** Bytes in the queue, the packet being serialised included. */
  bytes?: number;
  /** The wait a new packet would see before its first bit is sent. */
  time?: Duration;
}

/** Everything in base units: bits/s, µs, bytes, fractions in [0, 1]. */
export interface LinkDirectionConfig {
  /** Bits/s of IP packet bytes; 0 = unlimited (no serialisation delay, no queueing). */
  rate: number;
  /** Propagation delay, added after the last bit is sent. */
  delay: Duration;
  /** Spread of the delay around `delay` (never below 0). Packets never overtake each other because of it. */
  jitter: Duration;
  /** 'uniform' (default): delay ± jitter; 'normal': a bell shape with standard deviation `jitter`. */
  jitterDistribution?: 'uniform' | 'normal';
  /** Independent loss per packet; the Good-state loss of a Gilbert–Elliott model. */
  loss: number;
  lossModel?: LossModelConfig;
  /** Share of packets sent twice (the copy is queued right behind the original). */
  duplicate: number;
  /** Share of packets held back by `reorderDelay`, so that later packets overtake them. */
  reorder: number;
  /** Extra delay of a reordered packet; `delay` (at least 1 ms) when omitted. */
  reorderDelay?: Duration;
  /** Share of packets with one random bit flipped (the receiver's checksum check drops them). */
  corrupt: number;
  /** Largest IP packet in bytes; larger ones are dropped (counted) as DF is always set. */
  mtu: number;
  queue: QueueLimit;
  /** A middlebox: kind-30 TCP options become NOPs, the TCP checksum is fixed. */
  stripMptcpOptions: boolean;
  /** Down: packets vanish silently. */
  up: boolean;
}

/** The same config applies to both directions unless `directions` overrides fields of one. */
export interface LinkConfig extends LinkDirectionConfig {
  /** 'up' is client→server, 'down' server→client. */
  directions?: { up?: Partial<LinkDirectionConfig>; down?: Partial<LinkDirectionConfig> };
}

export type Direction = 'up' | 'down';

/** A link with nothing configured: unlimited rate, no delay, no impairment, MTU 1500, unlimited queue, up. */
export const DEFAULT_LINK: Readonly<LinkDirectionConfig> = Object.freeze({
  rate: 0,
  delay: 0,
  jitter: 0,
  loss: 0,
  duplicate: 0,
  reorder: 0,
  corrupt: 0,
  mtu: 1500,
  queue: {},
  stripMptcpOptions: false,
  up: true,
});

/** A link configuration that cannot be used; the message names the field and says what is expected. */
export class LinkConfigError extends Error {
  override name = 'LinkConfigError';
}

export interface DirStats {
  /** Packets and bytes that arrived at the direction. */
  sent: number;
  bytesSent: number;
  /** Packets and bytes that left it at the far end (duplicates included). */
  delivered: number;
  bytes: number;
  dropped: { queue: number; loss: number; mtu: number; down: number };
  duplicated: number;
  reordered: number;
  corrupted: number;
  /** Packets whose MPTCP options the middlebox removed. */
  stripped: number;
  maxQueuePackets: number;
  maxQueueBytes: number;
}

/** What a link carries: the IP packet's bytes plus whatever the owner needs to route it. */
export interface Packet {
  bytes: Uint8Array;
}

const newStats = (): DirStats => ({
  sent: 0,
  bytesSent: 0,
  delivered: 0,
  bytes: 0,
  dropped: { queue: 0, loss: 0, mtu: 0, down: 0 },
  duplicated: 0,
  reordered: 0,
  corrupted: 0,
  stripped: 0,
  maxQueuePackets: 0,
  maxQueueBytes: 0,
});

const fraction = (v: number) => Number.isFinite(v) && v >= 0 && v <= 1;
const nonNegative = (v: number) => Number.isFinite(v) && v >= 0;
const nonNegativeInt = (v: number) => Number.isSafeInteger(v) && v >= 0;

/** Checks a direction's config; throws LinkConfigError naming `where` and the field. */
export function checkDirectionConfig(c: LinkDirectionConfig, where: string): void {
  const fail = (field: string, expected: string, got: unknown) => {
    throw new LinkConfigError(`${where}.${field}: expected ${expected}, got ${JSON.stringify(got)}`);
  };
  if (!nonNegative(c.rate)) fail('rate', 'bits/s ≥ 0 (0 = unlimited)', c.rate);
  if (!nonNegativeInt(c.delay)) fail('delay', 'an integer number of µs ≥ 0', c.delay);
  if (!nonNegativeInt(c.jitter)) fail('jitter', 'an integer number of µs ≥ 0', c.jitter);
  if (
    c.jitterDistribution !== undefined &&
    c.jitterDistribution !== 'uniform' &&
    c.jitterDistribution !== 'normal'
  )
    fail('jitterDistribution', "'uniform' or 'normal'", c.jitterDistribution);
  for (const k of ['loss', 'duplicate', 'reorder', 'corrupt'] as const)
    if (!fraction(c[k])) fail(k, 'a fraction in [0, 1]', c[k]);
  const ge = c.lossModel?.gilbertElliott;
  if (c.lossModel !== undefined && !ge) fail('lossModel', '{ gilbertElliott: {...} }', c.lossModel);
  if (ge) {
    for (const k of ['pGoodToBad', 'pBadToGood', 'lossInBad'] as const)
      if (!fraction(ge[k])) fail(`lossModel.gilbertElliott.${k}`, 'a fraction in [0, 1]', ge[k]);
    if (ge.lossInGood !== undefined && !fraction(ge.lossInGood))
      fail('lossModel.gilbertElliott.lossInGood', 'a fraction in [0, 1]', ge.lossInGood);
  }
  if (c.reorderDelay !== undefined && !nonNegativeInt(c.reorderDelay))
    fail('reorderDelay', 'an integer number of µs ≥ 0', c.reorderDelay);
  if (!Number.isSafeInteger(c.mtu) || c.mtu < 20) fail('mtu', 'an integer number of bytes ≥ 20', c.mtu);
  const q = c.queue;
  if (typeof q !== 'object' || q === null) fail('queue', '{ packets?, bytes?, time? }', q);
  if (q.packets !== undefined && !(nonNegativeInt(q.packets) && q.packets > 0))
    fail('queue.packets', 'an integer ≥ 1', q.packets);
  if (q.bytes !== undefined && !(nonNegativeInt(q.bytes) && q.bytes > 0))
    fail('queue.bytes', 'an integer ≥ 1', q.bytes);
  if (q.time !== undefined && !nonNegativeInt(q.time))
    fail('queue.time', 'an integer number of µs ≥ 0', q.time);
  if (typeof c.stripMptcpOptions !== 'boolean') fail('stripMptcpOptions', 'a boolean', c.stripMptcpOptions);
  if (typeof c.up !== 'boolean') fail('up', 'a boolean', c.up);
}

/** One direction of a link: a FIFO server fed by `send`, handing packets to `onDeliver` at the far end. */
export class LinkDirection<P extends Packet = Packet> {
  readonly stats: DirStats = newStats();
  private cfg: LinkDirectionConfig;
  private readonly loss: PacketLoss;
  private readonly observers: ((p: P, time: Instant) => void)[] = [];
  /** Serialisation ends at busyUs + busyFrac / rate µs (busyFrac < rate keeps the arithmetic exact). */
  private busyUs = 0;
  private busyFrac = 0;
  /** Ring of the packets in the queue: when each finishes serialising, and its size. */
  private qEnd = new Float64Array(64);
  private qSize = new Float64Array(64);
  private qHead = 0;
  private qCount = 0;
  private qBytes = 0;
  /** Packets queued or propagating; bumping `epoch` voids them all when the direction goes down. */
  private inFlight = 0;
  private epoch = 0;
  private lastArrival: Instant = 0;
  /**
   * Packets on their way in arrival order (all but the reordered ones), each with the place in the event
   * order it took when it was sent: only the head has an event in the simulator's queue, which stays small.
   */
  private fifo: P[] = [];
  private fifoAt: Instant[] = [];
  private fifoSeq: number[] = [];
  private fifoHead = 0;
  private headEvent: EventId | null = null;

  constructor(
    private readonly sim: Simulator,
    private readonly rng: Rng,
    config: LinkDirectionConfig,
    private readonly onDeliver: (p: P) => void,
    readonly name = 'link',
  ) {
    checkDirectionConfig(config, name);
    this.cfg = { ...config, queue: { ...config.queue } };
    this.loss = new PacketLoss(rng, config.loss, config.lossModel?.gilbertElliott);
  }

  /** The configuration in force (a copy). */
  get config(): LinkDirectionConfig {
    return { ...this.cfg, queue: { ...this.cfg.queue } };
  }

  /** Packets in the queue now, the one serialising included. */
  get queuedPackets(): number {
    this.drainQueue(this.sim.now);
    return this.qCount;
  }

  /** Bytes in the queue now. */
  get queuedBytes(): number {
    this.drainQueue(this.sim.now);
    return this.qBytes;
  }

  /** Changes the configuration now; see the file comment for what it affects. */
  configure(changes: Partial<LinkDirectionConfig>): void {
    const next: LinkDirectionConfig = {
      ...this.cfg,
      ...changes,
      queue: { ...(changes.queue ?? this.cfg.queue) },
    };
    checkDirectionConfig(next, this.name);
    const wasUp = this.cfg.up;
    if (next.rate !== this.cfg.rate && this.busyFrac > 0) {
      // busyFrac is in units of the old rate: round the busy time up to a whole µs.
      this.busyUs++;
      this.busyFrac = 0;
    }
    this.cfg = next;
    this.loss.configure(next.loss, next.lossModel?.gilbertElliott);
    if (wasUp && !next.up) this.dropAll();
  }

  /** Calls `fn` with every packet that arrives at this direction, at its arrival time, before any drop. */
  observe(fn: (p: P, time: Instant) => void): void {
    this.observers.push(fn);
  }

  /** A packet arrives at the near end now. */
  send(p: P): void {
    const now = this.sim.now;
    const size = p.bytes.length;
    const s = this.stats;
    s.sent++;
    s.bytesSent += size;
    for (let i = 0; i < this.observers.length; i++) this.observers[i]!(p, now);
    const c = this.cfg;
    if (!c.up) {
      s.dropped.down++;
      return;
    }
    if (size > c.mtu) {
      s.dropped.mtu++;
      return;
    }
    if (this.loss.lost()) {
      s.dropped.loss++;
      return;
    }
    this.enqueue(p, now);
    if (this.rng.chance(c.duplicate)) {
      s.duplicated++;
      this.enqueue({ ...p }, now);
    }
  }

  private drainQueue(now: Instant): void {
    const cap = this.qEnd.length;
    while (this.qCount > 0 && this.qEnd[this.qHead]! <= now) {
      this.qBytes -= this.qSize[this.qHead]!;
      this.qHead = (this.qHead + 1) % cap;
      this.qCount--;
    }
  }

  private enqueue(p: P, now: Instant): void {
    const c = this.cfg;
    const s = this.stats;
    const size = p.bytes.length;
    this.drainQueue(now);
    if (this.busyUs < now) {
      this.busyUs = now;
      this.busyFrac = 0;
    }
    const q = c.queue;
    if (
      (q.packets !== undefined && this.qCount >= q.packets) ||
      (q.bytes !== undefined && this.qBytes + size > q.bytes) ||
      (q.time !== undefined && this.busyUs - now + (c.rate > 0 ? this.busyFrac / c.rate : 0) > q.time)
    ) {
      s.dropped.queue++;
      return;
    }
    if (c.rate > 0) {
      // Exact integer arithmetic: bits·10^6 stays far below 2^53 for any packet and rate.
      const total = this.busyFrac + size * 8_000_000;
      const whole = Math.floor(total / c.rate);
      this.busyUs += whole;
      this.busyFrac = total - whole * c.rate;
    }
    const end = this.busyFrac > 0 ? this.busyUs + 1 : this.busyUs;
    this.pushQueue(end, size);

    if (this.rng.chance(c.corrupt)) {
      const bytes = p.bytes.slice();
      const bit = this.rng.int(bytes.length * 8);
      bytes[bit >>> 3]! ^= 1 << (bit & 7);
      p = { ...p, bytes };
      s.corrupted++;
    }
    if (c.stripMptcpOptions) {
      const stripped = stripMptcpOptions(p.bytes);
      if (stripped) {
        p = { ...p, bytes: stripped };
        s.stripped++;
      }
    }

    let arrival = end + this.propagation(c);
    const reordered = this.rng.chance(c.reorder);
    if (reordered) {
      arrival += c.reorderDelay ?? Math.max(c.delay, 1000);
      s.reordered++;
    } else {
      // FIFO: jitter or a shorter delay after a change never lets a packet overtake the one before it.
      if (arrival < this.lastArrival) arrival = this.lastArrival;
      this.lastArrival = arrival;
    }
    this.inFlight++;
    if (reordered) {
      const epoch = this.epoch;
      this.sim.at(arrival, () => {
        if (epoch === this.epoch) this.deliver(p);
      });
      return;
    }
    this.fifo.push(p);
    this.fifoAt.push(arrival);
    this.fifoSeq.push(this.sim.sequence());
    if (this.headEvent === null) this.scheduleHead();
  }

  private scheduleHead(): void {
    const h = this.fifoHead;
    this.headEvent = this.sim.atSequence(this.fifoAt[h]!, this.fifoSeq[h]!, this.deliverHead);
  }

  private readonly deliverHead = (): void => {
    const h = this.fifoHead;
    const p = this.fifo[h]!;
    this.fifoHead = h + 1;
    if (this.fifoHead === this.fifo.length) this.clearFifo();
    else {
      if (this.fifoHead >= 1024 && this.fifoHead * 2 >= this.fifo.length) this.compactFifo();
      this.scheduleHead();
    }
    this.deliver(p);
  };

  private clearFifo(): void {
    this.fifo.length = 0;
    this.fifoAt.length = 0;
    this.fifoSeq.length = 0;
    this.fifoHead = 0;
    this.headEvent = null;
  }

  private compactFifo(): void {
    const h = this.fifoHead;
    this.fifo = this.fifo.slice(h);
    this.fifoAt = this.fifoAt.slice(h);
    this.fifoSeq = this.fifoSeq.slice(h);
    this.fifoHead = 0;
  }

  private propagation(c: LinkDirectionConfig): Duration {
    if (c.jitter === 0) return c.delay;
    let offset: number;
    if (c.jitterDistribution === 'normal') {
      // Irwin–Hall with 4 terms: variance 1/3, scaled to a standard deviation of `jitter`.
      const r = this.rng;
      offset = (r.float() + r.float() + r.float() + r.float() - 2) * Math.sqrt(3) * c.jitter;
    } else offset = (this.rng.float() * 2 - 1) * c.jitter;
    const d = Math.round(c.delay + offset);
    return d > 0 ? d : 0;
  }

  private pushQueue(end: Instant, size: number): void {
    if (this.qCount === this.qEnd.length) {
      // Grow the ring, unrolling it from the head.
      const cap = this.qEnd.length;
      const e = new Float64Array(cap * 2);
      const z = new Float64Array(cap * 2);
      for (let i = 0; i < cap; i++) {
        e[i] = this.qEnd[(this.qHead + i) % cap]!;
        z[i] = this.qSize[(this.qHead + i) % cap]!;
      }
      this.qEnd = e;
      this.qSize = z;
      this.qHead = 0;
    }
    const at = (this.qHead + this.qCount) % this.qEnd.length;
    this.qEnd[at] = end;
    this.qSize[at] = size;
    this.qCount++;
    this.qBytes += size;
    const s = this.stats;
    if (this.qCount > s.maxQueuePackets) s.maxQueuePackets = this.qCount;
    if (this.qBytes > s.maxQueueBytes) s.maxQueueBytes = this.qBytes;
  }

  private deliver(p: P): void {
    this.inFlight--;
    this.stats.delivered++;
    this.stats.bytes += p.bytes.length;
    this.onDeliver(p);
  }

  private dropAll(): void {
    this.stats.dropped.down += this.inFlight;
    this.inFlight = 0;
    this.epoch++;
    if (this.headEvent !== null) this.sim.cancel(this.headEvent);
    this.clearFifo();
    this.qHead = 0;
    this.qCount = 0;
    this.qBytes = 0;
    this.busyUs = this.sim.now;
    this.busyFrac = 0;
    this.lastArrival = 0;
  }
}

/** A named link: the 'up' direction carries client→server packets, 'down' server→client. */
export class Link<P extends Packet = Packet> {
  readonly up: LinkDirection<P>;
  readonly down: LinkDirection<P>;

  constructor(
    sim: Simulator,
    readonly name: string,
    config: Partial<LinkConfig>,
    onDeliver: { up: (p: P) => void; down: (p: P) => void },
  ) {
    const { directions, ...base } = config;
    const both: LinkDirectionConfig = { ...DEFAULT_LINK, ...base };
    // Each direction forks its own Rng (up first): one link's draws never shift another's.
    this.up = new LinkDirection(
      sim,
      sim.rng.fork(),
      { ...both, ...directions?.up },
      onDeliver.up,
      `${name}.up`,
    );
    this.down = new LinkDirection(
      sim,
      sim.rng.fork(),
      { ...both, ...directions?.down },
      onDeliver.down,
      `${name}.down`,
    );
  }

  /** Changes both directions (or only `direction`) now; `directions` overrides fields per direction. */
  set(changes: Partial<LinkConfig>, direction?: Direction): void {
    const { directions, ...base } = changes;
    if (direction !== 'down') this.up.configure({ ...base, ...directions?.up });
    if (direction !== 'up') this.down.configure({ ...base, ...directions?.down });
  }

  direction(d: Direction): LinkDirection<P> {
    return d === 'up' ? this.up : this.down;
  }
}
