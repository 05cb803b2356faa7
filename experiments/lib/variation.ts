/**
 * What makes seeds differ. Without random loss the simulated network is deterministic, and drop-tail queues
 * shared by flows with equal RTTs lock into phase patterns that favour one flow for minutes (two identical
 * TCP Reno flows split 42/58 over a minute in this simulator). Experiments therefore give their access links a
 * little jitter (drawn from the simulator's seeded generator) and start competing flows at seeded random
 * times, so each seed is an independent sample and the spread over seeds shows what phase effects do.
 */
import { Rng } from '../../src/util/rng.ts';

/** An access link: 1 Gbit/s, 1 ms ± 0.5 ms (uniform jitter; packets keep their order). */
export const ACCESS = { rate: '1Gbps', delay: '1ms', jitter: '500us' } as const;

/** `n` start times in [0, maxMs) ms drawn from `seed`, as scenario durations ("123ms"). */
export function startTimes(seed: number, n: number, maxMs = 1000): string[] {
  const rng = new Rng(seed ^ 0x5eed);
  return Array.from({ length: n }, () => `${rng.int(maxMs)}ms`);
}
