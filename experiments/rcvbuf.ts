/**
 * The receive-buffer experiment of "Multipath TCP in the Linux kernel" (Barré, Paasch, Bonaventure): an MPTCP
 * connection (LIA) over two 100 Mbit/s paths with 10 ms RTT, the second path with 0, 10, 100 or 500 ms of
 * extra delay on its data direction, and a maximum receive buffer from 2 to 16 MB. Goodput is plotted against
 * the buffer, beside a single TCP connection over path 1 with the same buffer (the reference).
 *
 * The connection-level receive window grows toward 2 · ΣBW · RTTmax (the paper's rule, src/mptcp), so the
 * buffer a connection needs grows with the slowest path's RTT: with equal delays 2 MB fill both links, a
 * 100 ms difference costs a little, 500 ms costs much (the paper's Figure). The send buffer is set large
 * (64 MB) so only the receive buffer limits.
 */
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
import { forEachTrial, payloadCapacity, windowMean } from './lib/trial.ts';

const EXTRA_DELAYS_MS = [0, 10, 100, 500] as const;
const BUFFERS_MB = [2, 3, 4, 6, 8, 12, 16] as const;
/**
 * A little jitter so that seeds differ (a lone flow on a lossless link is otherwise deterministic). Queues hold
 * 1000 packets, Linux's default (txqueuelen, and netem's limit on a delay-shaped link), as on a testbed of Linux
 * hosts: a shorter queue is a fraction of path 2's BDP once it has 100 ms more delay (250 packets were a
 * quarter), and the sawtooth of its subflow, not the receive buffer, then capped the goodput.
 */
const LINK = { rate: '100Mbps', delay: '5ms', jitter: '200us', queue: '1000pkt' };
const SEND_BUFFER = 64 * 1024 * 1024;
/** Buffers are in MiB (2^20 bytes), as Linux's tcp_rmem figures in the paper. */
const MB = 1024 * 1024;

interface Trial {
  /** "mptcp" with `extraDelayMs` on path 2, or "tcp" over path 1 alone. */
  kind: 'mptcp' | 'tcp';
  extraDelayMs: number | null;
  bufferMB: number;
  seed: number;
  goodputMbps: number;
  path1Mbps: number;
  path2Mbps: number | null;
  integrity: boolean;
}

interface Row {
  kind: 'mptcp' | 'tcp';
  extraDelayMs: number | null;
  bufferMB: number;
  goodputMbps: Summary;
}

export interface RcvbufResult extends ResultHeader {
  setup: {
    links: typeof LINK;
    extraDelayOn: string;
    sendBufferBytes: number;
    cc: string;
    seconds: number;
    measuredFrom: number;
    /** Payload capacity of the two links together (1448-byte MSS payloads less the DSS option). */
    capacityMbps: number;
  };
  trials: Trial[];
  rows: Row[];
}

export function rcvbufScenario(extraDelayMs: number | null, seconds: number): Record<string, unknown> {
  const mptcp = extraDelayMs !== null;
  return {
    name: mptcp ? `rcvbuf-mptcp-${extraDelayMs}ms` : 'rcvbuf-tcp',
    until: `${seconds}s`,
    sample: '500ms',
    links: {
      l1: LINK,
      l2: { ...LINK, directions: { up: { delay: `${5 + (extraDelayMs ?? 0)}ms` } } },
    },
    paths: { p1: ['l1'], p2: ['l2'] },
    flows: [
      mptcp
        ? { name: 'main', protocol: 'mptcp', cc: 'lia', paths: ['p1', 'p2'], workload: { bulk: 'forever' } }
        : { name: 'main', protocol: 'tcp', cc: 'reno', paths: ['p1'], workload: { bulk: 'forever' } },
    ],
  };
}

/** The engine settings the scenario format has no field for yet: buffers in bytes. */
export function rcvbufEngine(mptcp: boolean, bufferBytes: number): Record<string, FlowEngine> {
  return mptcp
    ? { main: { mptcp: { rcvBufMax: bufferBytes, sndBuf: SEND_BUFFER } } }
    : { main: { tcp: { rcvBufMax: bufferBytes, sndBuf: SEND_BUFFER } } };
}

function run(opts: RunOptions): RcvbufResult {
  const seconds = opts.quick ? 2 : 40;
  const from = opts.quick ? 0.5 : 10;
  const seeds = seedsUpTo(opts.quick ? 1 : 3);
  const buffers = opts.quick ? [2, 16] : BUFFERS_MB;
  const trials: Trial[] = [];
  const delays = opts.quick ? [0, 500] : EXTRA_DELAYS_MS;
  const grid = [...delays, null].flatMap((extra) =>
    buffers.flatMap((bufferMB) => seeds.map((seed) => ({ extra, bufferMB, seed }))),
  );
  forEachTrial(
    grid,
    ({ extra, bufferMB, seed }) => ({
      scenario: rcvbufScenario(extra, seconds),
      seed,
      engine: rcvbufEngine(extra !== null, bufferMB * MB),
    }),
    ({ extra, bufferMB, seed }, r) => {
      const f = r.flows[0]!;
      const trial: Trial = {
        kind: extra === null ? 'tcp' : 'mptcp',
        extraDelayMs: extra,
        bufferMB,
        seed,
        goodputMbps: round(windowMean(f.timeline, from, seconds)),
        path1Mbps: round(windowMean(f.timeline, from, seconds, 'p1')),
        path2Mbps: extra === null ? null : round(windowMean(f.timeline, from, seconds, 'p2')),
        integrity: f.integrity,
      };
      trials.push(trial);
      opts.log(
        `rcvbuf ${extra === null ? 'TCP on path 1' : `MPTCP, +${extra} ms on path 2`}, ${bufferMB} MB, seed ${seed}: ${trial.goodputMbps} Mbit/s (p1 ${trial.path1Mbps}, p2 ${trial.path2Mbps ?? '-'})`,
      );
    },
  );
  const rows: Row[] = [...groupBy(trials, (t) => `${t.kind}/${t.extraDelayMs}/${t.bufferMB}`).values()].map(
    (g) => ({
      kind: g[0]!.kind,
      extraDelayMs: g[0]!.extraDelayMs,
      bufferMB: g[0]!.bufferMB,
      goodputMbps: summarize(g.map((t) => t.goodputMbps)),
    }),
  );
  return finishResult<RcvbufResult>(rcvbuf, opts, seeds, checks, {
    setup: {
      links: LINK,
      extraDelayOn: 'path 2, data (client to server) direction',
      sendBufferBytes: SEND_BUFFER,
      cc: 'lia (MPTCP), reno (TCP)',
      seconds,
      measuredFrom: from,
      capacityMbps: round(2 * payloadCapacity(100, 1448 - 28, 1500), 1),
    },
    trials,
    rows,
  });
}

const curve = (r: RcvbufResult, extra: number | null): Row[] =>
  r.rows
    .filter((x) => (extra === null ? x.kind === 'tcp' : x.kind === 'mptcp' && x.extraDelayMs === extra))
    .sort((a, b) => a.bufferMB - b.bufferMB);

function checks(r: RcvbufResult): Check[] {
  const cap = r.setup.capacityMbps;
  const equal = curve(r, 0);
  const d100 = curve(r, 100);
  const d500 = curve(r, 500);
  const at = (rows: Row[], mb: number) => rows.find((x) => x.bufferMB === mb)?.goodputMbps.mean ?? Number.NaN;
  const big = Math.max(...r.rows.map((x) => x.bufferMB));
  const pct = (x: number) => `${x.toFixed(1)} Mbit/s (${((100 * x) / cap).toFixed(0)} %)`;
  return [
    {
      name: 'equal delays: both links saturated from 2 MB (≥ 90 % of the payload capacity at every buffer)',
      pass: equal.length > 0 && equal.every((x) => x.goodputMbps.mean >= 0.9 * cap),
      detail: `capacity ${cap} Mbit/s; ${equal.map((x) => `${x.bufferMB} MB: ${pct(x.goodputMbps.mean)}`).join(', ')}`,
    },
    {
      name: `100 ms difference costs a little: ≥ 80 % of the equal-delay goodput at ${big} MB`,
      pass: at(d100, big) >= 0.8 * at(equal, big),
      detail: d100.map((x) => `${x.bufferMB} MB: ${pct(x.goodputMbps.mean)}`).join(', '),
    },
    {
      name: `500 ms difference costs much: below 75 % of the equal-delay goodput at every buffer up to ${big} MB`,
      pass: d500.length > 0 && d500.every((x) => x.goodputMbps.mean < 0.75 * at(equal, x.bufferMB)),
      detail: d500.map((x) => `${x.bufferMB} MB: ${pct(x.goodputMbps.mean)}`).join(', '),
    },
  ];
}

function plot(r: RcvbufResult): string {
  const toSeries = (rows: Row[], name: string, dashed = false): Series => ({
    kind: 'line',
    name,
    dashed,
    points: rows.map((x) => ({
      x: x.bufferMB,
      y: x.goodputMbps.mean,
      lo: x.goodputMbps.min,
      hi: x.goodputMbps.max,
    })),
  });
  const series: Series[] = EXTRA_DELAYS_MS.map((d) =>
    toSeries(curve(r, d), d === 0 ? 'MPTCP, equal delays' : `MPTCP, +${d} ms on path 2`),
  );
  series.push({ ...toSeries(curve(r, null), 'TCP over path 1', true), color: '#000000' });
  const chart: XYChart = {
    kind: 'xy',
    title: "2 × 100 Mbit/s, 10 ms RTT, LIA; extra delay on path 2's data direction",
    x: { label: 'maximum receive buffer', unit: 'MiB', min: 0, max: 16 },
    y: { label: 'goodput', unit: 'Mbit/s', min: 0 },
    series,
    refLines: [{ y: r.setup.capacityMbps, label: 'payload capacity of both links' }],
  };
  return renderFigure({
    title: `Goodput against the receive buffer (${r.setup.seconds} s, ${r.seeds.length} seed${r.seeds.length > 1 ? 's' : ''}; mean, min–max)`,
    panels: [chart],
    panelHeight: 420,
  });
}

export const rcvbuf: Experiment<RcvbufResult> = {
  name: 'rcvbuf',
  title: 'Receive buffer against path delay difference (with the single-TCP reference)',
  summary: 'MPTCP over 2 × 100 Mbit/s, path 2 with +0/10/100/500 ms, receive buffer 2–16 MB; TCP reference',
  run,
  plot,
  checks,
};
