/**
 * The TUN addon (native/tun.c), loaded through src/io/addon.ts. Where it cannot be built or loaded, TUN is
 * unavailable and every attempt says why.
 */
import { addonBinary, loadAddon } from './addon.ts';

/** An open TUN device inside the addon (opaque). */
export type TunHandle = { readonly __tun: unique symbol };

export interface TunAddonStats {
  packetsRead: number;
  bytesRead: number;
  /** Calls into JavaScript; packetsRead / batches is the mean batch size. */
  batches: number;
  /** Times the reader found its 16 MB ring full and waited for JavaScript. */
  ringFullWaits: number;
  readErrors: number;
  lastReadErrno: number;
  /** Packets the writer thread wrote to the device, and writes the device refused (lastWriteErrno: the last). */
  packetsWritten: number;
  writeErrors: number;
  lastWriteErrno: number;
  /** Packets dropped because the write queue (8 MB) was full. */
  writeQueueDrops: number;
}

/** The addon's functions (see native/tun.c). */
export interface TunAddon {
  /** Opens (creating when absent) TUN device `name`, inside the network namespace file `netns` if given. */
  open(name: string, netns?: string): { handle: TunHandle; name: string };
  /** Starts the reader thread; packet i of a batch is data[ends[i-1] .. ends[i]) (a fresh buffer per batch). */
  start(handle: TunHandle, onPackets: (data: Uint8Array, ends: Uint32Array, count: number) => void): void;
  /**
   * Queues one IP packet for the writer thread; returns 1, or 0 when the write queue is full and the packet
   * was dropped. Errors of the write itself are counted in stats().
   */
  write(handle: TunHandle, packet: Uint8Array): number;
  /** Queues `count` packets laid out like a batch; returns how many were queued (the rest were dropped). */
  writeMany(handle: TunHandle, data: Uint8Array, ends: Uint32Array, count: number): number;
  close(handle: TunHandle): void;
  stats(handle: TunHandle): TunAddonStats;
  /** Whether the running reader keeps the event loop alive (it does by default). */
  ref(handle: TunHandle, yes: boolean): void;
}

/** TUN cannot be used here (no compiler or headers at install, not Linux, addon failed to load). */
export class TunUnavailableError extends Error {
  override name = 'TunUnavailableError';
}

/** Where the built addon lives (a worker thread may load it directly once loadTunAddon() has built it). */
export const TUN_ADDON_BINARY = addonBinary('tun');

let loaded: TunAddon | TunUnavailableError | null = null;

function load(): TunAddon | TunUnavailableError {
  const r = loadAddon<TunAddon>('tun');
  return typeof r === 'string' ? new TunUnavailableError(r) : r;
}

/** The addon, built if needed; throws TunUnavailableError with the reason when TUN cannot work here. */
export function loadTunAddon(): TunAddon {
  loaded ??= load();
  if (loaded instanceof TunUnavailableError) throw loaded;
  return loaded;
}

/** Why TUN is unavailable, or null when the addon loads. */
export function tunUnavailableReason(): string | null {
  loaded ??= load();
  return loaded instanceof TunUnavailableError ? loaded.message : null;
}
