/**
 * Per-decision cost of one scheduler three ways — the hand-written built-in `default`, the compiled
 * schedulers/minrtt.progmp and the interpreted one — with 2, 4 and 8 subflows, in one run (issue 5,
 * "Benchmarks" and "Acceptance": compiled ≤ 1.25× and interpreter ≤ 3× the built-in per decision).
 *
 * Method: for each subflow count, a fixed pool of varied scheduler states (windows open or full, a backup,
 * throttled and lossy subflows, now and then a reinjection) is cycled through in the same order by all
 * three, after checking that they decide identically on every state of the pool. The three are measured
 * in interleaved rounds (the order rotates each round, so that machine noise hits them alike), in CPU
 * time; each round gives a ratio to the built-in, and the reported figures are the medians over the rounds.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchResult } from '../src/cli/bench.ts';
import { compileSource, createProgmpScheduler } from '../src/progmp/program.ts';
import { DefaultScheduler } from '../src/sched/default.ts';
import {
  PacketQueue,
  type SchedOutcome,
  type SchedPacket,
  type SchedState,
  type SchedSubflow,
  type Scheduler,
} from '../src/sched/types.ts';
import { Rng } from '../src/util/rng.ts';
import { median } from './median.ts';

/** States in each pool (a power of two: the loop picks one with a mask). */
const POOL = 16;
const ROUNDS = 15;
const WARM_UP_MS = 300;

function subflowView(rng: Rng, id: number, p: Partial<SchedSubflow>): SchedSubflow {
  const cwnd = 10 + rng.int(30);
  return {
    id,
    rtt: (5 + rng.int(95)) * 8000 + rng.int(8000),
    rttVar: rng.int(40_000),
    cwnd,
    ssthresh: 0x7fffffff,
    // One time in four the window is full.
    skbsInFlight: rng.chance(0.25) ? cwnd : rng.int(cwnd),
    queued: 0,
    lostSkbs: 0,
    isBackup: false,
    throttled: false,
    lossy: false,
    windowFree: 1 << 20,
    delayIn: 0,
    delayOut: 0,
    bwOutSend: 0,
    bwOutAck: 0,
    mss: 1400,
    user: 0,
    primary: false,
    ...p,
  };
}

function packetView(seq: number, queue: PacketQueue, sentOn: SchedSubflow[]): SchedPacket {
  return { seq, length: 1400, psh: false, user: 0, queue, sentOn, stamp: 0 };
}

/** One connection state with `n` subflows (newest first), a Q of 64 packets and sometimes one in RQ. */
function state(n: number, rng: Rng): SchedState {
  const subflows: SchedSubflow[] = [];
  for (let i = 0; i < n; i++)
    subflows.push(
      subflowView(rng, n - i, {
        isBackup: n > 2 && i === n - 1,
        throttled: n > 3 && rng.chance(0.1),
        lossy: rng.chance(0.05),
      }),
    );
  const q: SchedPacket[] = [];
  for (let i = 0; i < 64; i++) q.push(packetView(i * 1400, PacketQueue.Q, []));
  const rq: SchedPacket[] = [];
  if (rng.chance(0.125)) rq.push(packetView(99 * 1400, PacketQueue.RQ, [subflows[rng.int(n)]!]));
  return {
    subflows,
    q: { packets: q, head: 0 },
    qu: { packets: [], head: 0 },
    rq: { packets: rq, head: 0 },
    registers: new Uint32Array(6),
    now: 0,
    random: () => rng.u32(),
    sendWindow: 1 << 20,
    queuedBytes: q.length * 1400,
    sendWindowBlocked: 0,
    print: () => {},
  };
}

const decisions = (out: SchedOutcome): string =>
  out.actions
    .slice(0, out.count)
    .map((a) => `${a.kind}:${a.packet.seq}:${a.subflow?.id ?? '-'}`)
    .join(' ');

/**
 * A timing loop of its own for each scheduler: generated so that every scheduler gets a separate call site
 * (one shared loop would make the `schedule` call polymorphic and charge that to whoever runs second). The
 * label makes each source text unique: V8 caches functions made from identical text, which would share one
 * call site again.
 */
type Loop = (s: Scheduler, pool: readonly SchedState[], k: number) => number;
const newLoop = (label: string): Loop =>
  new Function(
    's',
    'pool',
    'k',
    `// ${label}
     let sink = 0;
     for (let i = 0; i < k; i++) sink += s.schedule(pool[i & ${POOL - 1}]).count;
     return sink;`,
  ) as Loop;

/**
 * CPU ns per decision over `k` decisions. CPU time rather than wall time: on a shared machine a process
 * is descheduled at random, which wall time would charge to whichever scheduler was running.
 */
function time(loop: Loop, s: Scheduler, pool: readonly SchedState[], k: number): number {
  const t0 = process.cpuUsage();
  loop(s, pool, k);
  const t = process.cpuUsage(t0);
  return ((t.user + t.system) * 1e3) / k;
}

export function benchSched(msPerRound = 45): BenchResult[] {
  const path = fileURLToPath(new URL('../schedulers/minrtt.progmp', import.meta.url));
  const program = compileSource(readFileSync(path, 'utf8'));
  const results: BenchResult[] = [];
  for (const n of [2, 4, 8]) {
    const rng = new Rng(1000 + n);
    const pool = Array.from({ length: POOL }, () => state(n, rng));
    const kinds = ['built-in default', 'ProgMP compiled', 'ProgMP interpreter'] as const;
    const scheds: Scheduler[] = [
      new DefaultScheduler(),
      createProgmpScheduler(program),
      createProgmpScheduler(program, { interpret: true }),
    ];
    for (const st of pool) {
      const [a, b, c] = scheds.map((s) => decisions(s.schedule(st)));
      if (a !== b || a !== c)
        throw new Error(`bench: the three forms disagree on a state: ${a} | ${b} | ${c}`);
    }
    const loops = kinds.map((kind) => newLoop(`${kind}, ${n} subflows`));
    // Warm up until the JIT has settled (about WARM_UP_MS each, in turns so that the three are compiled
    // against the same feedback), then size k so that one measurement takes about msPerRound / 3.
    const ks = [0, 0, 0];
    for (let turn = 0; turn < 4; turn++)
      scheds.forEach((s, i) => {
        const ns = time(loops[i]!, s, pool, ks[i] === 0 ? 100_000 : ks[i]!);
        ks[i] = Math.max(10_000, Math.round((WARM_UP_MS / 4) * (1e6 / ns)));
      });
    scheds.forEach((s, i) => {
      const ns = time(loops[i]!, s, pool, ks[i]!);
      ks[i] = Math.max(10_000, Math.round((msPerRound / 3) * (1e6 / ns)));
    });
    const ns: number[][] = [[], [], []];
    const ratios: number[][] = [[], []];
    for (let r = 0; r < ROUNDS; r++) {
      const round = [0, 0, 0];
      for (let j = 0; j < 3; j++) {
        const i = (r + j) % 3;
        round[i] = time(loops[i]!, scheds[i]!, pool, ks[i]!);
      }
      for (let i = 0; i < 3; i++) ns[i]!.push(round[i]!);
      ratios[0]!.push(round[1]! / round[0]!);
      ratios[1]!.push(round[2]! / round[0]!);
    }
    for (let i = 0; i < 3; i++)
      results.push({ name: `minRTT ${n} subflows: ${kinds[i]}`, value: median(ns[i]!), unit: 'ns/decision' });
    results.push(
      { name: `minRTT ${n} subflows: compiled / built-in`, value: median(ratios[0]!), unit: '×' },
      { name: `minRTT ${n} subflows: interpreter / built-in`, value: median(ratios[1]!), unit: '×' },
    );
  }
  return results;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const r of benchSched())
    console.log(`${r.name.padEnd(44)} ${r.value.toFixed(r.unit === '×' ? 2 : 1).padStart(9)} ${r.unit}`);
}
