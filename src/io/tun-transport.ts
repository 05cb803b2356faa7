/**
 * The TUN device as a Transport (src/io/transport.ts), so the socket API and the CLI run over real IP with
 * `transport: 'tun'`: the stack owns addresses behind the device (the kernel routes them to it) and exchanges
 * IPv4/IPv6 packets with the kernel, and through it with any host. The StackDriver runs the event loop;
 * this only frames and strips IP (src/io/tun-frame.ts) and batches writes: the packets of one drain go to
 * the device in one call, at the end of the current task.
 */
import type { OutSegment } from '../stack.ts';
import { type Transport, TransportError, type TransportSink } from './transport.ts';
import { newTunDeviceStats, TunDevice, type TunDeviceOptions } from './tun-device.ts';

export type TunTransportOptions = TunDeviceOptions;

/** Local ports the transport hands out for port 0 (the IANA dynamic range). */
const EPHEMERAL_LOW = 49152;
const EPHEMERAL_SPAN = 16384;

export class TunTransport implements Transport {
  readonly kind = 'tun';
  readonly carriesTcpChecksum = true;
  readonly gathers = false;
  readonly retainsPayload = false;
  readonly stats = newTunDeviceStats();
  /** The device's name as the kernel knows it. */
  readonly device: string;
  private readonly tun: TunDevice;
  private closed = false;
  private readonly ports = new Set<string>();
  private nextPort = 0;
  private flushQueued = false;

  /** `addresses`: the stack's own addresses behind the device (TunUnavailableError when TUN cannot work here). */
  constructor(opts: TunTransportOptions, addresses: readonly string[]) {
    if (!opts?.device)
      throw new TransportError(
        "the TUN transport needs a device: transportOptions: { tun: { device: 'tun0' } }",
      );
    if (addresses.length === 0)
      throw new TransportError('the TUN transport needs the addresses the stack owns behind the device');
    this.tun = new TunDevice(opts, addresses, this.stats);
    this.device = this.tun.name;
  }

  attach(sink: TransportSink): void {
    this.tun.start((s) => sink.receive(s.src, s.dst, s.segment));
  }

  send(o: OutSegment): void {
    if (this.closed) return;
    const writer = this.tun.writer;
    writer.add(o);
    if (writer.pending && !this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flush);
    }
  }

  open(address: string, port: number, _use: 'listener' | 'connection'): Promise<number> {
    if (this.closed) return Promise.reject(new TransportError('the TUN transport is closed', 'ECLOSED'));
    if (!this.tun.framer.owns(address))
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
    this.tun.ref(on);
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.tun.flush();
      this.tun.close();
    }
    return Promise.resolve();
  }

  private readonly flush = (): void => {
    this.flushQueued = false;
    this.tun.flush();
  };
}
