/**
 * An MPTCP flow of a scenario: the client's connection starts on the flow's first path and its path manager
 * adds the others; the server listens with a passive manager. The flow's policies (scheduler, registers,
 * priority lists, primary-path-only) are set on both ends as an application would, and the timed `actions`
 * are calls of the connection API.
 */
import type { MptcpConfig } from '../mptcp/config.ts';
import {
  type AddressPair,
  type MptcpConnection,
  MptcpStateError,
  type PathManager,
} from '../mptcp/connection.ts';
import type { MptcpEndpoint } from '../mptcp/endpoint.ts';
import type { MptcpEvent } from '../mptcp/events.ts';
import type { SubflowStatus } from '../mptcp/subflow-status.ts';
import { createPathManager } from '../pm/index.ts';
import type { Instant } from '../util/time.ts';
import type { FlowEngine, FlowTransport } from './flow.ts';
import { round, type SubflowResult } from './result.ts';
import {
  CLIENT_PORT_BASE,
  type FlowAction,
  type FlowSpec,
  type PathSpec,
  SERVER_ADDRESS,
  SERVER_PORT_BASE,
  type SubflowSelector,
} from './scenario.ts';
import type { FlowApp } from './workload.ts';

/** A connection event as the result lists it: simulated seconds, which end, and the event's fields. */
export type FlowEvent = { t: number; side: 'client' | 'server' } & (
  | MptcpEvent
  | { type: 'action_failed'; call: string; reason: string }
);

/** Events kept per flow: enough for any scenario's subflow churn, bounded against a pathological one. */
const MAX_EVENTS = 10_000;

export class MptcpTransport implements FlowTransport {
  private client: MptcpConnection | null = null;
  private server: MptcpConnection | null = null;
  readonly events: FlowEvent[] = [];
  /** Subflow ids (per end) that completed their handshake at some point. */
  private readonly established = { client: new Set<number>(), server: new Set<number>() };
  private readonly addressOf: Map<string, string>;
  private readonly pathOf: Map<string, string>;
  private readonly config: Partial<MptcpConfig>;

  constructor(
    private readonly flow: FlowSpec,
    private readonly app: FlowApp,
    private readonly clientEndpoint: MptcpEndpoint,
    serverEndpoint: MptcpEndpoint,
    private readonly now: () => Instant,
    paths: PathSpec[],
    /** The registered name of the flow's scheduler (the runner loads ProgMP programs). */
    scheduler: string,
    engine: FlowEngine = {},
  ) {
    this.addressOf = new Map(paths.map((p) => [p.name, p.clientAddress]));
    this.pathOf = new Map(paths.map((p) => [p.clientAddress, p.name]));
    this.config = { ...engine.mptcp, cc: flow.cc, scheduler };
    serverEndpoint.listen(
      SERVER_PORT_BASE + flow.index,
      (conn) => {
        // One connection per flow: a second accept on this port would be a stray; leave it alone.
        if (this.server !== null) return;
        this.server = conn;
        this.configure(conn, 'server');
        app.attachServer(conn);
      },
      {
        address: SERVER_ADDRESS,
        config: this.config,
        pathManager: () => createPathManager({ name: 'passive', localAddresses: [SERVER_ADDRESS] }),
      },
    );
  }

  start(): void {
    const local = this.address(this.flow.paths[0]!);
    const conn = this.clientEndpoint.connect(this.now(), {
      local,
      localPort: CLIENT_PORT_BASE + 1 + this.flow.index,
      remote: SERVER_ADDRESS,
      remotePort: SERVER_PORT_BASE + this.flow.index,
      config: this.config,
      pathManager: this.clientManager(),
    });
    this.client = conn;
    this.configure(conn, 'client');
    this.app.attachClient(conn);
  }

  get done(): boolean {
    if (this.app.closed) return true;
    return this.server === null && this.app.clientClosed !== undefined;
  }

  get fallback(): boolean {
    return this.client?.fallback ?? false;
  }

  /** The client's subflows; counters and RTT from the data sender's side of each. */
  subflows(): SubflowResult[] {
    const c = this.client;
    if (c === null) return [];
    const upload = this.flow.direction === 'upload';
    const serverSide = this.server?.listSubflows() ?? [];
    return c.listSubflows().map((s) => {
      const sender = upload ? s : serverSide.find((x) => sameSubflow(x, s));
      const info = sender?.info;
      return {
        id: s.id,
        path: this.pathOf.get(s.local.address) ?? '?',
        local: `${s.local.address}:${s.local.port}`,
        remote: `${s.remote.address}:${s.remote.port}`,
        bytesSent: info?.bytesSent ?? 0,
        bytesRetransmitted: info?.bytesRetrans ?? 0,
        backup: s.backup.local || s.backup.remote,
        established: this.established.client.has(s.id),
        srttMs: round((info?.srtt ?? 0) / 1000),
        closedReason: s.attached ? null : s.closedReason,
        mss: info?.mss ?? 0,
        addressId: s.addressId,
        reinjectedBytes: sender?.bytesRetransmitted ?? 0,
      };
    });
  }

  act(a: FlowAction): void {
    const c = this.client;
    try {
      if (c === null) throw new MptcpStateError('the connection has not started yet');
      switch (a.call) {
        case 'setSubflowPriority':
          for (const s of this.liveOn(c, a.path)) c.setBackup(s.id, a.backup);
          break;
        case 'closeSubflow':
          for (const s of this.liveOn(c, a.path)) c.closeSubflow(s.id);
          break;
        case 'openSubflow':
          c.openSubflow(this.address(a.path), SERVER_ADDRESS, SERVER_PORT_BASE + this.flow.index);
          break;
        case 'setRegister':
          for (const end of [c, this.server]) end?.setRegister(registerIndex(a.register), a.value);
          break;
        case 'setActiveList':
          c.setPriorityLists({ active: a.list.map((sel) => this.pair(sel)) });
          break;
        case 'setBackupList':
          c.setPriorityLists({ backup: a.list.map((sel) => this.pair(sel)) });
          break;
        case 'setPrimaryPathOnly':
          for (const end of [c, this.server])
            end?.setPrimaryPathOnly(a.path === null ? null : [this.address(a.path)]);
          break;
        case 'setScheduler':
          throw new MptcpStateError('setScheduler actions are applied by the runner');
      }
    } catch (e) {
      if (!(e instanceof MptcpStateError)) throw e;
      this.record('client', { type: 'action_failed', call: a.call, reason: e.message });
    }
  }

  /** Applies a scheduler the runner resolved for a setScheduler action (both ends run one). */
  setScheduler(name: string): void {
    for (const end of [this.client, this.server]) end?.setScheduler(name);
  }

  private liveOn(c: MptcpConnection, path: string): SubflowStatus[] {
    const address = this.address(path);
    return c.listSubflows().filter((s) => s.attached && s.local.address === address);
  }

  /** A scenario selector as the connection's address pair (a path means the client's address on it). */
  private pair(sel: SubflowSelector): AddressPair {
    return 'path' in sel ? { local: this.address(sel.path) } : { local: sel.local, remote: sel.remote };
  }

  private address(path: string): string {
    return this.addressOf.get(path)!;
  }

  private clientManager(): PathManager {
    const f = this.flow;
    return createPathManager({
      name: f.pathManager,
      localAddresses: f.paths.map((p) => this.address(p)),
      subflowsPerPath: f.subflowsPerPath,
      backupAddresses: f.backup.map((p) => this.address(p)),
    });
  }

  /** What the application sets on its end: registers, lists (client), primary-path-only, event log. */
  private configure(conn: MptcpConnection, side: 'client' | 'server'): void {
    for (const [r, v] of Object.entries(this.flow.registers)) conn.setRegister(registerIndex(r), v);
    if (side === 'client') {
      conn.setPriorityLists({
        active: this.flow.activeList.map((sel) => this.pair(sel)),
        backup: this.flow.backupList.map((sel) => this.pair(sel)),
      });
    }
    // The server matches the primary path by its remote (the client's) address.
    if (this.flow.primaryPathOnly !== null)
      conn.setPrimaryPathOnly([this.address(this.flow.primaryPathOnly)]);
    conn.onEvent = (e) => {
      if (e.type === 'sub_established') this.established[side].add(e.subflow);
      this.record(side, e);
    };
  }

  private record(
    side: 'client' | 'server',
    e: MptcpEvent | { type: 'action_failed'; call: string; reason: string },
  ) {
    if (this.events.length >= MAX_EVENTS) return;
    this.events.push({ t: round(this.now() / 1e6, 6), side, ...e } as FlowEvent);
  }
}

/** The same subflow seen from the other end. */
function sameSubflow(a: SubflowStatus, b: SubflowStatus): boolean {
  return (
    a.local.address === b.remote.address &&
    a.local.port === b.remote.port &&
    a.remote.address === b.local.address &&
    a.remote.port === b.local.port
  );
}

/** "R1".."R6" → 0..5 (the parser checked the name). */
function registerIndex(r: string): number {
  return Number(r.slice(1)) - 1;
}
