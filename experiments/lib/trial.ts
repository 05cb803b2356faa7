/**
 * One trial of an experiment: a scenario (SCENARIOS.md, as the JSON object a file would hold) run for one seed.
 * Scenarios that the format covers run through the simulator's own runner; those that need per-flow engine
 * settings the format has no field for yet (receive and send buffers, MSS) run on the bed in bed.ts, which
 * reads the same parsed scenario and returns the same result shape.
 */
import type { MptcpConfig } from '../../src/mptcp/config.ts';
import type { SimResult, TimelinePoint } from '../../src/sim/result.ts';
import { runScenario } from '../../src/sim/runner.ts';
import { parseScenario } from '../../src/sim/scenario.ts';
import type { TcpConfig } from '../../src/tcp/config.ts';
import { runOnBed } from './bed.ts';
import { type Shard, TrialSharer } from './shards.ts';

/** Engine settings of one flow beyond the scenario format: MPTCP connection settings or plain TCP ones. */
export interface FlowEngine {
  mptcp?: Partial<MptcpConfig>;
  tcp?: Partial<TcpConfig>;
}

export interface TrialSpec {
  /** The scenario as a JSON object (units as strings, as in a scenario file). */
  scenario: Record<string, unknown>;
  seed: number;
  /** Engine settings by flow name; with any, the trial runs on the bed. */
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
  const scenario = parseScenario(spec.scenario);
  const engine = spec.engine ?? {};
  if (Object.keys(engine).length === 0) return runScenario(scenario, { seed: spec.seed });
  return runOnBed(scenario, spec.seed, engine);
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
