/**
 * A stand-in for the scenario runner while the scenario format has no per-flow engine settings: it builds the
 * same network from a parsed scenario (links, paths, client 10.0.K.1 per path, server 10.1.0.1) and runs its
 * bulk upload flows with the MPTCP or TCP settings given per flow (receive and send buffers, MSS). It measures
 * as the runner does: goodput from the receiving application, per-path throughput from the bytes the data
 * sender put on each path (first transmissions and retransmissions), sampled every `sample`.
 *
 * Only what the experiments need is supported (bulk upload workloads, no timeline, no actions); anything else
 * is refused with an error naming it. When the format gains the fields (see experiments/README.md), trials
 * move to runScenario and this file goes away.
 */
import { DEFAULT_MPTCP_CONFIG, type MptcpConfig } from '../../src/mptcp/config.ts';
import type { MptcpConnection } from '../../src/mptcp/connection.ts';
import { MptcpEndpoint } from '../../src/mptcp/endpoint.ts';
import { createPathManager } from '../../src/pm/index.ts';
import { Simulator } from '../../src/sim/events.ts';
import type { LinkConfig } from '../../src/sim/link.ts';
import { Network } from '../../src/sim/network.ts';
import {
  type FlowResult,
  mbps,
  round,
  type SimResult,
  type SubflowResult,
  type TimelinePoint,
} from '../../src/sim/result.ts';
import {
  CLIENT_PORT_BASE,
  type FlowSpec,
  type LinkSettings,
  type Scenario,
  SERVER_ADDRESS,
  SERVER_PORT_BASE,
} from '../../src/sim/scenario.ts';
import { FlowApp } from '../../src/sim/workload.ts';
import type { TcpInfo } from '../../src/tcp/config.ts';
import type { TcpConnection } from '../../src/tcp/connection.ts';
import type { FlowEngine } from './trial.ts';

/** The scenario uses something the bed does not model. */
export class BedUnsupportedError extends Error {
  override name = 'BedUnsupportedError';
}

/** What the bed reads of a running flow's data sender. */
interface Sender {
  fallback(): boolean;
  /** Sender-side TCP info per subflow with the path it runs on. */
  subflows(): { id: number; path: string; local: string; remote: string; info: TcpInfo; mptcp?: Reinject }[];
}

interface Reinject {
  reinjectedBytes: number;
  addressId: number;
  backup: boolean;
  closedReason: string | null;
}

function linkConfig(s: LinkSettings): Partial<LinkConfig> {
  const { directions, ...both } = s;
  return directions === undefined ? both : { ...both, directions };
}

function check(scenario: Scenario): void {
  if (scenario.timeline.length > 0) throw new BedUnsupportedError('the bed runs no timeline events');
  for (const f of scenario.flows) {
    const where = `flow ${f.name}`;
    if (f.workload.kind !== 'bulk') throw new BedUnsupportedError(`${where}: only bulk workloads`);
    if (f.direction !== 'upload') throw new BedUnsupportedError(`${where}: only uploads`);
    if (f.actions.length > 0) throw new BedUnsupportedError(`${where}: no actions`);
    if (f.scheduler.kind !== 'builtin') throw new BedUnsupportedError(`${where}: built-in schedulers only`);
    if (f.backup.length > 0 || f.primaryPathOnly !== null || f.activeList.length || f.backupList.length)
      throw new BedUnsupportedError(`${where}: no backup paths, lists or primary-path-only`);
  }
}

/** Runs `scenario` for `seed` with the per-flow engine settings; returns the runner's result shape. */
export function runOnBed(scenario: Scenario, seed: number, engine: Record<string, FlowEngine>): SimResult {
  check(scenario);
  for (const name of Object.keys(engine))
    if (!scenario.flows.some((f) => f.name === name))
      throw new BedUnsupportedError(`engine settings for flow '${name}', which the scenario does not have`);
  const sim = new Simulator(seed);
  const net = new Network(sim);
  for (const l of scenario.links) net.addLink(l.name, linkConfig(l.settings));
  for (const p of scenario.paths) net.addPath(p.name, p.links, p.clientAddress);
  const pathOf = new Map(scenario.paths.map((p) => [p.clientAddress, p.name]));
  const addressOf = new Map(scenario.paths.map((p) => [p.name, p.clientAddress]));
  const clientHost = net.addHost(
    'client',
    scenario.paths.map((p) => p.clientAddress),
  );
  const serverHost = net.addHost('server', [SERVER_ADDRESS]);
  const client = new MptcpEndpoint({ rng: sim.rng.fork() });
  const server = new MptcpEndpoint({ rng: sim.rng.fork() });
  clientHost.attach(client);
  serverHost.attach(server);
  const wake = () => {
    clientHost.wake();
    serverHost.wake();
  };
  const env = {
    now: () => sim.now,
    after: (delay: number, fn: () => void) => {
      sim.after(delay, () => {
        fn();
        wake();
      });
    },
  };
  const appRng = sim.rng.fork();
  const apps = scenario.flows.map((f) => new FlowApp(f, env, appRng.fork()));
  const senders: (Sender | null)[] = scenario.flows.map(() => null);

  const startFlow = (f: FlowSpec): void => {
    const app = apps[f.index]!;
    const e = engine[f.name] ?? {};
    const serverPort = SERVER_PORT_BASE + f.index;
    const localPort = CLIENT_PORT_BASE + 1 + f.index;
    const local = addressOf.get(f.paths[0]!)!;
    if (f.protocol === 'tcp') {
      const config = { ...e.tcp, cc: f.cc };
      server.tcp.listen(serverPort, (conn: TcpConnection) => app.attachServer(conn), {
        address: SERVER_ADDRESS,
        config,
      });
      const conn = client.tcp.connect(sim.now, {
        local,
        localPort,
        remote: SERVER_ADDRESS,
        remotePort: serverPort,
        config,
      });
      app.attachClient(conn);
      senders[f.index] = {
        fallback: () => false,
        subflows: () => [
          {
            id: 1,
            path: f.paths[0]!,
            local: `${conn.local.address}:${conn.local.port}`,
            remote: `${conn.remote.address}:${conn.remote.port}`,
            info: conn.info(),
          },
        ],
      };
      return;
    }
    const config: Partial<MptcpConfig> = {
      ...e.mptcp,
      cc: f.cc,
      scheduler: f.scheduler.kind === 'builtin' ? f.scheduler.name : DEFAULT_MPTCP_CONFIG.scheduler,
    };
    server.listen(serverPort, (conn) => app.attachServer(conn), {
      address: SERVER_ADDRESS,
      config,
      pathManager: () => createPathManager({ name: 'passive', localAddresses: [SERVER_ADDRESS] }),
    });
    const conn: MptcpConnection = client.connect(sim.now, {
      local,
      localPort,
      remote: SERVER_ADDRESS,
      remotePort: serverPort,
      config,
      pathManager: createPathManager({
        name: f.pathManager,
        localAddresses: f.paths.map((p) => addressOf.get(p)!),
        subflowsPerPath: f.subflowsPerPath,
      }),
    });
    app.attachClient(conn);
    senders[f.index] = {
      fallback: () => conn.fallback,
      subflows: () =>
        conn.listSubflows().map((s) => ({
          id: s.id,
          path: pathOf.get(s.local.address) ?? '?',
          local: `${s.local.address}:${s.local.port}`,
          remote: `${s.remote.address}:${s.remote.port}`,
          info: s.info,
          mptcp: {
            reinjectedBytes: s.bytesRetransmitted,
            addressId: s.addressId,
            backup: s.backup.local || s.backup.remote,
            closedReason: s.attached ? null : s.closedReason,
          },
        })),
    };
  };
  for (const f of scenario.flows)
    sim.at(f.start, () => {
      startFlow(f);
      wake();
    });

  // Per flow and path: bytes the sender had sent at the last sample (subflows never lose their counters here:
  // the bed runs no closing actions, and a subflow that closed keeps its last counters in the list).
  const lastSent = scenario.flows.map(() => new Map<string, number>());
  const lastDelivered = scenario.flows.map(() => 0);
  const timelines: TimelinePoint[][] = scenario.flows.map(() => []);
  let lastSample = 0;
  const sample = (): void => {
    const span = sim.now - lastSample;
    for (const f of scenario.flows) {
      const sent = new Map<string, number>(f.paths.map((p) => [p, 0]));
      for (const s of senders[f.index]?.subflows() ?? [])
        sent.set(s.path, (sent.get(s.path) ?? 0) + s.info.bytesSent);
      const perPathMbps: Record<string, number> = {};
      for (const p of f.paths) {
        perPathMbps[p] = round(mbps(sent.get(p)! - (lastSent[f.index]!.get(p) ?? 0), span));
      }
      lastSent[f.index] = sent;
      const app = apps[f.index]!;
      timelines[f.index]!.push({
        t: round(sim.now / 1e6, 6),
        goodputMbps: round(mbps(app.payloadDelivered - lastDelivered[f.index]!, span)),
        perPathMbps,
      });
      lastDelivered[f.index] = app.payloadDelivered;
    }
    lastSample = sim.now;
  };
  const tick = (): void => {
    sample();
    if (sim.now + scenario.sample <= scenario.until) sim.after(scenario.sample, tick);
  };
  sim.at(Math.min(scenario.sample, scenario.until), tick);
  sim.run(scenario.until);
  if (sim.now > lastSample) sample();

  const end = sim.now;
  const flows: FlowResult[] = scenario.flows.map((f) => {
    const app = apps[f.index]!;
    const subflows: SubflowResult[] = (senders[f.index]?.subflows() ?? []).map((s) => ({
      id: s.id,
      path: s.path,
      local: s.local,
      remote: s.remote,
      bytesSent: s.info.bytesSent,
      bytesRetransmitted: s.info.bytesRetrans,
      backup: s.mptcp?.backup ?? false,
      established: s.info.state !== 'SYN_SENT' && s.info.state !== 'CLOSED',
      srttMs: round(s.info.srtt / 1000),
      closedReason: s.mptcp?.closedReason ?? null,
      mss: s.info.mss,
      ...(s.mptcp ? { addressId: s.mptcp.addressId, reinjectedBytes: s.mptcp.reinjectedBytes } : {}),
    }));
    return {
      name: f.name,
      protocol: f.protocol,
      completed: app.completed,
      completionMs: null,
      bytesDelivered: app.payloadDelivered,
      goodputMbps: round(mbps(app.payloadDelivered, end - f.start)),
      integrity: app.integrity,
      fallback: senders[f.index]?.fallback() ?? false,
      subflows,
      requests: [],
      timeline: timelines[f.index]!,
    };
  });
  return {
    scenario: scenario.name,
    seed,
    simulatedMs: round(end / 1000),
    wallMs: 0,
    events: sim.eventsProcessed,
    eventsPerSecond: 0,
    flows,
  };
}
