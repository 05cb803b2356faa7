/**
 * Moving traffic away from a congested path: an MPTCP connection with one subflow on each of two disjoint
 * 100 Mbit/s paths (each behind a jittered access link, lib/variation.ts), where path 2 also carries 0, 1, 2
 * or 4 regular TCP Reno flows (started at seeded random times). Measured: the share of the
 * connection's traffic on path 1, its goodput, and what each competing TCP flow gets, for MPTCP with
 * uncoupled Reno subflows and with LIA, OLIA and BALIA (40 s after a 10 s warm-up, 5 seeds).
 *
 * Expected (RFC 6356 §2 goal 3): coupled MPTCP moves its traffic to the uncongested path 1, leaving path 2 to
 * the TCP flows, more so than uncoupled Reno subflows do (which take 1/(k+1) of path 2 with k TCP flows).
 */
import { type BarChart, renderFigure } from '../src/plot/index.ts';
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
import { ACCESS, startTimes } from './lib/variation.ts';

const CCS = ['reno', 'lia', 'olia', 'balia'] as const;
const COMPETITORS = [0, 1, 2, 4] as const;
const LINK = { rate: '100Mbps', delay: '10ms', queue: '250KB' };

interface Trial {
  cc: string;
  competitors: number;
  seed: number;
  /** MPTCP throughput on each path and its goodput (Mbit/s). */
  path1Mbps: number;
  path2Mbps: number;
  goodputMbps: number;
  /** Path 1's share of the connection's traffic. */
  path1Share: number;
  /** Mean goodput of one competing TCP flow (null without competitors). */
  tcpEachMbps: number | null;
  integrity: boolean;
}

interface Row {
  cc: string;
  competitors: number;
  path1Share: Summary;
  path1Mbps: Summary;
  path2Mbps: Summary;
  goodputMbps: Summary;
  tcpEachMbps: Summary | null;
}

export interface CongestedPathResult extends ResultHeader {
  setup: { links: typeof LINK; access: typeof ACCESS; seconds: number; measuredFrom: number };
  trials: Trial[];
  rows: Row[];
}

/** The scenario of one trial; the seed draws the flows' start times (within the first second). */
export function congestedPathScenario(
  cc: string,
  competitors: number,
  seconds: number,
  seed: number,
): Record<string, unknown> {
  const starts = startTimes(seed, competitors + 1);
  const flows: unknown[] = [
    {
      name: 'mptcp',
      protocol: 'mptcp',
      cc,
      paths: ['p1', 'p2'],
      start: starts[0],
      workload: { bulk: 'forever' },
    },
  ];
  for (let k = 1; k <= competitors; k++)
    flows.push({
      name: `tcp${k}`,
      protocol: 'tcp',
      cc: 'reno',
      paths: ['p2'],
      start: starts[k],
      workload: { bulk: 'forever' },
    });
  return {
    name: `congested-path-${cc}-${competitors}`,
    until: `${seconds}s`,
    sample: '1s',
    links: { a1: ACCESS, a2: ACCESS, l1: LINK, l2: LINK },
    paths: { p1: ['a1', 'l1'], p2: ['a2', 'l2'] },
    flows,
  };
}

function run(opts: RunOptions): CongestedPathResult {
  const seconds = opts.quick ? 2 : 50;
  const from = opts.quick ? 0.5 : 10;
  const seeds = seedsUpTo(opts.quick ? 1 : 5);
  const competitorCounts = opts.quick ? [0, 2] : COMPETITORS;
  const trials: Trial[] = [];
  const grid = competitorCounts.flatMap((competitors) =>
    CCS.flatMap((cc) => seeds.map((seed) => ({ competitors, cc, seed }))),
  );
  forEachTrial(
    grid,
    ({ cc, competitors, seed }) => ({
      scenario: congestedPathScenario(cc, competitors, seconds, seed),
      seed,
    }),
    ({ cc, competitors, seed }, r) => {
      const m = r.flows[0]!;
      const p1 = windowMean(m.timeline, from, seconds, 'p1');
      const p2 = windowMean(m.timeline, from, seconds, 'p2');
      const tcps = r.flows.slice(1);
      const trial: Trial = {
        cc,
        competitors,
        seed,
        path1Mbps: round(p1),
        path2Mbps: round(p2),
        goodputMbps: round(windowMean(m.timeline, from, seconds)),
        path1Share: round(p1 / (p1 + p2), 4),
        tcpEachMbps: tcps.length
          ? round(tcps.reduce((a, f) => a + windowMean(f.timeline, from, seconds), 0) / tcps.length)
          : null,
        integrity: r.flows.every((f) => f.integrity),
      };
      trials.push(trial);
      opts.log(
        `congested-path ${cc} with ${competitors} TCP on p2, seed ${seed}: p1 ${trial.path1Mbps}, p2 ${trial.path2Mbps} Mbit/s (p1 share ${trial.path1Share}), each TCP ${trial.tcpEachMbps ?? '-'}`,
      );
    },
  );
  const rows: Row[] = [];
  for (const g of groupBy(trials, (t) => `${t.cc}/${t.competitors}`).values()) {
    const tcp = g.flatMap((t) => (t.tcpEachMbps === null ? [] : [t.tcpEachMbps]));
    rows.push({
      cc: g[0]!.cc,
      competitors: g[0]!.competitors,
      path1Share: summarize(
        g.map((t) => t.path1Share),
        4,
      ),
      path1Mbps: summarize(g.map((t) => t.path1Mbps)),
      path2Mbps: summarize(g.map((t) => t.path2Mbps)),
      goodputMbps: summarize(g.map((t) => t.goodputMbps)),
      tcpEachMbps: tcp.length ? summarize(tcp) : null,
    });
  }
  return finishResult<CongestedPathResult>(congestedPath, opts, seeds, checks, {
    setup: { links: LINK, access: ACCESS, seconds, measuredFrom: from },
    trials,
    rows,
  });
}

const rowsOf = (r: CongestedPathResult, cc: string): Row[] =>
  r.rows.filter((x) => x.cc === cc).sort((a, b) => a.competitors - b.competitors);

function checks(r: CongestedPathResult): Check[] {
  const lia = rowsOf(r, 'lia');
  const reno = rowsOf(r, 'reno');
  const congested = lia.filter((x) => x.competitors > 0);
  const idle = lia.find((x) => x.competitors === 0);
  const out: Check[] = [
    {
      name: 'lia: with TCP flows on path 2, most of the traffic is on path 1 (share > 0.5, above the uncongested case)',
      pass:
        congested.length > 0 &&
        idle !== undefined &&
        congested.every((x) => x.path1Share.mean > 0.5 && x.path1Share.mean > idle.path1Share.mean),
      detail: lia.map((x) => `${x.competitors} TCP: ${x.path1Share.mean}`).join(', '),
    },
    {
      name: 'lia moves more traffic to path 1 than uncoupled Reno subflows',
      pass: congested.every(
        (x) => x.path1Share.mean > (reno.find((y) => y.competitors === x.competitors)?.path1Share.mean ?? 1),
      ),
      detail: congested
        .map(
          (x) =>
            `${x.competitors} TCP: lia ${x.path1Share.mean} vs reno ${reno.find((y) => y.competitors === x.competitors)?.path1Share.mean}`,
        )
        .join(', '),
    },
  ];
  return out;
}

function plot(r: CongestedPathResult): string {
  const counts = [...new Set(r.rows.map((x) => x.competitors))].sort((a, b) => a - b);
  const categories = counts.map((k) => `${k} TCP flow${k === 1 ? '' : 's'}`);
  const label = (cc: string) => (cc === 'reno' ? 'MPTCP, Reno subflows' : `MPTCP, ${cc.toUpperCase()}`);
  const pick = (cc: string, k: number, f: (row: Row) => Summary | null, scale = 1) => {
    const s = f(r.rows.find((x) => x.cc === cc && x.competitors === k)!);
    return s === null ? null : { y: s.mean * scale, lo: s.min * scale, hi: s.max * scale };
  };
  const share: BarChart = {
    kind: 'bar',
    title: "Share of the MPTCP connection's traffic on the uncongested path 1",
    categories,
    xLabel: 'regular TCP Reno flows competing on path 2',
    y: { label: 'traffic on path 1', unit: '%', min: 0, max: 100 },
    groups: CCS.map((cc) => ({
      name: label(cc),
      values: counts.map((k) => pick(cc, k, (x) => x.path1Share, 100)),
    })),
    refLines: [{ y: 50, label: 'half' }],
  };
  const tcp: BarChart = {
    kind: 'bar',
    title: 'Goodput of each competing TCP flow on path 2',
    categories: categories.slice(counts[0] === 0 ? 1 : 0),
    xLabel: 'regular TCP Reno flows competing on path 2',
    y: { label: 'goodput per TCP flow', unit: 'Mbit/s', min: 0 },
    groups: CCS.map((cc) => ({
      name: label(cc),
      values: counts.filter((k) => k > 0).map((k) => pick(cc, k, (x) => x.tcpEachMbps)),
    })),
  };
  return renderFigure({
    title: `Two disjoint 100 Mbit/s paths, path 2 shared with TCP flows (${r.setup.seconds} s, ${r.seeds.length} seed${r.seeds.length > 1 ? 's' : ''}; mean, min–max)`,
    panels: [share, tcp],
  });
}

export const congestedPath: Experiment<CongestedPathResult> = {
  name: 'congested-path',
  title: 'Coupled congestion control moves traffic away from a congested path',
  summary: 'MPTCP over two disjoint 100 Mbit/s paths, path 2 shared with 0–4 TCP Reno flows',
  run,
  plot,
  checks,
};
