/**
 * One host's TCP: demultiplexes segments to connections by 4-tuple, runs listeners with a bounded number
 * of half-open connections, answers segments for no connection with RST (RFC 9293 §3.10.7.1), and schedules
 * output and timers for the drivers (the SegmentStack contract of src/stack.ts).
 */
import type { OutSegment, SegmentStack } from '../stack.ts';
import type { Rng } from '../util/rng.ts';
import type { Instant } from '../util/time.ts';
import { SECOND } from '../util/time.ts';
import { formatIp, ipFromText, parseIp } from '../wire/address.ts';
import { gatheredChecksum, pseudoHeaderSum, segmentChecksum, transportChecksum } from '../wire/checksum.ts';
import { DecodeError } from '../wire/errors.ts';
import {
  decodeTcpOptions,
  encodeTcpOptions,
  IPPROTO_TCP,
  TcpFlag,
  type TcpOption,
  tcpHeaderLength,
} from '../wire/tcp.ts';
import { DEFAULT_TCP_CONFIG, resolveConfig, type TcpConfig } from './config.ts';
import { type ConnectionOwner, type Endpoint4, TcpConnection } from './connection.ts';
import { TcpCounters } from './counters.ts';
import type { SubflowHook } from './hook.ts';
import { ParsedSegment, parseSegment, writeHeader } from './segment.ts';

const { SYN, RST, ACK, FIN } = TcpFlag;
const EPHEMERAL_LOW = 32768;
const EPHEMERAL_COUNT = 61000 - 32768;
/** Bound on RSTs waiting to be polled: a flood of stray segments cannot grow memory. */
const PENDING_MAX = 1024;

/** What a listener's hook factory sees of a SYN. */
export interface SynInfo {
  local: Endpoint4;
  remote: Endpoint4;
  options: readonly TcpOption[];
}

/** A listener hook's refusal of a SYN, with the options its RST carries. */
export interface SynRefusal {
  reset: readonly TcpOption[];
}

export interface ListenOptions {
  /** Accept only on this local address (any address when omitted). */
  address?: string;
  config?: Partial<TcpConfig>;
  /**
   * Per-SYN hook (MPTCP): a hook for the new connection, null for plain TCP, false to refuse with a bare RST,
   * or `{ reset }` to refuse with an RST carrying these options (MP_TCPRST says why, RFC 8684 §3.6).
   */
  hook?: (syn: SynInfo) => SubflowHook | null | false | SynRefusal;
}

export interface ConnectOptions {
  local: string;
  localPort?: number;
  remote: string;
  remotePort: number;
  config?: Partial<TcpConfig>;
  hook?: SubflowHook;
}

interface Listener {
  port: number;
  address: string | null;
  onAccept: (conn: TcpConnection) => void;
  config: TcpConfig;
  hook: ListenOptions['hook'] | null;
  halfOpen: number;
}

/** Thrown on API misuse: a port already in use, a bad address. */
export class TcpEndpointError extends Error {
  override name = 'TcpEndpointError';
}

export class TcpEndpoint implements SegmentStack, ConnectionOwner {
  readonly counters = new TcpCounters();
  private readonly rng: Rng;
  private readonly config: TcpConfig;
  /** Connections by localPort·65536 + remotePort; addresses are checked in the (short) list. */
  private readonly table = new Map<number, TcpConnection[]>();
  private readonly all = new Set<TcpConnection>();
  private readonly listeners = new Map<number, Listener[]>();
  private readonly addrCache = new Map<string, Uint8Array | null>();
  private pending: OutSegment[] = [];
  private pendingHead = 0;
  private active: TcpConnection[] = [];
  private activeHead = 0;
  private readonly parsed = new ParsedSegment();
  // The addresses of the last segment received, their bytes and their pseudo-header sum (-1: unusable).
  private lastSrc = '';
  private lastDst = '';
  private lastSrcB: Uint8Array | null = null;
  private lastDstB: Uint8Array | null = null;
  private lastPseudo = -1;
  private challengeSecond = -1;
  private challengeCount = 0;

  constructor(opts: { rng: Rng; config?: Partial<TcpConfig> }) {
    this.rng = opts.rng;
    this.config = resolveConfig(DEFAULT_TCP_CONFIG, opts.config);
  }

  /** Accepts connections on `port`; `onAccept` gets each one once its handshake completes. */
  listen(port: number, onAccept: (conn: TcpConnection) => void, opts: ListenOptions = {}): void {
    checkPort(port);
    const address = opts.address !== undefined ? canonical(opts.address) : null;
    const list = this.listeners.get(port) ?? [];
    if (list.some((l) => l.address === address))
      throw new TcpEndpointError(`port ${port} already has a listener${address ? ` on ${address}` : ''}`);
    list.push({
      port,
      address,
      onAccept,
      config: resolveConfig(this.config, opts.config),
      hook: opts.hook ?? null,
      halfOpen: 0,
    });
    this.listeners.set(port, list);
  }

  /** Stops listening on `port` (connections already accepted carry on). */
  unlisten(port: number, address?: string): void {
    const a = address !== undefined ? canonical(address) : null;
    const list = this.listeners.get(port)?.filter((l) => l.address !== a);
    if (list && list.length > 0) this.listeners.set(port, list);
    else this.listeners.delete(port);
  }

  /** Opens a connection (SYN at the next poll); an ephemeral local port when none is given. */
  connect(_now: Instant, opts: ConnectOptions): TcpConnection {
    const local = canonical(opts.local);
    const remote = canonical(opts.remote);
    checkPort(opts.remotePort);
    let port = opts.localPort;
    if (port !== undefined) {
      checkPort(port);
      if (this.find(port, opts.remotePort, local, remote))
        throw new TcpEndpointError(`${local}:${port} -> ${remote}:${opts.remotePort} is already in use`);
    } else port = this.ephemeralPort(local, remote, opts.remotePort);
    const conn = this.create(
      resolveConfig(this.config, opts.config),
      { address: local, port },
      { address: remote, port: opts.remotePort },
      opts.hook ?? null,
    );
    conn.startConnect();
    return conn;
  }

  /** Connections the endpoint holds (TIME_WAIT included). */
  connections(): TcpConnection[] {
    return [...this.all];
  }

  receive(
    now: Instant,
    src: string,
    dst: string,
    segment: Uint8Array,
    checksumVerified = false,
    payload?: Uint8Array,
    payloadLent = false,
  ): void {
    const c = this.counters;
    c.InSegs++;
    const p = this.parsed;
    if (!parseSegment(segment, p)) {
      c.InErrs++;
      c.DropMalformed++;
      return;
    }
    if (payload !== undefined) {
      p.payload = payload;
      p.payloadStart = 0;
      p.payloadEnd = payload.length;
      p.payloadOwned = !payloadLent;
      p.payloadLent = payloadLent;
    }
    if (src !== this.lastSrc || dst !== this.lastDst) {
      // Segments come in runs from one peer: look the addresses up once per run.
      const sb = this.addressBytes(src);
      const db = this.addressBytes(dst);
      this.lastSrc = src;
      this.lastDst = dst;
      this.lastSrcB = sb;
      this.lastDstB = db;
      this.lastPseudo =
        sb === null || db === null || sb.length !== db.length ? -1 : pseudoHeaderSum(sb, db, IPPROTO_TCP, 0);
    }
    const srcB = this.lastSrcB;
    const dstB = this.lastDstB;
    if (srcB === null || dstB === null || this.lastPseudo < 0) {
      c.InErrs++;
      c.DropBadAddress++;
      return;
    }
    if (!checksumVerified && !this.checksumOk(segment, payload)) {
      c.InErrs++;
      c.InCsumErrors++;
      return;
    }
    let conn = this.find(p.dstPort, p.srcPort, dst, src);
    if (
      conn !== null &&
      conn.state === 'TIME_WAIT' &&
      (p.flags & (SYN | ACK | RST)) === SYN &&
      conn.acceptsReuse(p)
    ) {
      c.TCPTimeWaitReuse++;
      conn.forceClose();
      conn = null;
    }
    if (conn !== null) {
      conn.input(now, p, segment);
      return;
    }
    const listener = this.findListener(p.dstPort, dst);
    if (listener === null) {
      c.DropNoSocket++;
      this.replyRst(src, dst, srcB, dstB, p, p.len);
      return;
    }
    this.listenInput(now, listener, src, dst, srcB, dstB, segment);
  }

  /** The checksum of a segment, or of a header whose data the transport carried apart (even-length header). */
  private checksumOk(segment: Uint8Array, payload: Uint8Array | undefined): boolean {
    if (payload === undefined)
      return segmentChecksum(this.lastPseudo + segment.length, segment, 0, segment.length) === 0;
    return gatheredChecksum(this.lastPseudo + segment.length + payload.length, segment, payload) === 0;
  }

  /** RFC 9293 §3.10.7.2: a segment for a LISTEN socket. */
  private listenInput(
    now: Instant,
    l: Listener,
    src: string,
    dst: string,
    srcB: Uint8Array,
    dstB: Uint8Array,
    segment: Uint8Array,
  ): void {
    const c = this.counters;
    const p = this.parsed;
    const f = p.flags;
    if (f & RST) {
      c.DropFlags++;
      return;
    }
    if (f & ACK || !(f & SYN)) {
      c.DropFlags++;
      if (f & ACK) this.replyRst(src, dst, srcB, dstB, p, p.len);
      return;
    }
    if (l.halfOpen >= l.config.backlog) {
      // Half-open connections are bounded: a SYN flood costs dropped SYNs, not memory.
      c.ListenOverflows++;
      c.ListenDrops++;
      c.TCPReqQFullDrop++;
      return;
    }
    const local = { address: dst, port: p.dstPort };
    const remote = { address: src, port: p.srcPort };
    let hook: SubflowHook | null = null;
    if (l.hook) {
      const options = decodeTcpOptions(segment, 20, p.headerLength);
      const h = options instanceof DecodeError ? false : l.hook({ local, remote, options });
      if (h === false || (h !== null && 'reset' in h)) {
        c.DropHookVeto++;
        this.replyRst(src, dst, srcB, dstB, p, p.len, h ? h.reset : undefined);
        return;
      }
      hook = h;
    }
    const conn = this.create(l.config, local, remote, hook);
    conn.listenerSlot = l;
    l.halfOpen++;
    conn.startAccept(now, p);
  }

  poll(_now: Instant): OutSegment | null {
    if (this.pendingHead < this.pending.length) {
      const seg = this.pending[this.pendingHead++]!;
      if (this.pendingHead === this.pending.length) {
        this.pending = [];
        this.pendingHead = 0;
      }
      return seg;
    }
    const a = this.active;
    while (this.activeHead < a.length) {
      const conn = a[this.activeHead]!;
      const seg = conn.output(_now);
      if (seg !== null) return seg;
      conn.queued = false;
      this.activeHead++;
    }
    a.length = 0;
    this.activeHead = 0;
    return null;
  }

  nextDeadline(): Instant | null {
    let t = Number.POSITIVE_INFINITY;
    for (const conn of this.all) {
      const d = conn.deadline();
      if (d < t) t = d;
    }
    return t === Number.POSITIVE_INFINITY ? null : t;
  }

  onTimer(now: Instant): void {
    for (const conn of this.all) if (conn.deadline() <= now) conn.timer(now);
  }

  // ------------------------------------------------------------ ConnectionOwner (called by connections)

  /** @internal */
  activate(conn: TcpConnection): void {
    if (conn.queued) return;
    conn.queued = true;
    this.active.push(conn);
  }

  /** @internal */
  closed(conn: TcpConnection): void {
    this.all.delete(conn);
    const key = conn.local.port * 65536 + conn.remote.port;
    const list = this.table.get(key);
    if (list === undefined) return;
    const i = list.indexOf(conn);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.table.delete(key);
  }

  /** @internal */
  accepted(conn: TcpConnection): void {
    const l = this.findListener(conn.local.port, conn.local.address);
    l?.onAccept(conn);
  }

  /** @internal */
  queue(seg: OutSegment): void {
    if (this.pending.length - this.pendingHead < PENDING_MAX) this.pending.push(seg);
  }

  /** @internal RFC 5961 §7: at most challengeAckLimit challenge ACKs per second for the whole endpoint. */
  challengeAckAllowed(now: Instant): boolean {
    const second = Math.floor(now / SECOND);
    if (second !== this.challengeSecond) {
      this.challengeSecond = second;
      this.challengeCount = 0;
    }
    if (this.challengeCount >= this.config.challengeAckLimit) return false;
    this.challengeCount++;
    return true;
  }

  // ------------------------------------------------------------ internals

  private create(
    config: TcpConfig,
    local: Endpoint4,
    remote: Endpoint4,
    hook: SubflowHook | null,
  ): TcpConnection {
    const lb = this.addressBytes(local.address);
    const rb = this.addressBytes(remote.address);
    if (lb === null || rb === null || lb.length !== rb.length)
      throw new TcpEndpointError(
        `cannot connect ${local.address} to ${remote.address}: mixed or bad address families`,
      );
    const conn = new TcpConnection({
      owner: this,
      config,
      local,
      remote,
      pseudoSum: pseudoHeaderSum(lb, rb, IPPROTO_TCP, 0),
      iss: this.rng.u32(),
      tsOffset: this.rng.u32(),
      hook,
    });
    const key = local.port * 65536 + remote.port;
    const list = this.table.get(key);
    if (list) list.push(conn);
    else this.table.set(key, [conn]);
    this.all.add(conn);
    return conn;
  }

  private find(localPort: number, remotePort: number, local: string, remote: string): TcpConnection | null {
    const list = this.table.get(localPort * 65536 + remotePort);
    if (list === undefined) return null;
    for (let i = 0; i < list.length; i++) {
      const c = list[i]!;
      if (c.remote.address === remote && c.local.address === local) return c;
    }
    return null;
  }

  private findListener(port: number, address: string): Listener | null {
    const list = this.listeners.get(port);
    if (list === undefined) return null;
    let any: Listener | null = null;
    for (const l of list) {
      if (l.address === address) return l;
      if (l.address === null) any = l;
    }
    return any;
  }

  private ephemeralPort(local: string, remote: string, remotePort: number): number {
    for (let tries = 0; tries < 64; tries++) {
      const port = EPHEMERAL_LOW + this.rng.int(EPHEMERAL_COUNT);
      if (!this.find(port, remotePort, local, remote) && !this.listeners.has(port)) return port;
    }
    for (let port = EPHEMERAL_LOW; port < EPHEMERAL_LOW + EPHEMERAL_COUNT; port++)
      if (!this.find(port, remotePort, local, remote) && !this.listeners.has(port)) return port;
    throw new TcpEndpointError(`no free ephemeral port from ${local} to ${remote}:${remotePort}`);
  }

  private addressBytes(text: string): Uint8Array | null {
    let b = this.addrCache.get(text);
    if (b === undefined) {
      const r = parseIp(text);
      b = r instanceof DecodeError ? null : r;
      if (this.addrCache.size > 4096) this.addrCache.clear();
      this.addrCache.set(text, b);
    }
    return b;
  }

  /** RST in reply to a segment for no connection (RFC 9293 §3.10.7.1); never in reply to an RST. */
  private replyRst(
    src: string,
    dst: string,
    srcB: Uint8Array,
    dstB: Uint8Array,
    p: ParsedSegment,
    payloadLen: number,
    options?: readonly TcpOption[],
  ): void {
    if (p.flags & RST) return;
    const hl = options ? tcpHeaderLength(options) : 20;
    const b = new Uint8Array(hl);
    if (p.flags & ACK) writeHeader(b, p.dstPort, p.srcPort, p.ack, 0, hl, RST, 0);
    else {
      const len = payloadLen + (p.flags & SYN ? 1 : 0) + (p.flags & FIN ? 1 : 0);
      writeHeader(b, p.dstPort, p.srcPort, 0, (p.seq + len) >>> 0, hl, RST | ACK, 0);
    }
    if (options) encodeTcpOptions(options, b, 20);
    const sum = transportChecksum(dstB, srcB, IPPROTO_TCP, b);
    b[16] = sum >>> 8;
    b[17] = sum;
    this.counters.OutRsts++;
    this.counters.OutSegs++;
    this.queue({ src: dst, dst: src, segment: b });
  }
}

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new TcpEndpointError(`port ${port} is not an integer in 1..65535`);
}

function canonical(text: string): string {
  return formatIp(ipFromText(text));
}
