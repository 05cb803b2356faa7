/**
 * Runs a parsed scenario in the simulator: builds the network (one client host with one address per path,
 * 10.0.K.1 for the K-th path, and one server host, 10.1.0.1), applies the timeline at its times, starts each
 * flow at its start time, samples goodput and per-path throughput every `sample`, and stops at `until` or
 * when every flow is done. The result is a pure function of the scenario and the seed; only `wallMs` and
 * `eventsPerSecond` depend on the machine, through the clock the caller hands in.
 */
import { MptcpEndpoint } from '../mptcp/endpoint.ts';
import { loadScheduler } from '../progmp/program.ts';
import { TcpEndpoint } from '../tcp/endpoint.ts';
import type { Rng } from '../util/rng.ts';
import type { Duration, Instant } from '../util/time.ts';
import { Simulator } from './events.ts';
import { checkFlowEngine, type FlowEngine, type FlowTransport } from './flow.ts';
import type { SimHost } from './host.ts';
import type { LinkConfig, LinkDirectionConfig } from './link.ts';
import { MptcpTransport } from './mptcp-flow.ts';
import { Network, type PacketSink, type TapEvent } from './network.ts';
import { type FlowResult, mbps, round, type SimResult, type TimelinePoint } from './result.ts';
import {
  type FlowSpec,
  type LinkSettings,
  type PathSpec,
  type Scenario,
  type SchedulerSpec,
  SERVER_ADDRESS,
  SERVER_PORT_BASE,
} from './scenario.ts';
import { TcpTransport } from './tcp-flow.ts';
import { ScenarioError } from './units.ts';
import { type AppEnv, FlowApp } from './workload.ts';

/** A valid scenario the runner cannot run (a ProgMP file the caller did not read): the CLI exits 2. */
export class UnsupportedScenarioError extends ScenarioError {
  override name = 'UnsupportedScenarioError';
}

export interface RunOptions {
  /** Replaces the scenario's seed. */
  seed?: number;
  /** Receives every packet any host sends (all paths, raw IPv4, stamped with simulated µs). */
  capture?: PacketSink;
  /** Milliseconds from any fixed origin, for wallMs and eventsPerSecond; the engine itself reads no clock. */
  wallClock?: () => number;
  /** Engine settings by flow name, beyond the scenario format (experiments/: buffers, MSS, TCP behaviours). */
  engine?: Readonly<Record<string, FlowEngine>>;
}

/** The link model's config from the scenario's resolved settings. */
function linkConfig(s: LinkSettings): LinkConfig {
  const { directions, ...both } = s;
  const config: LinkConfig = { ...both };
  if (directions !== undefined) config.directions = directions;
  return config;
}

/** Per-flow, per-path payload bytes entering the network in the flow's data direction. */
class PathMeter {
  // bytes[flow][pathIndex], since the last sample.
  readonly bytes: Float64Array[];
  private readonly flowByServerPort = new Map<number, number>();
  private readonly pathIndex = new Map<string, number>();
  private readonly upload: boolean[];

  constructor(flows: FlowSpec[], paths: PathSpec[]) {
    this.bytes = flows.map(() => new Float64Array(paths.length));
    flows.forEach((f) => {
      this.flowByServerPort.set(SERVER_PORT_BASE + f.index, f.index);
    });
    paths.forEach((p, i) => {
      this.pathIndex.set(p.name, i);
    });
    this.upload = flows.map((f) => f.direction === 'upload');
  }

  readonly onPacket = (e: TapEvent): void => {
    const p = e.packet;
    const tcp = e.ipHeaderLength;
    if (p.length < tcp + 20) return;
    const total = p[0]! >>> 4 === 4 ? (p[2]! << 8) | p[3]! : tcp + ((p[4]! << 8) | p[5]!);
    const payload = total - tcp - (p[tcp + 12]! >>> 4) * 4;
    if (payload <= 0) return;
    // The server's port names the flow: destination port going up, source port coming down.
    const port = e.direction === 'up' ? (p[tcp + 2]! << 8) | p[tcp + 3]! : (p[tcp]! << 8) | p[tcp + 1]!;
    const flow = this.flowByServerPort.get(port);
    if (flow === undefined || this.upload[flow] !== (e.direction === 'up')) return;
    this.bytes[flow]![this.pathIndex.get(e.path)!]! += payload;
  };

  /** Mbit/s per path name over `durationUs`, then reset. */
  take(flow: number, durationUs: Duration, only: string[]): Record<string, number> {
    const row = this.bytes[flow]!;
    const out: Record<string, number> = {};
    for (const name of only) out[name] = round(mbps(row[this.pathIndex.get(name)!]!, durationUs));
    row.fill(0);
    return out;
  }
}

/** The registered scheduler name for a spec, loading ProgMP programs (their names are the programs' own). */
function schedulerName(spec: SchedulerSpec, path: string): string {
  if (spec.kind === 'builtin') return spec.name;
  if (spec.kind === 'progmp' && spec.source === null)
    throw new UnsupportedScenarioError(path, `the ProgMP file ${spec.file} was not read (the CLI reads it)`);
  try {
    return loadScheduler(spec.source!);
  } catch (e) {
    throw new ScenarioError(path, e instanceof Error ? e.message : String(e));
  }
}

/** Runs the scenario and returns its result (SCENARIOS.md). */
export function runScenario(scenario: Scenario, options: RunOptions = {}): SimResult {
  const clock = options.wallClock ?? (() => 0);
  const wallStart = clock();
  const seed = options.seed ?? scenario.seed;
  const engine = options.engine ?? {};
  checkFlowEngine(scenario.flows, engine);
  const sim = new Simulator(seed);
  const net = new Network(sim);
  for (const l of scenario.links) net.addLink(l.name, linkConfig(l.settings));
  for (const p of scenario.paths) net.addPath(p.name, p.links, p.clientAddress);
  const clientHost = net.addHost(
    'client',
    scenario.paths.map((p) => p.clientAddress),
  );
  const serverHost = net.addHost('server', [SERVER_ADDRESS]);
  // Plain TCP scenarios run on bare TCP endpoints; with an MPTCP flow each host runs MPTCP (whose TCP
  // endpoint carries the plain TCP flows too).
  const mptcp = scenario.flows.some((f) => f.protocol === 'mptcp');
  const stack = () =>
    mptcp ? new MptcpEndpoint({ rng: sim.rng.fork() }) : new TcpEndpoint({ rng: sim.rng.fork() });
  const clientStack = stack();
  const serverStack = stack();
  const tcpOf = (e: MptcpEndpoint | TcpEndpoint) => (e instanceof MptcpEndpoint ? e.tcp : e);
  clientHost.attach(clientStack);
  serverHost.attach(serverStack);
  if (options.capture) net.capture(options.capture);
  const meter = new PathMeter(scenario.flows, scenario.paths);
  net.tap(meter.onPacket);

  // Timers of the applications: after each, the hosts poll their stacks (the app may have written).
  const env: AppEnv = {
    now: () => sim.now,
    after: (delay, fn) => {
      sim.after(delay, () => {
        fn();
        wakeAll(clientHost, serverHost);
      });
    },
  };
  const appRng: Rng = sim.rng.fork();
  const apps = scenario.flows.map((f) => new FlowApp(f, env, appRng.fork()));
  const now = () => sim.now;
  const transports: FlowTransport[] = scenario.flows.map((f, i) =>
    f.protocol === 'tcp'
      ? new TcpTransport(
          f,
          apps[i]!,
          tcpOf(clientStack),
          tcpOf(serverStack),
          now,
          scenario.paths,
          engine[f.name],
        )
      : new MptcpTransport(
          f,
          apps[i]!,
          clientStack as MptcpEndpoint,
          serverStack as MptcpEndpoint,
          now,
          scenario.paths,
          schedulerName(f.scheduler, `flows[${i}].scheduler`),
          engine[f.name],
        ),
  );

  for (const e of scenario.timeline) {
    sim.at(e.at, () => {
      if (e.kind === 'interface') net.setInterface(e.path, e.up);
      else {
        const { directions, ...both } = e.set;
        if (Object.keys(both).length > 0) net.setLink(e.link, both as Partial<LinkDirectionConfig>);
        if (directions?.up) net.setLink(e.link, directions.up, 'up');
        if (directions?.down) net.setLink(e.link, directions.down, 'down');
      }
    });
  }
  for (const [i, f] of scenario.flows.entries()) {
    const t = transports[i]!;
    sim.at(f.start, () => {
      t.start();
      wakeAll(clientHost, serverHost);
    });
    for (const [k, a] of f.actions.entries()) {
      // Resolve schedulers now, so a bad program is a scenario error before the run.
      const name = a.call === 'setScheduler' ? schedulerName(a.scheduler, `flows[${i}].actions[${k}]`) : null;
      sim.at(a.at, () => {
        if (t instanceof MptcpTransport && name !== null) t.setScheduler(name);
        else t.act?.(a);
        wakeAll(clientHost, serverHost);
      });
    }
  }

  const timelines: TimelinePoint[][] = scenario.flows.map(() => []);
  const lastDelivered = scenario.flows.map(() => 0);
  let lastSample: Instant = 0;
  const sample = (): void => {
    const now = sim.now;
    const span = now - lastSample;
    for (const f of scenario.flows) {
      const app = apps[f.index]!;
      timelines[f.index]!.push({
        t: round(now / 1e6, 6),
        goodputMbps: round(mbps(app.payloadDelivered - lastDelivered[f.index]!, span)),
        perPathMbps: meter.take(f.index, span, f.paths),
      });
      lastDelivered[f.index] = app.payloadDelivered;
    }
    lastSample = now;
  };
  const tick = (): void => {
    sample();
    if (sim.now + scenario.sample <= scenario.until) sim.after(scenario.sample, tick);
  };
  sim.at(Math.min(scenario.sample, scenario.until), tick);

  const allDone = (): boolean => transports.every((t) => t.done);
  sim.run(scenario.until, allDone);
  const end = sim.now;
  if (end > lastSample) sample();

  const flows: FlowResult[] = scenario.flows.map((f) => {
    const app = apps[f.index]!;
    const t = transports[f.index]!;
    const completed = app.completed;
    const last = completed && app.lastPayloadAt !== null ? app.lastPayloadAt : end;
    return {
      name: f.name,
      protocol: f.protocol,
      completed,
      completionMs:
        completed && app.lastPayloadAt !== null ? round((app.lastPayloadAt - f.start) / 1000) : null,
      bytesDelivered: app.payloadDelivered,
      goodputMbps: round(mbps(app.payloadDelivered, last - f.start)),
      integrity: app.integrity,
      fallback: t.fallback,
      subflows: t.subflows(),
      requests: app.requests.map((r) => ({
        size: r.size,
        startMs: round(r.startMs),
        fctMs: r.fctMs === null ? null : round(r.fctMs),
      })),
      timeline: timelines[f.index]!,
      ...(t instanceof MptcpTransport ? { events: t.events } : {}),
    };
  });
  const wallMs = clock() - wallStart;
  const events = sim.eventsProcessed;
  return {
    scenario: scenario.name,
    seed,
    simulatedMs: round(end / 1000),
    wallMs: round(wallMs, 1),
    events,
    eventsPerSecond: wallMs > 0 ? Math.round(events / (wallMs / 1000)) : 0,
    flows,
  };
}

function wakeAll(a: SimHost, b: SimHost): void {
  a.wake();
  b.wake();
}
