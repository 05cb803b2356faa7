/**
 * The simulated network: named links, paths made of links, hosts with addresses, routing, interface events,
 * captures and taps.
 *
 * Routing follows the test bed (../shared/testbed): the client-side address picks the path. A packet whose
 * source is path P's client address crosses P's links in order, each in its 'up' direction; a packet whose
 * destination is P's client address crosses them in reverse order, each in its 'down' direction. Any server
 * address is reachable over any path, and a link on several paths is one shared bottleneck per direction.
 */
import type { Instant } from '../util/time.ts';
import { frameIpPacket, LinkType } from '../wire/link.ts';
import type { Simulator } from './events.ts';
import { SimHost, type SimHostOptions } from './host.ts';
import {
  type Direction,
  type DirStats,
  Link,
  type LinkConfig,
  type LinkDirection,
  type Packet,
} from './link.ts';

const EMPTY = new Uint8Array(0);

/** Misuse of the Network: unknown or duplicate names, addresses claimed twice. */
export class NetworkConfigError extends Error {
  override name = 'NetworkConfigError';
}

/** Where captured packets go: a PcapWriter (src/wire/pcap.ts) fits; frames are raw IP unless it says otherwise. */
export interface PacketSink {
  add(timeUs: number, packet: Uint8Array): void;
  readonly linkType?: number;
  /**
   * Told when a captured packet reaches the host it was sent to, with the bytes it arrives with (the very
   * array `add` was given for raw-IP sinks, unless a link corrupted or rewrote the packet on the way). A
   * captured packet that never arrives was dropped: this is the simulator's ground truth of losses.
   */
  arrived?(timeUs: number, packet: Uint8Array): void;
}

export interface TapEvent {
  path: string;
  direction: Direction;
  /** The IP packet as it enters the path (do not modify it). */
  packet: Uint8Array;
  ipHeaderLength: number;
  time: Instant;
}

export interface NetworkStats {
  /** Packets whose addresses match no path's client address. */
  unroutable: number;
  /** Packets to an address no host owns. */
  noHost: number;
  /** Packets from or to a client address whose interface is down (at sending or at arrival). */
  interfaceDown: number;
}

interface SimPath {
  name: string;
  clientAddress: string;
  interfaceUp: boolean;
  up: LinkDirection<NetPacket>[];
  down: LinkDirection<NetPacket>[];
  observers: ((p: NetPacket, direction: Direction, time: Instant) => void)[];
}

/** A packet on its way: the route is fixed when it is sent. */
interface NetPacket extends Packet {
  /** The array the sender framed: a link that corrupts or rewrites a packet replaces `bytes`. */
  sent: Uint8Array;
  hops: LinkDirection<NetPacket>[];
  hop: number;
  src: string;
  dst: string;
  ipHeaderLength: number;
  to: SimHost;
}

export class Network {
  readonly stats: NetworkStats = { unroutable: 0, noHost: 0, interfaceDown: 0 };
  private readonly links = new Map<string, Link<NetPacket>>();
  private readonly paths = new Map<string, SimPath>();
  private readonly pathByClient = new Map<string, SimPath>();
  private readonly hosts = new Map<string, SimHost>();
  private readonly hostByAddress = new Map<string, SimHost>();
  private readonly sendObservers: ((
    p: NetPacket,
    path: SimPath,
    direction: Direction,
    time: Instant,
  ) => void)[] = [];
  private readonly arrivalObservers: ((p: NetPacket, time: Instant) => void)[] = [];
  private readonly forward = (p: NetPacket): void => {
    const next = ++p.hop;
    if (next < p.hops.length) p.hops[next]!.send(p);
    else this.arrive(p);
  };

  constructor(private readonly sim: Simulator) {}

  /** Adds a link; fields left out take DEFAULT_LINK's values. Each direction forks sim.rng, in call order. */
  addLink(name: string, config: Partial<LinkConfig>): void {
    if (this.links.has(name))
      throw new NetworkConfigError(`link '${name}' exists already; pick another name`);
    this.links.set(
      name,
      new Link<NetPacket>(this.sim, name, config, { up: this.forward, down: this.forward }),
    );
  }

  /** Changes a link now, both directions unless one is named. */
  setLink(name: string, changes: Partial<LinkConfig>, direction?: Direction): void {
    this.link(name).set(changes, direction);
  }

  /** The link itself, for its directions' queues and stats. */
  link(name: string): Link<NetPacket> {
    const l = this.links.get(name);
    if (!l) throw new NetworkConfigError(`no link '${name}'; add it with addLink first`);
    return l;
  }

  /** A path of links in client-to-server order, picked by packets from or to `clientAddress`. */
  addPath(name: string, links: string[], clientAddress: string): void {
    if (this.paths.has(name))
      throw new NetworkConfigError(`path '${name}' exists already; pick another name`);
    if (this.pathByClient.has(clientAddress))
      throw new NetworkConfigError(
        `client address ${clientAddress} already picks path '${this.pathByClient.get(clientAddress)!.name}'; give each path its own`,
      );
    const ls = links.map((n) => this.link(n));
    const path: SimPath = {
      name,
      clientAddress,
      interfaceUp: true,
      up: ls.map((l) => l.up),
      down: ls.map((l) => l.down).reverse(),
      observers: [],
    };
    this.paths.set(name, path);
    this.pathByClient.set(clientAddress, path);
  }

  /** A host owning `addresses` (IPv4 or IPv6 text). */
  addHost(name: string, addresses: string[], options?: SimHostOptions): SimHost {
    if (this.hosts.has(name))
      throw new NetworkConfigError(`host '${name}' exists already; pick another name`);
    for (const a of addresses) {
      const owner = this.hostByAddress.get(a);
      if (owner) throw new NetworkConfigError(`address ${a} belongs to host '${owner.name}' already`);
    }
    const host = new SimHost(this.sim, name, [...addresses], this.transmit, options);
    this.hosts.set(name, host);
    for (const a of addresses) this.hostByAddress.set(a, host);
    return host;
  }

  /**
   * Takes the client's interface on `path` down or up: while it is down, packets from or to its address are
   * dropped, and the host owning the address is told at each change (SegmentStack.onAddressChange).
   */
  setInterface(path: string, up: boolean): void {
    const p = this.path(path);
    if (p.interfaceUp === up) return;
    p.interfaceUp = up;
    this.hostByAddress.get(p.clientAddress)?.addressChanged(p.clientAddress, up);
  }

  /**
   * Captures packets into `sink` (both directions), stamped with the time they enter: with `link`, every packet
   * arriving at that link; with `path`, every packet sent into that path; with neither, every packet any
   * host sends. Frames are raw IP unless the sink has another linkType.
   */
  capture(sink: PacketSink, filter: { link?: string; path?: string } = {}): void {
    const linkType = sink.linkType ?? LinkType.RAW;
    const write =
      linkType === LinkType.RAW
        ? (bytes: Uint8Array, time: Instant) => sink.add(time, bytes)
        : (bytes: Uint8Array, time: Instant) => sink.add(time, frameIpPacket(linkType, bytes));
    if (filter.link !== undefined && filter.path !== undefined)
      throw new NetworkConfigError('capture one link or one path, not both: call capture() twice');
    let captured: (p: NetPacket) => boolean;
    if (filter.link !== undefined) {
      const l = this.link(filter.link);
      const observe = (p: NetPacket, time: Instant) => write(p.bytes, time);
      l.up.observe(observe);
      l.down.observe(observe);
      captured = (p) => p.hops.includes(l.up) || p.hops.includes(l.down);
    } else if (filter.path !== undefined) {
      const path = this.path(filter.path);
      path.observers.push((p, _d, time) => write(p.bytes, time));
      captured = (p) => p.hops === path.up || p.hops === path.down;
    } else {
      this.sendObservers.push((p, _path, _d, time) => write(p.bytes, time));
      captured = () => true;
    }
    if (sink.arrived) {
      const arrived = sink.arrived.bind(sink);
      this.arrivalObservers.push((p, time) => {
        if (captured(p)) arrived(time, p.bytes);
      });
    }
  }

  /**
   * Calls `fn` for every packet sent into any path, when it enters. The event object is reused from one call
   * to the next (one allocation per tap, not per packet): keep its fields, not the object.
   */
  tap(fn: (e: TapEvent) => void): void {
    const e: TapEvent = { path: '', direction: 'up', packet: EMPTY, ipHeaderLength: 0, time: 0 };
    this.sendObservers.push((p, path, direction, time) => {
      e.path = path.name;
      e.direction = direction;
      e.packet = p.bytes;
      e.ipHeaderLength = p.ipHeaderLength;
      e.time = time;
      fn(e);
    });
  }

  /** Snapshot of a link's per-direction counters. */
  linkStats(name: string): { up: DirStats; down: DirStats } {
    const l = this.link(name);
    return { up: structuredClone(l.up.stats), down: structuredClone(l.down.stats) };
  }

  /** Whether the client interface of `path` is up. */
  interfaceUp(path: string): boolean {
    return this.path(path).interfaceUp;
  }

  private path(name: string): SimPath {
    const p = this.paths.get(name);
    if (!p) throw new NetworkConfigError(`no path '${name}'; add it with addPath first`);
    return p;
  }

  private readonly transmit = (
    _from: SimHost,
    bytes: Uint8Array,
    src: string,
    dst: string,
    ipHeaderLength: number,
  ): void => {
    let path = this.pathByClient.get(src);
    let direction: Direction = 'up';
    if (!path) {
      path = this.pathByClient.get(dst);
      direction = 'down';
    }
    if (!path) {
      this.stats.unroutable++;
      return;
    }
    const to = this.hostByAddress.get(dst);
    if (!to) {
      this.stats.noHost++;
      return;
    }
    if (!path.interfaceUp) {
      this.stats.interfaceDown++;
      return;
    }
    const hops = direction === 'up' ? path.up : path.down;
    const p: NetPacket = { bytes, sent: bytes, hops, hop: 0, src, dst, ipHeaderLength, to };
    const now = this.sim.now;
    for (const o of this.sendObservers) o(p, path, direction, now);
    for (const o of path.observers) o(p, direction, now);
    if (hops.length > 0) hops[0]!.send(p);
    else this.sim.at(now, () => this.arrive(p));
  };

  private arrive(p: NetPacket): void {
    const path = this.pathByClient.get(p.dst);
    if (path && !path.interfaceUp) {
      this.stats.interfaceDown++;
      return;
    }
    const arrival = this.arrivalObservers;
    for (let i = 0; i < arrival.length; i++) arrival[i]!(p, this.sim.now);
    p.to.receive(p.bytes, p.src, p.dst, p.bytes === p.sent);
  }
}
