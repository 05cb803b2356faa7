/**
 * Compensating and Selective Compensation against the default as the RTT ratio of two subflows grows. An
 * MPTCP connection over two 10 Mbit/s paths (30 KB queues) sends one flow and signals its end in R1 (the
 * application wrote the whole flow at once, then set R1 = 1, as the register is meant to be used). Path 1
 * has a 10 ms RTT; path 2 has ratio × 10 ms. Measured: the flow's completion time (from the start to its last
 * byte delivered, handshake included) and the bytes sent as copies (data sent again after it was sent once:
 * the schedulers' compensation copies and the engine's own reinjections). Flow sizes 200 KB and 1 MB.
 *
 * Expected (issue 5): compensation keeps the completion time low — Compensating and Selective Compensation
 * complete no later than default at every ratio (within 2 %), and sooner on the mean over the ratios above 2;
 * selective compensation sends less redundant data than Compensating (it compensates only above ratio 2).
 */
import { renderFigure, type XYChart } from '../src/plot/index.ts';
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
import { runTrial } from './lib/trial.ts';
import { copiedBytes, link, schedulerField } from './sched-common.ts';

const SCHEDULERS = ['default', 'compensating', 'selective_compensation'] as const;
const RATIOS = [1, 2, 3, 4, 6, 8] as const;
const SIZES_KB = [200, 1000] as const;
const BASE_RTT_MS = 10;
const RATE_MBPS = 10;
const QUEUE = '30KB';
/** Within this factor of default counts as "no later". */
const TOLERANCE = 1.02;

interface Trial {
  scheduler: string;
  ratio: number;
  sizeKB: number;
  seed: number;
  completionMs: number;
  copiedKB: number;
  integrity: boolean;
}

interface Row {
  scheduler: string;
  ratio: number;
  sizeKB: number;
  completionMs: Summary;
  copiedKB: Summary;
}

export interface SchedCompensationResult extends ResultHeader {
  setup: {
    rateMbps: number;
    queue: string;
    path1RttMs: number;
    path2RttMs: string;
    endOfFlow: string;
    copies: string;
  };
  trials: Trial[];
  rows: Row[];
}

export function schedCompensationScenario(
  scheduler: string,
  ratio: number,
  sizeKB: number,
): Record<string, unknown> {
  return {
    name: `sched-compensation-${scheduler}-${ratio}-${sizeKB}KB`,
    until: '60s',
    sample: '1s',
    links: {
      l1: link(RATE_MBPS, BASE_RTT_MS / 2, QUEUE),
      l2: link(RATE_MBPS, (ratio * BASE_RTT_MS) / 2, QUEUE),
    },
    paths: { p1: ['l1'], p2: ['l2'] },
    flows: [
      {
        name: 'flow',
        protocol: 'mptcp',
        scheduler: schedulerField(scheduler),
        registers: { R1: 1 },
        workload: { bulk: `${sizeKB}KB` },
      },
    ],
  };
}

function run(opts: RunOptions): SchedCompensationResult {
  const seeds = seedsUpTo(opts.quick ? 1 : 5);
  const ratios = opts.quick ? [1, 4] : RATIOS;
  const sizes = opts.quick ? [200] : SIZES_KB;
  const trials: Trial[] = [];
  for (const sizeKB of sizes) {
    for (const ratio of ratios) {
      for (const scheduler of SCHEDULERS) {
        for (const seed of seeds) {
          const f = runTrial({ scenario: schedCompensationScenario(scheduler, ratio, sizeKB), seed })
            .flows[0]!;
          const trial: Trial = {
            scheduler,
            ratio,
            sizeKB,
            seed,
            completionMs: f.completionMs ?? Number.NaN,
            copiedKB: round(copiedBytes(f) / 1000),
            integrity: f.integrity && f.completed,
          };
          trials.push(trial);
          opts.log(
            `${sizeKB} KB, RTT ratio ${ratio}, ${scheduler}, seed ${seed}: ${trial.completionMs} ms, ${trial.copiedKB} KB copies`,
          );
        }
      }
    }
  }
  const rows: Row[] = [...groupBy(trials, (t) => `${t.sizeKB}/${t.ratio}/${t.scheduler}`).values()].map(
    (g) => ({
      scheduler: g[0]!.scheduler,
      ratio: g[0]!.ratio,
      sizeKB: g[0]!.sizeKB,
      completionMs: summarize(g.map((t) => t.completionMs)),
      copiedKB: summarize(g.map((t) => t.copiedKB)),
    }),
  );
  return finishResult<SchedCompensationResult>(schedCompensation, opts, seeds, checks, {
    setup: {
      rateMbps: RATE_MBPS,
      queue: QUEUE,
      path1RttMs: BASE_RTT_MS,
      path2RttMs: `ratio × ${BASE_RTT_MS}`,
      endOfFlow: 'R1 = 1 from the start (the whole flow is written at once)',
      copies:
        'bytes sent on a subflow after they were sent before on any (compensation copies and reinjections)',
    },
    trials,
    rows,
  });
}

function checks(r: SchedCompensationResult): Check[] {
  const cell = (s: string, ratio: number, kb: number) =>
    r.rows.find((x) => x.scheduler === s && x.ratio === ratio && x.sizeKB === kb)!;
  const base = r.rows.filter((x) => x.scheduler === 'default');
  const out: Check[] = [];
  for (const s of ['compensating', 'selective_compensation']) {
    const pairs = base.map((b) => ({ b, c: cell(s, b.ratio, b.sizeKB) }));
    const above2 = pairs.filter((p) => p.b.ratio > 2);
    const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / Math.max(1, xs.length);
    const cMean = mean(above2.map((p) => p.c.completionMs.mean));
    const bMean = mean(above2.map((p) => p.b.completionMs.mean));
    out.push({
      name: `${s} keeps the completion time low: no later than default (×${TOLERANCE}) at every ratio and size, sooner on the mean over ratios above 2`,
      pass:
        pairs.every((p) => p.c.completionMs.mean <= p.b.completionMs.mean * TOLERANCE) &&
        above2.length > 0 &&
        cMean < bMean,
      detail: `${pairs.map((p) => `${p.b.sizeKB} KB ratio ${p.b.ratio}: ${p.c.completionMs.mean} vs ${p.b.completionMs.mean} ms`).join('; ')}; mean over ratios > 2: ${round(cMean)} vs ${round(bMean)} ms`,
    });
  }
  const total = (s: string) =>
    r.rows.filter((x) => x.scheduler === s).reduce((a, x) => a + x.copiedKB.mean, 0);
  out.push({
    name: 'selective compensation sends less redundant data than Compensating (sum over ratios and sizes)',
    pass: total('selective_compensation') < total('compensating'),
    detail: `copies: selective ${round(total('selective_compensation'))} KB, compensating ${round(total('compensating'))} KB, default ${round(total('default'))} KB`,
  });
  out.push({
    name: 'every flow completed with its bytes intact',
    pass: r.trials.every((t) => t.integrity),
    detail: `${r.trials.filter((t) => !t.integrity).length} of ${r.trials.length} trials incomplete or corrupt`,
  });
  return out;
}

const LABEL: Record<string, string> = {
  default: 'default (minRTT)',
  compensating: 'Compensating',
  selective_compensation: 'Selective Compensation',
};

function plot(r: SchedCompensationResult): string {
  const sizes = [...new Set(r.rows.map((x) => x.sizeKB))];
  const series = (kb: number, f: (row: Row) => Summary) =>
    SCHEDULERS.map((s) => ({
      kind: 'line' as const,
      name: LABEL[s]!,
      points: r.rows
        .filter((x) => x.scheduler === s && x.sizeKB === kb)
        .sort((a, b) => a.ratio - b.ratio)
        .map((x) => ({ x: x.ratio, y: f(x).mean, lo: f(x).min, hi: f(x).max })),
    }));
  const panels: XYChart[] = [];
  for (const kb of sizes) {
    const size = kb >= 1000 ? `${kb / 1000} MB` : `${kb} KB`;
    panels.push({
      kind: 'xy',
      title: `${size} flow: completion time`,
      x: { label: 'RTT ratio (path 2 / path 1)', min: 0 },
      y: { label: 'completion time', unit: 'ms', min: 0 },
      series: series(kb, (x) => x.completionMs),
    });
    panels.push({
      kind: 'xy',
      title: `${size} flow: bytes sent as copies`,
      x: { label: 'RTT ratio (path 2 / path 1)', min: 0 },
      y: { label: 'copies', unit: 'KB', min: 0 },
      series: series(kb, (x) => x.copiedKB),
    });
  }
  return renderFigure({
    title: `Compensation against the RTT ratio: 2 × ${RATE_MBPS} Mbit/s, path 1 ${BASE_RTT_MS} ms RTT (${r.seeds.length} seed${r.seeds.length > 1 ? 's' : ''}; mean, min–max)`,
    panels,
    panelHeight: 300,
  });
}

export const schedCompensation: Experiment<SchedCompensationResult> = {
  name: 'sched-compensation',
  title: 'Compensating and Selective Compensation against the RTT ratio',
  summary: 'default, Compensating, Selective Compensation over 2 × 10 Mbit/s, path 2 RTT 1–8 × path 1',
  run,
  plot,
  checks,
};
