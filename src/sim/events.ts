/**
 * Virtual time and the event queue of the simulator. Events are ordered by (time, sequence number), so events
 * due at the same instant run in the order they were scheduled: one seed, one order, one result.
 */
import { Rng } from '../util/rng.ts';
import type { Duration, Instant } from '../util/time.ts';

/** Misuse of the Simulator: a time in the past or not an integer, or a nested run(). */
export class SimTimeError extends Error {
  override name = 'SimTimeError';
}

/** Handle of a scheduled event, for cancel(): the event's slot and the slot's generation. */
export type EventId = number;

/** Slots per generation step in an EventId: up to 2^24 events pending at once. */
const SLOT_SPAN = 16_777_216;
/** Generations wrap here so that ids stay exact integers. */
const GEN_SPAN = 536_870_912;
/**
 * Cancelled events still in the heap are swept out once they are this many and outnumber the live ones. The
 * heap is small (a link keeps one event per direction, not one per packet), so dead entries, one per timer
 * moved, would soon outnumber the live ones many times over.
 */
const COMPACT_MIN = 64;

/**
 * The queue is a binary min-heap over parallel typed arrays (time, sequence number, slot): no object per event
 * and cache-friendly comparisons. The callbacks live in slots; a slot's generation changes each time it is
 * reused, so a stale EventId cancels nothing. Cancelling empties the slot and leaves the heap entry to be
 * skipped when it comes up (lazy deletion), or swept when they pile up.
 */
export class Simulator {
  /** The root Rng; components take `rng.fork()` when they are built, in a fixed order. */
  readonly rng: Rng;
  private hTime = new Float64Array(1024);
  private hSeq = new Float64Array(1024);
  private hSlot = new Int32Array(1024);
  private n = 0;
  private readonly slotFn: ((() => void) | null)[] = [];
  private readonly slotGen: number[] = [];
  private readonly free: number[] = [];
  private seq = 0;
  private time: Instant = 0;
  private processed = 0;
  private dead = 0;
  private running = false;

  constructor(seed: number) {
    this.rng = new Rng(seed);
  }

  /** The current virtual time in µs. */
  get now(): Instant {
    return this.time;
  }

  /** Events run so far. */
  get eventsProcessed(): number {
    return this.processed;
  }

  /** Events scheduled and neither run nor cancelled. */
  get pending(): number {
    return this.n - this.dead;
  }

  /** Schedules `fn` at `time` (integer µs, not before now). Events at equal times run in scheduling order. */
  at(time: Instant, fn: () => void): EventId {
    return this.atSequence(time, this.seq++, fn);
  }

  /**
   * Takes the next place in the order of events at equal times, for an event to be scheduled later with
   * atSequence() as if it had been scheduled now. A FIFO of events (a link's packets) keeps only its head in
   * the queue yet runs in exactly the order one event per packet would.
   */
  sequence(): number {
    return this.seq++;
  }

  /** Schedules `fn` at `time` in the place `seq` taken earlier with sequence() (each place is used once). */
  atSequence(time: Instant, seq: number, fn: () => void): EventId {
    if (!(time >= this.time) || !Number.isSafeInteger(time)) {
      throw new SimTimeError(
        Number.isSafeInteger(time)
          ? `cannot schedule at ${time} µs: the clock is already at ${this.time} µs; use a time ≥ now`
          : `event times are integer microseconds; got ${time} (round it, e.g. with Math.ceil)`,
      );
    }
    if (!(seq >= 0 && seq < this.seq))
      throw new SimTimeError(`place ${seq} was not taken with sequence(); schedule with at() instead`);
    let slot: number;
    if (this.free.length > 0) slot = this.free.pop()!;
    else {
      slot = this.slotFn.length;
      if (slot >= SLOT_SPAN) throw new SimTimeError(`more than ${SLOT_SPAN} events pending: a runaway loop?`);
      this.slotFn.push(null);
      this.slotGen.push(0);
    }
    this.slotFn[slot] = fn;
    if (this.n === this.hTime.length) this.grow();
    const ht = this.hTime;
    const hs = this.hSeq;
    const hl = this.hSlot;
    let i = this.n++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pt = ht[p]!;
      if (pt < time || (pt === time && hs[p]! < seq)) break;
      ht[i] = pt;
      hs[i] = hs[p]!;
      hl[i] = hl[p]!;
      i = p;
    }
    ht[i] = time;
    hs[i] = seq;
    hl[i] = slot;
    return this.slotGen[slot]! * SLOT_SPAN + slot;
  }

  /** Schedules `fn` after `delay` µs (a non-negative integer). */
  after(delay: Duration, fn: () => void): EventId {
    return this.at(this.time + delay, fn);
  }

  /** Cancels a pending event; cancelling one that already ran or was cancelled does nothing. */
  cancel(id: EventId): void {
    const slot = id % SLOT_SPAN;
    if (this.slotGen[slot] !== Math.floor(id / SLOT_SPAN) || this.slotFn[slot] === null) return;
    this.slotFn[slot] = null;
    this.dead++;
    if (this.dead >= COMPACT_MIN && this.dead * 2 > this.n) this.compact();
  }

  /**
   * Runs the events due at or before `until`, in order; `stop` is checked after each event and ends the run
   * early. When the queue empties or only later events remain (and `stop` did not fire), the clock moves to
   * `until` (unless it is infinite).
   */
  run(until: Instant, stop?: () => boolean): void {
    if (this.running)
      throw new SimTimeError('run() was called from inside an event; schedule an event instead');
    this.running = true;
    try {
      while (this.n > 0) {
        const t = this.hTime[0]!;
        if (t > until) break;
        const slot = this.hSlot[0]!;
        this.popRoot();
        const fn = this.slotFn[slot]!;
        this.release(slot);
        if (fn === null) {
          this.dead--;
          continue;
        }
        this.time = t;
        this.processed++;
        fn();
        if (stop?.()) return;
      }
      if (until > this.time && Number.isFinite(until)) this.time = until;
    } finally {
      this.running = false;
    }
  }

  private release(slot: number): void {
    this.slotFn[slot] = null;
    this.slotGen[slot] = (this.slotGen[slot]! + 1) % GEN_SPAN;
    this.free.push(slot);
  }

  private grow(): void {
    const c = this.hTime.length * 2;
    const t = new Float64Array(c);
    t.set(this.hTime);
    this.hTime = t;
    const s = new Float64Array(c);
    s.set(this.hSeq);
    this.hSeq = s;
    const l = new Int32Array(c);
    l.set(this.hSlot);
    this.hSlot = l;
  }

  /** Removes the root: the last entry sifts down from the top. */
  private popRoot(): void {
    const n = --this.n;
    if (n > 0) this.siftDown(0, n, this.hTime[n]!, this.hSeq[n]!, this.hSlot[n]!);
  }

  /** Places (time, seq, slot) at or below position i of a heap of n entries. */
  private siftDown(i: number, n: number, time: number, seq: number, slot: number): void {
    const ht = this.hTime;
    const hs = this.hSeq;
    const hl = this.hSlot;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      let c = l;
      let ct = ht[l]!;
      let cs = hs[l]!;
      const r = l + 1;
      if (r < n) {
        const rt = ht[r]!;
        const rs = hs[r]!;
        if (rt < ct || (rt === ct && rs < cs)) {
          c = r;
          ct = rt;
          cs = rs;
        }
      }
      if (time < ct || (time === ct && seq < cs)) break;
      ht[i] = ct;
      hs[i] = cs;
      hl[i] = hl[c]!;
      i = c;
    }
    ht[i] = time;
    hs[i] = seq;
    hl[i] = slot;
  }

  /** Drops cancelled entries, frees their slots and rebuilds the heap in O(n). */
  private compact(): void {
    const ht = this.hTime;
    const hs = this.hSeq;
    const hl = this.hSlot;
    let m = 0;
    for (let i = 0; i < this.n; i++) {
      const slot = hl[i]!;
      if (this.slotFn[slot] === null) {
        this.release(slot);
        continue;
      }
      ht[m] = ht[i]!;
      hs[m] = hs[i]!;
      hl[m] = slot;
      m++;
    }
    this.n = m;
    this.dead = 0;
    for (let i = (m >> 1) - 1; i >= 0; i--) this.siftDown(i, m, ht[i]!, hs[i]!, hl[i]!);
  }
}
