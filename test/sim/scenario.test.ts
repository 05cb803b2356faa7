import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { builtinSchedulers } from '../../src/sched/registry.ts';
import { BUILTIN_SCHEDULERS, parseScenario } from '../../src/sim/scenario.ts';
import { ScenarioError } from '../../src/sim/units.ts';

/** The example of SCENARIOS.md, comments removed. */
const EXAMPLE = {
  name: 'wifi-lte',
  seed: 1,
  until: '60s',
  sample: '100ms',
  links: {
    wifi: { rate: '100Mbps', delay: '10ms', queue: '100pkt', loss: '0%', jitter: '0ms' },
    lte: {
      rate: '50Mbps',
      delay: '40ms',
      queue: '50ms',
      loss: '1%',
      lossModel: { gilbertElliott: { pGoodToBad: 0.01, pBadToGood: 0.3, lossInBad: 0.5 } },
    },
    core: { rate: '1Gbps', delay: '1ms' },
    rough: {
      rate: '20Mbps',
      delay: '15ms',
      queue: '80pkt',
      mtu: 1500,
      duplicate: '2%',
      reorder: '3%',
      corrupt: '1%',
      stripMptcpOptions: false,
    },
  },
  paths: { p1: ['wifi', 'core'], p2: ['lte', 'core'] },
  timeline: [
    { at: '15s', link: 'wifi', set: { up: false } },
    { at: '25s', link: 'wifi', set: { up: true, rate: '20Mbps', loss: '0%' } },
    { at: '30s', path: 'p2', set: { interface: 'down' } },
    { at: '40s', path: 'p2', set: { interface: 'up' } },
  ],
  flows: [
    {
      name: 'main',
      protocol: 'mptcp',
      paths: ['p1', 'p2'],
      direction: 'upload',
      start: '0s',
      cc: 'lia',
      scheduler: 'default',
      registers: { R1: 5 },
      pathManager: 'fullmesh',
      subflowsPerPath: 1,
      backup: ['p2'],
      primaryPathOnly: 'p1',
      activeList: [],
      backupList: [{ path: 'p2' }],
      actions: [
        { at: '15s', call: 'setSubflowPriority', path: 'p2', backup: true },
        { at: '20s', call: 'closeSubflow', path: 'p1' },
        { at: '22s', call: 'setRegister', register: 'R1', value: 1 },
      ],
      workload: { bulk: '100MB' },
    },
    { name: 'competitor', protocol: 'tcp', paths: ['p1'], cc: 'reno', workload: { bulk: 'forever' } },
  ],
};

const clone = <T>(x: T): T => structuredClone(x);

function rejects(json: unknown, message: string): void {
  assert.throws(
    () => parseScenario(json),
    (e: unknown) => {
      assert.ok(e instanceof ScenarioError, `expected a ScenarioError, got ${String(e)}`);
      assert.equal(e.message, message);
      return true;
    },
  );
}

const minimal = () => ({
  links: { l: { rate: '10Mbps' } },
  paths: { p: ['l'] },
  flows: [{ workload: { bulk: '1MB' } }] as Record<string, unknown>[],
});

describe('parseScenario: the SCENARIOS.md example', () => {
  const s = parseScenario(EXAMPLE);

  it('resolves scenario fields and links in base units', () => {
    assert.equal(s.name, 'wifi-lte');
    assert.equal(s.until, 60_000_000);
    assert.equal(s.sample, 100_000);
    assert.deepEqual(
      s.links.map((l) => l.name),
      ['wifi', 'lte', 'core', 'rough'],
    );
    assert.deepEqual(s.links[0]!.settings, {
      rate: 100e6,
      delay: 10_000,
      jitter: 0,
      loss: 0,
      duplicate: 0,
      reorder: 0,
      corrupt: 0,
      mtu: 1500,
      queue: { packets: 100 },
      stripMptcpOptions: false,
      up: true,
    });
    assert.deepEqual(s.links[1]!.settings.queue, { time: 50_000 });
    assert.equal(s.links[1]!.settings.loss, 0.01);
    assert.deepEqual(s.links[1]!.settings.lossModel, {
      gilbertElliott: { pGoodToBad: 0.01, pBadToGood: 0.3, lossInBad: 0.5 },
    });
    assert.deepEqual(s.links[2]!.settings.queue, { packets: 1000 }, 'default queue');
    assert.equal(s.links[3]!.settings.duplicate, 0.02);
    assert.equal(s.links[3]!.settings.reorder, 0.03);
    assert.equal(s.links[3]!.settings.corrupt, 0.01);
  });

  it('gives path K the client address 10.0.K.1', () => {
    assert.deepEqual(s.paths, [
      { name: 'p1', links: ['wifi', 'core'], clientAddress: '10.0.1.1' },
      { name: 'p2', links: ['lte', 'core'], clientAddress: '10.0.2.1' },
    ]);
  });

  it('resolves the timeline', () => {
    assert.deepEqual(s.timeline, [
      { at: 15_000_000, kind: 'link', link: 'wifi', set: { up: false } },
      { at: 25_000_000, kind: 'link', link: 'wifi', set: { up: true, rate: 20e6, loss: 0 } },
      { at: 30_000_000, kind: 'interface', path: 'p2', up: false },
      { at: 40_000_000, kind: 'interface', path: 'p2', up: true },
    ]);
  });

  it('keeps every MPTCP field', () => {
    const main = s.flows[0]!;
    assert.equal(main.protocol, 'mptcp');
    assert.equal(main.cc, 'lia');
    assert.deepEqual(main.scheduler, { kind: 'builtin', name: 'default' });
    assert.deepEqual(main.registers, { R1: 5 });
    assert.equal(main.pathManager, 'fullmesh');
    assert.deepEqual(main.backup, ['p2']);
    assert.equal(main.primaryPathOnly, 'p1');
    assert.deepEqual(main.backupList, [{ path: 'p2' }]);
    assert.deepEqual(main.actions, [
      { at: 15_000_000, call: 'setSubflowPriority', path: 'p2', backup: true },
      { at: 20_000_000, call: 'closeSubflow', path: 'p1' },
      { at: 22_000_000, call: 'setRegister', register: 'R1', value: 1 },
    ]);
    assert.deepEqual(main.workload, { kind: 'bulk', size: 100e6 });
  });

  it('fills the defaults of a plain TCP flow', () => {
    const c = s.flows[1]!;
    assert.equal(c.index, 1);
    assert.equal(c.direction, 'upload');
    assert.equal(c.start, 0);
    assert.equal(c.cc, 'reno');
    assert.deepEqual(c.workload, { kind: 'bulk', size: null });
    assert.equal(c.primaryPathOnly, null);
    assert.deepEqual(c.actions, []);
  });
});

describe('parseScenario: defaults and workloads', () => {
  it('fills scenario and flow defaults', () => {
    const s = parseScenario(minimal(), { defaultName: 'file-name' });
    assert.equal(s.name, 'file-name');
    assert.equal(s.seed, 1);
    assert.equal(s.until, 60_000_000);
    assert.equal(s.sample, 100_000);
    const f = s.flows[0]!;
    assert.equal(f.name, 'flow0');
    assert.equal(f.protocol, 'tcp');
    assert.equal(f.cc, 'cubic');
    assert.deepEqual(f.paths, ['p']);
  });

  it('reads request and stream workloads', () => {
    const j = minimal();
    j.flows = [
      {
        name: 'rq',
        direction: 'download',
        workload: { requests: { sizes: ['10KB', 2000], count: 5, gap: '50ms' } },
      },
      {
        name: 'st',
        workload: {
          stream: {
            rate: '1MB/s',
            chunk: '100KB',
            duration: '10s',
            changes: [
              { at: '8s', rate: '2MB/s' },
              { at: '6s', rate: '4MB/s' },
            ],
          },
        },
      },
    ];
    const s = parseScenario(j);
    assert.deepEqual(s.flows[0]!.workload, {
      kind: 'requests',
      sizes: [10_000, 2000],
      count: 5,
      gap: 50_000,
    });
    assert.deepEqual(s.flows[1]!.workload, {
      kind: 'stream',
      rate: 8e6,
      chunk: 100_000,
      duration: 10_000_000,
      changes: [
        { at: 6_000_000, rate: 32e6 },
        { at: 8_000_000, rate: 16e6 },
      ],
    });
  });

  it('defaults an MPTCP flow to every path and LIA, and reads ProgMP schedulers', () => {
    const j = minimal();
    j.links = { a: { rate: '10Mbps' }, b: { rate: '10Mbps' } } as never;
    j.paths = { x: ['a'], y: ['b'] } as never;
    j.flows = [
      {
        protocol: 'mptcp',
        scheduler: { progmpSource: 'SCHEDULER s;' },
        activeList: [{ local: '10.0.1.1', remote: '10.1.0.1' }],
        workload: { bulk: '1MB' },
      },
      { protocol: 'mptcp', scheduler: { progmp: 'rr.progmp' }, workload: { bulk: '1MB' } },
    ];
    const s = parseScenario(j);
    assert.deepEqual(s.flows[0]!.paths, ['x', 'y']);
    assert.equal(s.flows[0]!.cc, 'lia');
    assert.deepEqual(s.flows[0]!.scheduler, { kind: 'progmpSource', source: 'SCHEDULER s;' });
    assert.deepEqual(s.flows[0]!.activeList, [{ local: '10.0.1.1', remote: '10.1.0.1' }]);
    assert.deepEqual(s.flows[1]!.scheduler, { kind: 'progmp', file: 'rr.progmp', source: null });
  });

  it('accepts per-direction link overrides', () => {
    const j = minimal();
    j.links.l = { rate: '10Mbps', directions: { down: { rate: '50Mbps', delay: '5ms' } } } as never;
    const s = parseScenario(j);
    assert.deepEqual(s.links[0]!.settings.directions, { down: { rate: 50e6, delay: 5000 } });
  });
});

describe('parseScenario: errors name the field', () => {
  it('bad units', () => {
    const j = clone(EXAMPLE) as Record<string, unknown> & typeof EXAMPLE;
    (j.links.wifi as Record<string, unknown>).rate = 'fast';
    rejects(j, 'links.wifi.rate: expected a rate like "100Mbps", got "fast"');
  });

  it('unknown fields at every level', () => {
    rejects(
      { ...minimal(), colour: 'red' },
      'colour: unknown field (known here: name, seed, until, sample, links, paths, timeline, flows)',
    );
    const j = minimal();
    j.links.l = { rate: '10Mbps', latency: '5ms' } as never;
    assert.throws(() => parseScenario(j), /^ScenarioError: links\.l\.latency: unknown field/);
    const k = minimal();
    k.flows = [{ workload: { bulk: '1MB' }, prio: 1 }];
    assert.throws(() => parseScenario(k), /flows\[0\]\.prio: unknown field/);
    const w = minimal();
    w.flows = [{ workload: { requests: { sizes: ['1KB'], repeat: 2 } } }];
    assert.throws(() => parseScenario(w), /flows\[0\]\.workload\.requests\.repeat: unknown field/);
  });

  it('impossible values', () => {
    const j = minimal();
    j.links.l = { rate: '10Mbps', delay: -3 } as never;
    rejects(j, 'links.l.delay: expected a duration like "10ms", got -3');
    const k = minimal();
    k.links.l = { rate: '10Mbps', loss: '150%' } as never;
    rejects(k, 'links.l.loss: expected a share between 0% and 100%, got "150%"');
    const m = minimal();
    m.links.l = { rate: '10Mbps', mtu: 40 } as never;
    rejects(m, 'links.l.mtu: expected a whole number from 68 to 65535, got 40');
    rejects({ ...minimal(), until: '0s' }, 'until: expected a duration above 0, got "0s"');
  });

  it('a link without a rate', () => {
    const j = minimal();
    j.links.l = { delay: '10ms' } as never;
    rejects(j, 'links.l.rate: required, e.g. "100Mbps" (0 = unlimited)');
  });

  it('dangling references', () => {
    const j = minimal();
    j.paths = { p: ['l', 'nope'] } as never;
    rejects(j, 'paths.p[1]: unknown link "nope" (links: l)');
    const k = minimal();
    k.flows = [{ paths: ['q'], workload: { bulk: '1MB' } }];
    rejects(k, 'flows[0].paths[0]: unknown path "q" (paths: p)');
    rejects(
      { ...minimal(), timeline: [{ at: '1s', link: 'x', set: { up: false } }] },
      'timeline[0].link: unknown link "x" (links: l)',
    );
    rejects(
      { ...minimal(), timeline: [{ at: '1s', path: 'x', set: { interface: 'down' } }] },
      'timeline[0].path: unknown path "x" (paths: p)',
    );
    const e = clone(EXAMPLE);
    (e.flows[0] as { backup: string[] }).backup = ['p3'];
    rejects(e, `flows[0].backup[0]: unknown flow's path "p3" (flow's paths: p1, p2)`);
    const a = clone(EXAMPLE);
    a.flows[0]!.actions![1] = { at: '20s', call: 'closeSubflow', path: 'p9' } as never;
    rejects(a, `flows[0].actions[1].path: unknown flow's path "p9" (flow's paths: p1, p2)`);
  });

  it('MPTCP fields on a TCP flow, and TCP on two paths', () => {
    const j = minimal();
    j.flows = [{ protocol: 'tcp', backup: ['p'], workload: { bulk: '1MB' } }];
    rejects(j, 'flows[0].backup: only MPTCP flows take this field (set "protocol": "mptcp")');
    const k = minimal();
    k.flows = [{ protocol: 'tcp', cc: 'lia', workload: { bulk: '1MB' } }];
    rejects(k, 'flows[0].cc: expected one of "reno", "cubic", got "lia"');
    const m = clone(EXAMPLE);
    m.flows[1]!.paths = ['p1', 'p2'];
    rejects(m, 'flows[1].paths: a TCP flow uses exactly one path, got 2');
  });

  it('workload shape and flow names', () => {
    const j = minimal();
    j.flows = [{ workload: { bulk: '1MB', stream: {} } }];
    rejects(
      j,
      'flows[0].workload: expected exactly one of "bulk", "requests" or "stream", e.g. { "bulk": "100MB" }',
    );
    const k = minimal();
    k.flows = [{ workload: { bulk: 'lots' } }];
    rejects(k, 'flows[0].workload.bulk: expected a size like "64KB", got "lots"');
    const m = minimal();
    m.flows = [
      { name: 'a', workload: { bulk: '1MB' } },
      { name: 'a', workload: { bulk: '1MB' } },
    ];
    rejects(m, 'flows[1].name: duplicate flow name "a"');
    const n = minimal();
    n.flows = [{}];
    rejects(n, 'flows[0].workload: required, e.g. { "bulk": "100MB" }');
  });

  it('registers and actions', () => {
    const j = clone(EXAMPLE);
    (j.flows[0] as { registers: unknown }).registers = { R7: 1 };
    rejects(j, 'flows[0].registers.R7: expected a register R1..R6, got "R7"');
    const k = clone(EXAMPLE);
    k.flows[0]!.actions![0] = { at: '1s', call: 'explode' } as never;
    assert.throws(
      () => parseScenario(k),
      /flows\[0\]\.actions\[0\]\.call: expected one of "setSubflowPriority"/,
    );
    const m = clone(EXAMPLE);
    m.flows[0]!.actions![0] = { at: '1s', call: 'setSubflowPriority', path: 'p1' } as never;
    rejects(m, 'flows[0].actions[0].backup: required, e.g. true');
  });

  it('not an object', () => {
    rejects([], 'expected a scenario object, got []');
    rejects({ ...minimal(), links: {} }, 'links: expected at least one link');
  });
});

describe('scheduler names', () => {
  it('a scenario accepts exactly the built-in schedulers of the registry', () => {
    assert.deepEqual([...BUILTIN_SCHEDULERS].sort(), Object.keys(builtinSchedulers).sort());
  });
});
