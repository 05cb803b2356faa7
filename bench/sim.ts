/**
 * Simulator speed on scenarios/cubic-100m.json (one CUBIC flow, 100 Mbit/s, 20 ms RTT, 30 s): simulated
 * seconds per wall-clock second and events per second. The scenario runs three times in one process (the
 * first run includes compiling the hot code); the best and the median run are reported, and simulated
 * seconds per CPU second of this process, which other work on a shared machine disturbs less than the wall
 * clock. Run alone: `node --import tsx bench/sim.ts`.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { runScenario } from '../src/sim/runner.ts';
import { parseScenario } from '../src/sim/scenario.ts';

const RUNS = 3;

export function benchSim(): { name: string; value: number; unit: string }[] {
  const file = new URL('../scenarios/cubic-100m.json', import.meta.url);
  const scenario = parseScenario(JSON.parse(readFileSync(file, 'utf8')), { defaultName: 'cubic-100m' });
  const runs: { wallS: number; cpuS: number; simS: number; events: number; goodput: number }[] = [];
  for (let i = 0; i < RUNS; i++) {
    const cpu = process.cpuUsage();
    const start = performance.now();
    const r = runScenario(scenario, { wallClock: () => performance.now() });
    const wallS = (performance.now() - start) / 1000;
    const used = process.cpuUsage(cpu);
    runs.push({
      wallS,
      cpuS: (used.user + used.system) / 1e6,
      simS: r.simulatedMs / 1000,
      events: r.events,
      goodput: r.flows[0]!.goodputMbps,
    });
  }
  const byWall = [...runs].sort((a, b) => a.wallS - b.wallS);
  const best = byWall[0]!;
  const median = byWall[RUNS >> 1]!;
  const bestCpu = Math.min(...runs.map((r) => r.cpuS));
  return [
    {
      name: 'sim cubic-100m: simulated time, best run',
      value: best.simS / best.wallS,
      unit: 'simulated s per wall s',
    },
    {
      name: 'sim cubic-100m: simulated time, median run',
      value: median.simS / median.wallS,
      unit: 'simulated s per wall s',
    },
    {
      name: 'sim cubic-100m: simulated time per CPU time, best',
      value: best.simS / bestCpu,
      unit: 'simulated s per CPU s',
    },
    { name: 'sim cubic-100m: events, best run', value: best.events / best.wallS, unit: 'events/s' },
    { name: 'sim cubic-100m: events, median run', value: median.events / median.wallS, unit: 'events/s' },
    { name: 'sim cubic-100m: goodput', value: best.goodput, unit: 'Mbit/s (simulated)' },
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const r of benchSim()) console.log(`${r.name}  ${r.value.toFixed(2)} ${r.unit}`);
}
