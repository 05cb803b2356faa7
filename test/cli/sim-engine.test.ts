/** The engine flags of `mptcp-ts sim` (src/cli/sim-engine.ts): what each flow of a scenario gets. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { simEngine } from '../../src/cli/sim-engine.ts';
import { runScenario } from '../../src/sim/runner.ts';
import { parseScenario } from '../../src/sim/scenario.ts';
import { LINUX_BEHAVIOURS } from '../../src/tcp/config.ts';

const scenario = parseScenario({
  name: 'both',
  until: '2s',
  links: { l: { rate: '10Mbps', delay: '10ms', queue: '100KB' } },
  paths: { p1: ['l'] },
  flows: [
    { name: 'multi', protocol: 'mptcp', cc: 'lia', workload: { bulk: '200KB' } },
    { name: 'single', protocol: 'tcp', cc: 'reno', workload: { bulk: '200KB' } },
  ],
});

test('without engine flags, the simulator keeps its defaults', () => {
  assert.deepEqual(simEngine(scenario, {}), {});
});

test('--linux and --tcp reach every flow, the buffers each connection, --coalesce the MPTCP ones', () => {
  const e = simEngine(scenario, {
    linux: true,
    tcp: 'prr=false,minRto=300ms',
    coalesce: true,
    sndbuf: '8M',
    rcvbuf: '16M',
  });
  const tcp = { ...LINUX_BEHAVIOURS, prr: false, minRto: 300_000 };
  assert.deepEqual(e.multi, { mptcp: { sndBuf: 8e6, rcvBufMax: 16e6, coalesceWrites: true, tcp } });
  assert.deepEqual(e.single, { tcp: { ...tcp, sndBuf: 8e6, rcvBufMax: 16e6 } });
  const r = runScenario(scenario, { engine: e });
  assert.ok(
    r.flows.every((f) => f.completed && f.integrity),
    'both flows ran with these settings',
  );
});

test('a setting the scenario owns or a bad value is refused with what to write', () => {
  assert.throws(() => simEngine(scenario, { tcp: 'cc=cubic' }), /cc in the scenario/);
  assert.throws(() => simEngine(scenario, { tcp: 'prr=maybe' }), /true or false/);
  assert.throws(() => simEngine(scenario, { sndbuf: 'lots' }), /not a byte count/);
});
