/**
 * The sans-I/O contract between a protocol stack (plain TCP endpoint, MPTCP endpoint) and the drivers that move
 * its segments (simulator, UDP, TUN). The stack never reads a clock or touches I/O: drivers hand it time and
 * input, take its output, and call it again at its next deadline. Addresses are canonical text ("10.0.1.1",
 * "2001:db8::1"); the driver adds and strips the IP (or UDP) framing.
 */
import type { Instant } from './util/time.ts';

/** A TCP segment to send: encoded bytes with a valid checksum for `src`/`dst`. */
export interface OutSegment {
  src: string;
  dst: string;
  segment: Uint8Array;
  /**
   * The segment's data when it goes out apart from the header (TcpConfig.gatherPayload): `segment` is then
   * the header with its options. A view of bytes that stay unchanged: the driver sends or copies it, never
   * writes it.
   */
  payload?: Uint8Array;
  /** DSCP/ECN byte for the IP header (per-subflow TOS), 0 by default. */
  tos?: number;
}

export interface SegmentStack {
  /**
   * A TCP segment arrived for one of this stack's addresses. Never throws on bad input. `checksumVerified`
   * is the driver's word that the bytes are those the sender checksummed (like a NIC's receive checksum
   * offload: a simulated link that did not alter the packet); the stack then skips its own check.
   * `payload`: the segment's data, when the transport carries it apart from the header (TCP-in-UDP):
   * `segment` is then the header with its options, and the payload's bytes are handed over, so the stack
   * keeps views of them instead of copies. `payloadLent`: the payload's bytes are valid only during this call
   * (the transport reads into the same memory again), so the stack copies what it keeps.
   */
  receive(
    now: Instant,
    src: string,
    dst: string,
    segment: Uint8Array,
    checksumVerified?: boolean,
    payload?: Uint8Array,
    payloadLent?: boolean,
  ): void;
  /** The next segment to send now, or null when there is nothing more. */
  poll(now: Instant): OutSegment | null;
  /** When `onTimer` must be called next, or null when no timer is pending. */
  nextDeadline(): Instant | null;
  onTimer(now: Instant): void;
  /** The host's view of its addresses changed (an interface went down or came up). */
  onAddressChange?(now: Instant, address: string, up: boolean): void;
}
