/**
 * One host's MPTCP: a TCP endpoint whose connections are subflows, a token table (RFC 8684 §3.2: joins find
 * their connection by token), listeners that accept MP_CAPABLE, MP_JOIN and plain-TCP (fallback) SYNs, and
 * the timers of every connection. Implements the sans-I/O SegmentStack contract, so the simulator, UDP and
 * TUN drivers carry it unchanged.
 */

import type { OutSegment, SegmentStack } from '../stack.ts';
import type { TcpConfig } from '../tcp/config.ts';
import type { TcpConnection } from '../tcp/connection.ts';
import { type SynInfo, type SynRefusal, TcpEndpoint } from '../tcp/endpoint.ts';
import type { Rng } from '../util/rng.ts';
import type { Instant } from '../util/time.ts';
import { type MpCapable, type MpJoin, TcpRstReason } from '../wire/mptcp-types.ts';
import { DEFAULT_MPTCP_CONFIG, type MptcpConfig, resolveMptcpConfig } from './config.ts';
import { type ConnectionHost, MptcpConnection, type PathManager, subflowTcpConfig } from './connection.ts';
import { MptcpCounters } from './counters.ts';
import type { Subflow } from './subflow.ts';

export interface MptcpListenOptions {
  address?: string;
  config?: Partial<MptcpConfig>;
  /** A fresh path manager per accepted connection (passive when omitted). */
  pathManager?: () => PathManager;
}

export interface MptcpConnectOptions {
  local: string;
  localPort?: number;
  remote: string;
  remotePort: number;
  config?: Partial<MptcpConfig>;
  pathManager?: PathManager;
}

/** A refused SYN's RST carries MP_TCPRST with the reason (RFC 8684 §3.6), as Linux's does. */
function refuse(reason: number): SynRefusal {
  const rst = { subtype: 'MP_TCPRST' as const, reason, transient: false, u: false, v: false, w: false };
  return { reset: [{ kind: 'mptcp', mptcp: rst }] };
}

/** Accepts joins (within the subflow limit the endpoint enforces) and opens nothing itself. */
export const passiveManager = (): PathManager => ({ name: 'passive' });

export class MptcpEndpoint implements SegmentStack, ConnectionHost {
  readonly tcp: TcpEndpoint;
  readonly counters = new MptcpCounters();
  readonly rng: Rng;
  readonly config: MptcpConfig;
  now: Instant = 0;
  private readonly tokens = new Map<number, MptcpConnection>();
  private readonly conns = new Set<MptcpConnection>();

  constructor(opts: { rng: Rng; config?: Partial<MptcpConfig>; tcp?: Partial<TcpConfig> }) {
    this.rng = opts.rng;
    this.config = resolveMptcpConfig(DEFAULT_MPTCP_CONFIG, opts.config);
    this.tcp = new TcpEndpoint({ rng: opts.rng.fork(), config: opts.tcp });
  }

  /** Accepts MPTCP connections on `port`; `onAccept` gets each one when its initial subflow is established. */
  listen(port: number, onAccept: (conn: MptcpConnection) => void, opts: MptcpListenOptions = {}): void {
    const config = resolveMptcpConfig(this.config, opts.config);
    const pm = opts.pathManager ?? passiveManager;
    this.tcp.listen(port, (tcp) => this.accepted(tcp, onAccept), {
      address: opts.address,
      config: subflowTcpConfig(config),
      hook: (syn) => this.synArrived(syn, config, pm),
    });
  }

  /** Opens an MPTCP connection (MP_CAPABLE SYN at the next poll). */
  connect(now: Instant, opts: MptcpConnectOptions): MptcpConnection {
    this.now = now;
    const config = resolveMptcpConfig(this.config, opts.config);
    const conn = new MptcpConnection(
      this,
      'client',
      config,
      opts.pathManager ?? passiveManager(),
      opts.remotePort,
    );
    this.conns.add(conn);
    conn.connectInitial(opts.local, opts.remote, opts.remotePort, opts.localPort);
    return conn;
  }

  /** Live connections. */
  connections(): MptcpConnection[] {
    return [...this.conns];
  }

  /** A listener's SYN: a new connection (MP_CAPABLE or fallback) or a join of an existing one (MP_JOIN). */
  private synArrived(syn: SynInfo, config: MptcpConfig, pm: () => PathManager): Subflow | SynRefusal {
    let capable: MpCapable | undefined;
    let join: MpJoin | undefined;
    for (const o of syn.options) {
      if (o.kind !== 'mptcp') continue;
      if (o.mptcp.subtype === 'MP_CAPABLE') capable = o.mptcp;
      else if (o.mptcp.subtype === 'MP_JOIN') join = o.mptcp;
    }
    if (join) {
      const conn = join.token !== undefined ? this.tokens.get(join.token) : undefined;
      if (!conn) {
        this.counters.MPJoinNoTokenFound++;
        this.counters.MPRstTx++;
        return refuse(TcpRstReason.MPTCP_SPECIFIC);
      }
      const ok = conn.pm.acceptJoin?.(conn) ?? conn.subflowCount() < conn.config.maxSubflows;
      const init = conn.initial();
      const toInitial =
        init !== undefined &&
        syn.local.address === init.tcp.local.address &&
        syn.local.port === init.tcp.local.port;
      // Without the peer's key (its MP_CAPABLE ACK has not arrived yet) a join cannot be authenticated.
      if (
        !ok ||
        conn.state !== 'established' ||
        conn.remoteKey === null ||
        conn.fallback ||
        (toInitial && !conn.config.joinsToInitialAddress)
      ) {
        this.counters.MPJoinRejected++;
        this.counters.MPRstTx++;
        return refuse(TcpRstReason.ADMINISTRATIVELY_PROHIBITED);
      }
      const sf = conn.newSubflow('join', false);
      conn.acceptJoinSyn(sf, join);
      sf.localAddressId = conn.addressIdFor(syn.local.address);
      // A join to an address we marked backup is backup from its SYN/ACK on (the B bit), as in Linux.
      sf.backupLocal = conn.localAddresses.get(sf.localAddressId)?.backup ?? false;
      return sf;
    }
    const conn = new MptcpConnection(this, 'server', config, pm(), syn.remote.port);
    const sf = conn.newSubflow('initial', false);
    if (capable && capable.version === 1) {
      this.counters.MPCapableSYNRX++;
      if (capable.flags & 0x80) conn.checksums = true;
    } else {
      // RFC 8684 §3.1: a SYN without MP_CAPABLE (or another version) is plain TCP: fall back.
      conn.fallBack(
        capable ? `MPTCP version ${capable.version} is not spoken` : 'the SYN carried no MP_CAPABLE',
      );
    }
    return sf;
  }

  private accepted(tcp: TcpConnection, onAccept: (conn: MptcpConnection) => void): void {
    const sf = tcp.hook as Subflow | null;
    if (!sf) return;
    const conn = sf.conn;
    if (conn.isClosed()) {
      // The connection ended while this join was being opened.
      tcp.abort();
      return;
    }
    conn.attach(sf, tcp);
    if (sf.kind === 'initial') {
      this.conns.add(conn);
      onAccept(conn);
    }
    conn.subflowAccepted(sf);
  }

  // ------------------------------------------------------------------ ConnectionHost

  openTcp(opts: Parameters<ConnectionHost['openTcp']>[0]): TcpConnection {
    return this.tcp.connect(this.now, opts);
  }

  tokenInUse(token: number): boolean {
    return this.tokens.has(token);
  }

  registerToken(token: number, conn: MptcpConnection): void {
    this.tokens.set(token, conn);
  }

  released(conn: MptcpConnection): void {
    if (this.tokens.get(conn.localToken) === conn) this.tokens.delete(conn.localToken);
    this.conns.delete(conn);
  }

  // ------------------------------------------------------------------ SegmentStack

  receive(
    now: Instant,
    src: string,
    dst: string,
    segment: Uint8Array,
    checksumVerified = false,
    payload?: Uint8Array,
    payloadLent = false,
  ): void {
    this.now = now;
    this.tcp.receive(now, src, dst, segment, checksumVerified, payload, payloadLent);
  }

  poll(now: Instant): OutSegment | null {
    this.now = now;
    return this.tcp.poll(now);
  }

  nextDeadline(): Instant | null {
    let t = this.tcp.nextDeadline();
    for (const c of this.conns) {
      const d = c.nextDeadline();
      if (d !== null && (t === null || d < t)) t = d;
    }
    return t;
  }

  onTimer(now: Instant): void {
    this.now = now;
    this.tcp.onTimer(now);
    for (const c of [...this.conns]) {
      c.checkSubflowHealth();
      const d = c.nextDeadline();
      if (d !== null && d <= now) c.timer(now);
    }
  }

  onAddressChange(now: Instant, address: string, up: boolean): void {
    this.now = now;
    for (const c of [...this.conns]) c.addressChanged(address, up);
  }
}
