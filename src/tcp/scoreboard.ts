/**
 * The retransmission queue and SACK scoreboard (RFC 6675 §3, with Linux's accounting): one record per
 * segment as first sent, in a ring of typed arrays indexed by an ever-growing record number. Counters are
 * kept incrementally so pipe is O(1); loss marking advances a frontier (never rescans records it passed) and
 * the next-lost search keeps a hint, so recovery over a window of thousands of segments stays linear.
 * RACK (RFC 8985 §6) needs the records in send order: original transmissions are in sequence order, so a
 * frontier walks them; retransmissions are appended to their own queue in the order they were sent.
 */
import { sentAfter } from './rack.ts';

export const SACKED = 1;
export const LOST = 2;
/** Retransmitted and the retransmission is still outstanding. */
export const RETRANS = 4;
/** Retransmitted at least once (Karn's rule: no RTT sample from this record). */
export const EVER_RETRANS = 8;
/** The record ends with our FIN (which takes one sequence number and no payload byte). */
export const FIN = 16;

const REBASE_AT = 1 << 30;
const INF = Number.POSITIVE_INFINITY;

export class Scoreboard {
  private cap = 64;
  private mask = 63;
  private s = new Float64Array(64);
  private e = new Float64Array(64);
  private t = new Float64Array(64);
  /** For a record whose retransmission is outstanding: the send frontier (SND.NXT) when it was retransmitted. */
  private x = new Float64Array(64);
  private f = new Uint8Array(64);
  /** Record number of the oldest record; records live in [head, tail). */
  head = 0;
  tail = 0;
  /** Bytes in SACKed records. */
  sackedBytes = 0;
  /** Bytes in records marked lost and not SACKed (Linux's lost_out). */
  lostBytes = 0;
  /** Bytes in records whose retransmission is outstanding (retrans_out). */
  retransBytes = 0;
  /** Bytes marked lost and not retransmitted yet. */
  toRetransBytes = 0;
  /** End offset of the highest SACKed byte, -1 when nothing is SACKed. */
  highSacked = -1;
  /** Send time of the oldest never-retransmitted record the last ackTo() delivered (-1: none). */
  ackRttSentAt = -1;
  /** Send time of the oldest never-retransmitted record SACKed since the last resetSackRtt() (-1: none). */
  sackRttSentAt = -1;
  /** The last ackTo() acknowledged a record that had been retransmitted. */
  ackedRetransmitted = false;
  /**
   * The current ACK (since beginAck) delivered a record that was never retransmitted and not SACKed before:
   * an original transmission arrived (Linux's FLAG_ORIG_SACK_ACKED, F-RTO's proof of a spurious timeout).
   */
  origDelivered = false;
  private scan = 0;
  private sackedBelowScan = 0;
  private hint = 0;
  /** No outstanding retransmission was sent with a frontier below this (a lower bound; Infinity: none). */
  private retransLow = Number.POSITIVE_INFINITY;

  /** Keep the retransmission queue RACK needs (TcpConfig.rackTlp with SACK). */
  rack = false;
  /** The newest record (send time, then end) the current ACK delivered, for RACK (-1: none). */
  rackTs = -1;
  rackEnd = -1;
  /** RACK.fack: the highest end delivered so far. */
  fack = -1;
  /** The current ACK delivered an original transmission below data delivered before (reordering). */
  reordered = false;
  /** Lost retransmissions the last rackDetect() found. */
  rackLostRetrans = 0;
  private fackBefore = -1;
  private validBefore = INF;
  /** RACK's frontier over original transmissions: records below it are SACKed or marked lost. */
  private rackScan = 0;
  /** Retransmissions in send order: start offset and send time of the record (stale once either changes). */
  private rxS = new Float64Array(16);
  private rxT = new Float64Array(16);
  private rxHead = 0;
  private rxTail = 0;

  get size(): number {
    return this.tail - this.head;
  }
  start(i: number): number {
    return this.s[i & this.mask]!;
  }
  end(i: number): number {
    return this.e[i & this.mask]!;
  }
  flags(i: number): number {
    return this.f[i & this.mask]!;
  }
  sentAt(i: number): number {
    return this.t[i & this.mask]!;
  }
  /** Bytes (and FIN) from the oldest record's start to the newest's end. */
  get outstanding(): number {
    return this.tail === this.head
      ? 0
      : this.e[(this.tail - 1) & this.mask]! - this.s[this.head & this.mask]!;
  }

  /** Appends a record for a newly sent segment covering offsets [start, end). */
  push(start: number, end: number, now: number, flags: number): void {
    if (this.tail - this.head === this.cap) this.grow();
    const k = this.tail & this.mask;
    this.s[k] = start;
    this.e[k] = end;
    this.t[k] = now;
    this.f[k] = flags;
    this.tail++;
  }

  private grow(): void {
    const cap = this.cap * 2;
    const s = new Float64Array(cap);
    const e = new Float64Array(cap);
    const t = new Float64Array(cap);
    const x = new Float64Array(cap);
    const f = new Uint8Array(cap);
    const m2 = cap - 1;
    for (let i = this.head; i < this.tail; i++) {
      const a = i & this.mask;
      const b = i & m2;
      s[b] = this.s[a]!;
      e[b] = this.e[a]!;
      t[b] = this.t[a]!;
      x[b] = this.x[a]!;
      f[b] = this.f[a]!;
    }
    this.s = s;
    this.e = e;
    this.t = t;
    this.x = x;
    this.f = f;
    this.cap = cap;
    this.mask = m2;
  }

  private account(flags: number, len: number): void {
    if (flags & SACKED) this.sackedBytes += len;
    else {
      if (flags & LOST) this.lostBytes += len;
      if ((flags & (LOST | RETRANS)) === LOST) this.toRetransBytes += len;
    }
    if (flags & RETRANS) this.retransBytes += len;
  }

  private setFlags(i: number, nf: number): void {
    const k = i & this.mask;
    const len = this.e[k]! - this.s[k]!;
    this.account(this.f[k]!, -len);
    this.f[k] = nf;
    this.account(nf, len);
  }

  /** First record whose end is above `off` (tail when none). */
  find(off: number): number {
    let lo = this.head;
    let hi = this.tail;
    while (lo < hi) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if (this.e[mid & this.mask]! <= off) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Cumulative ACK up to offset `off`: drops and trims records; returns bytes newly delivered (not SACKed before). */
  ackTo(off: number): number {
    this.ackRttSentAt = -1;
    this.ackedRetransmitted = false;
    let delivered = 0;
    while (this.head < this.tail) {
      const k = this.head & this.mask;
      const st = this.s[k]!;
      if (st >= off) break;
      const en = this.e[k]!;
      const fl = this.f[k]!;
      if (fl & EVER_RETRANS) this.ackedRetransmitted = true;
      else if (this.ackRttSentAt < 0) this.ackRttSentAt = this.t[k]!;
      const len = Math.min(en, off) - st;
      if (!(fl & SACKED)) {
        if (!(fl & EVER_RETRANS)) this.origDelivered = true;
        delivered += len;
        this.deliveredRecord(k, Math.min(en, off));
      }
      this.account(fl, -len);
      if (this.head < this.scan && fl & SACKED) this.sackedBelowScan -= len;
      if (en > off) {
        this.s[k] = off;
        break;
      }
      this.head++;
    }
    if (this.scan < this.head) {
      this.scan = this.head;
      this.sackedBelowScan = 0;
    }
    if (this.tail === this.head || this.sackedBytes === 0) this.highSacked = -1;
    if (this.head >= REBASE_AT) this.rebase();
    return delivered;
  }

  private rebase(): void {
    const d = this.head - (this.head & this.mask);
    this.head -= d;
    this.tail -= d;
    this.scan -= d;
    this.rackScan = Math.max(0, this.rackScan - d);
    this.hint = Math.max(0, this.hint - d);
  }

  /** Marks records wholly inside the SACK block [left, right); returns newly SACKed bytes. */
  sack(left: number, right: number): number {
    let n = 0;
    for (let i = this.find(left); i < this.tail; i++) {
      const k = i & this.mask;
      const st = this.s[k]!;
      if (st >= right) break;
      const en = this.e[k]!;
      const fl = this.f[k]!;
      if (fl & SACKED || st < left || en > right) continue;
      if (!(fl & EVER_RETRANS)) {
        this.origDelivered = true;
        if (this.sackRttSentAt < 0 || this.t[k]! < this.sackRttSentAt) this.sackRttSentAt = this.t[k]!;
      }
      this.deliveredRecord(k, en);
      this.setFlags(i, (fl | SACKED) & ~(LOST | RETRANS));
      if (i < this.scan) this.sackedBelowScan += en - st;
      if (en > this.highSacked) this.highSacked = en;
      n += en - st;
    }
    return n;
  }

  /**
   * RFC 6675 IsLost: marks unSACKed records below the highest SACK that have more than `threshold` SACKed
   * bytes above them. Returns true when something new was marked.
   */
  markLost(threshold: number): boolean {
    let marked = false;
    if (this.scan < this.head) {
      this.scan = this.head;
      this.sackedBelowScan = 0;
    }
    while (this.scan < this.tail) {
      const k = this.scan & this.mask;
      if (this.s[k]! >= this.highSacked) break;
      const len = this.e[k]! - this.s[k]!;
      const fl = this.f[k]!;
      if (fl & SACKED) this.sackedBelowScan += len;
      else {
        if (this.sackedBytes - this.sackedBelowScan <= threshold) break;
        if (!(fl & LOST)) {
          this.setFlags(this.scan, fl | LOST);
          if (this.scan < this.hint) this.hint = this.scan;
          marked = true;
        }
      }
      this.scan++;
    }
    return marked;
  }

  /** Marks the oldest record lost so it is retransmitted next (fast retransmit, NewReno partial ACK). */
  markHeadLost(): void {
    if (this.head === this.tail) return;
    const fl = this.flags(this.head);
    if (fl & SACKED) return;
    this.setFlags(this.head, (fl | LOST) & ~RETRANS);
    this.hint = this.head;
  }

  /** After an RTO: every unSACKed record is lost, outstanding retransmissions included (go-back-N). */
  markAllLost(): void {
    for (let i = this.head; i < this.tail; i++) {
      const fl = this.f[i & this.mask]!;
      if (!(fl & SACKED)) this.setFlags(i, (fl | LOST) & ~RETRANS);
    }
    this.scan = this.tail;
    this.sackedBelowScan = this.sackedBytes;
    this.hint = this.head;
    this.rxHead = this.rxTail;
  }

  /** Undoes loss marks that were not acted on (a spurious timeout): un-retransmitted records are in flight again. */
  unmarkPendingLost(): void {
    for (let i = this.head; i < this.tail; i++) {
      const fl = this.f[i & this.mask]!;
      if ((fl & (LOST | RETRANS | SACKED)) === LOST) this.setFlags(i, fl & ~LOST);
    }
    this.rackScan = this.head;
  }

  /** Forgets all SACK information (the receiver reneged, RFC 2018 §8). */
  clearSacks(): void {
    for (let i = this.head; i < this.tail; i++) {
      const fl = this.f[i & this.mask]!;
      if (fl & SACKED) this.setFlags(i, fl & ~SACKED);
    }
    this.highSacked = -1;
    this.scan = this.head;
    this.sackedBelowScan = 0;
    this.rackScan = this.head;
  }

  /** RFC 6675 NextSeg rule 1: the oldest record marked lost and not yet retransmitted, or -1. */
  nextLost(): number {
    if (this.toRetransBytes <= 0) return -1;
    let i = Math.max(this.hint, this.head);
    for (; i < this.tail; i++) {
      if ((this.f[i & this.mask]! & (LOST | RETRANS | SACKED)) === LOST) {
        this.hint = i;
        return i;
      }
    }
    this.hint = i;
    return -1;
  }

  /** Record `i` was retransmitted at `now`, when everything below `sndNxt` had been sent. */
  markRetransmitted(i: number, now: number, sndNxt: number): void {
    this.setFlags(i, this.flags(i) | RETRANS | EVER_RETRANS);
    this.t[i & this.mask] = now;
    this.x[i & this.mask] = sndNxt;
    if (sndNxt < this.retransLow) this.retransLow = sndNxt;
    if (this.rack) this.queueRetransmission(this.start(i), now);
  }

  /**
   * Lost retransmissions (Linux's tcp_mark_lost_retrans, with RFC 6675's DupThresh margin for reordering):
   * a retransmission is lost too when more than `threshold` bytes beyond the data that was outstanding when
   * it went out have been SACKed, since data sent after it got through. It is marked lost again so that
   * NextSeg sends it once more, instead of the whole flight waiting for the retransmission timer. Returns
   * the number of records marked.
   */
  markLostRetransmissions(threshold: number): number {
    if (this.retransBytes === 0) {
      this.retransLow = Number.POSITIVE_INFINITY;
      return 0;
    }
    const limit = this.highSacked - threshold;
    if (!(limit > this.retransLow)) return 0;
    // Each scan marks at least one record or recomputes the exact bound, so scans stay rare.
    let low = Number.POSITIVE_INFINITY;
    let marked = 0;
    for (let i = this.head; i < this.tail; i++) {
      const k = i & this.mask;
      const fl = this.f[k]!;
      if (!(fl & RETRANS)) continue;
      const x = this.x[k]!;
      if (x < limit) {
        this.setFlags(i, (fl | LOST) & ~RETRANS);
        if (i < this.hint) this.hint = i;
        marked++;
      } else if (x < low) low = x;
    }
    this.retransLow = low;
    return marked;
  }

  /** Splits record `i` at offset `at` (rare: the options grew since it was first sent). */
  split(i: number, at: number): void {
    if (this.tail - this.head === this.cap) this.grow();
    const m = this.mask;
    for (let j = this.tail; j > i + 1; j--) {
      const a = j & m;
      const b = (j - 1) & m;
      this.s[a] = this.s[b]!;
      this.e[a] = this.e[b]!;
      this.t[a] = this.t[b]!;
      this.x[a] = this.x[b]!;
      this.f[a] = this.f[b]!;
    }
    const k = i & m;
    const n = (i + 1) & m;
    this.s[n] = at;
    this.e[n] = this.e[k]!;
    this.t[n] = this.t[k]!;
    this.x[n] = this.x[k]!;
    this.f[n] = this.f[k]!;
    this.e[k] = at;
    this.f[k] = this.f[k]! & ~FIN;
    this.tail++;
    if (this.scan > i) this.scan++;
    if (this.rackScan > i) this.rackScan++;
    if (this.hint > i) this.hint++;
  }

  // ---------------------------------------------------------------- RACK (RFC 8985 §6)

  /**
   * Starts an ACK: clears what the previous one delivered; a retransmitted record gives a RACK sample only if
   * sent at or before `validBefore`.
   */
  beginAck(validBefore: number): void {
    this.rackTs = -1;
    this.rackEnd = -1;
    this.reordered = false;
    this.origDelivered = false;
    this.fackBefore = this.fack;
    this.validBefore = validBefore;
  }

  /**
   * A record newly delivered up to `end` (§6.2 steps 2 and 3): reordering when an original transmission
   * arrives below data delivered before; a retransmission sent less than min_RTT ago is ambiguous (the ACK
   * may be for the original) and gives no RACK sample.
   */
  private deliveredRecord(k: number, end: number): void {
    const fl = this.f[k]!;
    const t = this.t[k]!;
    if (!(fl & EVER_RETRANS) && end < this.fackBefore) this.reordered = true;
    if (end > this.fack) this.fack = end;
    if (fl & EVER_RETRANS && t > this.validBefore) return;
    if (sentAfter(t, end, this.rackTs, this.rackEnd)) {
      this.rackTs = t;
      this.rackEnd = end;
    }
  }

  private queueRetransmission(start: number, now: number): void {
    let n = this.rxS.length;
    if (this.rxTail - this.rxHead === n) {
      const s = new Float64Array(2 * n);
      const t = new Float64Array(2 * n);
      for (let j = 0; j < n; j++) {
        s[j] = this.rxS[(this.rxHead + j) % n]!;
        t[j] = this.rxT[(this.rxHead + j) % n]!;
      }
      this.rxS = s;
      this.rxT = t;
      this.rxHead = 0;
      this.rxTail = n;
      n *= 2;
    } else if (this.rxTail === this.rxHead) this.rxHead = this.rxTail = 0;
    this.rxS[this.rxTail % n] = start;
    this.rxT[this.rxTail % n] = now;
    this.rxTail++;
  }

  /**
   * RACK_detect_loss (§6.2 step 5): marks lost every unSACKed record sent before RACK's segment
   * (`xmitTs`, `endSeq`) once `wnd` (RACK.rtt + reo_wnd) has passed since it was sent; retransmissions
   * that qualify lose their RETRANS mark so they are sent again (rackLostRetrans counts them). Returns
   * when the earliest record sent before RACK's segment but not yet due will be (INF: none): the
   * reordering timer. Both walks resume where they stopped, so each record is passed once.
   */
  rackDetect(xmitTs: number, endSeq: number, wnd: number, now: number): number {
    let due = INF;
    this.rackLostRetrans = 0;
    if (this.rackScan < this.head) this.rackScan = this.head;
    while (this.rackScan < this.tail) {
      const i = this.rackScan;
      const k = i & this.mask;
      const fl = this.f[k]!;
      // Retransmitted records are in the retransmission queue; SACKed and lost ones are decided.
      if (!(fl & (SACKED | LOST | RETRANS))) {
        const t = this.t[k]!;
        if (!sentAfter(xmitTs, endSeq, t, this.e[k]!)) break;
        if (t + wnd > now) {
          due = t + wnd;
          break;
        }
        this.setFlags(i, fl | LOST);
        if (i < this.hint) this.hint = i;
      }
      this.rackScan++;
    }
    const n = this.rxS.length;
    while (this.rxHead < this.rxTail) {
      const j = this.rxHead % n;
      const st = this.rxS[j]!;
      const t = this.rxT[j]!;
      const i = this.find(st);
      const k = i & this.mask;
      if (i >= this.tail || this.s[k] !== st || this.t[k] !== t || !(this.f[k]! & RETRANS)) {
        this.rxHead++;
        continue;
      }
      if (!sentAfter(xmitTs, endSeq, t, this.e[k]!)) break;
      if (t + wnd > now) {
        if (t + wnd < due) due = t + wnd;
        break;
      }
      this.setFlags(i, (this.f[k]! | LOST) & ~RETRANS);
      if (i < this.hint) this.hint = i;
      this.rackLostRetrans++;
      this.rxHead++;
    }
    return due;
  }

  /** The highest record not SACKed (the tail loss probe retransmits it), or -1. */
  lastUnsacked(): number {
    for (let i = this.tail - 1; i >= this.head; i--) if (!(this.f[i & this.mask]! & SACKED)) return i;
    return -1;
  }
}
