/**
 * One subflow of an MPTCP connection: a TCP connection (src/tcp) driven through the upper-layer hook, its
 * MPTCP handshake state (MP_CAPABLE or MP_JOIN, RFC 8684 §3.1–3.2), its address ids and priorities, its
 * data sequence mappings in both directions, the packets the scheduler pushed to it, and the view the
 * scheduler reads. The protocol logic lives in the connection; this class routes the hook's calls there.
 */
import type { SchedSubflow } from '../sched/types.ts';
import type { TcpConnection } from '../tcp/connection.ts';
import type { IncomingSegmentInfo, OutgoingSegmentInfo, SubflowHook } from '../tcp/hook.ts';
import type { Instant } from '../util/time.ts';
import type { TcpOption } from '../wire/tcp.ts';
import type { MptcpConnection } from './connection.ts';
import { type Mapping, MappingTable } from './mapping.ts';
import type { DataPacket } from './send-queue.ts';

export type SubflowKind = 'initial' | 'join';

/** Where a subflow is in its life. */
export type SubflowPhase = 'connecting' | 'established' | 'closed';

export class Subflow implements SubflowHook {
  tcp!: TcpConnection;
  phase: SubflowPhase = 'connecting';
  /** MP_JOIN: the fourth ACK arrived (initiator) or the third ACK's HMAC verified (responder). */
  fullyEstablished = false;
  /** We asked the peer not to send on this subflow (MP_PRIO / MP_JOIN B bit we sent). */
  backupLocal = false;
  /** The peer asked us not to send on this subflow. */
  backupRemote = false;
  /** An MP_PRIO to send on the next segment (the value to announce). */
  pendingPrio: boolean | null = null;
  localAddressId = 0;
  remoteAddressId: number | null = null;
  localNonce = 0;
  remoteNonce = 0;
  /** Data we sent: ssn → stream offset. */
  readonly sendMap = new MappingTable();
  /** The TCP sequence number of ssn 1 in our direction (-1 until the first data segment). */
  seqOfSsn1 = -1;
  /** Data we received: ssn → stream offset, from the peer's DSS options. */
  readonly recvMap = new MappingTable();
  /** Packets the scheduler pushed here and this subflow has not sent yet; `pushedSent` bytes of the head are out. */
  readonly pushed: DataPacket[] = [];
  pushedSent = 0;
  /** Consecutive RTOs seen and whether the subflow was declared stale (its data reinjected elsewhere). */
  rtoSeen = 0;
  stale = false;
  /** RTOs at which the data of this subflow was last reinjected (once per loss episode). */
  reinjectedAtRto = 0;
  closedReason: string | null = null;
  /** When the MP_JOIN third ACK was last sent (retransmitted until the fourth ACK, RFC 8684 §3.2). */
  ack3SentAt: Instant = -1;
  bytesSent = 0;
  bytesRetransmitted = 0;
  bytesReceived = 0;
  /** A reset we send carries this MP_TCPRST reason (RFC 8684 §3.6); null for none. */
  rstReason: number | null = null;
  /** Our reset carries MP_FAIL with this DSN (a mapping failed its DSS checksum, RFC 8684 §3.7). */
  failDsn: bigint | null = null;
  /** With DSS checksums: the mapping whose bytes are being collected before verification. */
  checking: Mapping | null = null;
  checkingParts: Uint8Array[] = [];
  checkingBytes = 0;
  /** Our resets carry MP_FASTCLOSE (RFC 8684 §3.5). */
  fastClose = false;
  /** Left idle by the scheduler while better subflows work (a backup, or non-primary in PPoS mode). */
  idle = false;
  /** Primary-path-only mode marks primary subflows. */
  primary = false;
  /** The view the scheduler reads, updated in place before each run. */
  readonly view: SchedSubflow;

  constructor(
    readonly conn: MptcpConnection,
    readonly id: number,
    readonly kind: SubflowKind,
    /** We sent the SYN. */
    readonly initiator: boolean,
  ) {
    this.view = {
      id,
      rtt: 0,
      rttVar: 0,
      cwnd: 0,
      ssthresh: 0,
      skbsInFlight: 0,
      queued: 0,
      lostSkbs: 0,
      isBackup: false,
      throttled: false,
      lossy: false,
      windowFree: 0,
      delayIn: 0,
      delayOut: 0,
      bwOutSend: 0,
      bwOutAck: 0,
      mss: 0,
      user: 0,
      primary: false,
    };
  }

  get local(): string {
    return `${this.tcp.local.address}:${this.tcp.local.port}`;
  }

  get remote(): string {
    return `${this.tcp.remote.address}:${this.tcp.remote.port}`;
  }

  /** May carry data now: established and, for a join, fully established; not closed. */
  get usable(): boolean {
    return this.phase === 'established' && (this.kind === 'initial' || this.fullyEstablished);
  }

  get isBackup(): boolean {
    return this.backupLocal || this.backupRemote;
  }

  options(tcp: TcpConnection, seg: OutgoingSegmentInfo, space: number): readonly TcpOption[] | null {
    return this.conn.optionsFor(this, tcp, seg, space);
  }

  incoming(tcp: TcpConnection, seg: IncomingSegmentInfo, options: readonly TcpOption[]): boolean {
    return this.conn.onIncoming(this, tcp, seg, options);
  }

  pull(_tcp: TcpConnection, ssn: number, maxBytes: number, cwndShort: boolean): Uint8Array | null {
    return this.conn.pull(this, ssn, maxBytes, cwndShort);
  }

  receiveWindow(_tcp: TcpConnection): number {
    return this.conn.receiveSpace();
  }

  onData(_tcp: TcpConnection, ssn: number, bytes: Uint8Array): void {
    this.conn.onSubflowData(this, ssn, bytes, false);
  }

  onLentData(_tcp: TcpConnection, ssn: number, bytes: Uint8Array): void {
    this.conn.onSubflowData(this, ssn, bytes, true);
  }
}
