/** Random multipath scenarios for the chaos acceptance test (one per seed). */
import { parseScenario, type Scenario } from '../../src/sim/scenario.ts';
import { Rng } from '../../src/util/rng.ts';

/**
 * A random 2–3 path network for seed `seed`: rates, delays, queues, loss up to 5 %, reordering and
 * duplication up to 3 %, and silent (link) or visible (interface) failures of a few seconds on all paths
 * but one, under a 0.1–1 MB transfer in a random direction with a random congestion controller.
 */
export function chaosScenario(seed: number): { scenario: Scenario; size: number } {
  const rng = new Rng(seed * 7919);
  const paths = 2 + rng.int(2);
  const size = 100_000 + rng.int(900_001);
  const links: Record<string, unknown> = {};
  const pathSpec: Record<string, string[]> = {};
  const timeline: { at: number; [k: string]: unknown }[] = [];
  for (let k = 1; k <= paths; k++) {
    links[`l${k}`] = {
      rate: `${5 + rng.int(26)}Mbps`,
      delay: `${2 + rng.int(60)}ms`,
      queue: `${20 + rng.int(80)}ms`,
      loss: `${(rng.float() * 5).toFixed(2)}%`,
      reorder: `${(rng.float() * 3).toFixed(2)}%`,
      duplicate: `${(rng.float() * 3).toFixed(2)}%`,
    };
    pathSpec[`p${k}`] = [`l${k}`];
    if (k === 1 && !rng.chance(0.3)) continue;
    const at = rng.int(3000) * 1000;
    const len = (200 + rng.int(4000)) * 1000;
    if (rng.chance(0.5)) {
      timeline.push({ at, link: `l${k}`, set: { up: false } });
      timeline.push({ at: at + len, link: `l${k}`, set: { up: true } });
    } else {
      timeline.push({ at, path: `p${k}`, set: { interface: 'down' } });
      timeline.push({ at: at + len, path: `p${k}`, set: { interface: 'up' } });
    }
  }
  timeline.sort((x, y) => x.at - y.at);
  const scenario = parseScenario({
    name: `chaos-${seed}`,
    seed,
    until: '120s',
    sample: '1s',
    links,
    paths: pathSpec,
    timeline,
    flows: [
      {
        protocol: 'mptcp',
        paths: Object.keys(pathSpec),
        direction: rng.chance(0.5) ? 'upload' : 'download',
        cc: (['lia', 'olia', 'balia', 'cubic'] as const)[rng.int(4)],
        workload: { bulk: `${size}B` },
      },
    ],
  });
  return { scenario, size };
}
