/**
 * The UDP addon (native/udp.c): Linux sockets that send a drain's datagrams with one sendmmsg() (UDP GSO for
 * runs of equal size) and read with recvmmsg() and UDP GRO, one call into JavaScript per batch. The UDP
 * transport (src/io/udp.ts) uses it where it loads and node:dgram elsewhere; the wire is the same.
 */
import { getSystemErrorName } from 'node:util';
import { loadAddon } from './addon.ts';

/** An open socket inside the addon (opaque). */
export type UdpHandle = { readonly __udp: unique symbol };

/** Per datagram in a send batch's meta array: end offset, port, the address's 16 bytes (IPv4: the first 4). */
export const META_WORDS = 6;
/** Per datagram in a received batch's meta array: start and end offsets in the read slots, port, address. */
export const RECV_META_WORDS = 7;

export interface UdpAddonStats {
  datagramsIn: number;
  /** recvmmsg() calls that returned data, and reads the kernel coalesced (GRO). */
  reads: number;
  groReads: number;
  datagramsOut: number;
  /** sendmmsg() calls, and GSO messages among what they sent. */
  sendCalls: number;
  gsoMessages: number;
  /** 1 while GSO is used on this socket (0 after the path refused it). */
  gso: number;
  /** Datagrams that met a full socket buffer and waited in the addon's queue, and those it dropped (full). */
  queued: number;
  queueDrops: number;
  sendErrors: number;
  receiveErrors: number;
}

export interface UdpAddon {
  /** A socket bound to (address bytes, port 0 = any), with these buffer sizes (0: the kernel's). */
  open(
    address: Uint8Array,
    port: number,
    recvBuffer: number,
    sendBuffer: number,
  ): { handle: UdpHandle; port: number } | { errno: number };
  /** 0, or the errno of connect(2). */
  connect(handle: UdpHandle, address: Uint8Array, port: number): number;
  /**
   * Datagram i of a batch spans bytes meta[7i] .. meta[7i+1] of `slots`, from port meta[7i+2] at the address
   * after it. The slots are lent: the addon reads into them again after the call, so nothing may keep a view
   * of them. forEachDatagram() walks a batch.
   */
  start(
    handle: UdpHandle,
    onPackets: (slots: Buffer, meta: Uint32Array, count: number) => void,
    onError: (errno: number) => void,
  ): void;
  /** Sends `count` datagrams laid out like a received batch (port 0: the connected peer); 0 or the last errno. */
  send(handle: UdpHandle, data: Uint8Array, meta: Uint32Array, count: number): number;
  close(handle: UdpHandle): void;
  ref(handle: UdpHandle, yes: boolean): void;
  stats(handle: UdpHandle): UdpAddonStats;
}

let loaded: UdpAddon | string | null = null;

/** The addon, or null where it cannot be had (udpAddonUnavailable() says why). */
export function udpAddon(): UdpAddon | null {
  loaded ??= loadAddon<UdpAddon>('udp');
  return typeof loaded === 'string' ? null : loaded;
}

export function udpAddonUnavailable(): string | null {
  loaded ??= loadAddon<UdpAddon>('udp');
  return typeof loaded === 'string' ? loaded : null;
}

/** An errno from the addon as Node names it ('EADDRNOTAVAIL'). */
export function errnoName(errno: number): string {
  try {
    return getSystemErrorName(-errno);
  } catch {
    return `errno ${errno}`;
  }
}

/** Calls `fn` with each datagram of a batch from the addon (a view of the lent slots), its source port and the
 *  byte offset of its address in `meta` (4 bytes for IPv4, 16 for IPv6). */
export function forEachDatagram(
  slots: Buffer,
  meta: Uint32Array,
  count: number,
  fn: (datagram: Buffer, port: number, addressAt: number) => void,
): void {
  for (let i = 0; i < count; i++) {
    const w = i * RECV_META_WORDS;
    fn(slots.subarray(meta[w]!, meta[w + 1]!), meta[w + 2]!, (w + 3) * 4);
  }
}

const SLAB = 512 * 1024;
const DATAGRAMS = 512;

/** The datagrams of one socket, staged during a drain and sent with one call (the slab is reused). */
export class UdpBatch {
  private readonly data = new Uint8Array(SLAB);
  private readonly meta = new Uint32Array(DATAGRAMS * META_WORDS);
  private readonly metaBytes = new Uint8Array(this.meta.buffer);
  private count = 0;
  private used = 0;

  constructor(
    private readonly addon: UdpAddon,
    private readonly handle: UdpHandle,
    /** Called with the errno of a failed send. */
    private readonly failed: (errno: number) => void,
  ) {}

  get pending(): boolean {
    return this.count > 0;
  }

  /** Stages header + data for (address, port), or for the connected peer when `address` is null. */
  add(head: Uint8Array, payload: Uint8Array | undefined, address: Uint8Array | null, port: number): void {
    const len = head.length + (payload?.length ?? 0);
    if (this.used + len > SLAB || this.count === DATAGRAMS) this.flush();
    const at = this.used;
    this.data.set(head, at);
    if (payload) this.data.set(payload, at + head.length);
    this.used = at + len;
    const w = this.count * META_WORDS;
    this.meta[w] = this.used;
    this.meta[w + 1] = address === null ? 0 : port;
    // Unused address bytes are zero: the addon groups datagrams to one destination by comparing all of them.
    this.meta.fill(0, w + 2, w + META_WORDS);
    if (address !== null) this.metaBytes.set(address, (w + 2) * 4);
    this.count++;
  }

  flush(): void {
    if (this.count === 0) return;
    const e = this.addon.send(this.handle, this.data, this.meta, this.count);
    this.count = 0;
    this.used = 0;
    if (e !== 0) this.failed(e);
  }

  drop(): void {
    this.count = 0;
    this.used = 0;
  }
}
