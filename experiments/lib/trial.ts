/**
 * One trial of an experiment: a scenario (SCENARIOS.md, as the JSON object a file would hold) run for one seed
 * through the simulator's own runner, with per-flow engine settings the format has no field for (receive and
 * send buffers, MSS, Linux's TCP behaviours) passed beside it.
 */
import type { FlowEngine } from '../../src/sim/flow.ts';
import type { SimResult, TimelinePoint } from '../../src/sim/result.ts';
import { runScenario } from '../../src/sim/runner.ts';
import { parseScenario } from '../../src/sim/scenario.ts';
import { type Shard, TrialSharer } from './shards.ts';

export interface TrialSpec {
  /** The scenario as a JSON object (units as strings, as in a scenario file). */
  scenario: Record<string, unknown>;
  seed: number;
  /** Engine settings by flow name (RunOptions.engine of the runner). */
  engine?: Record<string, FlowEngine>;
}

let sharer: TrialSharer | null = null;

/**
 * From now on, runTrials splits its trials between the processes of `shard` (null: this one runs them all).
 * Returns the sharer, which counts the trials this process ran.
 */
export function shareTrials(shard: Shard | null): TrialSharer | null {
  sharer = shard === null ? null : new TrialSharer(shard);
  return sharer;
}

/** Runs one trial; the result is a pure function of the spec (wallMs and eventsPerSecond are 0). */
export function runTrial(spec: TrialSpec): SimResult {
  return runTrials([spec])[0]!;
}

/**
 * Runs trials and returns their results in order: with `--jobs`, several processes share them, so an
 * experiment that gives all its trials in one call runs about N times faster.
 */
export function runTrials(specs: readonly TrialSpec[]): SimResult[] {
  // Through JSON either way, as shared trials are: one process or several give the same bytes.
  if (sharer === null) return specs.map((s) => JSON.parse(JSON.stringify(runLocally(s))) as SimResult);
  return sharer.runAll(specs, (i) => runLocally(specs[i]!));
}

/**
 * Runs one trial per configuration, all in one runTrials batch (shared under --jobs), then hands each
 * configuration its result in order.
 */
export function forEachTrial<C>(
  configs: readonly C[],
  spec: (c: C) => TrialSpec,
  use: (c: C, r: SimResult) => void,
): void {
  const results = runTrials(configs.map(spec));
  for (const [i, c] of configs.entries()) use(c, results[i]!);
}

function runLocally(spec: TrialSpec): SimResult {
  return runScenario(parseScenario(spec.scenario), {
    seed: spec.seed,
    ...(spec.engine !== undefined ? { engine: spec.engine } : {}),
  });
}

/** Mean of the samples with from < t ≤ to: goodput, or the throughput on `path` when given (Mbit/s). */
export function windowMean(
  timeline: readonly TimelinePoint[],
  from: number,
  to: number,
  path?: string,
): number {
  let sum = 0;
  let n = 0;
  for (const p of timeline) {
    if (p.t <= from + 1e-9 || p.t > to + 1e-9) continue;
    sum += path === undefined ? p.goodputMbps : (p.perPathMbps[path] ?? 0);
    n++;
  }
  return n === 0 ? 0 : sum / n;
}

/** Payload capacity in Mbit/s of a link of `rateMbps` carrying segments of `payload` bytes in `packet`-byte packets. */
export function payloadCapacity(rateMbps: number, payload: number, packet: number): number {
  return (rateMbps * payload) / packet;
}
