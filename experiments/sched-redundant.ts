/**
 * The redundant schedulers of the ProgMP paper against the default: flow completion time against flow size
 * over two lossy paths, in the paper's own setup (its published evaluation configuration,
 * redundant_flavors_fct): two paths of 50 Mbit/s with 50 ms one-way delay in each direction (100 ms RTT),
 * 1000-packet queues, 2 % random loss on every link direction (Mininet's netem on both ends of a link). The
 * sender writes requests of one size back to back on one connection; each completes when the receiver's
 * acknowledgement of its last byte arrives. The second subflow takes about three round trips to join (MP_JOIN's
 * handshake, then the ACK that establishes it), so the measured requests are the first 200 written after it
 * is up: every measured flow runs on two subflows (the paper measures from the first request). Schedulers:
 * the built-in default (minimum RTT) and the programs redundant, opportunistic_redundant and
 * redundant_if_no_q of schedulers/.
 *
 * The paper measured Linux hosts, so the hosts here run Linux's TCP behaviours as the engine's real drivers do
 * (LINUX_BEHAVIOURS: RACK-TLP, F-RTO, undo, HyStart, ssthresh from the window, PRR, idle decay; which of them the
 * paper's kernel version had is not stated), coalesce writes into full segments, and use the kernel's default
 * congestion control, CUBIC on each subflow, uncoupled (the paper's scripts set none).
 *
 * Expected (issue 5): the redundant family beats default for short flows (a copy on the other path hides a
 * loss that would cost a retransmission timeout or a recovery round trip); RedundantIfNoQ is best overall
 * (minimum RTT while data is queued, so it keeps the full capacity of both paths for long flows).
 *
 * "Short" is a flow that one subflow's window can carry in one round trip, so that a copy on the other path
 * costs no extra round: at loss rate p a window holds about √(3 / 2p) segments (the Mathis model; 8.7 at 2 %),
 * so flows up to 12 KB. This bound replaced one of 30 KB (two rounds of initial slow start, wrong for requests
 * that follow one another on a lossy connection) after the paper setup had been explored; experiments/README.md
 * gives both. "Overall" is the geometric mean over sizes of the mean completion time relative to default's.
 */

import { segmentPayload } from '../src/mptcp/config.ts';
import { type BarChart, renderFigure } from '../src/plot/index.ts';
import type { FlowEngine } from '../src/sim/flow.ts';
import { type FlowResult, quantile, round } from '../src/sim/result.ts';
import { DEFAULT_TCP_CONFIG, LINUX_BEHAVIOURS } from '../src/tcp/config.ts';
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
import { bytesSent, link, schedulerField } from './sched-common.ts';

const SCHEDULERS = ['default', 'redundant', 'opportunistic_redundant', 'redundant_if_no_q'] as const;
const SIZES_KB = [1, 5, 10, 30, 100, 200] as const;
const LOSS = 0.02;
const LINKS = { rateMbps: 50, delayMs: 50, queue: '1000pkt' };
/** Payload bytes of a full segment at the default MSS. */
const SEGMENT = segmentPayload(DEFAULT_TCP_CONFIG.mss);
/** Flows up to one loss-limited window, √(3 / 2p) segments (module comment). */
const SHORT_KB = Math.floor((Math.sqrt(3 / (2 * LOSS)) * SEGMENT) / 1000);
const CC = 'cubic';
/**
 * Completion-time buckets (ms) at the paper's 100 ms RTT: one round trip (< 115), one and a half (a segment
 * held for an ACK), two (a recovery round or a window too small), two and a half, three, then more (a timeout).
 */
const BUCKET_EDGES_MS = [115, 160, 215, 260, 330] as const;
/** Requests measured per connection (the paper's sample, with 20 seeds). */
const MEASURED = 200;
/** Requests written before the second subflow is up (about three round trips; none measured). */
const BEFORE_JOIN = 5;
const ENGINE: Record<string, FlowEngine> = {
  requests: { mptcp: { coalesceWrites: true, tcp: LINUX_BEHAVIOURS } },
};

interface Trial {
  scheduler: string;
  sizeKB: number;
  seed: number;
  /** Mean completion time of the measured requests (ms). */
  meanFctMs: number;
  /** Their distribution (ms): the tail is where a loss costs a retransmission timeout. */
  fctQuantilesMs: { p50: number; p90: number; p99: number; max: number };
  /** How many took about 1, 1.5, 2, 2.5 and 3 round trips, then more: the counts between BUCKET_EDGES_MS. */
  fctBuckets: number[];
  /** Bytes put on the wire per payload byte delivered (1 = no copies, no retransmissions). */
  sentPerDelivered: number;
  integrity: boolean;
}

interface Row {
  scheduler: string;
  sizeKB: number;
  /** Over seeds, of each seed's mean completion time. */
  fctMs: Summary;
  /** Mean completion time relative to default's at the same size (mean over seeds). */
  relativeToDefault: number;
  sentPerDelivered: Summary;
}

export interface SchedRedundantResult extends ResultHeader {
  setup: {
    links: typeof LINKS;
    loss: string;
    hosts: string;
    requestsPerConnection: number;
    measured: string;
    gap: string;
    shortFlowsKB: number;
    overall: string;
  };
  trials: Trial[];
  rows: Row[];
}

export function schedRedundantScenario(
  scheduler: string,
  sizeKB: number,
  count: number,
): Record<string, unknown> {
  const lossy = { loss: `${LOSS * 100}%` };
  return {
    name: `sched-redundant-${scheduler}-${sizeKB}KB`,
    // More than twice what the slowest trial needs (redundant at 200 KB: about 1.5 s per request).
    until: `${Math.max(600, Math.ceil(count * 3 * (0.1 + sizeKB / 200)))}s`,
    sample: '1s',
    links: {
      l1: link(LINKS.rateMbps, LINKS.delayMs, LINKS.queue, lossy),
      l2: link(LINKS.rateMbps, LINKS.delayMs, LINKS.queue, lossy),
    },
    paths: { p1: ['l1'], p2: ['l2'] },
    flows: [
      {
        name: 'requests',
        protocol: 'mptcp',
        cc: CC,
        scheduler: schedulerField(scheduler),
        workload: { requests: { sizes: [`${sizeKB}KB`], count } },
      },
    ],
  };
}

function run(opts: RunOptions): SchedRedundantResult {
  // The paper's sample: 200 requests with each of 20 seeds. The timeouts make the mean of short requests
  // noisy: an early sample of 10 seeds × 20 requests had a standard error of 10 % at 5 KB.
  const seeds = seedsUpTo(opts.quick ? 1 : 20);
  const measured = opts.quick ? 3 : MEASURED;
  const count = measured + BEFORE_JOIN;
  const sizes = opts.quick ? [10, 100] : SIZES_KB;
  const trials: Trial[] = [];
  for (const sizeKB of sizes) {
    for (const scheduler of SCHEDULERS) {
      for (const seed of seeds) {
        const r = runTrial({
          scenario: schedRedundantScenario(scheduler, sizeKB, count),
          seed,
          engine: ENGINE,
        });
        const f = r.flows[0]!;
        const joinedMs = secondSubflowUpMs(f);
        const fct = f.requests
          .filter((q) => q.startMs >= joinedMs)
          .slice(0, measured)
          .map((q) => q.fctMs ?? Number.NaN);
        const trial: Trial = {
          scheduler,
          sizeKB,
          seed,
          meanFctMs: round(fct.reduce((a, b) => a + b, 0) / Math.max(1, fct.length)),
          fctQuantilesMs: quantiles(fct),
          fctBuckets: buckets(fct),
          sentPerDelivered: round(bytesSent(f) / Math.max(1, f.bytesDelivered), 4),
          integrity: f.integrity && f.completed && fct.length === measured,
        };
        trials.push(trial);
        opts.log(
          `${sizeKB} KB, ${scheduler}, seed ${seed}: mean completion ${trial.meanFctMs} ms, ${trial.sentPerDelivered} bytes sent per byte delivered`,
        );
      }
    }
  }
  const groups = groupBy(trials, (t) => `${t.sizeKB}/${t.scheduler}`);
  const rows: Row[] = [...groups.values()].map((g) => ({
    scheduler: g[0]!.scheduler,
    sizeKB: g[0]!.sizeKB,
    fctMs: summarize(g.map((t) => t.meanFctMs)),
    relativeToDefault: 0,
    sentPerDelivered: summarize(
      g.map((t) => t.sentPerDelivered),
      4,
    ),
  }));
  for (const row of rows) {
    const base = rows.find((x) => x.sizeKB === row.sizeKB && x.scheduler === 'default')!;
    row.relativeToDefault = round(row.fctMs.mean / base.fctMs.mean, 4);
  }
  return finishResult<SchedRedundantResult>(schedRedundant, opts, seeds, checks, {
    setup: {
      links: LINKS,
      loss: `${LOSS * 100} % random loss on each direction of each link`,
      hosts: `${CC} on each subflow, Linux's TCP behaviours, writes coalesced`,
      requestsPerConnection: count,
      measured: `the first ${measured} requests written after the second subflow is up`,
      gap: 'none: each request is written when the previous one is acknowledged',
      shortFlowsKB: SHORT_KB,
      overall: "geometric mean over sizes of the mean completion time relative to default's",
    },
    trials,
    rows,
  });
}

/** When the client's second subflow was established (ms), or Infinity if it never was. */
function secondSubflowUpMs(f: FlowResult): number {
  const up = (f.events ?? []).filter((e) => e.side === 'client' && e.type === 'sub_established');
  return up.length >= 2 ? up[1]!.t * 1000 : Number.POSITIVE_INFINITY;
}

/** Nearest-rank quantiles of completion times (NaN, an unfinished request, sorts last). */
function quantiles(fct: readonly number[]): Trial['fctQuantilesMs'] {
  const sorted = fct.map((x) => (Number.isNaN(x) ? Number.POSITIVE_INFINITY : x)).sort((a, b) => a - b);
  const at = (p: number) => round(quantile(sorted, p));
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) };
}

/** Counts of completion times between the edges of BUCKET_EDGES_MS (NaN, an unfinished request, counts last). */
function buckets(fct: readonly number[]): number[] {
  const out = new Array<number>(BUCKET_EDGES_MS.length + 1).fill(0);
  for (const t of fct) {
    const i = BUCKET_EDGES_MS.findIndex((e) => t < e);
    out[i < 0 ? BUCKET_EDGES_MS.length : i]!++;
  }
  return out;
}

/** Geometric mean over sizes of a scheduler's completion time relative to default's. */
function overall(r: SchedRedundantResult, scheduler: string): number {
  const rel = r.rows.filter((x) => x.scheduler === scheduler).map((x) => x.relativeToDefault);
  return rel.length === 0 ? Number.NaN : Math.exp(rel.reduce((a, x) => a + Math.log(x), 0) / rel.length);
}

function checks(r: SchedRedundantResult): Check[] {
  const short = r.rows.filter((x) => x.sizeKB <= SHORT_KB && x.scheduler !== 'default');
  const overalls = SCHEDULERS.map((s) => ({ s, v: overall(r, s) }));
  const best = overalls.reduce((a, b) => (b.v < a.v ? b : a));
  const intact = r.trials.every((t) => t.integrity);
  return [
    {
      name: `the redundant family beats default for short flows (≤ ${SHORT_KB} KB): every one of them, at every such size`,
      pass: short.length > 0 && short.every((x) => x.relativeToDefault < 1),
      detail: short
        .map((x) => `${x.sizeKB} KB ${x.scheduler} ${x.fctMs.mean} ms (${x.relativeToDefault} × default)`)
        .join('; '),
    },
    {
      name: 'RedundantIfNoQ is best overall (lowest geometric mean of completion time relative to default)',
      pass: best.s === 'redundant_if_no_q',
      detail: overalls.map((o) => `${o.s} ${o.v.toFixed(3)}`).join(', '),
    },
    {
      name: 'every request completed with its bytes intact, and every trial measured its requests on two subflows',
      pass: intact,
      detail: `${r.trials.filter((t) => !t.integrity).length} of ${r.trials.length} trials incomplete, corrupt or short of measured requests`,
    },
  ];
}

const LABEL: Record<string, string> = {
  default: 'default (minRTT)',
  redundant: 'redundant',
  opportunistic_redundant: 'opportunistic redundant',
  redundant_if_no_q: 'RedundantIfNoQ',
};

function plot(r: SchedRedundantResult): string {
  const sizes = [...new Set(r.rows.map((x) => x.sizeKB))].sort((a, b) => a - b);
  const cell = (s: string, kb: number) => r.rows.find((x) => x.scheduler === s && x.sizeKB === kb);
  const relative: BarChart = {
    kind: 'bar',
    title: "mean completion time relative to default's (whiskers: min–max over seeds of each seed's mean)",
    categories: sizes.map((kb) => `${kb} KB`),
    xLabel: 'flow size',
    y: { label: 'completion time / default', min: 0 },
    groups: SCHEDULERS.map((s) => ({
      name: LABEL[s]!,
      values: sizes.map((kb) => {
        const row = cell(s, kb);
        const base = cell('default', kb);
        if (row === undefined || base === undefined) return null;
        return {
          y: row.relativeToDefault,
          lo: row.fctMs.min / base.fctMs.mean,
          hi: row.fctMs.max / base.fctMs.mean,
        };
      }),
    })),
    refLines: [{ y: 1, label: 'default' }],
  };
  const overhead: BarChart = {
    kind: 'bar',
    title: 'bytes on the wire per payload byte delivered',
    categories: relative.categories,
    xLabel: 'flow size',
    y: { label: 'bytes sent / delivered', min: 0 },
    groups: SCHEDULERS.map((s) => ({
      name: LABEL[s]!,
      values: sizes.map((kb) => {
        const row = cell(s, kb);
        return row === undefined
          ? null
          : { y: row.sentPerDelivered.mean, lo: row.sentPerDelivered.min, hi: row.sentPerDelivered.max };
      }),
    })),
  };
  return renderFigure({
    title: `Flow completion time against flow size, 2 × 50 Mbit/s (100 ms RTT), ${LOSS * 100} % loss (${r.seeds.length} seed${r.seeds.length > 1 ? 's' : ''})`,
    panels: [relative, overhead],
    panelHeight: 360,
  });
}

export const schedRedundant: Experiment<SchedRedundantResult> = {
  name: 'sched-redundant',
  title: 'Redundant schedulers: flow completion time against flow size with 2 % loss',
  summary:
    'default, redundant, opportunistic redundant, RedundantIfNoQ over 2 × 50 Mbit/s paths (100 ms RTT) with 2 % loss',
  run,
  plot,
  checks,
};
