/** A plain TCP flow of a scenario: one connection from the flow's path address to the server. */
import type { TcpConfig } from '../tcp/config.ts';
import type { TcpEndpoint } from '../tcp/endpoint.ts';
import type { Instant } from '../util/time.ts';
import type { FlowEngine, FlowTransport } from './flow.ts';
import { round, type SubflowResult } from './result.ts';
import {
  CLIENT_PORT_BASE,
  type FlowSpec,
  type PathSpec,
  SERVER_ADDRESS,
  SERVER_PORT_BASE,
} from './scenario.ts';
import type { AppSocket, FlowApp } from './workload.ts';

/** The part of a TCP connection the runner reads (tcp_info-like), beside the application socket. */
interface TcpConnectionLike extends AppSocket {
  readonly local: { address: string; port: number };
  readonly remote: { address: string; port: number };
  info(): { srtt: number; mss: number; bytesSent: number; bytesRetrans: number };
}

export class TcpTransport implements FlowTransport {
  readonly fallback = false;
  private client: TcpConnectionLike | null = null;
  private server: TcpConnectionLike | null = null;
  private established = false;
  private readonly path: PathSpec;
  private readonly config: Partial<TcpConfig>;

  constructor(
    private readonly flow: FlowSpec,
    private readonly app: FlowApp,
    private readonly clientEndpoint: TcpEndpoint,
    serverEndpoint: TcpEndpoint,
    private readonly now: () => Instant,
    paths: PathSpec[],
    engine: FlowEngine = {},
  ) {
    this.path = paths.find((p) => p.name === flow.paths[0])!;
    this.config = { ...engine.tcp, cc: flow.cc as 'reno' | 'cubic' };
    serverEndpoint.listen(
      SERVER_PORT_BASE + flow.index,
      (conn: TcpConnectionLike) => {
        // One connection per flow: a second accept on this port would be a stray; leave it alone.
        if (this.server !== null) return;
        this.server = conn;
        app.attachServer(conn);
      },
      { address: SERVER_ADDRESS, config: this.config },
    );
  }

  start(): void {
    const conn: TcpConnectionLike = this.clientEndpoint.connect(this.now(), {
      local: this.path.clientAddress,
      localPort: CLIENT_PORT_BASE + 1 + this.flow.index,
      remote: SERVER_ADDRESS,
      remotePort: SERVER_PORT_BASE + this.flow.index,
      config: this.config,
    });
    this.client = conn;
    this.app.attachClient(conn);
    const appEstablished = conn.onEstablished;
    conn.onEstablished = () => {
      this.established = true;
      appEstablished?.();
    };
  }

  get done(): boolean {
    if (this.app.closed) return true;
    return this.server === null && this.app.clientClosed !== undefined;
  }

  subflows(): SubflowResult[] {
    if (this.client === null) return [];
    const sender = this.flow.direction === 'upload' ? this.client : this.server;
    const info = sender?.info();
    const closedReason =
      this.app.clientClosed ?? (this.app.serverClosed !== undefined ? this.app.serverClosed : null);
    return [
      {
        id: 1,
        path: this.path.name,
        local: `${this.client.local.address}:${this.client.local.port}`,
        remote: `${this.client.remote.address}:${this.client.remote.port}`,
        bytesSent: info?.bytesSent ?? 0,
        bytesRetransmitted: info?.bytesRetrans ?? 0,
        backup: false,
        established: this.established,
        srttMs: round((info?.srtt ?? 0) / 1000),
        closedReason,
        mss: info?.mss ?? 0,
      },
    ];
  }
}
