/**
 * An MPTCP connection (RFC 8684) over TCP subflows, after "Multipath TCP in the Linux kernel": one
 * connection-level send queue Q that subflows pull from when their windows open, with the scheduler deciding
 * at that moment (QU and RQ beside it); receive by subflow, then by data sequence, handing in-order bytes to
 * the application as soon as they exist, whichever subflow brought them.
 *
 * Positions in the data stream are stream offsets (DSN − IDSN − 1) held as numbers; 64-bit DSNs appear only
 * where options are written and read.
 */

import type { CouplingGroupHandle } from '../cc/coupling.ts';
import { CC_NAMES, type CcName, createCc, createCouplingGroup } from '../cc/index.ts';
import type { CongestionControl } from '../cc/types.ts';
import {
  addAddrHmac,
  generateUniqueKey,
  hmacEqual,
  joinAckHmac,
  joinSynAckHmac,
  keyMaterial,
} from '../crypto.ts';
import { createScheduler } from '../sched/registry.ts';
import { ActionKind, type SchedState, type Scheduler } from '../sched/types.ts';
import { type CcRequest, DEFAULT_TCP_CONFIG, newPathState, type TcpConfig } from '../tcp/config.ts';
import type { TcpConnection } from '../tcp/connection.ts';
import type { IncomingSegmentInfo, OutgoingSegmentInfo } from '../tcp/hook.ts';
import { copyBytes } from '../tcp/segment.ts';
import type { Rng } from '../util/rng.ts';
import type { Instant } from '../util/time.ts';
import { MS, SECOND } from '../util/time.ts';
import { parseIp } from '../wire/address.ts';
import { dssChecksum, verifyDssChecksum } from '../wire/dss-checksum.ts';
import { DecodeError } from '../wire/errors.ts';
import { CapableFlag, type Dss, type MptcpOption, TcpRstReason } from '../wire/mptcp-types.ts';
import { TcpFlag, type TcpOption } from '../wire/tcp.ts';
import { type MptcpConfig, segmentPayload } from './config.ts';
import type { MptcpCounters } from './counters.ts';
import type { MptcpEvent } from './events.ts';
import type { MptcpInfo } from './info.ts';
import { DataReassembly } from './reassembly.ts';
import { type DataPacket, SendQueues } from './send-queue.ts';
import { Subflow, type SubflowKind } from './subflow.ts';
import { type SubflowOptions, type SubflowStatus, subflowStatus } from './subflow-status.ts';

const COUPLED: readonly CcName[] = ['lia', 'olia', 'balia'];
const MASK64 = (1n << 64n) - 1n;
const EMPTY = new Uint8Array(0);
/** Scratch space for a subflow's per-decision figures (filled and read at once, never kept). */
const PATH = newPathState();
const TWO32 = 4294967296;
const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);
/** Scheduler re-runs in a row at most (PROGMP.md). */
const MAX_RERUNS = 5;
/** Closed subflows kept in the list (re-created subflows on a dead path would otherwise pile up). */
const MAX_CLOSED_KEPT = 32;
/** Lines of scheduler trace (PRINT) kept per connection. */
const MAX_TRACE_LINES = 1000;

/**
 * The subflow sequence number of a DSS mapping is 32 bits on the wire; the TCP layer counts it without wrapping.
 * The mapping's number is the one within 2^31 of the segment's own (a subflow past 4 GiB wraps the field).
 */
export function widenSsn(wire: number, near: number): number {
  return near + ((wire - near) | 0);
}

/** What the endpoint provides to its connections. */
export interface ConnectionHost {
  readonly now: Instant;
  readonly rng: Rng;
  readonly counters: MptcpCounters;
  /** Opens the TCP connection of a subflow we initiate. */
  openTcp(opts: {
    local: string;
    localPort?: number;
    remote: string;
    remotePort: number;
    config: Partial<TcpConfig>;
    hook: Subflow;
  }): TcpConnection;
  tokenInUse(token: number): boolean;
  registerToken(token: number, conn: MptcpConnection): void;
  /** The connection is closed: forget its token. */
  released(conn: MptcpConnection): void;
}

/** Decides which subflows a connection opens, when, and what it announces (src/pm). */
export interface PathManager {
  readonly name: string;
  /** The connection (initial subflow) is established. */
  established?(conn: MptcpConnection): void;
  /** The peer announced an address (ADD_ADDR). */
  announced?(conn: MptcpConnection, addressId: number): void;
  /** The peer removed an address (REMOVE_ADDR). */
  removed?(conn: MptcpConnection, addressId: number): void;
  /** A subflow closed (reset, timeout, removal). */
  subflowClosed?(conn: MptcpConnection, sf: Subflow, reason: string): void;
  /** A local address went down or came up. */
  addressChanged?(conn: MptcpConnection, address: string, up: boolean): void;
  /** Called at `nextDeadline()`. */
  timer?(conn: MptcpConnection, now: Instant): void;
  nextDeadline?(conn: MptcpConnection): Instant | null;
  /** May the peer open this join? (limits; false refuses it). */
  acceptJoin?(conn: MptcpConnection): boolean;
}

export interface RemoteAddress {
  addressId: number;
  address: string;
  port: number | null;
}

export interface LocalAddress {
  addressId: number;
  address: string;
  port: number | null;
  backup: boolean;
  /** ADD_ADDR: retransmissions left and when the next is due (until echoed). */
  announce: { left: number; at: Instant } | null;
}

/** A pair of addresses (either may be a wildcard) whose subflows take a priority (persistent lists). */
export interface AddressPair {
  local?: string;
  remote?: string;
}

/** A read reopens the window by at least this much before it is worth a window update of its own. */
const WINDOW_UPDATE_MIN = 8192;

export class MptcpStateError extends Error {
  override name = 'MptcpStateError';
}

export type ConnectionState = 'connecting' | 'established' | 'closing' | 'closed';

export interface WriteProps {
  /** The per-packet USER value schedulers see (ProgMP pkt.USER). */
  user?: number;
}

export class MptcpConnection {
  state: ConnectionState = 'connecting';
  fallback = false;
  fallbackReason: string | null = null;
  readonly localKey: bigint;
  readonly localToken: number;
  readonly localIdsn: bigint;
  private readonly localIdsnLow: number;
  remoteKey: bigint | null = null;
  remoteToken = 0;
  private remoteIdsn = 0n;
  /** Both ends asked for DSS checksums (A flag). */
  checksums = false;
  readonly subflows: Subflow[] = [];
  private nextSubflowId = 1;
  readonly send: SendQueues;
  private readonly reasm: DataReassembly;
  /** Stream offset right after the peer's DATA_FIN once all data before it arrived. */
  private remoteFinAt: number | null = null;
  private remoteFinDone = false;
  /** Our DATA_FIN's stream offset once the application ended the stream. */
  private localFinAt: number | null = null;
  private localFinAcked = false;
  private localFinSentAt: Instant = -1;
  /** Right edge of the peer's connection-level receive window (stream offset, RFC 8684 §3.3.4). */
  private peerEdge = 0;
  /** The peer confirmed our MP_CAPABLE (client: any DSS from the server). */
  private mpcConfirmed = false;
  private scheduler: Scheduler;
  schedulerName: string;
  private readonly sched: SchedState;
  readonly registers = new Uint32Array(6);
  /** Socket-wide default for pkt.USER. */
  defaultUser = 0;
  readonly trace: string[] = [];
  readonly localAddresses = new Map<number, LocalAddress>();
  readonly remoteAddresses = new Map<number, RemoteAddress>();
  private pendingEchoes: RemoteAddress[] = [];
  private pendingRemoves: number[] = [];
  /** The coupling group of the subflows' coupled controllers (created with the first one). */
  private coupling: CouplingGroupHandle | null = null;
  /** Primary-path-only mode: local addresses whose subflows are primary. */
  primaryPathOnly: Set<string> | null = null;
  private schedulerBeforePpos: string | null = null;
  readonly activeList: AddressPair[] = [];
  readonly backupList: AddressPair[] = [];
  private closeReason: string | null = null;
  private pmStarted = false;
  private headRetransmitAt: Instant = -Infinity;
  private readonly pendingJoins = new Set<Subflow>();
  /** The server set the C flag: no joins to its initial address and port (RFC 8684 §3.1). */
  peerRefusesInitialJoins = false;
  bytesWritten = 0;
  bytesDelivered = 0;
  /** Delivered bytes the application reports unread (setUnread); they take receive window. */
  private unread = 0;
  /** The free window last offered to the peer (receiveSpace). */
  private offeredSpace = 0;
  private rcvWindow: number;
  private rcvTuneStart: Instant = 0;
  private rcvTuneBytes = 0;
  private rcvTuneRtt = 0;

  onEstablished?: () => void;
  onData?: (bytes: Uint8Array) => void;
  /**
   * In-order bytes the transport lent (SegmentStack.receive's payloadLent): valid only during the call, so the
   * application copies them (into a buffer it reuses, say). Without it the connection copies and calls onData.
   */
  onLentData?: (bytes: Uint8Array) => void;
  onEnd?: () => void;
  onWritable?: () => void;
  onClose?: (reason: string | null) => void;
  onEvent?: (e: MptcpEvent) => void;

  constructor(
    private readonly host: ConnectionHost,
    readonly role: 'client' | 'server',
    readonly config: MptcpConfig,
    readonly pm: PathManager,
    /** The client's address and port (for the server: the peer's). */
    readonly port: number,
  ) {
    const k = generateUniqueKey(host.rng, (t) => host.tokenInUse(t));
    this.localKey = k.key;
    this.localToken = k.token;
    this.localIdsn = k.idsn;
    this.localIdsnLow = Number(k.idsn & 0xffffffffn);
    this.send = new SendQueues(this.localIdsnLow, 1400, config.sndBuf, config.coalesceWrites);
    // Checksums are used when either end asks for them (RFC 8684 §3.1, the A flag).
    this.checksums = config.checksum;
    this.rcvWindow = config.rcvBuf;
    // Subflows acknowledge what they accept, so the data level must hold all of it: bound by the hard cap.
    this.reasm = new DataReassembly(config.rcvBufMax);
    this.schedulerName = config.scheduler;
    this.scheduler = createScheduler(config.scheduler);
    const self = this;
    this.sched = {
      subflows: [],
      q: this.send.q,
      qu: this.send.qu,
      rq: this.send.rq,
      registers: this.registers,
      now: 0,
      random: () => host.rng.u32(),
      sendWindow: 0,
      queuedBytes: 0,
      sendWindowBlocked: 0,
      print(line: string) {
        if (self.trace.length >= MAX_TRACE_LINES) self.trace.shift();
        self.trace.push(line);
      },
    };
  }

  // ------------------------------------------------------------------ application side

  /** Queues bytes for sending; returns how many the send buffer took (0 when full: wait for onWritable). */
  write(data: Uint8Array, props?: WriteProps): number {
    if (this.localFinAt !== null || this.state === 'closed')
      throw new MptcpStateError('write after end() or on a closed connection: open a new connection');
    const user = props?.user ?? this.defaultUser;
    let n = 0;
    for (;;) {
      const k = this.send.write(n === 0 ? data : data.subarray(n), user);
      n += k;
      if (k === 0) break;
      this.writing = true;
      try {
        this.kick();
      } finally {
        this.writing = false;
      }
      // In fallback the kick moves bytes into TCP's buffer at once, making room for more of this write.
      if (n === data.length || !this.fallback) break;
    }
    this.bytesWritten += n;
    return n;
  }

  /**
   * The lowest stream offset whose bytes the connection may still read: data below it was DATA_ACKed and
   * acknowledged by every subflow that carried it (a subflow keeps a mapping until then, and may resend from
   * it), so no segment is built from those bytes again and the writer may reuse their memory.
   */
  retainedFrom(): number {
    let from = this.send.acked;
    for (const sf of this.subflows)
      if (sf.phase !== 'closed') from = Math.min(from, sf.sendMap.lowestOffset());
    return from;
  }

  /** Bytes write() would take now. */
  get writableLength(): number {
    return this.send.space;
  }

  /** Sends DATA_FIN after the queued data (RFC 8684 §3.3.3). */
  end(): void {
    if (this.localFinAt !== null || this.state === 'closed') return;
    this.localFinAt = this.send.written;
    if (this.fallback) {
      // The FIN goes after what is still queued at connection level (pumpFallback ends the TCP stream).
      this.pumpFallback();
      return;
    }
    this.kick();
  }

  /** MP_FASTCLOSE (RFC 8684 §3.5): tell the peer, reset every subflow, close now. */
  abort(reason = 'aborted'): void {
    if (this.state === 'closed') return;
    this.host.counters.MPFastcloseTx++;
    for (const sf of this.subflows) {
      if (sf.phase === 'closed') continue;
      sf.fastClose = this.remoteKey !== null && !this.fallback;
      sf.tcp.abort();
    }
    this.finish(reason);
  }

  /** Changes the scheduler (registers keep their values). */
  setScheduler(name: string): void {
    this.scheduler = createScheduler(name);
    this.schedulerName = name;
    this.kick();
  }

  setRegister(index: number, value: number): void {
    if (!Number.isInteger(index) || index < 0 || index > 5)
      throw new MptcpStateError(`registers are R1..R6 (index 0..5), got index ${index}`);
    this.registers[index] = value >>> 0;
    this.kick();
  }

  get schedulerStats() {
    return this.scheduler.stats;
  }

  // ------------------------------------------------------------------ subflows

  /** The initial subflow (id 1) while it exists. */
  initial(): Subflow | undefined {
    return this.subflows.find((s) => s.kind === 'initial');
  }

  /** Subflows not closed. */
  liveSubflows(): Subflow[] {
    return this.subflows.filter((s) => s.phase !== 'closed');
  }

  /** Creates the subflow object for a new TCP connection (ours or the peer's). */
  newSubflow(kind: SubflowKind, initiator: boolean): Subflow {
    const sf = new Subflow(this, this.nextSubflowId++, kind, initiator);
    // A join the peer is opening joins the list once its handshake completes (attach): until then it has
    // no TCP connection to speak of, and it may never complete. It counts against the limits meanwhile.
    if (initiator || kind === 'initial') this.subflows.push(sf);
    else this.pendingJoins.add(sf);
    return sf;
  }

  /** Live subflows plus joins the peer is still opening: what subflow limits count. */
  subflowCount(): number {
    for (const sf of this.pendingJoins)
      if (sf.tcp !== undefined && sf.tcp.info().state === 'CLOSED') this.pendingJoins.delete(sf);
    return this.liveSubflows().length + this.pendingJoins.size;
  }

  /** Opens the initial subflow (client role). */
  connectInitial(local: string, remote: string, remotePort: number, localPort?: number): Subflow {
    this.host.counters.MPCapableSYNTX++;
    const sf = this.newSubflow('initial', true);
    this.attach(
      sf,
      this.host.openTcp({ local, localPort, remote, remotePort, config: this.subflowTcpConfig(), hook: sf }),
    );
    this.localAddresses.set(0, { addressId: 0, address: local, port: null, backup: false, announce: null });
    this.applyLists(sf, local, remote);
    this.emit({ type: 'created', token: this.localToken });
    return sf;
  }

  /** Opens an MP_JOIN subflow between these addresses (RFC 8684 §3.2); returns its id. */
  openSubflow(
    local: string,
    remote: string,
    remotePort: number,
    opts: { backup?: boolean; localPort?: number } = {},
  ): number {
    if (this.state !== 'established' || this.fallback || this.remoteKey === null)
      throw new MptcpStateError(
        'subflows can be added only to an established MPTCP connection (not after fallback)',
      );
    const init = this.initial();
    if (
      this.peerRefusesInitialJoins &&
      init !== undefined &&
      remote === init.tcp.remote.address &&
      remotePort === init.tcp.remote.port
    )
      throw new MptcpStateError(
        'the peer takes no subflows at its initial address (MP_CAPABLE C flag): use an address it announced',
      );
    if (this.liveSubflows().length >= this.config.maxSubflows)
      throw new MptcpStateError(
        `the connection already has ${this.config.maxSubflows} subflows (maxSubflows)`,
      );
    const sf = this.newSubflow('join', true);
    sf.localNonce = this.host.rng.u32();
    sf.localAddressId = this.addressIdFor(local);
    sf.backupLocal = opts.backup ?? this.localAddresses.get(sf.localAddressId)?.backup ?? false;
    this.applyLists(sf, local, remote, opts.backup);
    this.attach(
      sf,
      this.host.openTcp({
        local,
        localPort: opts.localPort,
        remote,
        remotePort,
        config: this.subflowTcpConfig(),
        hook: sf,
      }),
    );
    return sf.id;
  }

  /** Closes a subflow by id (its unacknowledged data is reinjected elsewhere). */
  closeSubflow(id: number, reason = 'closed by the application'): void {
    const sf = this.subflows.find((s) => s.id === id && s.phase !== 'closed');
    if (!sf) throw new MptcpStateError(`no open subflow with id ${id}`);
    this.host.counters.RmSubflow++;
    sf.closedReason = reason;
    sf.rstReason = TcpRstReason.ADMINISTRATIVELY_PROHIBITED;
    sf.tcp.abort();
    this.subflowGone(sf, reason);
  }

  /** Marks a subflow backup or active and tells the peer with MP_PRIO (RFC 8684 §3.3.8). */
  setBackup(id: number, backup: boolean): void {
    const sf = this.subflows.find((s) => s.id === id && s.phase !== 'closed');
    if (!sf) throw new MptcpStateError(`no open subflow with id ${id}`);
    if (sf.backupLocal === backup && sf.pendingPrio === null) return;
    sf.backupLocal = backup;
    sf.pendingPrio = backup;
    if (sf.phase === 'established') sf.tcp.requestPureAck();
    this.emit({ type: 'sub_priority', subflow: sf.id, backup, by: 'local' });
    this.kick();
  }

  /** Announces a local address to the peer (ADD_ADDR, retransmitted until echoed). */
  announce(address: string, opts: { port?: number; backup?: boolean } = {}): number {
    const id = this.addressIdFor(address, opts.backup);
    const a = this.localAddresses.get(id)!;
    a.port = opts.port ?? null;
    a.announce = { left: this.config.addAddrRetries + 1, at: this.host.now };
    this.sendSignal();
    return id;
  }

  /** Withdraws a local address (REMOVE_ADDR) and closes its subflows. */
  removeAddress(address: string): void {
    for (const [id, a] of this.localAddresses) {
      if (a.address !== address) continue;
      if (id !== 0) {
        this.localAddresses.delete(id);
        this.pendingRemoves.push(id);
      }
      for (const sf of this.subflows)
        if (sf.phase !== 'closed' && sf.tcp.local.address === address)
          this.closeSubflow(sf.id, 'address removed');
    }
    this.sendSignal();
  }

  /** The address id of one of our addresses, or undefined when it has none yet. */
  private knownAddressId(address: string): number | undefined {
    for (const [id, a] of this.localAddresses) if (a.address === address) return id;
    return undefined;
  }

  /** The address id for a local address, allocating one (1..255) the first time. */
  addressIdFor(address: string, backup = false): number {
    const known = this.knownAddressId(address);
    if (known !== undefined) return known;
    let id = 1;
    while (this.localAddresses.has(id) && id < 255) id++;
    this.localAddresses.set(id, { addressId: id, address, port: null, backup, announce: null });
    return id;
  }

  /**
   * The persistent lists decide a new subflow's priority (active wins over backup) unless the caller chose
   * one; the primary set (matched on either end's address) marks it primary.
   */
  private applyLists(sf: Subflow, local: string, remote: string, explicit?: boolean): void {
    const match = (l: AddressPair[]) =>
      l.some(
        (p) =>
          (p.local === undefined || p.local === local) && (p.remote === undefined || p.remote === remote),
      );
    const pp = this.primaryPathOnly;
    // A remote address counts only when it is not also one of ours: on loopback (or a host talking to itself)
    // every subflow's remote may be the primary's local address, and all of them would be primary.
    sf.primary =
      pp !== null && (pp.has(local) || (pp.has(remote) && this.knownAddressId(remote) === undefined));
    if (explicit !== undefined) return;
    if (match(this.activeList)) sf.backupLocal = false;
    else if (match(this.backupList)) sf.backupLocal = true;
  }

  /**
   * Sets the persistent active and backup lists (pairs of addresses, either may be omitted as a wildcard):
   * every subflow on a listed pair, now and later, takes that priority; active wins over backup.
   */
  setPriorityLists(lists: { active?: AddressPair[]; backup?: AddressPair[] }): void {
    if (lists.active)
      this.activeList.splice(0, this.activeList.length, ...lists.active.map((p) => ({ ...p })));
    if (lists.backup)
      this.backupList.splice(0, this.backupList.length, ...lists.backup.map((p) => ({ ...p })));
    this.reapplyPolicy();
  }

  /**
   * Primary-path-only mode (PPoS): only subflows on these addresses (local, or remote when not also local)
   * carry data while one of them works; the others take over when none does, and data returns as soon as one
   * works again. Switches the scheduler to `ppos` (and back to the previous one with `null`).
   */
  setPrimaryPathOnly(addresses: string[] | null): void {
    if (addresses === null) {
      if (this.primaryPathOnly === null) return;
      this.primaryPathOnly = null;
      this.setScheduler(this.schedulerBeforePpos ?? this.config.scheduler);
      this.schedulerBeforePpos = null;
    } else {
      if (this.primaryPathOnly === null) this.schedulerBeforePpos = this.schedulerName;
      this.primaryPathOnly = new Set(addresses);
      if (this.schedulerName !== 'ppos') this.setScheduler('ppos');
    }
    this.reapplyPolicy();
  }

  /** Re-applies the lists and the primary set to every live subflow (after the application changed them). */
  reapplyPolicy(): void {
    for (const sf of this.liveSubflows()) {
      const before = sf.backupLocal;
      this.applyLists(sf, sf.tcp.local.address, sf.tcp.remote.address);
      if (sf.backupLocal !== before) {
        const now = sf.backupLocal;
        sf.backupLocal = before;
        this.setBackup(sf.id, now);
      }
    }
    this.kick();
  }

  /** Connection-level info, like Linux's MPTCP_INFO (struct mptcp_info), with stream offsets for sequence numbers. */
  info(): MptcpInfo {
    let sent = 0;
    let reinjected = 0;
    let received = 0;
    for (const sf of this.subflows) {
      sent += sf.bytesSent;
      reinjected += sf.bytesRetransmitted;
      received += sf.bytesReceived;
    }
    let signalled = 0;
    for (const a of this.localAddresses.values()) if (a.addressId !== 0) signalled++;
    return {
      state: this.state,
      fallback: this.fallback,
      checksums: this.checksums,
      localToken: this.localToken,
      remoteToken: this.remoteToken,
      subflows: this.liveSubflows().length,
      subflowsTotal: this.subflows.length,
      subflowsMax: this.config.maxSubflows,
      localAddresses: this.localAddresses.size,
      remoteAddresses: this.remoteAddresses.size,
      addAddrSignal: signalled,
      writeSeq: this.send.written,
      sndUna: this.send.acked,
      rcvNxt: this.rcvNxt(),
      bytesWritten: this.bytesWritten,
      bytesSent: sent,
      bytesReinjected: reinjected,
      bytesAcked: this.send.acked,
      bytesReceived: received,
      bytesDelivered: this.bytesDelivered,
      sendBuffered: this.send.bufferedBytes,
      receiveWindow: this.rcvWindow,
      scheduler: this.schedulerName,
      cc: this.config.cc,
    };
  }

  /** Subflows with their state, addresses, priorities and tcp_info (closed ones too, until the connection ends). */
  listSubflows(): SubflowStatus[] {
    return this.subflows.map((sf) => subflowStatus(sf));
  }

  /** One subflow's status; throws for an unknown id. */
  subflowStatus(id: number): SubflowStatus {
    return subflowStatus(this.subflowById(id));
  }

  /**
   * Per-subflow options (like setsockopt on a subflow): the IP TOS byte (DSCP << 2), its congestion
   * controller (a coupled one joins the connection's coupling group) and no-delay.
   */
  setSubflowOptions(id: number, opts: SubflowOptions): void {
    const sf = this.subflowById(id);
    if (sf.phase === 'closed') throw new MptcpStateError(`subflow ${id} is closed`);
    if (opts.tos !== undefined) {
      if (!Number.isInteger(opts.tos) || opts.tos < 0 || opts.tos > 255)
        throw new MptcpStateError(`tos is a byte (0..255; DSCP << 2), got ${opts.tos}`);
      sf.tcp.tos = opts.tos;
    }
    if (opts.cc !== undefined) {
      if (!CC_NAMES.includes(opts.cc))
        throw new MptcpStateError(`cc must be one of ${CC_NAMES.join(', ')}, got ${String(opts.cc)}`);
      const cc = opts.cc;
      sf.tcp.setCongestionControl(this.now, cc, (r) => this.subflowCc(cc, r, sf));
    }
    if (opts.noDelay !== undefined) sf.tcp.setNoDelay(opts.noDelay);
  }

  private subflowById(id: number): Subflow {
    const sf = this.subflows.find((s) => s.id === id);
    if (!sf) throw new MptcpStateError(`no subflow with id ${id} (see listSubflows())`);
    return sf;
  }

  /**
   * A subflow's congestion controller. Coupled ones (RFC 6356 and after) join this connection's group with a
   * live view of the subflow in which an idle backup (or non-primary subflow in PPoS mode) is inactive, so its
   * window does not hold back the subflows carrying the data.
   */
  subflowCc(cc: CcName, r: CcRequest, sf: Subflow): CongestionControl {
    const base = { mss: r.mss, initialCwnd: r.initialCwnd, now: r.now, hystart: r.hystart };
    if (!COUPLED.includes(cc)) return createCc(cc, base);
    if (this.coupling === null) this.coupling = createCouplingGroup();
    const group = this.coupling;
    const tcp = r.view;
    const view = {
      get srtt() {
        return tcp.srtt;
      },
      get active() {
        return tcp.active && !sf.idle;
      },
    };
    return createCc(cc, { ...base, group, view });
  }

  private subflowTcpConfig(): Partial<TcpConfig> {
    return subflowTcpConfig(this.config);
  }

  /** Wires the TCP connection's callbacks to the subflow. */
  attach(sf: Subflow, tcp: TcpConnection): void {
    sf.tcp = tcp;
    if (this.pendingJoins.delete(sf)) this.subflows.push(sf);
    tcp.onEstablished = () => this.subflowEstablished(sf);
    tcp.onClose = (reason) => this.subflowGone(sf, reason);
    tcp.onEnd = () => {
      // The peer closed this subflow (after its DATA_FIN, or to remove it): close our side too.
      if (this.fallback) this.remoteEnded();
      else tcp.end();
    };
    // Fallback: plain TCP carries the stream, so the subflow's own data callback is the stream, and room in
    // its send buffer is room for the application.
    tcp.onData = (bytes) => this.deliverFallback(bytes);
    tcp.onWritable = () => {
      if (this.fallback && sf.kind === 'initial') this.pumpFallback();
    };
  }

  /** A subflow the peer opened completed its handshake (the listener handed it over). */
  subflowAccepted(sf: Subflow): void {
    this.applyLists(
      sf,
      sf.tcp.local.address,
      sf.tcp.remote.address,
      sf.kind === 'initial' ? undefined : true,
    );
    this.subflowEstablished(sf);
  }

  /** The host's address went down (close its subflows, withdraw it) or came up (the path manager decides). */
  addressChanged(address: string, up: boolean): void {
    if (this.state === 'closed') return;
    if (!up) {
      for (const sf of this.subflows)
        if (sf.phase !== 'closed' && sf.tcp.local.address === address) {
          sf.closedReason = 'interface down';
          sf.tcp.abort();
          this.subflowGone(sf, 'interface down');
        }
      for (const [id, a] of this.localAddresses)
        if (a.address === address && id !== 0) {
          this.localAddresses.delete(id);
          this.pendingRemoves.push(id);
        }
      if (this.pendingRemoves.length) this.sendSignal();
    }
    if (!this.isClosed()) this.pm.addressChanged?.(this, address, up);
  }

  /** The endpoint's clock. */
  get now(): Instant {
    return this.host.now;
  }

  /** State may change under a callback; read it through a method so narrowing does not hide that. */
  isClosed(): boolean {
    return this.state === 'closed';
  }

  private subflowEstablished(sf: Subflow): void {
    sf.phase = 'established';
    if (sf.kind === 'initial') {
      if (this.role === 'client' && this.remoteKey === null && !this.fallback)
        this.fallBack('no MP_CAPABLE in the SYN/ACK');
      this.connectionEstablished();
    } else if (sf.initiator) {
      sf.ack3SentAt = this.host.now;
    }
    if (sf.kind === 'initial' || sf.fullyEstablished) this.subflowReady(sf);
    if (this.fallback && sf.kind === 'initial') {
      // Data the application wrote while the handshake finished (a listener's fallback) can go now.
      this.pumpFallback();
    }
  }

  /** Packets fill a segment of the smallest subflow: MSS less timestamps and a DSS with 64-bit DSN and ack. */
  private fitPacketSize(sf: Subflow): void {
    const i = sf.tcp.info();
    const payload = segmentPayload(
      i.peerMss > 0 ? Math.min(i.peerMss, sf.tcp.config.mss) : sf.tcp.config.mss,
      i.tsOk,
    );
    if (payload > 0 && (this.usableSchedSubflows.length === 0 || payload < this.send.packetSize))
      this.send.packetSize = payload;
  }

  /** A subflow may carry data from now on. */
  private subflowReady(sf: Subflow): void {
    this.fitPacketSize(sf);
    this.emit({
      type: 'sub_established',
      subflow: sf.id,
      local: sf.local,
      remote: sf.remote,
      backup: sf.isBackup,
    });
    this.refreshSchedSubflows();
    this.kick();
  }

  private connectionEstablished(): void {
    if (this.state !== 'connecting') return;
    this.state = 'established';
    if (!this.fallback) this.host.registerToken(this.localToken, this);
    this.emit({ type: 'established', token: this.localToken });
    this.onEstablished?.();
    this.startPathManager();
    this.kick();
  }

  /**
   * The path manager starts once both ends know both keys, as Linux's does: a join sent before the server
   * has the client's key (its MP_CAPABLE ACK still in flight) is refused. The client knows it from the
   * server's first DATA_ACK, the server from the MP_CAPABLE ACK.
   */
  private startPathManager(): void {
    if (this.pmStarted || this.state !== 'established' || this.fallback || this.remoteKey === null) return;
    if (this.role === 'client' && !this.mpcConfirmed) return;
    this.pmStarted = true;
    this.pm.established?.(this);
  }

  private subflowGone(sf: Subflow, reason: string | null): void {
    if (sf.phase === 'closed') return;
    sf.phase = 'closed';
    // null stays null: a clean close (FIN exchange) has no reason.
    sf.closedReason ??= reason;
    const why = sf.closedReason ?? 'closed';
    this.reinjectFrom(sf);
    sf.pushed.length = 0;
    sf.pushedSent = 0;
    this.forgetOldSubflows();
    this.refreshSchedSubflows();
    this.emit({
      type: 'sub_closed',
      subflow: sf.id,
      local: sf.local,
      remote: sf.remote,
      reason: why,
    });
    if (this.state === 'closed') return;
    const live = this.liveSubflows().length;
    if (live === 0) {
      // The last subflow is gone: a clean end after the DATA_FIN exchange (or plain TCP's FIN exchange).
      const clean = this.fallback
        ? reason === null && this.remoteFinDone
        : this.localFinAcked && this.remoteFinDone;
      if (clean || this.state === 'connecting' || this.fallback) {
        this.finish(clean ? null : (reason ?? 'closed'));
        return;
      }
    }
    // The last subflow died before the path manager started (waiting for the server's DATA_ACK): start it
    // now, so the connection goes on over the other paths rather than ending with its first subflow.
    if (
      live === 0 &&
      !this.pmStarted &&
      !this.fallback &&
      this.remoteKey !== null &&
      this.state === 'established'
    ) {
      this.pmStarted = true;
      this.pm.established?.(this);
    }
    this.pm.subflowClosed?.(this, sf, why);
    // Nothing left and nothing the path manager will retry: the connection is over.
    if (this.liveSubflows().length === 0 && (this.pm.nextDeadline?.(this) ?? null) === null) this.finish(why);
    else this.kick();
  }

  /** Closed subflows stay listed for the application, the most recent MAX_CLOSED_KEPT of them. */
  private forgetOldSubflows(): void {
    let closed = 0;
    for (const s of this.subflows) if (s.phase === 'closed') closed++;
    for (let i = 0; closed > MAX_CLOSED_KEPT && i < this.subflows.length; ) {
      if (this.subflows[i]!.phase === 'closed' && this.subflows[i]!.kind !== 'initial') {
        this.subflows.splice(i, 1);
        closed--;
      } else i++;
    }
  }

  // ------------------------------------------------------------------ the hook: options out

  optionsFor(
    sf: Subflow,
    tcp: TcpConnection,
    seg: OutgoingSegmentInfo,
    space: number,
  ): readonly TcpOption[] | null {
    if (this.fallback) return null;
    sf.tcp ??= tcp;
    // Our initial sequence number + 1 (ssn 1), to turn the peer's subflow ACKs into ssn.
    if (seg.kind === 'data') sf.seqOfSsn1 = (seg.seq - seg.ssn + 1) >>> 0;
    switch (seg.kind) {
      case 'syn':
        if (sf.kind === 'initial')
          return [mp({ subtype: 'MP_CAPABLE', version: 1, flags: this.capableFlags() })];
        return [
          mp({
            subtype: 'MP_JOIN',
            form: 'syn',
            backup: sf.backupLocal,
            addressId: sf.localAddressId,
            token: this.remoteToken,
            nonce: sf.localNonce,
          }),
        ];
      case 'synAck':
        if (sf.kind === 'initial')
          return [
            mp({ subtype: 'MP_CAPABLE', version: 1, flags: this.capableFlags(), senderKey: this.localKey }),
          ];
        // The endpoint accepts joins only once the peer's key is known; a SYN/ACK retransmitted after a
        // fallback has nothing to authenticate with.
        if (this.remoteKey === null) return null;
        return [
          mp({
            subtype: 'MP_JOIN',
            form: 'synack',
            backup: sf.backupLocal,
            addressId: sf.localAddressId,
            nonce: sf.localNonce,
            hmac: joinSynAckHmac(this.localKey, this.remoteKey, sf.localNonce, sf.remoteNonce),
          }),
        ];
      case 'ack3':
        return [sf.kind === 'initial' ? this.capableAck() : this.joinAck(sf)];
      case 'rst': {
        const out: TcpOption[] = [];
        if (sf.fastClose && this.remoteKey !== null)
          out.push(mp({ subtype: 'MP_FASTCLOSE', receiverKey: this.remoteKey }));
        if (sf.failDsn !== null) {
          this.host.counters.MPFailTx++;
          out.push(mp({ subtype: 'MP_FAIL', dsn: sf.failDsn }));
        }
        if (sf.rstReason !== null) {
          this.host.counters.MPRstTx++;
          out.push(
            mp({
              subtype: 'MP_TCPRST',
              transient: false,
              u: false,
              v: false,
              w: false,
              reason: sf.rstReason,
            }),
          );
        }
        return out;
      }
      default:
        return this.dataOptions(sf, seg, space);
    }
  }

  private capableFlags(): number {
    const c = this.role === 'server' && !this.config.joinsToInitialAddress ? CapableFlag.C : 0;
    return CapableFlag.H | c | (this.config.checksum || this.checksums ? CapableFlag.A : 0);
  }

  /** The client's MP_CAPABLE ACK (RFC 8684 §3.1): both keys, no data. */
  private capableAck(): TcpOption {
    return mp({
      subtype: 'MP_CAPABLE',
      version: 1,
      flags: this.capableFlags(),
      senderKey: this.localKey,
      receiverKey: this.remoteKey ?? 0n,
    });
  }

  private joinAck(sf: Subflow): TcpOption {
    return mp({
      subtype: 'MP_JOIN',
      form: 'ack',
      backup: false,
      addressId: 0,
      hmac: joinAckHmac(this.localKey, this.remoteKey!, sf.localNonce, sf.remoteNonce),
    });
  }

  /** DSS (and pending signals on pure ACKs) for an established subflow. */
  private dataOptions(sf: Subflow, seg: OutgoingSegmentInfo, space: number): TcpOption[] | null {
    // An MP_JOIN initiator repeats its third ACK until the fourth ACK arrives (RFC 8684 §3.2).
    if (sf.kind === 'join' && sf.initiator && !sf.fullyEstablished) {
      if (seg.kind === 'ack') {
        sf.ack3SentAt = this.host.now;
        return [this.joinAck(sf)];
      }
      return null;
    }
    if (sf.kind === 'join' && !sf.fullyEstablished) return null;
    // The MP_CAPABLE ACK may be lost (RFC 8684 §3.1): until a DATA_ACK shows the server has our key, the
    // client's pure ACKs repeat it, as Linux's do, or a server that is only sending would never learn it.
    if (
      sf.kind === 'initial' &&
      this.role === 'client' &&
      !this.mpcConfirmed &&
      this.remoteKey !== null &&
      !(seg.kind === 'data' && seg.len > 0)
    )
      return [this.capableAck()];
    const out: TcpOption[] = [];
    const dataAck = this.remoteKey !== null ? this.dataAckValue() : undefined;
    if (seg.kind === 'data' && seg.len > 0) {
      const m = sf.sendMap.find(seg.ssn);
      // The client's first data rides on MP_CAPABLE (length 22) until the server shows it has our key.
      if (
        m &&
        m.offset === 0 &&
        m.ssn === 1 &&
        sf.kind === 'initial' &&
        this.role === 'client' &&
        !this.mpcConfirmed
      ) {
        const o: MptcpOption = {
          subtype: 'MP_CAPABLE',
          version: 1,
          flags: this.capableFlags(),
          senderKey: this.localKey,
          receiverKey: this.remoteKey ?? 0n,
          dataLength: m.length,
        };
        if (m.checksum !== undefined) o.checksum = m.checksum;
        return [mp(o)];
      }
      const dss: Dss = { subtype: 'DSS', dataFin: false };
      if (dataAck !== undefined) {
        dss.dataAck = dataAck;
        dss.dataAck64 = true;
      }
      if (m) {
        const len = m.length;
        const dsnOff = m.offset;
        dss.dsn = this.dsnOf(dsnOff);
        dss.dsn64 = true;
        dss.ssn = m.ssn;
        dss.dataLength = len;
        if (m.checksum !== undefined) dss.checksum = m.checksum;
      } else this.host.counters.DSSNoMatchTCP++;
      out.push(mp(dss));
      return out;
    }
    // Pure ACK, FIN: DATA_ACK, a DATA_FIN-only mapping when due, then signals that fit.
    const dss: Dss = { subtype: 'DSS', dataFin: false };
    if (dataAck !== undefined) {
      // A 32-bit DATA_ACK on pure ACKs leaves room for two SACK blocks beside the timestamps.
      dss.dataAck = dataAck & 0xffffffffn;
      dss.dataAck64 = false;
    }
    if (this.dataFinDue()) {
      dss.dataFin = true;
      dss.dsn = this.dsnOf(this.localFinAt!);
      dss.dsn64 = true;
      dss.ssn = 0;
      dss.dataLength = 1;
      if (this.checksums) dss.checksum = dssChecksum(dss.dsn, 0, 1, EMPTY);
      this.localFinSentAt = this.host.now;
    }
    let used = 0;
    if (dss.dataAck !== undefined || dss.dataFin) {
      out.push(mp(dss));
      used += dss.dataFin ? 4 + 4 + 14 + (this.checksums ? 2 : 0) : 8;
    }
    if (sf.pendingPrio !== null && space - used >= 3) {
      out.push(mp({ subtype: 'MP_PRIO', backup: sf.pendingPrio }));
      this.host.counters.MPPrioTx++;
      sf.pendingPrio = null;
      used += 3;
    }
    if (this.pendingRemoves.length > 0 && space - used >= 3 + this.pendingRemoves.length) {
      out.push(mp({ subtype: 'REMOVE_ADDR', addressIds: this.pendingRemoves }));
      this.host.counters.RmAddrTx++;
      used += 3 + this.pendingRemoves.length;
      this.pendingRemoves = [];
    }
    const echo = this.pendingEchoes[0];
    if (echo && space - used >= addAddrLength(echo.address, echo.port, false)) {
      out.push(
        mp({
          subtype: 'ADD_ADDR',
          echo: true,
          addressId: echo.addressId,
          address: echo.address,
          ...(echo.port !== null ? { port: echo.port } : {}),
        }),
      );
      used += addAddrLength(echo.address, echo.port, false);
      this.pendingEchoes.shift();
    }
    const ann = this.dueAnnouncement();
    if (ann && this.remoteKey !== null && space - used >= addAddrLength(ann.address, ann.port, true)) {
      const bytes = parseIp(ann.address);
      if (!(bytes instanceof DecodeError)) {
        out.push(
          mp({
            subtype: 'ADD_ADDR',
            echo: false,
            addressId: ann.addressId,
            address: ann.address,
            ...(ann.port !== null ? { port: ann.port } : {}),
            hmac: addAddrHmac(this.localKey, this.remoteKey, ann.addressId, bytes, ann.port ?? undefined),
          }),
        );
        this.host.counters.AddAddrTx++;
        ann.announce!.left--;
        ann.announce!.at = this.host.now + this.config.addAddrTimeout;
        if (ann.announce!.left <= 0) ann.announce = null;
      }
    }
    return out;
  }

  /** The next ADD_ADDR to (re)send now, if any. */
  private dueAnnouncement(): LocalAddress | undefined {
    for (const a of this.localAddresses.values()) if (a.announce && a.announce.at <= this.host.now) return a;
    return undefined;
  }

  /** Puts pending signals (ADD_ADDR, echo, REMOVE_ADDR, MP_PRIO) on a pure ACK of a working subflow. */
  private sendSignal(): void {
    const sf = this.bestSignalSubflow();
    sf?.tcp.requestPureAck();
  }

  private bestSignalSubflow(): Subflow | undefined {
    const usable = this.subflows.filter((s) => s.usable);
    return usable.find((s) => !s.isBackup) ?? usable[0];
  }

  private dataAckValue(): bigint {
    return (this.remoteIdsn + 1n + BigInt(this.rcvNxt())) & MASK64;
  }

  private dsnOf(offset: number): bigint {
    return (this.localIdsn + 1n + BigInt(offset)) & MASK64;
  }

  /** Stream offset we acknowledge: every byte delivered, plus the DATA_FIN once reached. */
  private rcvNxt(): number {
    return this.reasm.expected + (this.remoteFinDone ? 1 : 0);
  }

  /** Our DATA_FIN is the next thing to send: the stream ended, all data went out, the peer has not acked it. */
  private finPending(): boolean {
    return (
      this.localFinAt !== null && !this.localFinAcked && this.send.bytesInQ === 0 && this.send.rq.size === 0
    );
  }

  private dataFinDue(): boolean {
    return (
      this.finPending() &&
      (this.localFinSentAt < 0 || this.host.now - this.localFinSentAt >= this.finRetransmitInterval())
    );
  }

  private finRetransmitInterval(): number {
    let srtt = 0;
    for (const sf of this.subflows) if (sf.usable) srtt = Math.max(srtt, sf.tcp.pathState(PATH).srtt);
    return Math.max(200 * MS, 2 * srtt);
  }

  // ------------------------------------------------------------------ the hook: segments in

  onIncoming(
    sf: Subflow,
    tcp: TcpConnection,
    seg: IncomingSegmentInfo,
    options: readonly TcpOption[],
  ): boolean {
    sf.tcp ??= tcp;
    if (this.fallback) return true;
    // A timeout episode ends when an ACK clears the backoff; the health check only runs on timers, so notice
    // it here, or the next episode would look like the old one and its data would not be reinjected.
    if (sf.rtoSeen > 0 && sf.tcp.pathState(PATH).retransmits === 0) this.subflowRecovered(sf);
    // Mappings the peer acknowledged at the subflow level are never retransmitted on this subflow.
    const first = sf.sendMap.first;
    if (first !== undefined && sf.seqOfSsn1 >= 0 && seg.flags & TcpFlag.ACK)
      sf.sendMap.pruneBefore(widenSsn(((seg.ack - sf.seqOfSsn1) >>> 0) + 1, first.ssn));
    const c = this.host.counters;
    let sawMptcp = false;
    let dssSeen = false;
    for (const o of options) {
      if (o.kind === 'mptcpMalformed') {
        if (o.error.code === 'dss.length') {
          c.DSSNotMatching++;
          sf.rstReason = TcpRstReason.MPTCP_SPECIFIC;
          return false;
        }
        continue;
      }
      if (o.kind !== 'mptcp') continue;
      sawMptcp = true;
      const m = o.mptcp;
      switch (m.subtype) {
        case 'MP_CAPABLE':
          if (!this.takeCapable(sf, seg, m)) return false;
          break;
        case 'MP_JOIN':
          if (!this.takeJoin(sf, seg, m)) return false;
          break;
        case 'DSS':
          dssSeen = true;
          if (!this.takeDss(sf, seg, m)) return false;
          break;
        case 'ADD_ADDR':
          this.takeAddAddr(m);
          break;
        case 'REMOVE_ADDR':
          this.takeRemoveAddr(m.addressIds);
          break;
        case 'MP_PRIO':
          c.MPPrioRx++;
          sf.backupRemote = m.backup;
          this.emit({ type: 'sub_priority', subflow: sf.id, backup: m.backup, by: 'remote' });
          this.refreshSchedSubflows();
          this.kick();
          break;
        case 'MP_FASTCLOSE':
          if (m.receiverKey === this.localKey) {
            c.MPFastcloseRx++;
            this.finishByPeer('MP_FASTCLOSE');
            return false;
          }
          break;
        case 'MP_FAIL':
          c.MPFailRx++;
          break;
        case 'MP_TCPRST':
          c.MPRstRx++;
          sf.closedReason = `reset by peer (MP_TCPRST reason ${m.reason}${m.transient ? ', transient' : ''})`;
          break;
        default:
          break;
      }
    }
    if (!this.dataAckSeen && !dssSeen) {
      // Until the first DATA_ACK, the peer's window counts from the start of the stream (RFC 8684 §3.3.4).
      const scale = seg.flags & TcpFlag.SYN ? 1 : 2 ** sf.tcp.pathState(PATH).sndWscale;
      const edge = this.send.acked + seg.window * scale;
      if (edge > this.peerEdge) {
        this.peerEdge = edge;
        this.kick();
      }
    }
    if (seg.flags & TcpFlag.SYN) {
      if (sf.kind === 'initial' && this.role === 'client' && !sawMptcp) {
        c.MPCapableFallbackSYNACK++;
        this.fallBack('the SYN/ACK carried no MP_CAPABLE');
      }
      if (sf.kind === 'join' && sf.initiator && !sawMptcp) {
        // A join cannot fall back (RFC 8684 §3.2): without MP_JOIN in the SYN/ACK, reset it.
        sf.rstReason = TcpRstReason.MIDDLEBOX_INTERFERENCE;
        sf.closedReason = 'the SYN/ACK of the join carried no MP_JOIN';
        return false;
      }
      return true;
    }
    if (sf.kind === 'join' && sf.initiator && !sf.fullyEstablished && sf.phase === 'established') {
      // Anything from the responder after our third ACK is its fourth ACK.
      sf.fullyEstablished = true;
      this.subflowReady(sf);
    }
    if (!sawMptcp) return this.optionsVanished(sf, seg);
    return true;
  }

  /**
   * A segment without any MPTCP option on an established subflow (RFC 8684 §3.7): a middlebox strips them, or
   * the peer fell back. While the initial subflow is the only one there has ever been, its byte stream is
   * the data stream, so the connection falls back to plain TCP; data without a mapping on a connection
   * with several subflows cannot be placed, and that subflow is reset.
   */
  private optionsVanished(sf: Subflow, seg: IncomingSegmentInfo): boolean {
    if (seg.flags & TcpFlag.RST) return true;
    if (seg.len > 0 && sf.recvMap.find(seg.ssn)) return true;
    if (sf.kind === 'initial' && this.subflows.length === 1) {
      this.fallBack(
        seg.len > 0
          ? 'data arrived without DSS mappings (options stripped on the path)'
          : "the peer's segments carry no MPTCP options (stripped on the path, or the peer fell back)",
      );
      return true;
    }
    if (seg.len === 0) return true;
    this.host.counters.DataWithoutMapping++;
    sf.rstReason = TcpRstReason.MIDDLEBOX_INTERFERENCE;
    sf.closedReason = 'data without a DSS mapping (options stripped on the path)';
    return false;
  }

  private takeCapable(
    sf: Subflow,
    seg: IncomingSegmentInfo,
    m: Extract<MptcpOption, { subtype: 'MP_CAPABLE' }>,
  ): boolean {
    const c = this.host.counters;
    if (sf.kind !== 'initial') return true;
    if (m.flags & CapableFlag.A) this.checksums = true;
    if (this.role === 'client') {
      if (seg.flags & TcpFlag.SYN && m.senderKey !== undefined) {
        c.MPCapableSYNACKRX++;
        // The C flag: the server takes no joins at its initial address, only at the ones it announces.
        if (m.flags & CapableFlag.C) this.peerRefusesInitialJoins = true;
        this.setRemoteKey(m.senderKey);
      }
      return true;
    }
    // Server: the third ACK (or the first data) carries both keys; ours must come back unchanged.
    if (m.receiverKey !== undefined && m.receiverKey !== this.localKey) return false;
    if (m.senderKey !== undefined && this.remoteKey === null) {
      c.MPCapableACKRX++;
      this.setRemoteKey(m.senderKey);
    }
    if (m.dataLength !== undefined && seg.len > 0) sf.recvMap.add(1, m.dataLength, 0);
    return true;
  }

  private setRemoteKey(key: bigint): void {
    this.remoteKey = key;
    const km = keyMaterial(key);
    this.remoteToken = km.token;
    this.remoteIdsn = km.idsn;
    this.startPathManager();
  }

  private takeJoin(
    sf: Subflow,
    seg: IncomingSegmentInfo,
    m: Extract<MptcpOption, { subtype: 'MP_JOIN' }>,
  ): boolean {
    const c = this.host.counters;
    if (sf.kind !== 'join') return true;
    if (m.form === 'synack' && sf.initiator && seg.flags & TcpFlag.SYN) {
      c.MPJoinSynAckRx++;
      sf.remoteNonce = m.nonce ?? 0;
      sf.remoteAddressId = m.addressId;
      if (m.backup) sf.backupRemote = true;
      const expected = joinSynAckHmac(this.remoteKey!, this.localKey, sf.remoteNonce, sf.localNonce);
      if (!m.hmac || !hmacEqual(m.hmac, expected)) {
        c.MPJoinSynAckHMacFailure++;
        sf.rstReason = TcpRstReason.MPTCP_SPECIFIC;
        sf.closedReason = 'MP_JOIN SYN/ACK HMAC mismatch';
        return false;
      }
      return true;
    }
    if (m.form === 'ack' && !sf.initiator) {
      const expected = joinAckHmac(this.remoteKey!, this.localKey, sf.remoteNonce, sf.localNonce);
      if (!m.hmac || !hmacEqual(m.hmac, expected)) {
        c.MPJoinAckHMacFailure++;
        sf.rstReason = TcpRstReason.MPTCP_SPECIFIC;
        sf.closedReason = 'MP_JOIN ACK HMAC mismatch';
        return false;
      }
      if (!sf.fullyEstablished) {
        sf.fullyEstablished = true;
        // The fourth ACK (RFC 8684 §3.2) confirms the join; data may flow after it.
        sf.tcp.requestAck();
        if (sf.phase === 'established') this.subflowReady(sf);
      } else sf.tcp.requestAck();
    }
    return true;
  }

  /** Server side: the SYN of a join for this connection arrived (token already matched by the endpoint). */
  acceptJoinSyn(sf: Subflow, m: Extract<MptcpOption, { subtype: 'MP_JOIN' }>): void {
    this.host.counters.MPJoinSynRx++;
    sf.remoteNonce = m.nonce ?? 0;
    sf.remoteAddressId = m.addressId;
    sf.backupRemote = m.backup;
    sf.localNonce = this.host.rng.u32();
  }

  private takeDss(sf: Subflow, seg: IncomingSegmentInfo, d: Dss): boolean {
    const c = this.host.counters;
    // Only a DATA_ACK proves the server has our key (it acknowledges our data sequence space).
    if (sf.kind === 'initial' && this.role === 'client' && d.dataAck !== undefined && !this.mpcConfirmed) {
      this.mpcConfirmed = true;
      this.startPathManager();
    }
    if (sf.kind === 'initial' && this.role === 'server') this.mpcConfirmed = true;
    if (d.dataAck !== undefined) {
      this.dataAckSeen = true;
      const off = this.widenOffset(d.dataAck, d.dataAck64 === true, this.localIdsn, this.send.acked);
      const top = this.send.written + (this.localFinAt !== null ? 1 : 0);
      if (off < 0 || off > top) c.DataAckInvalid++;
      else {
        const edge = off + seg.window * 2 ** sf.tcp.pathState(PATH).sndWscale;
        const opened = edge > this.peerEdge || off > this.send.acked;
        if (edge > this.peerEdge) this.peerEdge = edge;
        if (off > this.send.acked) this.dataAcked(off);
        if (opened) this.kick();
      }
    }
    if (d.dsn !== undefined && d.ssn !== undefined && d.dataLength !== undefined && this.remoteKey !== null) {
      const off = this.widenOffset(d.dsn, d.dsn64 === true, this.remoteIdsn, this.reasm.expected);
      if (off < 0) {
        c.DSSNotMatching++;
        return true;
      }
      const finOnly = d.dataFin && d.ssn === 0;
      if (!finOnly && d.dataLength > 0)
        sf.recvMap.add(
          widenSsn(d.ssn, seg.ssn),
          d.dataLength - (d.dataFin ? 1 : 0),
          off,
          this.checksums ? d.checksum : undefined,
          d.dataFin,
        );
      if (d.dataFin) this.remoteFin(finOnly ? off : off + d.dataLength - 1);
    }
    return true;
  }

  /** Turns a 64- or 32-bit DSN or DATA_ACK into a stream offset near `reference` (RFC 8684 §3.3.1). */
  private widenOffset(v: bigint, is64: boolean, idsn: bigint, reference: number): number {
    if (is64) {
      const off = (v - idsn - 1n) & MASK64;
      return off > MAX_SAFE_BIG ? -1 : Number(off);
    }
    const low = (Number(v & 0xffffffffn) - Number((idsn + 1n) & 0xffffffffn) + TWO32) % TWO32;
    const base = reference - (reference % TWO32);
    let best = base + low;
    if (best - reference > TWO32 / 2) best -= TWO32;
    else if (reference - best > TWO32 / 2) best += TWO32;
    return best;
  }

  private takeAddAddr(m: Extract<MptcpOption, { subtype: 'ADD_ADDR' }>): void {
    const c = this.host.counters;
    if (m.echo) {
      c.EchoAdd++;
      const a = this.localAddresses.get(m.addressId);
      if (a) a.announce = null;
      return;
    }
    const bytes = parseIp(m.address);
    if (this.remoteKey === null || bytes instanceof DecodeError || !m.hmac) {
      c.AddAddrDrop++;
      return;
    }
    const expected = addAddrHmac(this.remoteKey, this.localKey, m.addressId, bytes, m.port);
    if (!hmacEqual(m.hmac, expected)) {
      c.AddAddrDrop++;
      return;
    }
    c.AddAddr++;
    const addr: RemoteAddress = { addressId: m.addressId, address: m.address, port: m.port ?? null };
    const known = this.remoteAddresses.get(m.addressId);
    this.pendingEchoes.push(addr);
    this.sendSignal();
    if (known && known.address === addr.address && known.port === addr.port) return;
    this.remoteAddresses.set(m.addressId, addr);
    this.emit({ type: 'announced', addressId: addr.addressId, address: addr.address, port: addr.port });
    this.pm.announced?.(this, m.addressId);
  }

  private takeRemoveAddr(ids: number[]): void {
    this.host.counters.RmAddr++;
    for (const id of ids) {
      this.remoteAddresses.delete(id);
      this.emit({ type: 'removed', addressId: id });
      for (const sf of this.subflows)
        if (sf.phase !== 'closed' && sf.remoteAddressId === id && sf.kind === 'join')
          this.closeSubflow(sf.id, 'address removed by the peer');
      this.pm.removed?.(this, id);
    }
  }

  // ------------------------------------------------------------------ receiving data

  /** In-order bytes of a subflow (`lent`: valid only during the call; what is kept is copied). */
  onSubflowData(sf: Subflow, ssn: number, bytes: Uint8Array, lent = false): void {
    if (this.fallback) {
      this.deliverFallback(bytes, lent);
      return;
    }
    sf.bytesReceived += bytes.length;
    if (this.checksums) {
      // The mapping's parts are copied until all of them arrived.
      this.takeChecked(sf, ssn, bytes);
      return;
    }
    let pos = 0;
    while (pos < bytes.length) {
      const m = sf.recvMap.find(ssn + pos);
      if (!m) {
        this.host.counters.DataWithoutMapping++;
        return;
      }
      const n = Math.min(bytes.length - pos, m.ssn + m.length - (ssn + pos));
      this.insertData(m.offset + (ssn + pos - m.ssn), bytes.subarray(pos, pos + n), lent);
      pos += n;
    }
    sf.recvMap.pruneBefore(ssn + bytes.length);
  }

  /**
   * With DSS checksums, a mapping's bytes are held until all of them arrived (TCP hands them over in order)
   * and delivered only when the checksum matches (RFC 8684 §3.3.1). A mismatch resets the subflow with
   * MP_FAIL naming the mapping (§3.7): the peer reinjects the data, which was never DATA_ACKed, elsewhere.
   */
  private takeChecked(sf: Subflow, ssn: number, bytes: Uint8Array): void {
    let pos = 0;
    while (pos < bytes.length) {
      const at = ssn + pos;
      const m = sf.recvMap.find(at);
      if (!m) {
        this.host.counters.DataWithoutMapping++;
        return;
      }
      const n = Math.min(bytes.length - pos, m.ssn + m.length - at);
      if (sf.checking !== m) {
        sf.checking = m;
        sf.checkingParts = [];
        sf.checkingBytes = 0;
      }
      sf.checkingParts.push(copyBytes(bytes, pos, pos + n));
      sf.checkingBytes += n;
      pos += n;
      if (sf.checkingBytes < m.length) continue;
      const data = sf.checkingParts.length === 1 ? sf.checkingParts[0]! : concat(sf.checkingParts, m.length);
      sf.checking = null;
      sf.checkingParts = [];
      const dsn = (this.remoteIdsn + 1n + BigInt(m.offset)) & MASK64;
      const wireLength = m.length + (m.fin ? 1 : 0);
      if (m.checksum !== undefined && !verifyDssChecksum(dsn, m.ssn, wireLength, m.checksum, data)) {
        this.host.counters.DataCsumErr++;
        sf.failDsn = dsn;
        sf.rstReason = TcpRstReason.MIDDLEBOX_INTERFERENCE;
        sf.closedReason = 'DSS checksum mismatch (MP_FAIL)';
        sf.tcp.abort();
        this.subflowGone(sf, sf.closedReason);
        return;
      }
      this.insertData(m.offset, data);
    }
    sf.recvMap.pruneBefore(ssn + bytes.length);
  }

  private insertData(offset: number, bytes: Uint8Array, lent = false): void {
    const r = this.reasm.insert(offset, bytes, lent);
    if (r.duplicate) this.host.counters.DuplicateData++;
    if (r.deliver.length === 0 && r.duplicate < bytes.length) this.host.counters.OFOQueue++;
    // Pieces that waited out of order are copies; only a view of `bytes` itself is lent.
    for (const chunk of r.deliver) this.deliver(chunk, lent && chunk.buffer === bytes.buffer);
    this.checkRemoteFin();
  }

  private deliverFallback(bytes: Uint8Array, lent = false): void {
    if (this.fallback && bytes.length > 0) this.deliver(bytes, lent);
  }

  /** In-order data to the application; lent bytes go to onLentData, or are copied for onData. */
  private deliver(bytes: Uint8Array, lent: boolean): void {
    this.bytesDelivered += bytes.length;
    if (!lent) this.onData?.(bytes);
    else if (this.onLentData) this.onLentData(bytes);
    else this.onData?.(copyBytes(bytes, 0, bytes.length));
  }

  private remoteFin(offset: number): void {
    if (this.remoteFinAt === null) this.remoteFinAt = offset;
    this.checkRemoteFin();
  }

  private checkRemoteFin(): void {
    if (this.remoteFinDone || this.remoteFinAt === null || this.reasm.expected < this.remoteFinAt) return;
    this.remoteFinDone = true;
    this.remoteEnded();
    // Acknowledge the DATA_FIN now (RFC 8684 §3.3.3).
    for (const sf of this.subflows) if (sf.usable) sf.tcp.requestAck();
    this.maybeClose();
  }

  private remoteEnded(): void {
    this.onEnd?.();
    if (this.fallback) {
      this.remoteFinDone = true;
      this.maybeClose();
    }
  }

  /** Grows the receive window toward 2 · ΣBW · RTTmax (capped), the Linux paper's buffer rule. */
  private tuneReceiveWindow(): void {
    const now = this.host.now;
    if (now - this.rcvTuneStart < Math.max(this.rcvTuneRtt, 10 * MS)) return;
    // Measured over about one RTTmax, the delivery rate gives ΣBW; the window aims at 2 · ΣBW · RTTmax.
    // When the window itself limits the sender this doubles it every RTT, as Linux's DRS does per socket.
    let rttMax = 0;
    for (const sf of this.subflows) {
      if (!sf.usable) continue;
      const i = sf.tcp.pathState(PATH);
      rttMax = Math.max(rttMax, i.srtt, i.rcvRtt);
    }
    const elapsed = now - this.rcvTuneStart;
    const rate = (this.bytesDelivered - this.rcvTuneBytes) / elapsed;
    this.rcvTuneStart = now;
    this.rcvTuneBytes = this.bytesDelivered;
    this.rcvTuneRtt = rttMax;
    const want = Math.min(this.config.rcvBufMax, Math.ceil(2 * rate * rttMax));
    if (want > this.rcvWindow) {
      this.rcvWindow = want;
      this.host.counters.RcvWndShared++;
    }
  }

  /** The connection-level receive window (bytes) the subflows advertise. */
  get receiveWindow(): number {
    return this.rcvWindow;
  }

  /** Free space of the connection-level receive window, relative to what has been delivered. */
  receiveSpace(): number {
    this.tuneReceiveWindow();
    this.offeredSpace = this.freeSpace();
    return this.offeredSpace;
  }

  /** The window less what waits out of order and what the application has not read. */
  private freeSpace(): number {
    return Math.max(0, this.rcvWindow - this.reasm.bufferedBytes - this.unread);
  }

  /**
   * The application holds `bytes` of the data delivered to it unread (a paused or slow reader). They count
   * against the receive window, so the peer stops sending when the reader stops reading, and memory stays
   * bounded by the window. When reading reopens the window to at least twice the space last offered (as
   * Linux's tcp_cleanup_rbuf decides), a window update goes out at once.
   */
  setUnread(bytes: number): void {
    if (!Number.isInteger(bytes) || bytes < 0)
      throw new MptcpStateError(`setUnread takes a byte count (an integer >= 0), got ${bytes}`);
    this.unread = bytes;
    if (this.state === 'closed') return;
    const offered = this.offeredSpace;
    const space = this.freeSpace();
    if (space >= 2 * offered && space - offered >= WINDOW_UPDATE_MIN)
      this.bestSignalSubflow()?.tcp.requestAck();
  }

  // ------------------------------------------------------------------ sending data

  /** DATA_ACK moved to `offset`: free QU, release subflow mappings, let the application write again. */
  private dataAcked(offset: number): void {
    const before = this.send.space;
    this.send.ack(offset);
    if (this.localFinAt !== null && offset > this.localFinAt) {
      this.localFinAcked = true;
      this.maybeClose();
    }
    if (this.send.space > before) this.onWritable?.();
  }

  /** New data, an opened window or a reinjection: let the subflows pull. */
  kick(): void {
    if (this.state === 'closed') return;
    if (this.fallback) {
      this.pumpFallback();
      return;
    }
    this.tuneReceiveWindow();
    for (const sf of this.subflows) if (sf.usable) sf.tcp.wake();
    if (this.dataFinDue()) this.bestSignalSubflow()?.tcp.requestAck();
  }

  /**
   * The subflow has room for `maxBytes`: give it the next chunk the scheduler assigns it. A packet the
   * congestion window cannot take whole (`cwndShort`) waits for the next ACK rather than leave as a sliver:
   * the scheduler counts whole segments, and a subflow it pushed more to than it can send (its window shrank
   * since) would otherwise send a segment of a few bytes.
   */
  pull(sf: Subflow, ssn: number, maxBytes: number, cwndShort: boolean): Uint8Array | null {
    if (this.fallback || !sf.usable) return null;
    if (sf.pushed.length === 0) this.runScheduler();
    while (sf.pushed.length > 0) {
      const p = sf.pushed[0]!;
      // Acknowledged meanwhile (through another subflow): nothing left to send.
      if (p.end <= this.send.acked) {
        sf.pushed.shift();
        sf.pushedSent = 0;
        if (sf.pushed.length === 0) this.runScheduler();
        continue;
      }
      const start = p.offset + sf.pushedSent;
      if (cwndShort && p.end - start > maxBytes) return null;
      let n = Math.min(maxBytes, p.end - start);
      // Connection-level flow control (RFC 8684 §3.3.4) holds back new data beyond the peer's window.
      if (start + n > this.peerEdge && start >= this.sentHigh) {
        n = Math.max(0, this.peerEdge - start);
        if (n === 0) {
          this.host.counters.SndWndBlocked++;
          this.sched.sendWindowBlocked++;
          this.retransmitWindowHead();
          return null;
        }
      }
      const bytes = p.data.subarray(start - p.offset, start - p.offset + n);
      // One mapping per pulled chunk, so its checksum covers exactly these bytes.
      sf.sendMap.add(
        ssn,
        n,
        start,
        this.checksums ? dssChecksum(this.dsnOf(start), ssn, n, bytes) : undefined,
      );
      if (start < this.sentHigh) sf.bytesRetransmitted += n;
      sf.bytesSent += n;
      if (start + n > this.sentHigh) this.sentHigh = start + n;
      sf.pushedSent += n;
      if (sf.pushedSent >= p.length) {
        sf.pushed.shift();
        sf.pushedSent = 0;
      }
      return bytes;
    }
    return null;
  }

  private sentHigh = 0;
  /** After a fallback: the data stream offset up to which the initial subflow's TCP stream holds the data. */
  private fallbackSent = 0;
  /** Inside write(): room made there is reported by write()'s return value, not by onWritable. */
  private writing = false;
  private dataAckSeen = false;

  private runScheduler(): void {
    const s = this.send;
    // Unacknowledged data is an occasion too: redundant copies and compensation act on QU with Q empty.
    if (s.q.size === 0 && s.rq.size === 0 && s.qu.size === 0) return;
    this.updateSchedState();
    for (let run = 0; run <= MAX_RERUNS; run++) {
      const out = this.scheduler.schedule(this.sched);
      if (out.budgetExceeded) {
        this.host.counters.SchedulerBudgetStops++;
        return;
      }
      for (let i = 0; i < out.count; i++) {
        const a = out.actions[i]!;
        const p = a.packet as DataPacket;
        const sf = a.subflow ? this.subflowOfView(a.subflow) : undefined;
        switch (a.kind) {
          case ActionKind.PUSH_NEW:
            if (p.queue === 0) s.scheduled(p);
            if (sf) this.pushTo(sf, p);
            break;
          case ActionKind.PUSH_REINJECT:
            s.unqueueReinjection(p);
            if (sf && p.original) {
              this.host.counters.MPTCPRetrans++;
              this.pushTo(sf, p.original);
            }
            break;
          case ActionKind.PUSH_REDUNDANT:
            if (sf) this.pushTo(sf, p.original ?? p);
            break;
          case ActionKind.DROP_Q:
            if (p.queue === 0) s.scheduled(p);
            break;
          case ActionKind.DROP_RQ:
            s.unqueueReinjection(p);
            break;
        }
      }
      if (!out.rerun) return;
      this.updateSchedState();
    }
    this.host.counters.SchedulerBudgetStops++;
  }

  private pushTo(sf: Subflow, p: DataPacket): void {
    if (!p.sentOn.includes(sf.view)) p.sentOn.push(sf.view);
    sf.pushed.push(p);
    sf.view.queued = sf.pushed.length;
    sf.tcp.wake();
  }

  private subflowOfView(v: { id: number }): Subflow | undefined {
    for (const sf of this.subflows) if (sf.view === v) return sf;
    return undefined;
  }

  private usableSchedSubflows: Subflow[] = [];

  /** SUBFLOWS: usable subflows, newest first (PROGMP.md). */
  private refreshSchedSubflows(): void {
    this.usableSchedSubflows = this.subflows.filter((s) => s.usable).reverse();
    (this.sched as { subflows: SchedState['subflows'] }).subflows = this.usableSchedSubflows.map(
      (s) => s.view,
    );
  }

  private updateSchedState(): void {
    const st = this.sched;
    st.now = this.host.now;
    st.queuedBytes = this.send.bytesInQ;
    st.sendWindow = Math.max(0, this.peerEdge - this.send.acked);
    for (const sf of this.usableSchedSubflows) {
      sf.tcp.restartIfIdle(st.now);
      const i = sf.tcp.pathState(PATH);
      const v = sf.view;
      const mss = Math.max(1, i.mss);
      v.rtt = i.srtt * 8;
      v.rttVar = i.rttvar * 4;
      v.cwnd = Math.floor(i.cwnd / mss);
      v.ssthresh = Number.isFinite(i.ssthresh) ? Math.floor(i.ssthresh / mss) : 0xffffffff;
      v.skbsInFlight = Math.ceil(i.inFlight / mss);
      v.queued = sf.pushed.length;
      v.lostSkbs = Math.ceil(i.lost / mss);
      v.isBackup = sf.isBackup;
      v.lossy = i.loss;
      v.throttled = false;
      v.windowFree = Math.max(0, i.sndWnd - i.inFlight);
      v.mss = mss;
      v.bwOutSend = i.deliveryRate;
      v.bwOutAck = i.deliveryRate;
      v.delayOut = i.srtt / 2;
      v.delayIn = i.srtt / 2;
      v.primary = sf.primary;
    }
    // Subflows the scheduler leaves idle while better ones work leave the coupled congestion sums.
    let activeWorks = false;
    let primaryWorks = false;
    for (const sf of this.usableSchedSubflows) {
      const v = sf.view;
      if (!v.isBackup && !v.lossy) activeWorks = true;
      if (v.primary && !v.lossy) primaryWorks = true;
    }
    const ppos = this.primaryPathOnly !== null;
    for (const sf of this.usableSchedSubflows)
      sf.idle = (sf.view.isBackup && activeWorks) || (ppos && !sf.primary && primaryWorks);
  }

  /**
   * Opportunistic retransmission (the Linux paper): the peer's window is full because the data at its left
   * edge has not arrived; queue that packet for reinjection so another subflow carries it, at most once per
   * retransmission interval.
   */
  private retransmitWindowHead(): void {
    const head = this.send.qu.at(0);
    const now = this.host.now;
    if (!head || head.offset > this.send.acked || now - this.headRetransmitAt < this.finRetransmitInterval())
      return;
    if (this.send.reinject(head)) {
      this.headRetransmitAt = now;
      this.host.counters.MPTCPRetrans++;
      this.kick();
    }
  }

  /** Moves a subflow's data not yet DATA_ACKed to RQ so other subflows carry it (RFC 8684 §3.3.6). */
  reinjectFrom(sf: Subflow): void {
    // QU holds every packet not yet DATA_ACKed, and each knows the subflows it was handed to.
    let n = 0;
    const qu = this.send.qu;
    for (let k = 0; k < qu.size; k++) {
      const p = qu.at(k)!;
      if (p.sentOn.includes(sf.view) && this.send.reinject(p)) n++;
    }
    if (n > 0) {
      const others = this.subflows.filter((s) => s !== sf && s.usable).map((s) => s.id);
      if (others.length) this.emit({ type: 'failover', from: sf.id, to: others });
      this.kick();
    }
  }

  // ------------------------------------------------------------------ timers

  /** Earliest instant this connection needs `timer` (ADD_ADDR, third-ACK and DATA_FIN retransmission, PM). */
  nextDeadline(): Instant | null {
    // Called after every event: plain loops, no closures.
    let t = Number.POSITIVE_INFINITY;
    for (const a of this.localAddresses.values()) if (a.announce && a.announce.at < t) t = a.announce.at;
    for (const sf of this.subflows)
      if (
        sf.kind === 'join' &&
        sf.initiator &&
        sf.phase === 'established' &&
        !sf.fullyEstablished &&
        sf.ack3SentAt >= 0
      )
        t = Math.min(t, sf.ack3SentAt + Math.max(200 * MS, 2 * sf.tcp.pathState(PATH).srtt));
    // Only while nothing else is queued: queued data or reinjections carry the DATA_FIN's turn first.
    if (this.finPending() && this.localFinSentAt >= 0)
      t = Math.min(t, this.localFinSentAt + this.finRetransmitInterval());
    const pm = this.pm.nextDeadline?.(this) ?? null;
    if (pm !== null) t = Math.min(t, pm);
    if (this.hasStaleCandidates()) t = Math.min(t, this.host.now + 50 * MS);
    return t === Number.POSITIVE_INFINITY ? null : t;
  }

  private hasStaleCandidates(): boolean {
    for (const s of this.subflows) if (s.usable && (s.rtoSeen > 0 || s.stale)) return true;
    return false;
  }

  timer(now: Instant): void {
    if (this.state === 'closed') return;
    if (this.dueAnnouncement()) this.sendSignal();
    for (const sf of this.subflows) {
      if (sf.kind === 'join' && sf.initiator && sf.phase === 'established' && !sf.fullyEstablished) {
        if (now - sf.ack3SentAt >= Math.max(200 * MS, 2 * sf.tcp.pathState(PATH).srtt)) sf.tcp.requestAck();
      }
    }
    if (this.localFinAt !== null && !this.localFinAcked && this.dataFinDue())
      this.bestSignalSubflow()?.tcp.requestAck();
    this.pm.timer?.(this, now);
  }

  /**
   * Watches retransmission timeouts: the first one puts the subflow's unacknowledged data into RQ so a working
   * subflow carries it at once; `staleLossCnt` in a row mark it stale (Linux); progress clears both.
   */
  checkSubflowHealth(): void {
    for (const sf of this.subflows) {
      if (!sf.usable) continue;
      const rto = sf.tcp.pathState(PATH).retransmits;
      if (rto === 0) {
        this.subflowRecovered(sf);
        continue;
      }
      if (rto > sf.rtoSeen) {
        sf.rtoSeen = rto;
        if (sf.reinjectedAtRto === 0) {
          sf.reinjectedAtRto = rto;
          this.reinjectFrom(sf);
        }
        if (rto >= this.config.staleLossCnt && !sf.stale) {
          sf.stale = true;
          this.host.counters.SubflowStale++;
          this.reinjectFrom(sf);
        }
      }
    }
  }

  private subflowRecovered(sf: Subflow): void {
    if (sf.stale) this.host.counters.SubflowRecover++;
    sf.rtoSeen = 0;
    sf.stale = false;
    sf.reinjectedAtRto = 0;
  }

  // ------------------------------------------------------------------ fallback and closing

  /** Continues as plain TCP on the initial subflow (RFC 8684 §3.7). */
  fallBack(reason: string): void {
    if (this.fallback) return;
    this.fallback = true;
    this.fallbackReason = reason;
    // Only the initial subflow ever carried data, in order: its TCP stream holds the data stream up to the
    // highest byte it pulled, and plain TCP delivers that now, whatever DATA_ACKs said.
    this.fallbackSent = this.sentHigh;
    for (const sf of this.subflows) {
      sf.pushed.length = 0;
      sf.pushedSent = 0;
    }
    this.emit({ type: 'fallback', reason });
    this.pumpFallback();
  }

  /**
   * After a fallback the initial subflow is a plain TCP connection: copy the data stream past what its TCP
   * stream already holds into its send buffer (as far as it takes), and end it after the last byte.
   */
  /**
   * Fallback: moves queued stream bytes into the initial subflow's TCP send buffer. Every path that frees
   * connection-level room in fallback goes through here, so here the application hears of it (not from
   * inside its own write(): it sees the room in write()'s return value).
   */
  private pumpFallback(): void {
    const sf = this.initial();
    if (sf?.phase !== 'established') return;
    const before = this.send.space;
    const write = (p: DataPacket): boolean => {
      if (p.end <= this.fallbackSent) return true;
      const from = this.fallbackSent - p.offset;
      const n = sf.tcp.write(p.data.subarray(from));
      this.fallbackSent += n;
      return from + n === p.length;
    };
    const qu = this.send.qu;
    let full = false;
    for (let k = 0; k < qu.size && !full; k++) full = !write(qu.at(k)!);
    const q = this.send.q;
    while (!full && q.size > 0) {
      const p = q.at(0)!;
      if (!write(p)) break;
      this.send.scheduled(p);
    }
    this.send.ack(this.fallbackSent);
    if (this.localFinAt !== null && this.fallbackSent >= this.localFinAt) sf.tcp.end();
    if (this.send.space > before && !this.writing) this.onWritable?.();
  }

  private maybeClose(): void {
    if (this.state === 'closed') return;
    if (this.fallback) {
      if (this.remoteFinDone && this.localFinAt !== null) this.state = 'closing';
      return;
    }
    if (this.localFinAcked && this.remoteFinDone && this.state !== 'closing') {
      this.state = 'closing';
      for (const sf of this.subflows) if (sf.phase !== 'closed') sf.tcp.end();
    }
  }

  private finishByPeer(reason: string): void {
    for (const sf of this.subflows) if (sf.phase !== 'closed') sf.tcp.abort();
    this.finish(reason);
  }

  private finish(reason: string | null): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closeReason = reason;
    for (const sf of this.subflows) sf.phase = 'closed';
    this.host.released(this);
    this.emit({ type: 'closed', token: this.localToken, reason });
    this.onClose?.(reason);
  }

  get closedReason(): string | null {
    return this.closeReason;
  }

  /** True once everything written was acknowledged and the DATA_FINs were exchanged (or TCP closed cleanly). */
  get cleanlyClosed(): boolean {
    return this.state === 'closed' && this.closeReason === null;
  }

  emit(e: MptcpEvent): void {
    this.onEvent?.(e);
  }
}

function mp(o: MptcpOption): TcpOption {
  return { kind: 'mptcp', mptcp: o };
}

function addAddrLength(address: string, port: number | null, hmac: boolean): number {
  const v6 = address.includes(':');
  return (v6 ? 20 : 8) + (port !== null ? 2 : 0) + (hmac ? 8 : 0);
}

/**
 * The TCP configuration of every subflow of connections with this MPTCP configuration (the listener uses it
 * for the subflows the peer opens): the controller is made by the subflow's connection, found by the hook.
 */
export function subflowTcpConfig(config: MptcpConfig): Partial<TcpConfig> {
  const cc = config.cc as CcName;
  return {
    maxRto: config.subflowMaxRto,
    // The window scale must cover the connection-level window, which can grow to rcvBufMax.
    rcvBufMax: config.rcvBufMax,
    // A subflow holds what the connection handed it until its own ACK: raising the connection's buffer for a
    // long fat path must raise the subflows' too (Linux syncs them), or each stays capped at its default. A
    // subflow holds one full segment at least, however small the connection's buffer.
    sndBuf: Math.max(config.sndBuf, config.tcp.mss ?? DEFAULT_TCP_CONFIG.mss),
    // The connection-level scheduler decides what goes out; Nagle on a subflow would only hold it back.
    nagle: false,
    ...(config.subflowKeepAlive > 0
      ? {
          keepAlive: true,
          keepAliveIdle: config.subflowKeepAlive,
          keepAliveInterval: SECOND,
          keepAliveProbes: 3,
        }
      : {}),
    cc,
    ccFactory: (r: CcRequest) => {
      const sf = (r.view as TcpConnection).hook as Subflow;
      return sf.conn.subflowCc(cc, r, sf);
    },
    ...config.tcp,
  };
}

function concat(parts: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
