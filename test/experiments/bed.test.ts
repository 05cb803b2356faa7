/**
 * The bed (experiments/lib/bed.ts) stands in for the scenario runner where flows need engine settings the
 * scenario format lacks. It must measure what the runner measures: the same scenario through both gives the
 * same goodput and per-path throughput (within a few per cent: the two draw their random numbers in a different
 * order), the settings it is given take effect, and what it cannot model is refused.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BedUnsupportedError, runOnBed } from '../../experiments/lib/bed.ts';
import { runTrial, windowMean } from '../../experiments/lib/trial.ts';
import { parseScenario } from '../../src/sim/scenario.ts';

const link = { rate: '20Mbps', delay: '10ms', queue: '50KB' };
const scenario = {
  name: 'bed-check',
  until: '4s',
  sample: '500ms',
  links: { a: link, b: { ...link, directions: { up: { delay: '30ms' } } } },
  paths: { p1: ['a'], p2: ['b'] },
  flows: [
    { name: 'mp', protocol: 'mptcp', cc: 'lia', paths: ['p1', 'p2'], workload: { bulk: 'forever' } },
    {
      name: 'tcp',
      protocol: 'tcp',
      cc: 'reno',
      paths: ['p2'],
      start: '300ms',
      workload: { bulk: 'forever' },
    },
  ],
};

describe('experiment bed', () => {
  it('measures what the scenario runner measures', () => {
    const runner = runTrial({ scenario, seed: 3 });
    const bed = runTrial({ scenario, seed: 3, engine: { mp: { mptcp: {} } } });
    assert.equal(bed.flows.length, 2);
    for (const [i, f] of runner.flows.entries()) {
      const g = bed.flows[i]!;
      assert.equal(g.integrity, true);
      assert.deepEqual(
        g.timeline.map((p) => p.t),
        f.timeline.map((p) => p.t),
      );
      const near = (a: number, b: number, what: string) =>
        assert.ok(Math.abs(a - b) <= 0.05 * Math.max(a, b) + 0.2, `${f.name} ${what}: bed ${a}, runner ${b}`);
      near(windowMean(g.timeline, 1, 4), windowMean(f.timeline, 1, 4), 'goodput');
      for (const p of ['p1', 'p2'].filter((x) => x in f.timeline.at(-1)!.perPathMbps))
        near(windowMean(g.timeline, 1, 4, p), windowMean(f.timeline, 1, 4, p), `on ${p}`);
      assert.deepEqual(g.subflows.map((s) => s.path).sort(), f.subflows.map((s) => s.path).sort());
    }
    assert.equal(
      JSON.stringify(runTrial({ scenario, seed: 3, engine: { mp: { mptcp: {} } } })),
      JSON.stringify(bed),
    );
  });

  it('applies the per-flow settings (MSS of the subflows)', () => {
    const r = runTrial({
      scenario: { ...scenario, until: '1s', flows: scenario.flows.slice(0, 1) },
      seed: 1,
      engine: { mp: { mptcp: { tcp: { mss: 1000 } } } },
    });
    // A subflow's send MSS is the configured one less the timestamps (12) and DSS (28) options.
    for (const s of r.flows[0]!.subflows) assert.equal(s.mss, 1000 - 40);
  });

  it('refuses what it does not model', () => {
    const parsed = parseScenario({
      ...scenario,
      timeline: [{ at: '1s', link: 'a', set: { up: false } }],
    });
    assert.throws(() => runOnBed(parsed, 1, {}), BedUnsupportedError);
    assert.throws(() => runOnBed(parseScenario(scenario), 1, { nobody: {} }), /flow 'nobody'/);
  });
});
