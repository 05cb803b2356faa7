/**
 * What a real driver needs from the thing that moves segments (UDP sockets today, a TUN device later): send
 * a polled segment, deliver received ones, be reachable on a local (address, port), and say when a local
 * address goes away or comes back. The event loop around the stack (src/io/driver.ts) is the same for all.
 */
import type { OutSegment } from '../stack.ts';

/** Where a transport hands what it receives. */
export interface TransportSink {
  /**
   * A TCP segment arrived for one of our addresses: its checksum is valid for src/dst, or the transport
   * already verified the bytes some other way (`checksumVerified`). With `payload`, `segment` is the header
   * and `payload` the data, handed over, or lent for the call only (`payloadLent`; SegmentStack.receive).
   */
  receive(
    src: string,
    dst: string,
    segment: Uint8Array,
    checksumVerified?: boolean,
    payload?: Uint8Array,
    payloadLent?: boolean,
  ): void;
  /** A local address disappeared from the host or came back. */
  addressChanged(address: string, up: boolean): void;
}

export interface Transport {
  /** 'udp', 'tun', ... */
  readonly kind: string;
  /**
   * Whether segments cross the wire with their TCP checksum (a TUN does; TCP-in-UDP carries none, UDP's
   * checksum covers the datagram): when not, the stack need not compute it (TcpConfig.checksumOffload).
   */
  readonly carriesTcpChecksum: boolean;
  /** Whether send() takes a segment's header and data apart (OutSegment.payload, TcpConfig.gatherPayload). */
  readonly gathers: boolean;
  /**
   * Whether send() may still read a segment's `payload` after it returns (an asynchronous send holds the
   * view). When not, bytes the engine no longer needs can be written over at once (the socket API reuses
   * its write copies).
   */
  readonly retainsPayload: boolean;
  /** Named counters (datagrams, drops by reason, send errors). */
  readonly stats: Readonly<Record<string, number>>;
  /** Called once by the driver before anything else. */
  attach(sink: TransportSink): void;
  /** Sends a segment polled from the stack; the transport owns its bytes from now on. Never throws. */
  send(out: OutSegment): void;
  /**
   * Makes (address, port) reachable (port 0: let the transport choose one): a listener's port, shared by
   * the subflows of every peer, or the local port of one connection's initial subflow. Resolves with the
   * port; rejects with a TransportError when the address cannot be used.
   */
  open(address: string, port: number, use: 'listener' | 'connection'): Promise<number>;
  /** Keeps the process alive (true) or lets it exit while the transport is idle (false). */
  setRef(on: boolean): void;
  /** Releases every resource; nothing is received afterwards. */
  close(): Promise<void>;
}

/** A transport could not do what it was asked (bind failed, unknown transport kind). */
export class TransportError extends Error {
  override name = 'TransportError';
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}
