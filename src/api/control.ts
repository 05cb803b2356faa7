/**
 * One view of a multipath connection for code that must run both over real sockets and in the simulator
 * (the examples): a byte stream with back-pressure, the subflow-control API, the engine's events, and a
 * clock with timers (virtual in the simulator). `socketConnection` adapts an MptcpSocket; `engineConnection`
 * adapts an engine MptcpConnection driven by any driver (the simulator's host, the real-time driver).
 */
import type { AddressPair, MptcpConnection } from '../mptcp/connection.ts';
import type { MptcpEvent } from '../mptcp/events.ts';
import type { MptcpInfo } from '../mptcp/info.ts';
import type { SubflowStatus } from '../mptcp/subflow-status.ts';
import type { Instant } from '../util/time.ts';
import { MptcpApiError } from './errors.ts';
import type { MptcpSocket, OpenSubflowOptions } from './socket.ts';

export interface MultipathConnection {
  /** Milliseconds on the connection's clock. */
  now(): number;
  /** Runs `fn` after `ms` on that clock; returns a function that cancels it. */
  after(ms: number, fn: () => void): () => void;
  /** Queues bytes; false when the caller should wait for onDrain before writing more. */
  write(data: Uint8Array): boolean;
  end(): void;
  onData(fn: (chunk: Uint8Array) => void): void;
  onEnd(fn: () => void): void;
  onDrain(fn: () => void): void;
  onEvent(fn: (e: MptcpEvent) => void): void;
  /** The connection closed; `error` is null for a clean close. */
  onClose(fn: (error: string | null) => void): void;
  subflows(): SubflowStatus[];
  openSubflow(o: OpenSubflowOptions): number;
  closeSubflow(id: number): void;
  setBackup(id: number, backup: boolean): void;
  setPriorityLists(lists: { active?: AddressPair[]; backup?: AddressPair[] }): void;
  setPrimaryPathOnly(addresses: string[] | null): void;
  info(): MptcpInfo;
}

/** An MptcpSocket as a MultipathConnection (real time). */
export function socketConnection(s: MptcpSocket): MultipathConnection {
  return {
    now: () => performance.now(),
    after(ms, fn) {
      const t = setTimeout(fn, ms);
      return () => clearTimeout(t);
    },
    write: (data) => s.write(data),
    end: () => s.end(),
    onData: (fn) => s.on('data', (d: Buffer) => fn(d)),
    onEnd: (fn) => s.on('end', fn),
    onDrain: (fn) => s.on('drain', fn),
    onEvent: (fn) => s.on('mptcp', fn),
    onClose(fn) {
      let error: string | null = null;
      s.on('error', (e: Error) => {
        error = e.message;
      });
      s.on('close', () => fn(error));
    },
    subflows: () => s.subflows(),
    openSubflow: (o) => s.openSubflow(o),
    closeSubflow: (id) => s.closeSubflow(id),
    setBackup: (id, b) => s.setBackup(id, b),
    setPriorityLists: (l) => s.setPriorityLists(l),
    setPrimaryPathOnly: (a) => s.setPrimaryPathOnly(a),
    info: () => s.info(),
  };
}

/** What `engineConnection` needs from whoever drives the engine. */
export interface EngineDriver {
  /** The driver's clock in µs. */
  now(): Instant;
  /** Calls `fn` at instant `t` (µs); returns a cancel function. */
  at(t: Instant, fn: () => void): () => void;
  /** The application gave the engine work: poll it. */
  wake(): void;
}

/** Bytes the adapter buffers above the engine's send buffer before write() says wait. */
const WRITE_HIGH_WATER = 64 * 1024;

/**
 * An engine connection as a MultipathConnection: takes over its callbacks (onData, onEnd, onWritable,
 * onClose, onEvent), buffers writes the send buffer cannot take yet, and wakes the driver after each call.
 */
export function engineConnection(conn: MptcpConnection, d: EngineDriver): MultipathConnection {
  const data: ((c: Uint8Array) => void)[] = [];
  const ends: (() => void)[] = [];
  const drains: (() => void)[] = [];
  const events: ((e: MptcpEvent) => void)[] = [];
  const closes: ((e: string | null) => void)[] = [];
  const queue: Uint8Array[] = [];
  let queued = 0;
  let ending = false;
  let ended = false;
  const pump = () => {
    while (queue.length > 0 && !conn.isClosed()) {
      const head = queue[0]!;
      const n = conn.write(head);
      queued -= n;
      if (n < head.length) {
        queue[0] = head.subarray(n);
        break;
      }
      queue.shift();
    }
    if (queue.length === 0 && ending && !ended) {
      ended = true;
      conn.end();
    }
    d.wake();
  };
  conn.onData = (c) => {
    for (const f of data) f(c);
  };
  conn.onEnd = () => {
    for (const f of ends) f();
  };
  conn.onWritable = () => {
    const was = queued;
    pump();
    if (was >= WRITE_HIGH_WATER && queued < WRITE_HIGH_WATER) for (const f of drains) f();
  };
  conn.onEvent = (e) => {
    for (const f of events) f(e);
  };
  conn.onClose = (reason) => {
    for (const f of closes) f(reason);
  };
  const act = <T>(f: () => T): T => {
    const r = f();
    d.wake();
    return r;
  };
  return {
    now: () => d.now() / 1000,
    after: (ms, fn) => d.at(d.now() + Math.round(ms * 1000), fn),
    write(bytes) {
      if (ending || conn.isClosed()) throw new MptcpApiError('write after end() or on a closed connection');
      queue.push(new Uint8Array(bytes)); // a copy even of a Buffer (whose slice() is a view)
      queued += bytes.length;
      pump();
      return queued < WRITE_HIGH_WATER;
    },
    end() {
      ending = true;
      pump();
    },
    onData: (f) => data.push(f),
    onEnd: (f) => ends.push(f),
    onDrain: (f) => drains.push(f),
    onEvent: (f) => events.push(f),
    onClose: (f) => closes.push(f),
    subflows: () => conn.listSubflows(),
    openSubflow(o) {
      const init = conn.initial();
      const remote = o.remote ?? init?.tcp.remote.address;
      const port = o.remotePort ?? init?.tcp.remote.port;
      if (remote === undefined || port === undefined)
        throw new MptcpApiError('openSubflow needs remote and remotePort (the initial subflow is gone)');
      return act(() =>
        conn.openSubflow(o.local, remote, port, {
          ...(o.backup !== undefined ? { backup: o.backup } : {}),
          ...(o.localPort !== undefined ? { localPort: o.localPort } : {}),
        }),
      );
    },
    closeSubflow: (id) => act(() => conn.closeSubflow(id)),
    setBackup: (id, b) => act(() => conn.setBackup(id, b)),
    setPriorityLists: (l) => act(() => conn.setPriorityLists(l)),
    setPrimaryPathOnly: (a) => act(() => conn.setPrimaryPathOnly(a)),
    info: () => conn.info(),
  };
}
