/**
 * The UDP transport: our TCP segments in the TCP-in-UDP layout (src/io/tcp-in-udp.ts), one UDP socket per
 * local (address, port), so every subflow leaves by its own source address and a Linux host running the
 * `tcp-in-udp` converter sees the same 4-tuples as TCP would. No privileges, no kernel support.
 *
 * - A listener's port is bound on each of its addresses; the subflows of every peer share that socket.
 * - A subflow we open binds its (address, port) when its SYN goes out, and that socket is connected to the
 *   subflow's one peer (connected sockets skip a per-send address lookup in Node and filter stray traffic).
 *   When the bind fails (port taken, address gone), the SYN is answered with a local RST so the subflow
 *   fails at once and the path manager tries again, instead of waiting out SYN retransmissions.
 * - Send errors never throw: they are counted; errors that mean "this address is gone" trigger an address
 *   check, and an address that disappears is reported to the stack (its subflows fail over) and its
 *   listener sockets are bound again when it returns.
 * - The IP TOS byte cannot be set per datagram: segments asking for one are counted.
 * - On Linux the sockets are the UDP addon's (src/io/udp-native.ts): the datagrams of one drain of the stack
 *   are staged per socket and leave in one system call (GSO where sizes repeat); reads come in batches (GRO).
 *   Elsewhere, or with `native: false`, they are node:dgram sockets: one system call per datagram. No payload
 *   copies there: a received datagram's data goes to the stack apart from its rebuilt header, in the buffer
 *   Node made for it, and a segment handed out with its data apart (TcpConfig.gatherPayload) leaves with its
 *   header in one sendmsg.
 */
import dgram from 'node:dgram';
import type { OutSegment } from '../stack.ts';
import { writeHeader } from '../tcp/segment.ts';
import { formatIpv4, formatIpv6, parseIp } from '../wire/address.ts';
import { transportChecksum } from '../wire/checksum.ts';
import { DecodeError } from '../wire/errors.ts';
import { IPPROTO_TCP, TcpFlag } from '../wire/tcp.ts';
import { type AddressSource, canonicalAddress, hasAddress, systemAddresses } from './interfaces.ts';
import { HeaderBuffer, payloadData, payloadHeader, payloadProblem, segmentToPayload } from './tcp-in-udp.ts';
import { type Transport, TransportError, type TransportSink } from './transport.ts';
import {
  errnoName,
  forEachDatagram,
  type UdpAddon,
  UdpBatch,
  type UdpHandle,
  udpAddon,
} from './udp-native.ts';

export interface UdpTransportOptions {
  /** SO_RCVBUF / SO_SNDBUF of every socket in bytes (the kernel caps them at net.core.rmem_max/wmem_max). */
  recvBufferSize?: number;
  sendBufferSize?: number;
  /** Connect the socket of a subflow we open to its peer (default true). */
  connectSockets?: boolean;
  /** How often to look for local addresses that disappeared or came back, in ms (0: never; default 1000). */
  addressCheckInterval?: number;
  /** Where the host's addresses come from (tests replace it to make an address disappear). */
  addresses?: AddressSource;
  /**
   * Use the UDP addon's batching sockets where the addon loads (default true; the environment variable
   * MPTCP_TS_UDP_NATIVE=0 turns it off); false: node:dgram sockets.
   */
  native?: boolean;
}

export type UdpStats = {
  datagramsIn: number;
  datagramsOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Received datagrams that are not TCP-in-UDP segments. */
  dropMalformed: number;
  /** Segments not sent: from an address that is down, to another peer than a connected socket's, or
   *  whose socket could not be bound. */
  dropAddressDown: number;
  dropWrongPeer: number;
  dropUnbound: number;
  /** Send errors reported by the kernel (EMSGSIZE counted apart), and receive-side errors (ICMP). */
  sendErrors: number;
  tooBig: number;
  receiveErrors: number;
  bindFailures: number;
  /** Local RSTs given to the stack for SYNs whose socket could not be bound. */
  localResets: number;
  addressDown: number;
  addressUp: number;
  tosIgnored: number;
  socketsOpen: number;
};

const DEFAULT_BUFFER = 4 * 1024 * 1024;
const DEFAULT_ADDRESS_CHECK_MS = 1000;
/** Peer addresses known to be valid for a socket's family (one entry per peer), bounded. */
const PEER_CACHE_MAX = 1024;
/** Payloads held while a socket connects (a handshake sends one or two). */
const MAX_WAITING = 64;
/** Error codes that say the local address (or its route) is gone. */
const ADDRESS_GONE = new Set(['EADDRNOTAVAIL', 'ENETUNREACH', 'ENETDOWN', 'EHOSTUNREACH', 'ENODEV']);

interface PendingSyn {
  remote: string;
  remotePort: number;
  seq: number;
}

interface UdpPort {
  key: string;
  address: string;
  port: number;
  /** A node:dgram socket, or the addon's socket and its send batch. */
  socket: dgram.Socket | null;
  handle: UdpHandle | null;
  batch: UdpBatch | null;
  /** Settles when the bind succeeded or failed. */
  ready: Promise<void>;
  state: 'binding' | 'ready' | 'failed' | 'closed';
  /** A listener's port (shared by every peer, never connected): bound again when its address returns. */
  listener: boolean;
  /** The one peer a subflow socket is connected to, once known (compared per send: no string building). */
  peerAddress: string | null;
  peerPort: number;
  /** The last source the addon reported, as its 4 address words and as text (one peer per socket, mostly). */
  lastSrcWords: Uint32Array;
  lastSrc: string;
  /** Payloads waiting for the connect to finish (Node sends on a connecting socket only with an address). */
  waiting: (Buffer | Buffer[])[] | null;
  /** SYNs sent while the socket was binding: answered with a local RST if the bind fails. */
  syns: PendingSyn[];
  peers: Set<string>;
  bytes: Uint8Array;
  onSent: (err: Error | null) => void;
}

export class UdpTransport implements Transport {
  readonly kind = 'udp';
  readonly carriesTcpChecksum = false;
  readonly gathers = true;
  /** node:dgram sockets ever opened (a send holds a payload's view until it completes; the addon copies it). */
  private dgramSockets = 0;
  readonly stats: UdpStats = {
    datagramsIn: 0,
    datagramsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    dropMalformed: 0,
    dropAddressDown: 0,
    dropWrongPeer: 0,
    dropUnbound: 0,
    sendErrors: 0,
    tooBig: 0,
    receiveErrors: 0,
    bindFailures: 0,
    localResets: 0,
    addressDown: 0,
    addressUp: 0,
    tosIgnored: 0,
    socketsOpen: 0,
  };
  /** The last send or receive error (code and text), for diagnostics. */
  lastError: string | null = null;
  private sink: TransportSink | null = null;
  private readonly ports = new Map<string, UdpPort>();
  /** Addresses in use (sockets or listeners on them) and those currently found missing. */
  private readonly watched = new Set<string>();
  private readonly down = new Set<string>();
  /** Listener ports by address, to bind again when the address returns. */
  private readonly listeners = new Map<string, Set<number>>();
  private readonly addresses: AddressSource;
  private readonly checkTimer: NodeJS.Timeout | null = null;
  private referenced = true;
  private closed = false;
  private readonly v6Names = new Map<string, string>();
  private readonly header = new HeaderBuffer();
  private readonly addon: UdpAddon | null;
  /** Ports whose batch holds datagrams; flushed once the current drain of the stack is over. */
  private readonly staged: UdpPort[] = [];
  /** Peer addresses as bytes, for unconnected sends through the addon (bounded). */
  private readonly peerBytes = new Map<string, Uint8Array>();

  constructor(private readonly opts: UdpTransportOptions = {}) {
    this.addresses = opts.addresses ?? systemAddresses;
    this.addon = opts.native === false || process.env.MPTCP_TS_UDP_NATIVE === '0' ? null : udpAddon();
    const every = opts.addressCheckInterval ?? DEFAULT_ADDRESS_CHECK_MS;
    if (every > 0) {
      this.checkTimer = setInterval(() => this.checkAddresses(), every);
      this.checkTimer.unref();
    }
  }

  attach(sink: TransportSink): void {
    if (this.sink) throw new TransportError('this transport already feeds a stack: create another one');
    this.sink = sink;
  }

  async open(address: string, port: number, use: 'listener' | 'connection'): Promise<number> {
    const a = canonicalAddress(address);
    if (a === null) throw new TransportError(`'${address}' is not an IP address`, 'EINVAL');
    if (this.closed) throw new TransportError('the transport is closed', 'ECLOSED');
    const p = this.bind(a, port, use === 'listener');
    await p.ready;
    if (use === 'listener') {
      const set = this.listeners.get(a) ?? new Set<number>();
      set.add(p.port);
      this.listeners.set(a, set);
    }
    return p.port;
  }

  send(out: OutSegment): void {
    const seg = out.segment;
    if (seg.length < 20) return;
    const srcPort = (seg[0]! << 8) | seg[1]!;
    const dstPort = (seg[2]! << 8) | seg[3]!;
    if (out.tos) this.stats.tosIgnored++;
    if (this.down.has(out.src)) {
      this.stats.dropAddressDown++;
      return;
    }
    let p = this.ports.get(`${out.src}|${srcPort}`);
    if (p === undefined) {
      if (this.closed) return;
      p = this.bind(out.src, srcPort, false);
    }
    if (p.state === 'failed' || p.state === 'closed') {
      this.stats.dropUnbound++;
      return;
    }
    const flags = seg[13]!;
    if (p.state === 'binding' && flags & TcpFlag.SYN && !(flags & TcpFlag.ACK))
      p.syns.push({ remote: out.dst, remotePort: dstPort, seq: readU32(seg, 4) });
    const head = segmentToPayload(seg);
    // A subflow's socket is connected to its one peer by its first segment; a segment for another peer drops.
    const connected = !p.listener && this.opts.connectSockets !== false;
    if (connected && p.peerAddress !== null && (p.peerAddress !== out.dst || p.peerPort !== dstPort)) {
      this.stats.dropWrongPeer++;
      return;
    }
    const connecting = connected && p.peerAddress === null;
    if (connecting) {
      p.peerAddress = out.dst;
      p.peerPort = dstPort;
    }
    this.stats.datagramsOut++;
    this.stats.bytesOut += head.length + (out.payload?.length ?? 0);
    if (p.batch !== null) this.stage(p, head, out, dstPort, connected, connecting);
    else if (p.socket !== null) this.sendDgram(p, p.socket, head, out, dstPort, connected, connecting);
    // Else the addon's bind failed, and the failure is being reported.
    else this.stats.dropUnbound++;
  }

  /** Through node:dgram: header and data in one sendmsg (Node gathers a list), the data never copied. */
  private sendDgram(
    p: UdpPort,
    socket: dgram.Socket,
    head: Buffer,
    out: OutSegment,
    dstPort: number,
    connected: boolean,
    connecting: boolean,
  ): void {
    const payload: Buffer | Buffer[] = out.payload ? [head, asBuffer(out.payload)] : head;
    if (!connected) {
      socket.send(payload, dstPort, out.dst, p.onSent);
      return;
    }
    if (connecting) {
      // Node sends on a connecting socket only with an address: what comes meanwhile waits.
      p.waiting = [];
      socket.connect(dstPort, out.dst, () => {
        const w = p.waiting ?? [];
        p.waiting = null;
        if (p.state === 'closed') return;
        for (const b of w) socket.send(b, p.onSent);
      });
    }
    if (p.waiting === null) socket.send(payload, p.onSent);
    else if (p.waiting.length < MAX_WAITING) p.waiting.push(payload);
    else this.stats.dropUnbound++;
  }

  /** Through the addon: into the port's batch, sent when the drain is over (connect is immediate there). */
  private stage(
    p: UdpPort,
    head: Buffer,
    out: OutSegment,
    dstPort: number,
    connected: boolean,
    connecting: boolean,
  ): void {
    if (connecting) {
      const e = this.addon!.connect(p.handle!, this.bytesOf(out.dst), dstPort);
      if (e !== 0) {
        // Not connected: the next segment tries again.
        p.peerAddress = null;
        this.sendFailed(errnoError(e));
        return;
      }
    }
    const batch = p.batch!;
    if (!batch.pending) {
      if (this.staged.length === 0) queueMicrotask(this.flush);
      this.staged.push(p);
    }
    batch.add(head, out.payload, connected ? null : this.bytesOf(out.dst), dstPort);
  }

  private readonly flush = (): void => {
    for (const p of this.staged) if (p.state === 'ready') p.batch!.flush();
    this.staged.length = 0;
  };

  private bytesOf(address: string): Uint8Array {
    let b = this.peerBytes.get(address);
    if (b === undefined) {
      const parsed = parseIp(address);
      b = parsed instanceof DecodeError ? new Uint8Array(0) : parsed;
      if (this.peerBytes.size >= PEER_CACHE_MAX) this.peerBytes.clear();
      this.peerBytes.set(address, b);
    }
    return b;
  }

  setRef(on: boolean): void {
    this.referenced = on;
    for (const p of this.ports.values()) {
      if (p.handle !== null) this.addon!.ref(p.handle, on);
      else if (on) p.socket!.ref();
      else p.socket!.unref();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.checkTimer) clearInterval(this.checkTimer);
    await Promise.all([...this.ports.values()].map((p) => this.closePort(p)));
  }

  /** Local addresses this transport has found missing (their subflows were failed over). */
  downAddresses(): string[] {
    return [...this.down];
  }

  /** Looks for watched addresses that disappeared or came back, now (also runs every addressCheckInterval). */
  checkAddresses(): void {
    if (this.closed || this.watched.size === 0) return;
    const list = this.addresses();
    for (const a of this.watched) {
      const present = hasAddress(list, a);
      if (!present && !this.down.has(a)) {
        this.down.add(a);
        this.stats.addressDown++;
        for (const p of [...this.ports.values()]) if (p.address === a) void this.closePort(p);
        this.sink?.addressChanged(a, false);
      } else if (present && this.down.has(a)) {
        this.down.delete(a);
        this.stats.addressUp++;
        for (const port of this.listeners.get(a) ?? []) this.bind(a, port, true);
        this.sink?.addressChanged(a, true);
      }
    }
  }

  private bind(address: string, port: number, listener: boolean): UdpPort {
    const key = `${address}|${port}`;
    const bytes = parseIp(address);
    const p: UdpPort = {
      key,
      address,
      port,
      socket: null,
      handle: null,
      batch: null,
      ready: Promise.resolve(),
      state: 'binding',
      listener,
      peerAddress: null,
      peerPort: 0,
      lastSrcWords: new Uint32Array(4),
      lastSrc: '',
      waiting: null,
      syns: [],
      peers: new Set(),
      bytes: bytes instanceof DecodeError ? new Uint8Array(0) : bytes,
      onSent: (err) => {
        if (err) this.sendFailed(err as NodeJS.ErrnoException);
      },
    };
    // Port 0 is known only once bound: such a socket is registered under its real port then.
    if (port !== 0) this.ports.set(key, p);
    this.watched.add(address);
    this.stats.socketsOpen++;
    p.ready = this.addon !== null && p.bytes.length > 0 ? this.bindNative(p, this.addon) : this.bindDgram(p);
    // A failed bind is handled where it is seen (bindFailed); open() reports it to its caller.
    p.ready.catch(() => {});
    return p;
  }

  get retainsPayload(): boolean {
    return this.dgramSockets > 0;
  }

  private bindDgram(p: UdpPort): Promise<void> {
    this.dgramSockets++;
    const socket = dgram.createSocket({ type: p.bytes.length === 16 ? 'udp6' : 'udp4' });
    p.socket = socket;
    if (!this.referenced) socket.unref();
    socket.on('message', (msg, rinfo) =>
      this.received(p, msg, rinfo.family === 'IPv6' ? this.v6Name(rinfo.address) : rinfo.address, rinfo.port),
    );
    socket.on('error', (e: NodeJS.ErrnoException) => this.socketError(p, e));
    const ready = new Promise<void>((resolve, reject) => {
      socket.once('listening', () => {
        if (p.state !== 'binding') return resolve();
        this.bound(p, socket.address().port);
        setBuffer(() => socket.setRecvBufferSize(this.opts.recvBufferSize ?? DEFAULT_BUFFER));
        setBuffer(() => socket.setSendBufferSize(this.opts.sendBufferSize ?? DEFAULT_BUFFER));
        resolve();
      });
      socket.once('error', (e: NodeJS.ErrnoException) => reject(bindError(p, e)));
    });
    socket.bind({ address: p.address, port: p.port, exclusive: true });
    return ready;
  }

  private bindNative(p: UdpPort, addon: UdpAddon): Promise<void> {
    const r = addon.open(
      p.bytes,
      p.port,
      this.opts.recvBufferSize ?? DEFAULT_BUFFER,
      this.opts.sendBufferSize ?? DEFAULT_BUFFER,
    );
    if ('errno' in r) {
      const e = errnoError(r.errno);
      // Later, as with dgram: a SYN staged right after bind() returns still gets its local RST.
      queueMicrotask(() => this.bindFailed(p, e));
      return Promise.reject(bindError(p, e));
    }
    const h = r.handle;
    p.handle = h;
    p.batch = new UdpBatch(addon, h, (errno) => this.sendFailed(errnoError(errno)));
    addon.start(
      h,
      (slots, meta, count) => this.receivedBatch(p, slots, meta, count),
      (errno) => this.receiveError(errnoError(errno)),
    );
    if (!this.referenced) addon.ref(h, false);
    this.bound(p, r.port);
    return Promise.resolve();
  }

  private bound(p: UdpPort, realPort: number): void {
    p.state = 'ready';
    p.syns.length = 0;
    if (p.port === 0) {
      p.port = realPort;
      p.key = `${p.address}|${realPort}`;
      this.ports.set(p.key, p);
    }
  }

  /** A batch from the addon (see forEachDatagram): its bytes are lent for the call. */
  private receivedBatch(p: UdpPort, slots: Buffer, meta: Uint32Array, count: number): void {
    if (p.state !== 'ready') return;
    forEachDatagram(slots, meta, count, (datagram, port, o) =>
      this.received(p, datagram, this.sourceText(p, meta, o >> 2), port, true),
    );
  }

  /** The text of the address in meta[w..w+4), built only when it differs from the last one seen on `p`. */
  private sourceText(p: UdpPort, meta: Uint32Array, w: number): string {
    const last = p.lastSrcWords;
    if (
      p.lastSrc !== '' &&
      meta[w] === last[0] &&
      meta[w + 1] === last[1] &&
      meta[w + 2] === last[2] &&
      meta[w + 3] === last[3]
    )
      return p.lastSrc;
    last.set(meta.subarray(w, w + 4));
    // The stack's canonical text (canonicalAddress's), straight from the bytes.
    const b = new Uint8Array(meta.buffer, meta.byteOffset + w * 4, 16);
    p.lastSrc = p.bytes.length === 4 ? formatIpv4(b) : formatIpv6(b);
    return p.lastSrc;
  }

  /** A datagram: Node's own buffer, or (`lent`) a view of the addon's read slots, valid during the call only. */
  private received(p: UdpPort, msg: Buffer, src: string, srcPort: number, lent = false): void {
    this.stats.datagramsIn++;
    this.stats.bytesIn += msg.length;
    if (payloadProblem(msg) !== null) {
      this.stats.dropMalformed++;
      return;
    }
    if (!p.peers.has(src)) {
      const sb = parseIp(src);
      if (sb instanceof DecodeError || sb.length !== p.bytes.length) {
        this.stats.dropMalformed++;
        return;
      }
      if (p.peers.size >= PEER_CACHE_MAX) p.peers.clear();
      p.peers.add(src);
    }
    // The kernel verified UDP's checksum, which covers these bytes: the TCP one is neither carried nor needed.
    // The data stays in the datagram's buffer: handed over (Node's, per message) or lent (the addon's slots).
    this.sink?.receive(
      src,
      p.address,
      payloadHeader(msg, srcPort, p.port, this.header),
      true,
      payloadData(msg),
      lent,
    );
  }

  /** Node prints IPv6 like inet_ntop; the stack's canonical text may differ (IPv4-compatible forms). */
  private v6Name(text: string): string {
    let n = this.v6Names.get(text);
    if (n === undefined) {
      n = canonicalAddress(text.replace(/%.*$/, '')) ?? text;
      if (this.v6Names.size > PEER_CACHE_MAX) this.v6Names.clear();
      this.v6Names.set(text, n);
    }
    return n;
  }

  private socketError(p: UdpPort, e: NodeJS.ErrnoException): void {
    if (p.state === 'binding') this.bindFailed(p, e);
    else this.receiveError(e);
  }

  private bindFailed(p: UdpPort, e: NodeJS.ErrnoException): void {
    this.lastError = `${e.code ?? 'error'}: ${e.message}`;
    if (p.state !== 'binding') return;
    this.stats.bindFailures++;
    p.state = 'failed';
    if (this.ports.get(p.key) === p) this.ports.delete(p.key);
    this.stats.socketsOpen--;
    try {
      p.socket?.close();
    } catch {
      // Never bound: nothing to close.
    }
    for (const s of p.syns) this.localReset(p, s);
    p.syns.length = 0;
  }

  /** A connected socket reports the peer's ICMP port-unreachable as a receive error: soft, like TCP's. */
  private receiveError(e: NodeJS.ErrnoException): void {
    this.lastError = `${e.code ?? 'error'}: ${e.message}`;
    this.stats.receiveErrors++;
  }

  private sendFailed(e: NodeJS.ErrnoException): void {
    this.lastError = `${e.code ?? 'error'}: ${e.message}`;
    if (e.code === 'EMSGSIZE') this.stats.tooBig++;
    else this.stats.sendErrors++;
    if (e.code !== undefined && ADDRESS_GONE.has(e.code)) this.checkAddresses();
  }

  /** An RST from the SYN's peer, acknowledging the SYN (acceptable in SYN-SENT, RFC 9293 §3.10.7.3). */
  private localReset(p: UdpPort, s: PendingSyn): void {
    const rb = parseIp(s.remote);
    if (rb instanceof DecodeError || rb.length !== p.bytes.length || !this.sink) return;
    const b = new Uint8Array(20);
    writeHeader(b, s.remotePort, p.port, 0, (s.seq + 1) >>> 0, 20, TcpFlag.RST | TcpFlag.ACK, 0);
    const sum = transportChecksum(rb, p.bytes, IPPROTO_TCP, b);
    b[16] = sum >>> 8;
    b[17] = sum;
    this.stats.localResets++;
    this.sink.receive(s.remote, p.address, b);
  }

  private closePort(p: UdpPort): Promise<void> {
    if (p.state === 'closed' || p.state === 'failed') return Promise.resolve();
    p.state = 'closed';
    if (this.ports.get(p.key) === p) this.ports.delete(p.key);
    this.stats.socketsOpen--;
    if (p.handle !== null) {
      p.batch!.drop();
      this.addon!.close(p.handle);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      try {
        p.socket!.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}

/** An errno from the addon as Node reports socket errors. */
function errnoError(errno: number): NodeJS.ErrnoException {
  const code = errnoName(errno);
  return Object.assign(new Error(code), { code, errno: -errno });
}

function bindError(p: UdpPort, e: NodeJS.ErrnoException): TransportError {
  return new TransportError(`cannot bind UDP ${p.address}:${p.port}: ${e.message}`, e.code);
}

function readU32(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
}

function setBuffer(set: () => void): void {
  try {
    set();
  } catch {
    // The kernel refused the size (above its limit): the default buffer stays.
  }
}

const asBuffer = (b: Uint8Array): Buffer =>
  Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
