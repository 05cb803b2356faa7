/**
 * TAP (throughput- and preference-aware) against the default, with and without backup mode. An MPTCP
 * connection over a preferred path (10 ms RTT) and a second path (40 ms RTT), both 25 Mbit/s (about 3.0 MB/s
 * of payload each, 100 KB queues) carries a stream written in 100 KB chunks: 1 MB/s, rising to 4 MB/s at 6 s,
 * for 12 s. So the preferred path alone carries the first phase, and at most ~3 MB/s of the second.
 *
 * - tap: schedulers/tap.progmp, path 2 a backup subflow; the application keeps its target rate in R1 (kB/s):
 *   1000, then 4000 at 6 s (a timed setRegister).
 * - default: the built-in minimum-RTT scheduler, both subflows active.
 * - backup mode: the built-in default with path 2 a backup subflow.
 *
 * Measured over 1–6 s (phase 1) and 8–12 s (phase 2, after the change settled): goodput and each path's
 * throughput.
 *
 * Expected (issue 5): the backup carries only the share the preferred subflow cannot (TAP: none in phase 1;
 * in phase 2 the preferred path runs near its capacity and the backup carries the rest, with the stream's
 * 4 MB/s delivered), where default spreads data on both (a 100 KB chunk overflows the fast path's window, so
 * default puts part of it on path 2 even in phase 1) and plain backup mode falls short of 4 MB/s.
 */
import { renderFigure, type XYChart } from '../src/plot/index.ts';
import { round, type TimelinePoint } from '../src/sim/result.ts';
import {
  type Check,
  type Experiment,
  finishResult,
  type ResultHeader,
  type RunOptions,
  seedsUpTo,
} from './lib/experiment.ts';
import { groupBy, type Summary, summarize } from './lib/stats.ts';
import { payloadCapacity, runTrial, windowMean } from './lib/trial.ts';
import { link, schedulerField } from './sched-common.ts';

const CONFIGS = ['tap', 'default', 'backup mode'] as const;
type Config = (typeof CONFIGS)[number];
const RATE_MBPS = 25;
const QUEUE = '100KB';
const PREFERRED_DELAY_MS = 5;
const SECOND_DELAY_MS = 20;
const CHUNK = '100KB';
const LOW_MBPS = 8;
const HIGH_MBPS = 32;
/** Payload capacity of one path with the 1448-byte MSS of plain TCP with timestamps in 1500-byte packets. */
const CAPACITY_MBPS = round(payloadCapacity(RATE_MBPS, 1448, 1500));

interface Phases {
  seconds: number;
  riseAt: number;
  phase1: [number, number];
  phase2: [number, number];
}

const FULL: Phases = { seconds: 12, riseAt: 6, phase1: [1, 6], phase2: [8, 12] };
const QUICK: Phases = { seconds: 3, riseAt: 1.5, phase1: [0.5, 1.5], phase2: [2.5, 3] };

interface Trial {
  config: Config;
  seed: number;
  /** Mbit/s over each phase: goodput, preferred path (p1), second path (p2). */
  phase1: { goodput: number; p1: number; p2: number };
  phase2: { goodput: number; p1: number; p2: number };
  integrity: boolean;
  timeline: TimelinePoint[];
}

interface Row {
  config: Config;
  phase1: { goodput: Summary; p1: Summary; p2: Summary };
  phase2: { goodput: Summary; p1: Summary; p2: Summary };
}

export interface SchedTapResult extends ResultHeader {
  setup: {
    rateMbps: number;
    payloadCapacityMbps: number;
    queue: string;
    rttMs: { preferred: number; second: number };
    stream: string;
    phases: Phases;
  };
  trials: Trial[];
  rows: Row[];
}

export function schedTapScenario(config: Config, p: Phases): Record<string, unknown> {
  const tap = config === 'tap';
  return {
    name: `sched-tap-${config.replace(' ', '-')}`,
    until: `${p.seconds}s`,
    sample: '500ms',
    links: {
      l1: link(RATE_MBPS, PREFERRED_DELAY_MS, QUEUE),
      l2: link(RATE_MBPS, SECOND_DELAY_MS, QUEUE),
    },
    paths: { p1: ['l1'], p2: ['l2'] },
    flows: [
      {
        name: 'stream',
        protocol: 'mptcp',
        scheduler: schedulerField(tap ? 'tap' : 'default'),
        backup: config === 'default' ? [] : ['p2'],
        ...(tap
          ? {
              registers: { R1: (LOW_MBPS / 8) * 1000 },
              actions: [
                { at: `${p.riseAt}s`, call: 'setRegister', register: 'R1', value: (HIGH_MBPS / 8) * 1000 },
              ],
            }
          : {}),
        workload: {
          stream: {
            rate: `${LOW_MBPS}Mbps`,
            chunk: CHUNK,
            changes: [{ at: `${p.riseAt}s`, rate: `${HIGH_MBPS}Mbps` }],
          },
        },
      },
    ],
  };
}

function run(opts: RunOptions): SchedTapResult {
  const seeds = seedsUpTo(opts.quick ? 1 : 5);
  const p = opts.quick ? QUICK : FULL;
  const trials: Trial[] = [];
  for (const config of CONFIGS) {
    for (const seed of seeds) {
      const f = runTrial({ scenario: schedTapScenario(config, p), seed }).flows[0]!;
      const phase = ([from, to]: [number, number]) => ({
        goodput: round(windowMean(f.timeline, from, to)),
        p1: round(windowMean(f.timeline, from, to, 'p1')),
        p2: round(windowMean(f.timeline, from, to, 'p2')),
      });
      const trial: Trial = {
        config,
        seed,
        phase1: phase(p.phase1),
        phase2: phase(p.phase2),
        integrity: f.integrity,
        timeline: f.timeline,
      };
      trials.push(trial);
      opts.log(
        `${config}, seed ${seed}: phase 1 goodput ${trial.phase1.goodput} (p2 ${trial.phase1.p2}), phase 2 goodput ${trial.phase2.goodput} (p1 ${trial.phase2.p1}, p2 ${trial.phase2.p2}) Mbit/s`,
      );
    }
  }
  const rows: Row[] = [...groupBy(trials, (t) => t.config).values()].map((g) => {
    const s = (f: (t: Trial) => number) => summarize(g.map(f));
    return {
      config: g[0]!.config,
      phase1: { goodput: s((t) => t.phase1.goodput), p1: s((t) => t.phase1.p1), p2: s((t) => t.phase1.p2) },
      phase2: { goodput: s((t) => t.phase2.goodput), p1: s((t) => t.phase2.p1), p2: s((t) => t.phase2.p2) },
    };
  });
  return finishResult<SchedTapResult>(schedTap, opts, seeds, checks, {
    setup: {
      rateMbps: RATE_MBPS,
      payloadCapacityMbps: CAPACITY_MBPS,
      queue: QUEUE,
      rttMs: { preferred: 2 * PREFERRED_DELAY_MS, second: 2 * SECOND_DELAY_MS },
      stream: `${CHUNK} chunks, ${LOW_MBPS} Mbit/s (1 MB/s), ${HIGH_MBPS} Mbit/s (4 MB/s) from ${p.riseAt} s`,
      phases: p,
    },
    trials,
    rows,
  });
}

function checks(r: SchedTapResult): Check[] {
  const row = (c: Config) => r.rows.find((x) => x.config === c)!;
  const tap = row('tap');
  const def = row('default');
  const bk = row('backup mode');
  const share1 = (x: Row) => x.phase1.p2.mean / Math.max(1e-9, x.phase1.p1.mean + x.phase1.p2.mean);
  const excess = HIGH_MBPS - tap.phase2.p1.mean;
  return [
    {
      name: 'TAP: the backup carries nothing while the preferred subflow can carry the stream (phase 1: < 2 % of the traffic)',
      pass: share1(tap) < 0.02,
      detail: `phase 1: preferred ${tap.phase1.p1.mean}, backup ${tap.phase1.p2.mean} Mbit/s (${(100 * share1(tap)).toFixed(1)} %)`,
    },
    {
      name: 'TAP: at 4 MB/s the preferred subflow runs near its capacity (≥ 90 %), the backup carries the rest (≤ 1.25 × the excess) and the stream is delivered (goodput ≥ 95 % of 32 Mbit/s)',
      pass:
        tap.phase2.p1.mean >= 0.9 * r.setup.payloadCapacityMbps &&
        tap.phase2.p2.mean <= 1.25 * excess &&
        tap.phase2.goodput.mean >= 0.95 * HIGH_MBPS,
      detail: `phase 2: preferred ${tap.phase2.p1.mean} of ${r.setup.payloadCapacityMbps} Mbit/s capacity, backup ${tap.phase2.p2.mean} (excess ${round(excess)}), goodput ${tap.phase2.goodput.mean} Mbit/s`,
    },
    {
      name: 'default spreads data on both subflows (phase 1: path 2 carries ≥ 10 % although the preferred path could carry it all)',
      pass: share1(def) >= 0.1,
      detail: `default phase 1: p1 ${def.phase1.p1.mean}, p2 ${def.phase1.p2.mean} Mbit/s (${(100 * share1(def)).toFixed(1)} %); phase 2: p1 ${def.phase2.p1.mean}, p2 ${def.phase2.p2.mean}`,
    },
    {
      name: 'plain backup mode falls short of 4 MB/s (phase 2 goodput < 90 % of 32 Mbit/s)',
      pass: bk.phase2.goodput.mean < 0.9 * HIGH_MBPS,
      detail: `backup mode phase 2: goodput ${bk.phase2.goodput.mean} Mbit/s (p1 ${bk.phase2.p1.mean}, p2 ${bk.phase2.p2.mean})`,
    },
    {
      name: 'every delivered byte intact',
      pass: r.trials.every((t) => t.integrity),
      detail: `${r.trials.filter((t) => !t.integrity).length} of ${r.trials.length} trials corrupt`,
    },
  ];
}

function plot(r: SchedTapResult): string {
  const panels: XYChart[] = CONFIGS.map((c) => {
    const t = r.trials.find((x) => x.config === c && x.seed === r.seeds[0])!;
    const pts = (f: (p: TimelinePoint) => number) => t.timeline.map((p) => ({ x: p.t, y: f(p) }));
    return {
      kind: 'xy',
      title: `${c} (seed ${t.seed})`,
      x: { label: 'time', unit: 's', min: 0, max: r.setup.phases.seconds },
      y: { label: 'throughput', unit: 'Mbit/s', min: 0 },
      series: [
        {
          kind: 'line',
          name: 'goodput',
          points: pts((p) => p.goodputMbps),
          color: '#000000',
          markers: false,
        },
        {
          kind: 'line',
          name: 'preferred path (10 ms)',
          points: pts((p) => p.perPathMbps.p1 ?? 0),
          markers: false,
        },
        { kind: 'line', name: 'path 2 (40 ms)', points: pts((p) => p.perPathMbps.p2 ?? 0), markers: false },
      ],
      refLines: [
        { y: LOW_MBPS, label: '1 MB/s' },
        { y: HIGH_MBPS, label: '4 MB/s' },
        { y: r.setup.payloadCapacityMbps, label: 'one path' },
      ],
    };
  });
  return renderFigure({
    title: `TAP: a 1 → 4 MB/s stream over a 10 ms preferred and a 40 ms second path, 2 × ${RATE_MBPS} Mbit/s`,
    panels,
    panelHeight: 260,
  });
}

export const schedTap: Experiment<SchedTapResult> = {
  name: 'sched-tap',
  title: 'TAP: a stream rising from 1 to 4 MB/s over a preferred and a backup subflow',
  summary: 'TAP, default and backup mode; 1 → 4 MB/s stream over 10 ms + 40 ms paths of 25 Mbit/s',
  run,
  plot,
  checks,
};
