/**
 * Path-manager test bed: the engine harness's network (path K's client address is 10.0.K.1) with a server
 * that may own several addresses (10.1.0.1, 10.1.0.2, …; every server address is reachable over every
 * path), path managers on both sides, and timed actions during a transfer.
 */

import assert from 'node:assert/strict';
import type { MptcpConfig } from '../../src/mptcp/config.ts';
import type { MptcpConnection, PathManager } from '../../src/mptcp/connection.ts';
import { MptcpEndpoint } from '../../src/mptcp/endpoint.ts';
import type { MptcpEvent } from '../../src/mptcp/events.ts';
import type { SubflowStatus } from '../../src/mptcp/subflow-status.ts';
import { Simulator } from '../../src/sim/events.ts';
import type { SimHost } from '../../src/sim/host.ts';
import type { LinkConfig } from '../../src/sim/link.ts';
import { Network } from '../../src/sim/network.ts';
import { type Instant, MS } from '../../src/util/time.ts';
import { clientAddress, isPattern, PORT, pattern } from '../mptcp/harness.ts';

export { clientAddress, PORT };
export const serverAddress = (k: number) => `10.1.0.${k}`;

export interface PmBed {
  sim: Simulator;
  net: Network;
  client: MptcpEndpoint;
  server: MptcpEndpoint;
  clientHost: SimHost;
  serverHost: SimHost;
}

export function pmBed(
  seed: number,
  paths: Partial<LinkConfig>[],
  opts: { servers?: number; config?: Partial<MptcpConfig> } = {},
): PmBed {
  const sim = new Simulator(seed);
  const net = new Network(sim);
  paths.forEach((cfg, i) => {
    net.addLink(`l${i + 1}`, { rate: 20e6, delay: 10 * MS, queue: { packets: 100 }, ...cfg });
    net.addPath(`p${i + 1}`, [`l${i + 1}`], clientAddress(i + 1));
  });
  const clientHost = net.addHost(
    'client',
    paths.map((_, i) => clientAddress(i + 1)),
  );
  const serverHost = net.addHost(
    'server',
    Array.from({ length: opts.servers ?? 1 }, (_, i) => serverAddress(i + 1)),
  );
  const client = new MptcpEndpoint({ rng: sim.rng.fork(), config: opts.config });
  const server = new MptcpEndpoint({ rng: sim.rng.fork(), config: opts.config });
  clientHost.attach(client);
  serverHost.attach(server);
  return { sim, net, client, server, clientHost, serverHost };
}

export interface RunOptions {
  clientPm?: PathManager;
  serverPm?: () => PathManager;
  /** Stop here even if the transfer is not done. */
  until?: Instant;
  /** Calls made at given instants (interface changes, API calls). */
  at?: [Instant, (conn: MptcpConnection) => void][];
  onAccept?: (conn: MptcpConnection) => void;
}

export interface RunResult {
  conn: MptcpConnection;
  serverConn: MptcpConnection | null;
  intact: boolean;
  received: number;
  /** Timer stalls of either host (a deadline in the past that nothing clears); the run stops at the first. */
  stalls: number;
  doneAt: Instant;
  clientEvents: { at: Instant; e: MptcpEvent }[];
  serverEvents: { at: Instant; e: MptcpEvent }[];
  /** Every subflow either side ever had (closed ones too), at the end. */
  clientSubflows: SubflowStatus[];
  serverSubflows: SubflowStatus[];
}

/** Sends `total` bytes client → server over the bed, with path managers and timed actions. */
export function run(b: PmBed, total: number, opts: RunOptions = {}): RunResult {
  const chunks: Uint8Array[] = [];
  let got = 0;
  let doneAt = -1;
  const accepted: { conn: MptcpConnection | null } = { conn: null };
  const clientEvents: RunResult['clientEvents'] = [];
  const serverEvents: RunResult['serverEvents'] = [];
  b.server.listen(
    PORT,
    (c) => {
      accepted.conn = c;
      c.onEvent = (e) => serverEvents.push({ at: b.sim.now, e });
      c.onData = (d) => {
        chunks.push(d.slice());
        got += d.length;
        if (got === total) doneAt = b.sim.now;
      };
      c.onEnd = () => c.end();
      opts.onAccept?.(c);
    },
    opts.serverPm ? { pathManager: opts.serverPm } : {},
  );
  const conn = b.client.connect(b.sim.now, {
    local: clientAddress(1),
    remote: serverAddress(1),
    remotePort: PORT,
    ...(opts.clientPm ? { pathManager: opts.clientPm } : {}),
  });
  conn.onEvent = (e) => clientEvents.push({ at: b.sim.now, e });
  let sent = 0;
  const pump = () => {
    while (sent < total) {
      const n = conn.write(pattern(sent, Math.min(64 * 1024, total - sent)));
      if (n === 0) return;
      sent += n;
    }
    conn.end();
  };
  conn.onEstablished = () => {
    pump();
    b.clientHost.wake();
  };
  conn.onWritable = pump;
  for (const [t, fn] of opts.at ?? [])
    b.sim.at(t, () => {
      fn(conn);
      b.clientHost.wake();
    });
  b.clientHost.wake();
  // A deadline that never passes makes the host fire its timer 1000 times per µs: stop at the first such stall.
  const stalls = () => b.clientHost.stats.timerStalls + b.serverHost.stats.timerStalls;
  b.sim.run(
    opts.until ?? 60_000 * MS,
    () => (conn.isClosed() && accepted.conn?.isClosed() === true) || stalls() > 0,
  );
  const all = Buffer.concat(chunks);
  const sc = accepted.conn;
  return {
    conn,
    serverConn: sc,
    intact: all.length === total && isPattern(all),
    received: got,
    stalls: stalls(),
    doneAt,
    clientEvents,
    serverEvents,
    clientSubflows: conn.listSubflows(),
    serverSubflows: sc?.listSubflows() ?? [],
  };
}

/** The subflows of a list with this local (or, with `remote`, this remote) address. */
export function on(subs: SubflowStatus[], local: string | null, remote?: string): SubflowStatus[] {
  return subs.filter(
    (s) =>
      (local === null || s.local.address === local) && (remote === undefined || s.remote.address === remote),
  );
}

/** The run ended with every byte delivered in order and no host timer stalled. */
export function assertDelivered(r: RunResult): void {
  assert.equal(r.stalls, 0, 'a host timer stalled (a deadline in the past that nothing clears)');
  assert.ok(r.intact, `received ${r.received} bytes, intact: ${r.intact}`);
}
