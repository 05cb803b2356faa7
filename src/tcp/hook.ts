/**
 * The upper-layer hook through which MPTCP (RFC 8684) drives a TCP connection as a subflow. Plain TCP
 * connections have none and pay one null check per segment for it.
 *
 * A hook
 *  (a) adds options to every outgoing segment (`options`). It is told the segment's kind, flags, sequence
 *      number and whether it is a retransmission. The engine sizes the payload after the call so header +
 *      options fit: payload ≤ MSS − option bytes (as Linux's tcp_current_mss does), and it drops SACK blocks
 *      before it would overflow the 40-byte option space. A segment never spans two chunks pulled through
 *      `pull`, so a chunk's data-sequence mapping covers every segment cut from it, first send or
 *      retransmission alike: the hook finds the mapping by sequence number.
 *  (b) sees the options of every accepted incoming segment (`incoming`) and can refuse it: returning false
 *      for a SYN/ACK (e.g. an MP_JOIN HMAC that does not verify) or any later segment resets the connection.
 *      A listener's hook factory sees the SYN and refuses it by returning false (see TcpEndpoint.listen).
 *  (c) is the data source (`pull`): when the connection's own send buffer has nothing unsent and both the
 *      congestion window and the peer's window have room, the engine asks for at most one segment's worth
 *      of bytes, so the connection-level scheduler decides what this subflow carries at the moment it can
 *      send. The hook may return fewer bytes or null. The engine keeps the bytes by reference until they are
 *      acknowledged (no copy), so the hook must never change them.
 *  (d) receives in-order payload with its relative subflow sequence number (`onData`; RFC 8684 §3.3.1: the
 *      first data byte is ssn 1); with a hook, the connection's own onData is not called.
 *  (e) can ask for a pure ACK now through TcpConnection.requestAck() (to carry a DATA_ACK, MP_PRIO or
 *      ADD_ADDR), and say new data is available through TcpConnection.wake().
 */
import type { TcpOption } from '../wire/tcp.ts';
import type { TcpConnection } from './connection.ts';

export type SegmentKind = 'syn' | 'synAck' | 'ack3' | 'data' | 'ack' | 'fin' | 'rst';

/** An outgoing segment as the hook sees it. The object is reused: read it during the call only. */
export interface OutgoingSegmentInfo {
  kind: SegmentKind;
  /** TCP flags (TcpFlag bits) of the segment. */
  flags: number;
  /** 32-bit sequence number of the segment. */
  seq: number;
  /** Relative subflow sequence number of the first payload byte (1 = first data byte). */
  ssn: number;
  /** Upper bound of the payload length; the engine may send less so the options fit. */
  len: number;
  retransmission: boolean;
}

/** An accepted incoming segment as the hook sees it (reused object; read during the call only). */
export interface IncomingSegmentInfo {
  flags: number;
  seq: number;
  ack: number;
  /** Payload bytes. */
  len: number;
  /** Relative subflow sequence number of the first payload byte (meaningful when len > 0). */
  ssn: number;
  /** Window field, unscaled. */
  window: number;
}

export interface SubflowHook {
  /** Extra options for an outgoing segment, at most `space` bytes encoded; null or [] for none. */
  options(conn: TcpConnection, seg: OutgoingSegmentInfo, space: number): readonly TcpOption[] | null;
  /** An accepted segment arrived with these options; false resets the connection (and counts DropHookVeto). */
  incoming(conn: TcpConnection, seg: IncomingSegmentInfo, options: readonly TcpOption[]): boolean;
  /**
   * Bytes to send next starting at relative subflow sequence number `ssn`: at most `maxBytes`, or null.
   * `cwndShort`: maxBytes is what the congestion window has left, less than a segment, with data in flight;
   * the hook may return null rather than cut a chunk to fit (the next ACK reopens the window), as the
   * connection itself holds back a segment the window cannot take whole.
   */
  pull?(conn: TcpConnection, ssn: number, maxBytes: number, cwndShort: boolean): Uint8Array | null;
  /** Receive window to advertise, in bytes (MPTCP: the connection-level window); the engine's own when absent. */
  receiveWindow?(conn: TcpConnection): number;
  /** In-order payload starting at relative subflow sequence number `ssn`. */
  onData?(conn: TcpConnection, ssn: number, bytes: Uint8Array): void;
  /**
   * The same for bytes the transport lent (SegmentStack.receive's payloadLent): valid only during the call, so
   * the hook copies what it keeps. Without it the connection copies them and calls onData.
   */
  onLentData?(conn: TcpConnection, ssn: number, bytes: Uint8Array): void;
}

/** Thrown when a hook breaks its contract (options too long, more bytes pulled than asked). */
export class SubflowHookError extends Error {
  override name = 'SubflowHookError';
}
