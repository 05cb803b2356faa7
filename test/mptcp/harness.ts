/** Two MPTCP endpoints on a simulated multi-path network, for engine tests (no scenario file needed). */

import type { MptcpConfig } from '../../src/mptcp/config.ts';
import type { MptcpConnection, PathManager } from '../../src/mptcp/connection.ts';
import { MptcpEndpoint } from '../../src/mptcp/endpoint.ts';
import { fullmeshManager } from '../../src/pm/fullmesh.ts';
import { Simulator } from '../../src/sim/events.ts';
import type { SimHost } from '../../src/sim/host.ts';
import type { LinkConfig } from '../../src/sim/link.ts';
import { Network } from '../../src/sim/network.ts';
import { MS } from '../../src/util/time.ts';

export const SERVER = '10.1.0.1';
export const PORT = 45000;
export const clientAddress = (k: number) => `10.0.${k}.1`;

export interface Bed {
  sim: Simulator;
  net: Network;
  client: MptcpEndpoint;
  server: MptcpEndpoint;
  clientHost: SimHost;
  serverHost: SimHost;
}

/** `paths` link configs, one per path; path K's client address is 10.0.K.1. */
export function bed(seed: number, paths: Partial<LinkConfig>[], config: Partial<MptcpConfig> = {}): Bed {
  const sim = new Simulator(seed);
  const net = new Network(sim);
  paths.forEach((cfg, i) => {
    net.addLink(`l${i + 1}`, { rate: 100e6, delay: 10 * MS, queue: { packets: 200 }, ...cfg });
    net.addPath(`p${i + 1}`, [`l${i + 1}`], clientAddress(i + 1));
  });
  const clientHost = net.addHost(
    'client',
    paths.map((_, i) => clientAddress(i + 1)),
  );
  const serverHost = net.addHost('server', [SERVER]);
  const client = new MptcpEndpoint({ rng: sim.rng.fork(), config });
  const server = new MptcpEndpoint({ rng: sim.rng.fork(), config });
  clientHost.attach(client);
  serverHost.attach(server);
  return { sim, net, client, server, clientHost, serverHost };
}

/**
 * A server that reads and discards, and a client connected to it with a subflow on every path (fullmesh).
 * `server()` is the accepted connection once the handshake is through.
 */
export function fullmeshPair(b: Bed): { conn: MptcpConnection; server: () => MptcpConnection | null } {
  let server: MptcpConnection | null = null;
  b.server.listen(PORT, (c) => {
    server = c;
    c.onData = () => {};
  });
  const conn = b.client.connect(b.sim.now, {
    local: clientAddress(1),
    remote: SERVER,
    remotePort: PORT,
    pathManager: fullmeshManager({ localAddresses: [...b.clientHost.addresses] }),
  });
  return { conn, server: () => server };
}

const PATTERN = Uint8Array.from({ length: 251 * 512 }, (_, i) => i % 251);

/** The bytes at stream offsets [from, from+n) of the i mod 251 pattern (a view when it fits, else a copy). */
export const pattern = (from: number, n: number): Uint8Array => {
  if (n <= PATTERN.length - 251) return PATTERN.subarray(from % 251, (from % 251) + n);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (from + i) % 251;
  return b;
};

/** True when `data` is the pattern from offset 0. */
export function isPattern(data: Uint8Array): boolean {
  for (let i = 0; i < data.length; i += 64_000) {
    const n = Math.min(64_000, data.length - i);
    if (!Buffer.from(data.buffer, data.byteOffset + i, n).equals(pattern(i, n))) return false;
  }
  return true;
}

/** Sends `total` bytes client → server; returns what the server received and the connections. */
export function transfer(
  b: Bed,
  total: number,
  opts: {
    pm?: PathManager;
    until?: number;
    onConnect?: (c: MptcpConnection) => void;
    /** The server reads with onLentData (bytes valid only during the call) instead of onData. */
    lentReader?: boolean;
  } = {},
) {
  const received: Uint8Array[] = [];
  let got = 0;
  let serverConn: MptcpConnection | null = null;
  let ended = false;
  let doneAt = -1;
  b.server.listen(PORT, (c) => {
    serverConn = c;
    const take = (d: Uint8Array) => {
      received.push(new Uint8Array(d));
      got += d.length;
      if (got === total) doneAt = b.sim.now;
    };
    c.onData = take;
    if (opts.lentReader) c.onLentData = take;
    c.onEnd = () => {
      ended = true;
      c.end();
    };
  });
  let sent = 0;
  const conn = b.client.connect(b.sim.now, {
    local: clientAddress(1),
    remote: SERVER,
    remotePort: PORT,
    ...(opts.pm ? { pathManager: opts.pm } : {}),
  });
  const pump = () => {
    while (sent < total) {
      const n = conn.write(pattern(sent, Math.min(64 * 1024, total - sent)));
      if (n === 0) return;
      sent += n;
      b.clientHost.wake();
    }
    conn.end();
    b.clientHost.wake();
  };
  conn.onEstablished = pump;
  conn.onWritable = pump;
  opts.onConnect?.(conn);
  b.clientHost.wake();
  b.sim.run(opts.until ?? 60_000 * MS, () => conn.isClosed() && serverConn?.isClosed() === true);
  const all = Buffer.concat(received);
  return {
    conn,
    serverConn: serverConn as MptcpConnection | null,
    all,
    ended,
    doneAt,
    intact: all.length === total && isPattern(all),
  };
}
