/**
 * Per-decision cost of the same scheduler three ways: the hand-written built-in `default`, the compiled
 * schedulers/minrtt.progmp and the interpreted one, with 2, 4 and 8 subflows, measured side by side in one
 * run, plus the ratios compiled/built-in and interpreter/built-in (targets: ≤ 1.25 and ≤ 3).
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compileSource, createProgmpScheduler } from '../src/progmp/program.ts';
import { DefaultScheduler } from '../src/sched/default.ts';
import {
  PacketQueue,
  type SchedPacket,
  type SchedState,
  type SchedSubflow,
  type Scheduler,
} from '../src/sched/types.ts';
import { Rng } from '../src/util/rng.ts';

export interface BenchResult {
  name: string;
  value: number;
  unit: string;
}

/** A connection with `n` subflows (one backup, one throttled when there are enough) and a long Q. */
function state(n: number): SchedState {
  const rng = new Rng(n);
  const subflows: SchedSubflow[] = [];
  for (let i = 0; i < n; i++)
    subflows.push({
      id: n - i,
      rtt: (10 + rng.int(90)) * 8000,
      rttVar: 4000,
      cwnd: 10 + rng.int(30),
      ssthresh: 0x7fffffff,
      skbsInFlight: rng.int(10),
      queued: 0,
      lostSkbs: 0,
      isBackup: n > 2 && i === n - 1,
      throttled: n > 3 && i === 1,
      lossy: false,
      windowFree: 1 << 20,
      delayIn: 0,
      delayOut: 0,
      bwOutSend: 0,
      bwOutAck: 0,
      mss: 1400,
      user: 0,
      primary: false,
    });
  const packets: SchedPacket[] = [];
  for (let i = 0; i < 1000; i++)
    packets.push({
      seq: i * 1400,
      length: 1400,
      psh: false,
      user: 0,
      queue: PacketQueue.Q,
      sentOn: [],
      stamp: 0,
    });
  return {
    subflows,
    q: { packets, head: 0 },
    qu: { packets: [], head: 0 },
    rq: { packets: [], head: 0 },
    registers: new Uint32Array(6),
    now: 0,
    random: () => rng.u32(),
    sendWindow: 1 << 20,
    queuedBytes: 1_400_000,
    sendWindowBlocked: 0,
    print: () => {},
  };
}

/** ns per decision over about `ms` milliseconds, after a warm-up. */
function nsPerDecision(s: Scheduler, st: SchedState, ms: number): number {
  let sink = 0;
  const burst = (k: number) => {
    for (let i = 0; i < k; i++) sink += s.schedule(st).count;
  };
  burst(200_000);
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    burst(10_000);
    n += 10_000;
    t = performance.now();
  }
  if (sink === 0) throw new Error('benchmark scheduler decided nothing');
  return ((t - t0) * 1e6) / n;
}

export function benchSched(ms = 400): BenchResult[] {
  const path = fileURLToPath(new URL('../schedulers/minrtt.progmp', import.meta.url));
  const program = compileSource(readFileSync(path, 'utf8'));
  const results: BenchResult[] = [];
  for (const n of [2, 4, 8]) {
    const st = state(n);
    // Interleave the three so that machine noise hits them alike; keep each one's best round.
    const best = [Infinity, Infinity, Infinity];
    const scheds = [
      new DefaultScheduler(),
      createProgmpScheduler(program),
      createProgmpScheduler(program, { interpret: true }),
    ];
    for (let round = 0; round < 3; round++)
      scheds.forEach((s, i) => {
        best[i] = Math.min(best[i]!, nsPerDecision(s, st, ms / 3));
      });
    const [builtin, compiled, interp] = best as [number, number, number];
    results.push(
      { name: `minRTT ${n} subflows: built-in default`, value: builtin, unit: 'ns/decision' },
      { name: `minRTT ${n} subflows: ProgMP compiled`, value: compiled, unit: 'ns/decision' },
      { name: `minRTT ${n} subflows: ProgMP interpreter`, value: interp, unit: 'ns/decision' },
      { name: `minRTT ${n} subflows: compiled / built-in`, value: compiled / builtin, unit: '×' },
      { name: `minRTT ${n} subflows: interpreter / built-in`, value: interp / builtin, unit: '×' },
    );
  }
  return results;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const r of benchSched())
    console.log(`${r.name.padEnd(44)} ${r.value.toFixed(r.unit === '×' ? 2 : 1).padStart(9)} ${r.unit}`);
}
