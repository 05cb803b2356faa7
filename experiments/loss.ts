/**
 * Loss on one path: an MPTCP connection (LIA) over two 100 Mbit/s paths with 20 ms RTT, with 0 to 5 % random
 * loss on path 2's data direction. Measured: the goodput of each subflow (its throughput less what it
 * retransmitted or reinjected) and of the connection (40 s after a 10 s warm-up, 5 seeds).
 *
 * Expected: the lossy subflow shrinks (Reno-like throughput ∝ 1/√p) while path 1 keeps its lossless goodput:
 * coupling must not drag the good path down, nor head-of-line blocking behind the lossy one (acceptance:
 * within 5 % up to 3 % loss).
 */
import { renderFigure, type XYChart } from '../src/plot/index.ts';
import { round, type SubflowResult } from '../src/sim/result.ts';
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

const LOSS_PERCENT = [0, 0.5, 1, 2, 3, 4, 5] as const;
const LINK = { rate: '100Mbps', delay: '10ms', queue: '250KB' };

interface Trial {
  lossPercent: number;
  seed: number;
  /** Goodput of the subflow on each path and of the connection (Mbit/s). */
  path1Mbps: number;
  path2Mbps: number;
  connectionMbps: number;
  /** Share of each subflow's bytes that were retransmissions or reinjections. */
  path1Resent: number;
  path2Resent: number;
  integrity: boolean;
}

interface Row {
  lossPercent: number;
  path1Mbps: Summary;
  path2Mbps: Summary;
  connectionMbps: Summary;
}

export interface LossResult extends ResultHeader {
  setup: {
    links: typeof LINK;
    lossOn: string;
    cc: string;
    subflowGoodput: string;
    seconds: number;
    measuredFrom: number;
  };
  trials: Trial[];
  rows: Row[];
}

export function lossScenario(lossPercent: number, seconds: number): Record<string, unknown> {
  return {
    name: `loss-${lossPercent}`,
    until: `${seconds}s`,
    sample: '1s',
    links: { l1: LINK, l2: { ...LINK, directions: { up: { loss: `${lossPercent}%` } } } },
    paths: { p1: ['l1'], p2: ['l2'] },
    flows: [
      { name: 'main', protocol: 'mptcp', cc: 'lia', paths: ['p1', 'p2'], workload: { bulk: 'forever' } },
    ],
  };
}

/** Bytes a subflow carried that were not new data: retransmissions and reinjections, as a share of all. */
function resentShare(subflows: SubflowResult[], path: string): number {
  let sent = 0;
  let resent = 0;
  for (const s of subflows) {
    if (s.path !== path) continue;
    sent += s.bytesSent;
    resent += s.bytesRetransmitted + (s.reinjectedBytes ?? 0);
  }
  return sent > 0 ? Math.min(1, resent / sent) : 0;
}

function run(opts: RunOptions): LossResult {
  const seconds = opts.quick ? 2 : 50;
  const from = opts.quick ? 0.5 : 10;
  const seeds = seedsUpTo(opts.quick ? 1 : 5);
  const losses = opts.quick ? [0, 3] : LOSS_PERCENT;
  const trials: Trial[] = [];
  const grid = losses.flatMap((lossPercent) => seeds.map((seed) => ({ lossPercent, seed })));
  forEachTrial(
    grid,
    ({ lossPercent, seed }) => ({ scenario: lossScenario(lossPercent, seconds), seed }),
    ({ lossPercent, seed }, r) => {
      const f = r.flows[0]!;
      const r1 = resentShare(f.subflows, 'p1');
      const r2 = resentShare(f.subflows, 'p2');
      const trial: Trial = {
        lossPercent,
        seed,
        path1Mbps: round(windowMean(f.timeline, from, seconds, 'p1') * (1 - r1)),
        path2Mbps: round(windowMean(f.timeline, from, seconds, 'p2') * (1 - r2)),
        connectionMbps: round(windowMean(f.timeline, from, seconds)),
        path1Resent: round(r1, 5),
        path2Resent: round(r2, 5),
        integrity: f.integrity,
      };
      trials.push(trial);
      opts.log(
        `loss ${lossPercent} % on path 2, seed ${seed}: path 1 ${trial.path1Mbps}, path 2 ${trial.path2Mbps}, connection ${trial.connectionMbps} Mbit/s`,
      );
    },
  );
  const rows: Row[] = [...groupBy(trials, (t) => String(t.lossPercent)).values()].map((g) => ({
    lossPercent: g[0]!.lossPercent,
    path1Mbps: summarize(g.map((t) => t.path1Mbps)),
    path2Mbps: summarize(g.map((t) => t.path2Mbps)),
    connectionMbps: summarize(g.map((t) => t.connectionMbps)),
  }));
  return finishResult<LossResult>(loss, opts, seeds, checks, {
    setup: {
      links: LINK,
      lossOn: 'path 2, data (client to server) direction, independent per packet',
      cc: 'lia',
      subflowGoodput:
        "the subflow's throughput over the window × (1 − its share of retransmitted and reinjected bytes over the run)",
      seconds,
      measuredFrom: from,
    },
    trials,
    rows,
  });
}

function checks(r: LossResult): Check[] {
  const base = r.rows.find((x) => x.lossPercent === 0);
  const upTo3 = r.rows.filter((x) => x.lossPercent > 0 && x.lossPercent <= 3);
  const ref = base?.path1Mbps.mean ?? Number.NaN;
  return [
    {
      name: "path 1's goodput within 5 % of its lossless value up to 3 % loss on path 2",
      pass:
        base !== undefined &&
        upTo3.length > 0 &&
        upTo3.every((x) => Math.abs(x.path1Mbps.mean - ref) <= 0.05 * ref),
      detail: `lossless ${ref} Mbit/s; ${upTo3.map((x) => `${x.lossPercent} %: ${x.path1Mbps.mean} (${((100 * (x.path1Mbps.mean - ref)) / ref).toFixed(1)} %)`).join(', ')}`,
    },
  ];
}

function plot(r: LossResult): string {
  const pts = (f: (row: Row) => Summary) =>
    [...r.rows]
      .sort((a, b) => a.lossPercent - b.lossPercent)
      .map((row) => ({ x: row.lossPercent, y: f(row).mean, lo: f(row).min, hi: f(row).max }));
  const chart: XYChart = {
    kind: 'xy',
    title: `2 × 100 Mbit/s, 20 ms RTT, LIA; random loss on path 2's data direction`,
    x: { label: 'loss on path 2', unit: '%', min: 0 },
    y: { label: 'goodput', unit: 'Mbit/s', min: 0 },
    series: [
      { kind: 'line', name: 'connection', points: pts((x) => x.connectionMbps), color: '#000000' },
      { kind: 'line', name: 'subflow on path 1', points: pts((x) => x.path1Mbps) },
      { kind: 'line', name: 'subflow on path 2 (lossy)', points: pts((x) => x.path2Mbps) },
    ],
  };
  return renderFigure({
    title: `Goodput of each subflow with loss on one path (${r.setup.seconds} s, ${r.seeds.length} seed${r.seeds.length > 1 ? 's' : ''}; mean, min–max)`,
    panels: [chart],
    panelHeight: 420,
  });
}

export const loss: Experiment<LossResult> = {
  name: 'loss',
  title: 'Goodput of each subflow with 0–5 % loss on path 2',
  summary: 'MPTCP (LIA) over 2 × 100 Mbit/s with 0–5 % random loss on path 2',
  run,
  plot,
  checks,
};
