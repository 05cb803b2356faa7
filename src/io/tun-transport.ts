/**
 * The TUN device as a Transport (src/io/transport.ts), so the socket API and the CLI run over real IP with
 * `transport: 'tun'`: the stack owns addresses behind the device (the kernel routes them to it) and exchanges
 * IPv4/IPv6 packets with the kernel, and through it with any host. The StackDriver runs the event loop;
 * this only frames and strips IP (src/io/tun-frame.ts) and batches writes: the packets of one drain go to
 * the device in one call, at the end of the current task.
 */
import type { OutSegment } from '../stack.ts';
import { type Transport, TransportError, type TransportSink } from './transport.ts';
import { loadTunAddon, type TunAddon, type TunHandle } from './tun-addon.ts';
import { type DropReason, IpFramer } from './tun-frame.ts';
import { TunWriter } from './tun-writer.ts';

export interface TunTransportOptions {
  /** The TUN device: opened when it exists (e.g. made persistent by `ip tuntap add`), created otherwise. */
  device: string;
  /** A network namespace to open the device in: a name under /run/netns (`ip netns`) or a path. */
  netns?: string;
}

/** Local ports the transport hands out for port 0 (the IANA dynamic range). */
const EPHEMERAL_LOW = 49152;
const EPHEMERAL_SPAN = 16384;

export class TunTransport implements Transport {
  readonly kind = 'tun';
  readonly carriesTcpChecksum = true;
  readonly stats = {
    packetsIn: 0,
    packetsOut: 0,
    badIp: 0,
    notTcp: 0,
    fragment: 0,
    notOurs: 0,
    badSource: 0,
    writeErrors: 0,
  };
  /** The device's name as the kernel knows it. */
  readonly device: string;
  private readonly addon: TunAddon;
  private readonly handle: TunHandle;
  private readonly framer: IpFramer;
  private sink: TransportSink | null = null;
  private closed = false;
  private readonly ports = new Set<string>();
  private nextPort = 0;
  private readonly writer: TunWriter;
  private flushQueued = false;

  /** `addresses`: the stack's own addresses behind the device (TunUnavailableError when TUN cannot work here). */
  constructor(opts: TunTransportOptions, addresses: readonly string[]) {
    if (!opts?.device)
      throw new TransportError(
        "the TUN transport needs a device: transportOptions: { tun: { device: 'tun0' } }",
      );
    if (addresses.length === 0)
      throw new TransportError('the TUN transport needs the addresses the stack owns behind the device');
    this.addon = loadTunAddon();
    const netns =
      opts.netns === undefined || opts.netns.includes('/') ? opts.netns : `/run/netns/${opts.netns}`;
    const opened = this.addon.open(opts.device, netns);
    this.handle = opened.handle;
    this.device = opened.name;
    this.framer = new IpFramer(addresses);
    this.writer = new TunWriter(this.addon, this.handle, this.framer, this.stats);
  }

  attach(sink: TransportSink): void {
    this.sink = sink;
    this.addon.start(this.handle, this.onPackets);
  }

  send(o: OutSegment): void {
    if (this.closed) return;
    this.writer.add(o);
    if (this.writer.pending && !this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flush);
    }
  }

  open(address: string, port: number, _use: 'listener' | 'connection'): Promise<number> {
    if (this.closed) return Promise.reject(new TransportError('the TUN transport is closed', 'ECLOSED'));
    if (!this.framer.owns(address))
      return Promise.reject(
        new TransportError(`${address} is not one of the addresses behind the TUN device`, 'EADDRNOTAVAIL'),
      );
    if (port !== 0) {
      this.ports.add(`${address}|${port}`);
      return Promise.resolve(port);
    }
    // Every port of the address belongs to the stack: any one not handed out yet will do.
    for (let i = 0; i < EPHEMERAL_SPAN; i++) {
      const p = EPHEMERAL_LOW + ((this.nextPort + i) % EPHEMERAL_SPAN);
      if (this.ports.has(`${address}|${p}`)) continue;
      this.nextPort = (this.nextPort + i + 1) % EPHEMERAL_SPAN;
      this.ports.add(`${address}|${p}`);
      return Promise.resolve(p);
    }
    return Promise.reject(new TransportError(`no free port on ${address}`, 'EADDRINUSE'));
  }

  setRef(on: boolean): void {
    if (!this.closed) this.addon.ref(this.handle, on);
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.flush();
      this.closed = true;
      this.addon.close(this.handle);
    }
    return Promise.resolve();
  }

  private readonly onPackets = (data: Uint8Array, ends: Uint32Array, count: number): void => {
    let start = 0;
    for (let i = 0; i < count && !this.closed; i++) {
      const end = ends[i]!;
      this.stats.packetsIn++;
      const s = this.framer.strip(data.subarray(start, end));
      start = end;
      if (typeof s === 'string') this.stats[s satisfies DropReason]++;
      else this.sink?.receive(s.src, s.dst, s.segment);
    }
  };

  private readonly flush = (): void => {
    this.flushQueued = false;
    if (this.closed) this.writer.drop();
    else this.writer.flush();
  };
}
