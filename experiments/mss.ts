/**
 * Goodput against the MSS: an MPTCP connection (LIA) over one or two 1 Gbit/s paths (2 ms RTT), with the MSS
 * of both ends from 1400 to 9000 bytes and the links' MTU at MSS + 40 (jumbo frames for the large ones).
 * Measured: goodput (8 s after a 2 s warm-up, 3 seeds) and the simulator events per megabyte delivered.
 *
 * The paper measured a kernel whose CPU could not keep up with 1400-byte segments at 2 Gbit/s, so goodput rose
 * with the MSS. A simulated stack has no CPU limit: goodput follows the header overhead only, which the plot
 * shows as the header-limited capacity. Per-segment work (what made the kernel CPU-bound) is what the second
 * panel counts: simulator events, a deterministic proxy of the engine's cost per byte.
 */
import { segmentPayload } from '../src/mptcp/config.ts';
import { renderFigure, type Series, type XYChart } from '../src/plot/index.ts';
import type { FlowEngine } from '../src/sim/flow.ts';
import { round } from '../src/sim/result.ts';
import {
  type Check,
  type Experiment,
  finishResult,
  type ResultHeader,
  type RunOptions,
  seedsUpTo,
} from './lib/experiment.ts';
import { groupBy, type Summary, summarize } from './lib/stats.ts';
import { forEachTrial, windowMean } from './lib/trial.ts';

const MSS = [1400, 2000, 3000, 4500, 6000, 9000] as const;
const PATHS = [1, 2] as const;
const RATE_MBPS = 1000;
/** IPv4 and TCP headers; a data segment's options (timestamps, DSS) come out of the MSS (segmentPayload). */
const HEADERS = 40;

interface Trial {
  mss: number;
  paths: number;
  seed: number;
  goodputMbps: number;
  eventsPerMB: number;
  integrity: boolean;
}

interface Row {
  mss: number;
  paths: number;
  goodputMbps: Summary;
  eventsPerMB: Summary;
  /** Payload capacity left by the headers: paths · rate · (MSS − options)/(MSS + headers). */
  headerLimitMbps: number;
}

export interface MssResult extends ResultHeader {
  setup: {
    rateMbps: number;
    delay: string;
    queue: string;
    cc: string;
    seconds: number;
    measuredFrom: number;
  };
  trials: Trial[];
  rows: Row[];
}

/** A little jitter so that seeds differ (a lone flow on a lossless link is otherwise deterministic). */
const LINK = { rate: '1Gbps', delay: '1ms', jitter: '50us', queue: '250KB' };

export function mssScenario(mss: number, paths: number, seconds: number): Record<string, unknown> {
  const link = { ...LINK, mtu: mss + HEADERS };
  const names = PATHS.slice(0, paths).map((k) => `p${k}`);
  return {
    name: `mss-${mss}-${paths}`,
    until: `${seconds}s`,
    sample: seconds < 2 ? '100ms' : '500ms',
    links: Object.fromEntries(names.map((_, i) => [`l${i + 1}`, link])),
    paths: Object.fromEntries(names.map((p, i) => [p, [`l${i + 1}`]])),
    flows: [{ name: 'main', protocol: 'mptcp', cc: 'lia', paths: names, workload: { bulk: 'forever' } }],
  };
}

/** The MSS of every subflow, which the scenario format cannot set yet. */
export function mssEngine(mss: number): Record<string, FlowEngine> {
  return { main: { mptcp: { tcp: { mss } } } };
}

export const headerLimit = (mss: number, paths: number): number =>
  round((paths * RATE_MBPS * segmentPayload(mss)) / (mss + HEADERS), 1);

function run(opts: RunOptions): MssResult {
  const seconds = opts.quick ? 0.3 : 10;
  const from = opts.quick ? 0.1 : 2;
  const seeds = seedsUpTo(opts.quick ? 1 : 3);
  const values = opts.quick ? [1400, 9000] : MSS;
  const trials: Trial[] = [];
  const grid = PATHS.flatMap((paths) => values.flatMap((mss) => seeds.map((seed) => ({ paths, mss, seed }))));
  forEachTrial(
    grid,
    ({ paths, mss, seed }) => ({ scenario: mssScenario(mss, paths, seconds), seed, engine: mssEngine(mss) }),
    ({ paths, mss, seed }, r) => {
      const f = r.flows[0]!;
      const trial: Trial = {
        mss,
        paths,
        seed,
        goodputMbps: round(windowMean(f.timeline, from, seconds)),
        eventsPerMB: round(r.events / Math.max(1e-9, f.bytesDelivered / 1e6), 1),
        integrity: f.integrity,
      };
      trials.push(trial);
      opts.log(
        `mss ${mss}, ${paths} path${paths > 1 ? 's' : ''}, seed ${seed}: ${trial.goodputMbps} Mbit/s (header limit ${headerLimit(mss, paths)}), ${trial.eventsPerMB} events/MB`,
      );
    },
  );
  const rows: Row[] = [...groupBy(trials, (t) => `${t.paths}/${t.mss}`).values()].map((g) => ({
    mss: g[0]!.mss,
    paths: g[0]!.paths,
    goodputMbps: summarize(g.map((t) => t.goodputMbps)),
    eventsPerMB: summarize(
      g.map((t) => t.eventsPerMB),
      1,
    ),
    headerLimitMbps: headerLimit(g[0]!.mss, g[0]!.paths),
  }));
  return finishResult<MssResult>(mssExperiment, opts, seeds, checks, {
    setup: {
      rateMbps: RATE_MBPS,
      delay: LINK.delay,
      queue: LINK.queue,
      cc: 'lia',
      seconds,
      measuredFrom: from,
    },
    trials,
    rows,
  });
}

function checks(r: MssResult): Check[] {
  return PATHS.map((paths) => {
    const rows = r.rows.filter((x) => x.paths === paths);
    return {
      name: `${paths} × 1 Gbit/s: goodput within 5 % of the header-limited capacity at every MSS (no CPU limit in a simulator)`,
      pass: rows.length > 0 && rows.every((x) => x.goodputMbps.mean >= 0.95 * x.headerLimitMbps),
      detail: rows.map((x) => `${x.mss}: ${x.goodputMbps.mean} of ${x.headerLimitMbps}`).join(', '),
    };
  });
}

function plot(r: MssResult): string {
  const series = (pick: (row: Row) => Summary): Series[] =>
    PATHS.map((paths) => ({
      kind: 'line' as const,
      name: `${paths} × 1 Gbit/s`,
      points: r.rows
        .filter((x) => x.paths === paths)
        .sort((a, b) => a.mss - b.mss)
        .map((x) => ({ x: x.mss, y: pick(x).mean, lo: pick(x).min, hi: pick(x).max })),
    }));
  const limits: Series[] = PATHS.map((paths, i) => ({
    kind: 'line' as const,
    name: `header limit, ${paths} path${paths > 1 ? 's' : ''}`,
    dashed: true,
    markers: false,
    width: 1.2,
    color: ['#56B4E9', '#E69F00'][i]!,
    points: r.rows
      .filter((x) => x.paths === paths)
      .sort((a, b) => a.mss - b.mss)
      .map((x) => ({ x: x.mss, y: x.headerLimitMbps })),
  }));
  const goodput: XYChart = {
    kind: 'xy',
    title: 'Goodput (LIA, 2 ms RTT, link MTU = MSS + 40)',
    x: { label: 'MSS', unit: 'bytes', min: 0, max: 9000 },
    y: { label: 'goodput', unit: 'Mbit/s', min: 0 },
    series: [...series((x) => x.goodputMbps), ...limits],
  };
  const events: XYChart = {
    kind: 'xy',
    title: 'Per-segment work: simulator events per MB delivered',
    x: { label: 'MSS', unit: 'bytes', min: 0, max: 9000 },
    y: { label: 'events per MB', unit: 'events/MB', min: 0 },
    series: series((x) => x.eventsPerMB),
  };
  return renderFigure({
    title: `Goodput against the MSS on 1 and 2 × 1 Gbit/s (${r.setup.seconds} s, ${r.seeds.length} seed${r.seeds.length > 1 ? 's' : ''}; mean, min–max)`,
    panels: [goodput, events],
  });
}

export const mssExperiment: Experiment<MssResult> = {
  name: 'mss',
  title: 'Goodput against the MSS on 1 and 2 × 1 Gbit/s paths',
  summary: 'MPTCP (LIA) over 1 and 2 × 1 Gbit/s, MSS 1400–9000 bytes (link MTU = MSS + 40)',
  run,
  plot,
  checks,
};
