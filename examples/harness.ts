/**
 * Where the examples run: a client and a server either over UDP on this machine (real time, the socket API)
 * or in the simulator (virtual time, the engine driven by simulated hosts on a multi-path network). Both give
 * the example MultipathConnections, so its code is the same on either.
 */
import { once } from 'node:events';
import { engineConnection, type MultipathConnection, socketConnection } from '../src/api/control.ts';
import { createServer } from '../src/api/server.ts';
import { connect } from '../src/api/socket.ts';
import { MptcpEndpoint } from '../src/mptcp/endpoint.ts';
import { createPathManager, createServerPathManager, type PathManagerName } from '../src/pm/index.ts';
import { Simulator } from '../src/sim/events.ts';
import type { SimHost } from '../src/sim/host.ts';
import type { LinkConfig } from '../src/sim/link.ts';
import { Network } from '../src/sim/network.ts';
import { MS } from '../src/util/time.ts';

export interface ConnectOptions {
  /** Local addresses for the connection (default: every client address, the first carries the initial subflow). */
  addresses?: string[];
  pathManager?: PathManagerName;
}

export interface Pair {
  /** The client's addresses, one per path. */
  readonly clientAddresses: string[];
  /** Calls `fn` with each connection the server accepts. */
  serve(fn: (c: MultipathConnection) => void): void;
  /** Opens a connection from the client. */
  connect(o?: ConnectOptions): MultipathConnection;
  /** Runs until `done()` or `limitMs` (virtual ms in the simulator, real ms over UDP). */
  run(done: () => boolean, limitMs: number): Promise<void>;
  /** Cuts a path (simulator) or is not available (UDP: null). */
  setPathUp: ((index: number, up: boolean) => void) | null;
  close(): Promise<void>;
}

/** Client and server over UDP on loopback: the client's paths are 127.0.0.1 and 127.0.0.2. */
export async function udpPair(paths = ['127.0.0.1', '127.0.0.2']): Promise<Pair> {
  let onConn: (c: MultipathConnection) => void = () => {};
  const server = createServer({}, (s) => onConn(socketConnection(s)));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = server.address()!.port;
  return {
    clientAddresses: paths,
    serve(fn) {
      onConn = fn;
    },
    connect(o = {}) {
      return socketConnection(
        connect({
          port,
          host: '127.0.0.1',
          addresses: o.addresses ?? paths,
          pathManager: o.pathManager ?? 'fullmesh',
        }),
      );
    },
    async run(done, limitMs) {
      const t0 = performance.now();
      while (!done()) {
        if (performance.now() - t0 > limitMs) throw new Error(`not done after ${limitMs} ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    setPathUp: null,
    async close() {
      server.close();
    },
  };
}

export const SIM_SERVER = '10.1.0.1';

/** Client and server in the simulator: path K is a link from client address 10.0.K.1 to the server. */
export function simPair(links: Partial<LinkConfig>[], seed = 1): Pair {
  const sim = new Simulator(seed);
  const net = new Network(sim);
  const clientAddresses = links.map((_, i) => `10.0.${i + 1}.1`);
  links.forEach((cfg, i) => {
    net.addLink(`l${i + 1}`, { rate: 100e6, delay: 10 * MS, queue: { packets: 200 }, ...cfg });
    net.addPath(`p${i + 1}`, [`l${i + 1}`], clientAddresses[i]!);
  });
  const clientHost: SimHost = net.addHost('client', clientAddresses);
  const serverHost: SimHost = net.addHost('server', [SIM_SERVER]);
  const client = new MptcpEndpoint({ rng: sim.rng.fork() });
  const server = new MptcpEndpoint({ rng: sim.rng.fork() });
  clientHost.attach(client);
  serverHost.attach(server);
  const driver = (host: SimHost) => ({
    now: () => sim.now,
    at: (t: number, fn: () => void) => {
      const id = sim.at(t, () => {
        fn();
        host.wake();
      });
      return () => sim.cancel(id);
    },
    wake: () => host.wake(),
  });
  let onConn: (c: MultipathConnection) => void = () => {};
  server.listen(45_000, (conn) => onConn(engineConnection(conn, driver(serverHost))), {
    pathManager: createServerPathManager({ name: 'passive', localAddresses: [SIM_SERVER] }),
  });
  let nextPort = 50_000;
  return {
    clientAddresses,
    serve(fn) {
      onConn = fn;
    },
    connect(o = {}) {
      const locals = o.addresses ?? clientAddresses;
      const conn = client.connect(sim.now, {
        local: locals[0]!,
        localPort: nextPort++,
        remote: SIM_SERVER,
        remotePort: 45_000,
        pathManager: createPathManager({ name: o.pathManager ?? 'fullmesh', localAddresses: locals }),
      });
      const c = engineConnection(conn, driver(clientHost));
      clientHost.wake();
      return c;
    },
    async run(done, limitMs) {
      sim.run(sim.now + limitMs * MS, done);
      if (!done()) throw new Error(`not done after ${limitMs} simulated ms`);
    },
    setPathUp(index, up) {
      net.setLink(`l${index + 1}`, { up });
    },
    async close() {},
  };
}
