/**
 * Fairness on a shared bottleneck: one regular TCP Reno flow and one MPTCP connection with 1, 2 or 3 subflows
 * through the same 100 Mbit/s bottleneck (each subflow from its own client address over its own access link,
 * with a little jitter and seeded start times so that seeds differ: lib/variation.ts),
 * MPTCP with uncoupled Reno subflows and with LIA, OLIA and BALIA. Each side's goodput is averaged over the
 * run (10 minutes of simulated time after a short warm-up, 5 seeds).
 *
 * Expected (RFC 6356 §2 goals 1–2): coupled MPTCP takes about what the TCP flow takes whatever its number of
 * subflows; uncoupled Reno subflows take about n/(n+1) of the bottleneck.
 */

import { type BarChart, renderFigure } from '../src/plot/index.ts';
import { jainIndex, round } from '../src/sim/result.ts';
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
import { ACCESS, startTimes } from './lib/variation.ts';

const CCS = ['reno', 'lia', 'olia', 'balia'] as const;
const COUPLED = ['lia', 'olia', 'balia'] as const;
const SUBFLOWS = [1, 2, 3] as const;
const SUBFLOW_PATHS = ['p1', 'p2', 'p3'];
const BOTTLENECK = { rate: '100Mbps', delay: '10ms', queue: '250KB' };

interface Trial {
  cc: string;
  subflows: number;
  seed: number;
  mptcpMbps: number;
  tcpMbps: number;
  /** MPTCP's share of the two flows' goodput. */
  share: number;
  jain: number;
  perSubflowMbps: number[];
  integrity: boolean;
}

interface Row {
  cc: string;
  subflows: number;
  mptcpMbps: Summary;
  tcpMbps: Summary;
  share: Summary;
  jain: Summary;
  /** MPTCP goodput over TCP goodput. */
  ratio: Summary;
}

export interface FairnessResult extends ResultHeader {
  setup: {
    bottleneck: typeof BOTTLENECK;
    accessLinks: string;
    seconds: number;
    measuredFrom: number;
  };
  trials: Trial[];
  rows: Row[];
}

/** The scenario of one trial; the seed draws the two flows' start times (within the first second). */
export function fairnessScenario(
  cc: string,
  subflows: number,
  seconds: number,
  seed: number,
): Record<string, unknown> {
  const [tcpStart, mptcpStart] = startTimes(seed, 2);
  const links: Record<string, unknown> = { bn: BOTTLENECK, a0: ACCESS };
  const paths: Record<string, string[]> = { t: ['a0', 'bn'] };
  const mptcpPaths: string[] = [];
  for (let k = 1; k <= subflows; k++) {
    links[`a${k}`] = ACCESS;
    paths[`p${k}`] = [`a${k}`, 'bn'];
    mptcpPaths.push(`p${k}`);
  }
  return {
    name: `fairness-${cc}-${subflows}`,
    until: `${seconds}s`,
    sample: '1s',
    links,
    paths,
    flows: [
      {
        name: 'tcp',
        protocol: 'tcp',
        cc: 'reno',
        paths: ['t'],
        start: tcpStart,
        workload: { bulk: 'forever' },
      },
      {
        name: 'mptcp',
        protocol: 'mptcp',
        cc,
        paths: mptcpPaths,
        start: mptcpStart,
        workload: { bulk: 'forever' },
      },
    ],
  };
}

function run(opts: RunOptions): FairnessResult {
  const seconds = opts.quick ? 2 : 600;
  const from = opts.quick ? 0.5 : 10;
  const seeds = seedsUpTo(opts.quick ? 1 : 5);
  const trials: Trial[] = [];
  const grid = SUBFLOWS.flatMap((subflows) =>
    CCS.flatMap((cc) => seeds.map((seed) => ({ subflows, cc, seed }))),
  );
  forEachTrial(
    grid,
    ({ cc, subflows, seed }) => ({ scenario: fairnessScenario(cc, subflows, seconds, seed), seed }),
    ({ cc, subflows, seed }, r) => {
      const [tcp, mptcp] = [r.flows[0]!, r.flows[1]!];
      const t = windowMean(tcp.timeline, from, seconds);
      const m = windowMean(mptcp.timeline, from, seconds);
      const trial: Trial = {
        cc,
        subflows,
        seed,
        mptcpMbps: round(m),
        tcpMbps: round(t),
        share: round(m / (m + t), 4),
        jain: round(jainIndex([m, t]), 4),
        perSubflowMbps: SUBFLOW_PATHS.slice(0, subflows).map((p) =>
          round(windowMean(mptcp.timeline, from, seconds, p)),
        ),
        integrity: tcp.integrity && mptcp.integrity,
      };
      trials.push(trial);
      opts.log(
        `fairness ${cc} ×${subflows} seed ${seed}: MPTCP ${trial.mptcpMbps} Mbit/s, TCP ${trial.tcpMbps} Mbit/s, share ${trial.share}, Jain ${trial.jain}`,
      );
    },
  );
  const rows: Row[] = [];
  for (const group of groupBy(trials, (t) => `${t.cc}/${t.subflows}`).values()) {
    rows.push({
      cc: group[0]!.cc,
      subflows: group[0]!.subflows,
      mptcpMbps: summarize(group.map((t) => t.mptcpMbps)),
      tcpMbps: summarize(group.map((t) => t.tcpMbps)),
      share: summarize(
        group.map((t) => t.share),
        4,
      ),
      jain: summarize(
        group.map((t) => t.jain),
        4,
      ),
      ratio: summarize(
        group.map((t) => t.mptcpMbps / t.tcpMbps),
        4,
      ),
    });
  }
  return finishResult<FairnessResult>(fairness, opts, seeds, checks, {
    setup: {
      bottleneck: BOTTLENECK,
      accessLinks:
        '1 Gbit/s, 1 ms ± 0.5 ms uniform jitter, one per flow and subflow; flows start at seeded random times in the first second',
      seconds,
      measuredFrom: from,
    },
    trials,
    rows,
  });
}

function rowOf(r: FairnessResult, cc: string, n: number): Row {
  const row = r.rows.find((x) => x.cc === cc && x.subflows === n);
  if (!row) throw new RangeError(`no fairness row for ${cc} with ${n} subflows`);
  return row;
}

function checks(r: FairnessResult): Check[] {
  const out: Check[] = [];
  for (const cc of COUPLED) {
    const rows = SUBFLOWS.map((n) => rowOf(r, cc, n));
    out.push({
      name: `${cc}: Jain index ≥ 0.95 with 1, 2 and 3 subflows (every seed)`,
      pass: rows.every((x) => x.jain.min >= 0.95),
      detail: rows.map((x) => `${x.subflows}: ${x.jain.mean} (min ${x.jain.min})`).join(', '),
    });
    out.push({
      name: `${cc}: MPTCP goodput within 10 % of the TCP flow's (mean over seeds)`,
      pass: rows.every((x) => Math.abs(x.ratio.mean - 1) <= 0.1),
      detail: rows.map((x) => `${x.subflows}: ×${x.ratio.mean}`).join(', '),
    });
  }
  const reno = SUBFLOWS.map((n) => rowOf(r, 'reno', n));
  out.push({
    name: 'reno: the share grows with the subflows, about 2/3 with 2 and 3/4 with 3 (±0.05)',
    pass:
      reno[0]!.share.mean < reno[1]!.share.mean &&
      reno[1]!.share.mean < reno[2]!.share.mean &&
      Math.abs(reno[1]!.share.mean - 2 / 3) <= 0.05 &&
      Math.abs(reno[2]!.share.mean - 3 / 4) <= 0.05,
    detail: reno.map((x) => `${x.subflows}: ${x.share.mean}`).join(', '),
  });
  return out;
}

function plot(r: FairnessResult): string {
  const categories = SUBFLOWS.map((n) => `${n} subflow${n > 1 ? 's' : ''}`);
  const groups = (pick: (row: Row) => Summary, scale: number) =>
    CCS.map((cc) => ({
      name: cc === 'reno' ? 'MPTCP, Reno subflows' : `MPTCP, ${cc.toUpperCase()}`,
      values: SUBFLOWS.map((n) => {
        const s = pick(rowOf(r, cc, n));
        return { y: s.mean * scale, lo: s.min * scale, hi: s.max * scale };
      }),
    }));
  const share: BarChart = {
    kind: 'bar',
    title: 'MPTCP share of the bottleneck goodput (TCP Reno flow: the rest)',
    categories,
    xLabel: 'subflows of the MPTCP connection',
    y: { label: 'MPTCP share', unit: '%', min: 0, max: 100 },
    groups: groups((row) => row.share, 100),
    refLines: [
      { y: 50, label: 'equal share' },
      { y: 200 / 3, label: '2/3' },
      { y: 75, label: '3/4' },
    ],
  };
  const jain: BarChart = {
    kind: 'bar',
    title: "Jain's fairness index of the two flows",
    categories,
    xLabel: 'subflows of the MPTCP connection',
    y: { label: 'Jain index', min: 0.5, max: 1 },
    groups: groups((row) => row.jain, 1),
    refLines: [{ y: 0.95, label: '0.95' }],
  };
  return renderFigure({
    title: `Fairness on a shared 100 Mbit/s bottleneck (${r.setup.seconds} s, ${r.seeds.length} seed${r.seeds.length > 1 ? 's' : ''}; bars: mean, whiskers: min–max)`,
    panels: [share, jain],
  });
}

export const fairness: Experiment<FairnessResult> = {
  name: 'fairness',
  title: 'Fairness of MPTCP against a TCP Reno flow on a shared bottleneck',
  summary: 'TCP Reno vs MPTCP with 1–3 subflows (Reno, LIA, OLIA, BALIA) through one 100 Mbit/s bottleneck',
  run,
  plot,
  checks,
};
