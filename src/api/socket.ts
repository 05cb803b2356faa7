/**
 * MptcpSocket: a multipath connection as a `stream.Duplex` that behaves like `net.Socket` where it can
 * (events connect/ready/data/end/close/error/timeout, write back-pressure and `drain`, end, destroy,
 * setNoDelay, setKeepAlive, setTimeout, address(), remote*, bytesRead/bytesWritten), plus the multipath
 * controls of the enhanced socket API: list and inspect subflows, open and close them, per-subflow options,
 * backup priority, persistent active/backup lists, primary-path-only mode, scheduler and registers,
 * per-write packet properties, and the engine's events (`mptcp`).
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { Duplex } from 'node:stream';
import {
  canonicalAddress,
  defaultLocalAddresses,
  familyOf,
  isLoopback,
  routeSource,
  systemAddresses,
} from '../io/interfaces.ts';
import type { AddressPair, MptcpConnection, WriteProps } from '../mptcp/connection.ts';
import type { MptcpCounters } from '../mptcp/counters.ts';
import type { MptcpEvent } from '../mptcp/events.ts';
import type { MptcpInfo } from '../mptcp/info.ts';
import type { SubflowOptions, SubflowStatus } from '../mptcp/subflow-status.ts';
import type { TcpCounters } from '../tcp/counters.ts';
import { MS } from '../util/time.ts';
import { withEnvironment } from './env.ts';
import { errorForReason, MptcpApiError } from './errors.ts';
import { pathManagerFor, StackHost } from './host.ts';
import { checkOnRead, type OnReadOptions, UserBufferReader } from './onread.ts';
import { checkOptions, type MultipathOptions } from './options.ts';

export interface ConnectOptions extends MultipathOptions {
  port: number;
  /** Name or address of the peer (default localhost). */
  host?: string;
  /** The initial subflow's local address (it comes first in `addresses`) and port. */
  localAddress?: string;
  localPort?: number;
  /** Idle timeout in ms, as socket.setTimeout. */
  timeout?: number;
  /**
   * Like net.Socket's: received bytes are copied into `buffer` and passed to `callback` instead of coming as
   * 'data' events (a callback returning false pauses the socket until resume()). Spares a Buffer per chunk.
   */
  onread?: OnReadOptions;
}

/** new MptcpSocket(options): the multipath options, and onread as net.Socket's constructor takes it. */
export interface SocketOptions extends MultipathOptions {
  onread?: OnReadOptions;
}

export interface SocketAddress {
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
}

/** Where and how to open an extra subflow (remote defaults to the initial subflow's peer). */
export interface OpenSubflowOptions {
  local: string;
  remote?: string;
  remotePort?: number;
  localPort?: number;
  backup?: boolean;
}

interface PendingWrite {
  chunk: Uint8Array;
  offset: number;
  props: WriteProps | undefined;
  callback: (error?: Error | null) => void;
}

const USER_TIMEOUT_DEFAULT_MS = 30_000;
/** After a graceful destroy, how long the engine may take to finish the DATA_FIN exchange. */
const CLOSE_LINGER_MS = 10_000;
/** Write copies at least this large are reused once the engine is done with them (smaller ones are cheap). */
const RECYCLED_MIN = 16 * 1024;
/** How many unused write copies a socket keeps for its next writes. */
const SPARE_COPIES = 8;

export class MptcpSocket extends Duplex {
  /** True from connect() until the MPTCP connection is established, like net.Socket. */
  connecting = false;
  /** True until the socket is connected. */
  pending = true;
  bytesRead = 0;
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  remoteFamily: 'IPv4' | 'IPv6' | undefined;
  localAddress: string | undefined;
  localPort: number | undefined;
  /** Local addresses this connection may use (the first carries the initial subflow). */
  localAddresses: string[] = [];
  private host: StackHost | null = null;
  private conn: MptcpConnection | null = null;
  private released = false;
  private eof = false;
  private resetting = false;
  private readonly baseOptions: MultipathOptions;
  /** The constructor's onread, for connect() (which may give its own). */
  private readonly baseOnread: OnReadOptions | null;
  private options: MultipathOptions = {};
  private pendingWrite: PendingWrite | null = null;
  /** Set by connect()'s onread option: received bytes go to the application's buffer, not the stream. */
  private reader: UserBufferReader | null = null;
  /** Unread bytes last reported to the engine (unreadChanged). */
  private unreadReported = 0;
  /** A count of the unread bytes is due on the next tick (see _read). */
  private unreadCheck = false;
  private pendingFinal: ((error?: Error | null) => void) | null = null;
  private taken = 0;
  /** Write copies the engine may still read, each with the stream offset where its bytes end, oldest first. */
  private lent: { copy: Uint8Array; end: number }[] = [];
  /** Write copies the engine no longer reads, for the next writes of the same size (see writeCopy). */
  private spare: Uint8Array[] = [];
  private readonly packetProps = new WeakMap<object, WriteProps>();
  private idleMs = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  private lastActivity = 0;
  private watchdog: NodeJS.Timeout | null = null;
  private noDelayAll: boolean | null = null;
  private keepAliveAll: { on: boolean; idleMs: number } | null = null;

  constructor(options: SocketOptions = {}) {
    // Reads are pushed as they arrive; writes are copied into the engine's send queue (it keeps views).
    super({ allowHalfOpen: true, decodeStrings: true });
    const { onread, ...rest } = options;
    this.baseOptions = rest;
    this.baseOnread = onread ?? null;
  }

  // ---------------------------------------------------------------- connecting

  /** Opens the connection: connect(port, host?, listener?) or connect(options, listener?), like net.Socket. */
  connect(options: ConnectOptions, listener?: () => void): this;
  connect(port: number, host?: string, listener?: () => void): this;
  connect(port: number, listener?: () => void): this;
  connect(a: ConnectOptions | number, b?: string | (() => void), c?: () => void): this {
    const o: ConnectOptions = typeof a === 'number' ? { port: a } : { ...a };
    if (typeof b === 'string') o.host = b;
    const listener = typeof b === 'function' ? b : c;
    if (this.conn !== null || this.connecting)
      throw new MptcpApiError('this socket is already connected or connecting: create a new MptcpSocket');
    if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535)
      throw new MptcpApiError(`port must be an integer in 1..65535, got ${o.port}`);
    const onread = o.onread ?? this.baseOnread;
    if (onread) {
      checkOnRead(onread);
      this.reader = new UserBufferReader(
        onread,
        () => this.isPaused(),
        () => this.pause(),
      );
      this.on('resume', this.resumeReader);
    }
    if (listener) this.once('connect', listener);
    if (o.timeout !== undefined) this.setTimeout(o.timeout);
    this.connecting = true;
    this.start(o).catch((e: unknown) => this.destroy(e as Error));
    return this;
  }

  private async start(o: ConnectOptions): Promise<void> {
    const opts = withEnvironment({ ...this.baseOptions, ...stripConnect(o) });
    checkOptions(opts);
    this.options = opts;
    const host = o.host ?? 'localhost';
    const remote = isIP(host) ? (canonicalAddress(host) ?? host) : (await lookup(host)).address;
    if (this.destroyed) return;
    const first = o.localAddress ?? opts.addresses?.[0] ?? (await routeSource(remote));
    let locals = opts.addresses ?? [
      first,
      ...(isLoopback(remote) ? [] : defaultLocalAddresses(systemAddresses(), familyOf(remote))),
    ];
    locals = [first, ...locals.filter((a) => a !== first)].map((a) => {
      const c = canonicalAddress(a);
      if (c === null) throw new MptcpApiError(`'${a}' is not an IP address: give local addresses as IPs`);
      return c;
    });
    this.localAddresses = locals;
    const stack = new StackHost(opts, locals);
    this.host = stack;
    stack.acquire();
    const localPort = await stack.transport.open(locals[0]!, o.localPort ?? 0, 'connection');
    if (this.destroyed) {
      this.release();
      return;
    }
    const conn: MptcpConnection = stack.driver.run(() =>
      stack.endpoint.connect(stack.driver.now(), {
        local: locals[0]!,
        localPort,
        remote,
        remotePort: o.port,
        pathManager: pathManagerFor(opts, locals),
      }),
    );
    this.attach(stack, conn);
    // The engine announced the connection inside connect(), before the socket listened for its events.
    this.emit('mptcp', { type: 'created', token: conn.localToken } satisfies MptcpEvent);
  }

  /** @internal A server hands over a connection it accepted (already established). */
  static accepted(host: StackHost, conn: MptcpConnection, options: MultipathOptions): MptcpSocket {
    const s = new MptcpSocket(options);
    s.options = options;
    s.host = host;
    host.acquire();
    s.attach(host, conn);
    s.established();
    return s;
  }

  private attach(host: StackHost, conn: MptcpConnection): void {
    this.conn = conn;
    conn.onEstablished = () => this.established();
    conn.onData = (b) => this.received(conn, b, false);
    conn.onLentData = (b) => this.received(conn, b, true);
    conn.onEnd = () => this.pushEnd();
    conn.onWritable = () => this.flushWrite();
    conn.onClose = (reason) => this.engineClosed(reason);
    conn.onEvent = (e) => this.engineEvent(e);
    host.driver.run(() => this.applyPolicies(conn));
  }

  /** In-order bytes from the engine (`lent`: the transport's memory, valid only during the call). */
  private received(conn: MptcpConnection, b: Uint8Array, lent: boolean): void {
    // Destroyed with a half-close (conn.end()): what the peer still sends is dropped, as after net's close.
    if (this.destroyed) return;
    this.bytesRead += b.length;
    this.touch();
    if (this.reader !== null) {
      try {
        this.reader.take(b);
      } catch (e) {
        this.readerFailed(e);
        return;
      }
    } else if (lent) this.push(Buffer.from(b));
    else this.push(Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    // What the reader has not taken takes receive window: a paused reader stops the peer.
    if (this.unreadChanged()) conn.setUnread(this.unreadReported);
  }

  /** The application resumed an onread socket: what arrived while it was paused goes first. */
  private readonly resumeReader = (): void => {
    const conn = this.conn;
    if (this.destroyed) return;
    try {
      this.reader!.drain();
    } catch (e) {
      this.readerFailed(e);
      return;
    }
    if (conn !== null && this.host !== null && this.unreadChanged()) {
      const unread = this.unreadReported;
      this.host.driver.run(() => conn.setUnread(unread));
    }
    if (this.eof && this.reader!.heldBytes === 0 && !this.isPaused()) this.endReader();
  };

  /** The onread callback (or buffer()) threw: bytes are lost, so the connection is reset, not closed. */
  private readerFailed(e: unknown): void {
    this.resetting = true;
    this.destroy(e instanceof Error ? e : new Error(String(e)));
  }

  private applyPolicies(conn: MptcpConnection): void {
    const o = this.options;
    if (o.activeList || o.backupList)
      conn.setPriorityLists({ active: o.activeList ?? [], backup: o.backupList ?? [] });
    if (o.primaryPathOnly) conn.setPrimaryPathOnly(o.primaryPathOnly);
  }

  private established(): void {
    const conn = this.conn!;
    const init = conn.initial();
    if (init) {
      this.localAddress = init.tcp.local.address;
      this.localPort = init.tcp.local.port;
      this.remoteAddress = init.tcp.remote.address;
      this.remotePort = init.tcp.remote.port;
      this.remoteFamily = familyOf(this.remoteAddress) === 6 ? 'IPv6' : 'IPv4';
    }
    this.connecting = false;
    this.pending = false;
    this.startWatchdog();
    this.touch();
    this.emit('connect');
    this.emit('ready');
    this.flushWrite();
    if (this.pendingFinal) this.sendFin();
  }

  // ---------------------------------------------------------------- stream plumbing

  override _read(): void {
    // The reader took data (or asked for more with read(n), which raises the mark): the window reopens.
    // read() calls _read before it takes the bytes out of the buffer, and calls it again only after a push;
    // counted now, a read that empties a full buffer would leave the window shut for good. So count after.
    if (this.unreadCheck) return;
    this.unreadCheck = true;
    process.nextTick(this.reportUnread);
  }

  private readonly reportUnread = (): void => {
    this.unreadCheck = false;
    const conn = this.conn;
    if (!conn || !this.host || !this.unreadChanged()) return;
    const unread = this.unreadReported;
    this.host.driver.run(() => conn.setUnread(unread));
  };

  /**
   * Updates unreadReported to the unread bytes that count against the receive window, those beyond the
   * stream's high-water mark (net.Socket stops reading from the kernel at the mark, and read(n) for a large n
   * raises it), or with onread those held while paused; true when that changed.
   */
  private unreadChanged(): boolean {
    const unread =
      this.reader !== null
        ? this.reader.heldBytes
        : Math.max(0, this.readableLength - this.readableHighWaterMark);
    if (unread === this.unreadReported) return false;
    this.unreadReported = unread;
    return true;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const props = this.packetProps.get(chunk);
    // The engine keeps views of what it is given until DATA_ACK: copy, so the caller may reuse its buffer.
    const copy = this.writeCopy(chunk.length);
    copy.set(chunk);
    this.pendingWrite = { chunk: copy, offset: 0, props, callback };
    if (!this.connecting && this.conn) this.flushWrite();
  }

  /**
   * Memory for a copy of a write of `len` bytes: a copy of the same size the engine no longer reads, else a
   * fresh one (uncleared: every byte is overwritten). Reusing them spares the allocation, its page faults and
   * the garbage collections that hundreds of megabytes of fresh buffers a second set off.
   */
  private writeCopy(len: number): Uint8Array {
    const conn = this.conn;
    // A transport that began to hold views of what it sent (a node:dgram socket opened since) may read any.
    if (this.host?.transport.retainsPayload) this.lent.length = 0;
    if (conn !== null && this.lent.length > 0) {
      const from = conn.retainedFrom();
      let n = 0;
      while (n < this.lent.length && this.lent[n]!.end <= from) {
        if (this.spare.length < SPARE_COPIES) this.spare.push(this.lent[n]!.copy);
        n++;
      }
      if (n > 0) this.lent.splice(0, n);
    }
    const i = this.spare.findIndex((b) => b.length === len);
    if (i < 0) return Buffer.allocUnsafeSlow(len);
    const copy = this.spare[i]!;
    this.spare[i] = this.spare[this.spare.length - 1]!;
    this.spare.pop();
    return copy;
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.pendingFinal = callback;
    if (!this.connecting && this.conn) this.sendFin();
  }

  private sendFin(): void {
    const conn = this.conn!;
    const cb = this.pendingFinal!;
    this.pendingFinal = null;
    if (!conn.isClosed()) this.host!.driver.run(() => conn.end());
    cb();
  }

  private flushWrite(): void {
    const w = this.pendingWrite;
    const conn = this.conn;
    if (w === null || conn === null || this.connecting || this.destroyed) return;
    if (conn.isClosed()) return;
    this.host!.driver.run(() => {
      while (w.offset < w.chunk.length) {
        const n = conn.write(w.chunk.subarray(w.offset), w.props);
        if (n === 0) break;
        w.offset += n;
        this.taken += n;
      }
    });
    if (w.offset < w.chunk.length) return;
    this.pendingWrite = null;
    if (w.chunk.length >= RECYCLED_MIN && !this.host!.transport.retainsPayload)
      this.lent.push({ copy: w.chunk, end: this.taken });
    this.touch();
    w.callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.stopTimers();
    // A write the engine had not taken yet is dropped, as net.Socket drops what the kernel has not taken.
    this.pendingWrite = null;
    const conn = this.conn;
    if (conn !== null && !conn.isClosed()) {
      // Like closing a kernel socket (which is what net.Socket.destroy does, error or not): DATA_FIN after
      // what the engine already took, and the engine finishes on its own (bounded by CLOSE_LINGER_MS);
      // with unread data, MP_FASTCLOSE instead, as the kernel sends a reset. resetAndDestroy() always resets.
      const host = this.host!;
      const abort = (why: string) => host.driver.run(() => conn.abort(why));
      const unread = this.readableLength + (this.reader?.heldBytes ?? 0);
      if (this.resetting || (!this.readableEnded && unread > 0))
        abort(error ? `reset: ${error.message}` : 'reset');
      else {
        host.driver.run(() => conn.end());
        setTimeout(() => abort('closing timed out'), CLOSE_LINGER_MS).unref();
      }
    } else if (conn === null) this.release();
    this.reader?.clear();
    callback(error);
  }

  /** Closes at once with MP_FASTCLOSE (the peer sees a reset), like net.Socket.resetAndDestroy(). */
  resetAndDestroy(): this {
    this.resetting = true;
    return this.destroy();
  }

  private engineClosed(reason: string | null): void {
    this.release();
    this.stopTimers();
    if (this.destroyed) return;
    // A clean close: both DATA_FINs were exchanged; the stream ends once the application read everything
    // (autoDestroy then closes it), so no buffered byte is lost.
    if (reason === null) this.pushEnd();
    else this.destroy(errorForReason(reason, `${this.remoteAddress ?? '?'}:${this.remotePort ?? '?'}`));
  }

  private pushEnd(): void {
    if (this.eof) return;
    this.eof = true;
    if (this.reader === null) this.push(null);
    // Paused, the end waits for resume() (resumeReader), as net's paused socket reads no EOF.
    else if (this.reader.heldBytes === 0 && !this.isPaused()) this.endReader();
  }

  /** With onread nothing reads the stream, so read(0) lets 'end' follow the end of data. */
  private endReader(): void {
    if (this.readableEnded) return;
    this.push(null);
    this.read(0);
  }

  private engineEvent(e: MptcpEvent): void {
    if (e.type === 'sub_established') {
      if (this.noDelayAll !== null) this.trySubflowOptions(e.subflow, { noDelay: this.noDelayAll });
      if (this.keepAliveAll !== null) this.subflowKeepAlive(e.subflow, this.keepAliveAll);
    }
    this.emit('mptcp', e);
  }

  private release(): void {
    if (this.released || this.host === null) return;
    this.released = true;
    this.host.release();
  }

  // ---------------------------------------------------------------- timers

  /** Emits 'timeout' after `ms` without data read or written (0 disables), like net.Socket. */
  setTimeout(ms: number, callback?: () => void): this {
    if (!(ms >= 0)) throw new MptcpApiError(`setTimeout needs milliseconds >= 0, got ${ms}`);
    this.idleMs = ms;
    if (callback) this.once('timeout', callback);
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    if (ms > 0) this.armIdle(ms);
    return this;
  }

  get timeout(): number | undefined {
    return this.idleMs > 0 ? this.idleMs : undefined;
  }

  private touch(): void {
    this.lastActivity = performance.now();
  }

  private armIdle(after: number): void {
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.idleMs === 0 || this.destroyed) return;
      const idle = performance.now() - this.lastActivity;
      if (idle >= this.idleMs) {
        this.touch();
        this.emit('timeout');
        this.armIdle(this.idleMs);
      } else this.armIdle(this.idleMs - idle);
    }, after);
    this.idleTimer.unref();
  }

  /** Aborts (ETIMEDOUT) when sent data sees no DATA_ACK progress, or no subflow works, for userTimeoutMs. */
  private startWatchdog(): void {
    const limit = this.options.userTimeoutMs ?? USER_TIMEOUT_DEFAULT_MS;
    if (limit <= 0 || this.watchdog !== null) return;
    let acked = -1;
    let progressAt = performance.now();
    let workingAt = progressAt;
    this.watchdog = setInterval(
      () => {
        const conn = this.conn;
        if (conn === null || conn.isClosed()) return;
        const now = performance.now();
        const i = conn.info();
        if (i.sndUna !== acked || i.sndUna >= i.writeSeq) {
          acked = i.sndUna;
          progressAt = now;
        }
        if (conn.subflows.some((s) => s.phase === 'established')) workingAt = now;
        if (now - progressAt > limit || now - workingAt > limit)
          this.host!.driver.run(() => conn.abort('user timeout'));
      },
      Math.max(50, Math.min(1000, limit / 4)),
    );
    this.watchdog.unref();
  }

  private stopTimers(): void {
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    if (this.watchdog !== null) clearInterval(this.watchdog);
    this.idleTimer = null;
    this.watchdog = null;
  }

  // ---------------------------------------------------------------- net.Socket-like settings

  /** Nagle off (true, the default for MPTCP subflows) or on, for every subflow now and later. */
  setNoDelay(noDelay = true): this {
    this.noDelayAll = noDelay;
    for (const s of this.conn?.liveSubflows() ?? []) this.trySubflowOptions(s.id, { noDelay });
    return this;
  }

  /** Subflow keep-alives on or off (initialDelay ms of idleness before the first probe; 0 keeps the current). */
  setKeepAlive(enable = false, initialDelay = 0): this {
    const cfg = { on: enable, idleMs: initialDelay };
    this.keepAliveAll = cfg;
    for (const s of this.conn?.liveSubflows() ?? []) this.subflowKeepAlive(s.id, cfg);
    return this;
  }

  private trySubflowOptions(id: number, o: SubflowOptions): void {
    const conn = this.conn;
    if (conn === null) return;
    const sf = conn.subflows.find((s) => s.id === id);
    if (sf && sf.phase !== 'closed') conn.setSubflowOptions(id, o);
  }

  private subflowKeepAlive(id: number, cfg: { on: boolean; idleMs: number }): void {
    const sf = this.conn?.subflows.find((s) => s.id === id);
    if (sf && sf.phase !== 'closed')
      sf.tcp.setKeepAlive(cfg.on, cfg.idleMs > 0 ? cfg.idleMs * MS : undefined);
  }

  /** The initial subflow's local endpoint, like net.Socket.address(). */
  address(): SocketAddress | Record<string, never> {
    if (this.localAddress === undefined || this.localPort === undefined) return {};
    return {
      address: this.localAddress,
      family: familyOf(this.localAddress) === 6 ? 'IPv6' : 'IPv4',
      port: this.localPort,
    };
  }

  /** Bytes written by the application (taken by the engine or still buffered in the stream). */
  get bytesWritten(): number {
    const w = this.pendingWrite;
    return this.taken + (w ? w.chunk.length - w.offset : 0) + this.writableLength;
  }

  get readyState(): 'opening' | 'open' | 'readOnly' | 'writeOnly' | 'closed' {
    if (this.connecting) return 'opening';
    if (this.destroyed || this.conn === null) return 'closed';
    if (this.readable && this.writable) return 'open';
    if (this.readable) return 'readOnly';
    if (this.writable) return 'writeOnly';
    return 'closed';
  }

  ref(): this {
    this.host?.transport.setRef(true);
    return this;
  }

  unref(): this {
    this.host?.transport.setRef(false);
    return this;
  }

  // ---------------------------------------------------------------- multipath controls

  /** The engine's connection (for what this API does not wrap). Throws before connect. */
  get connection(): MptcpConnection {
    if (this.conn === null) throw new MptcpApiError('not connected yet: wait for the connect event');
    return this.conn;
  }

  /** Writes `chunk` with per-packet properties the scheduler sees (ProgMP pkt.USER). */
  writeWith(
    chunk: Uint8Array | string,
    props: WriteProps,
    callback?: (error?: Error | null) => void,
  ): boolean {
    const b =
      typeof chunk === 'string'
        ? Buffer.from(chunk)
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.packetProps.set(b, props);
    return callback ? this.write(b, callback) : this.write(b);
  }

  /** Subflows with addresses, priorities, state and tcp_info (closed ones too). */
  subflows(): SubflowStatus[] {
    return this.connection.listSubflows();
  }

  subflow(id: number): SubflowStatus {
    return this.connection.subflowStatus(id);
  }

  /** Opens an MP_JOIN subflow; returns its id (watch `mptcp` sub_established / sub_closed events). */
  openSubflow(o: OpenSubflowOptions): number {
    const conn = this.connection;
    const init = conn.initial();
    const remote = o.remote ?? this.remoteAddress ?? init?.tcp.remote.address;
    const remotePort = o.remotePort ?? this.remotePort ?? init?.tcp.remote.port;
    if (remote === undefined || remotePort === undefined)
      throw new MptcpApiError('openSubflow needs remote and remotePort (the initial subflow is gone)');
    const local = canonicalAddress(o.local);
    if (local === null) throw new MptcpApiError(`'${o.local}' is not an IP address`);
    return this.host!.driver.run(() =>
      conn.openSubflow(local, remote, remotePort, {
        ...(o.backup !== undefined ? { backup: o.backup } : {}),
        ...(o.localPort !== undefined ? { localPort: o.localPort } : {}),
      }),
    );
  }

  closeSubflow(id: number): void {
    const conn = this.connection;
    this.host!.driver.run(() => conn.closeSubflow(id));
  }

  /** Per-subflow options: TOS (not carried by the UDP transport), congestion control, no-delay. */
  setSubflowOptions(id: number, o: SubflowOptions): void {
    const conn = this.connection;
    this.host!.driver.run(() => conn.setSubflowOptions(id, o));
  }

  setBackup(id: number, backup: boolean): void {
    const conn = this.connection;
    this.host!.driver.run(() => conn.setBackup(id, backup));
  }

  /** Persistent active/backup lists: subflows on these address pairs take that priority, now and later. */
  setPriorityLists(lists: { active?: AddressPair[]; backup?: AddressPair[] }): void {
    const conn = this.connection;
    this.host!.driver.run(() => conn.setPriorityLists(lists));
  }

  /** Primary-path-only mode on these addresses (null turns it off). */
  setPrimaryPathOnly(addresses: string[] | null): void {
    const conn = this.connection;
    this.host!.driver.run(() => conn.setPrimaryPathOnly(addresses));
  }

  /** Switches the scheduler (a built-in or a program loaded with loadScheduler). */
  setScheduler(name: string): void {
    const conn = this.connection;
    this.host!.driver.run(() => conn.setScheduler(name));
  }

  /** Sets scheduler register R(index+1) (ProgMP R1..R6). */
  setRegister(index: number, value: number): void {
    const conn = this.connection;
    this.host!.driver.run(() => conn.setRegister(index, value));
  }

  get registers(): readonly number[] {
    return [...this.connection.registers];
  }

  /** Announces a local address to the peer (ADD_ADDR). */
  announce(address: string, opts: { port?: number; backup?: boolean } = {}): number {
    const conn = this.connection;
    return this.host!.driver.run(() => conn.announce(address, opts));
  }

  /** Withdraws a local address (REMOVE_ADDR) and closes its subflows. */
  removeAddress(address: string): void {
    const conn = this.connection;
    this.host!.driver.run(() => conn.removeAddress(address));
  }

  /** Connection-level info, like Linux's MPTCP_INFO. */
  info(): MptcpInfo {
    return this.connection.info();
  }

  /** The endpoint's MIB counters (MPTcpExt*-like). */
  get counters(): MptcpCounters {
    if (this.host === null) throw new MptcpApiError('not connected yet');
    return this.host.endpoint.counters;
  }

  /** The subflows' TCP counters, for all connections of this socket's endpoint (Linux's nstat Tcp/TcpExt names). */
  get tcpCounters(): Readonly<TcpCounters> {
    if (this.host === null) throw new MptcpApiError('not connected yet');
    return this.host.endpoint.tcp.counters;
  }

  /** The transport's counters (datagrams, drops, errors). */
  get transportStats(): Readonly<Record<string, number>> {
    return this.host?.transport.stats ?? {};
  }

  /** The MSS the subflows announce. */
  get mss(): number | undefined {
    return this.host?.mss;
  }
}

function stripConnect(o: ConnectOptions): MultipathOptions {
  const { port: _p, host: _h, localAddress: _la, localPort: _lp, timeout: _t, onread: _r, ...rest } = o;
  return rest;
}

/** Opens a multipath connection, like net.connect / net.createConnection. */
export function connect(options: ConnectOptions, listener?: () => void): MptcpSocket;
export function connect(port: number, host?: string, listener?: () => void): MptcpSocket;
export function connect(a: ConnectOptions | number, b?: string | (() => void), c?: () => void): MptcpSocket {
  if (typeof a === 'number') {
    const s = new MptcpSocket();
    return typeof b === 'function' ? s.connect(a, b) : s.connect(a, b, c);
  }
  return new MptcpSocket().connect(a, typeof b === 'function' ? b : c);
}

export const createConnection = connect;
