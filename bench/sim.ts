/**
 * Simulator speed on scenarios/cubic-100m.json (one CUBIC flow, 100 Mbit/s, 20 ms RTT, 30 s): simulated
 * seconds per wall-clock second and events per second. Run alone: `node --import tsx bench/sim.ts`.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { runScenario } from '../src/sim/runner.ts';
import { parseScenario } from '../src/sim/scenario.ts';

export function benchSim(): { name: string; value: number; unit: string }[] {
  const file = new URL('../scenarios/cubic-100m.json', import.meta.url);
  const scenario = parseScenario(JSON.parse(readFileSync(file, 'utf8')), { defaultName: 'cubic-100m' });
  const start = performance.now();
  const r = runScenario(scenario, { wallClock: () => performance.now() });
  const wallS = (performance.now() - start) / 1000;
  return [
    {
      name: 'sim cubic-100m: simulated time',
      value: r.simulatedMs / 1000 / wallS,
      unit: 'simulated s per wall s',
    },
    { name: 'sim cubic-100m: events', value: r.events / wallS, unit: 'events/s' },
    { name: 'sim cubic-100m: goodput', value: r.flows[0]!.goodputMbps, unit: 'Mbit/s (simulated)' },
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const r of benchSim()) console.log(`${r.name}  ${r.value.toFixed(2)} ${r.unit}`);
}
