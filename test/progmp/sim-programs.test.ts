/**
 * Each program in schedulers/ run in the simulator (a seeded MPTCP connection over two paths, a few
 * simulated seconds), checking on measured traffic the behaviour it is named for. Every check compares the
 * program with what it must not do (the other path, the other register value, another program), so a
 * program that does something else fails it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { type FlowResult, type TimelinePoint, withoutWallClock } from '../../src/sim/result.ts';
import { runScenario } from '../../src/sim/runner.ts';
import { parseScenario } from '../../src/sim/scenario.ts';

const program = (name: string): string =>
  readFileSync(new URL(`../../schedulers/${name}.progmp`, import.meta.url), 'utf8');

type Json = Record<string, unknown>;

interface Setup {
  /** A program of schedulers/ by file name, or a built-in scheduler's name. */
  scheduler: string;
  /** One-way delay of each link, ms (RTT = 2 × delay). */
  delays: [number, number];
  rateMbps?: number;
  workload: Json;
  seconds: number;
  sample?: string;
  registers?: Json;
  backup?: string[];
  actions?: Json[];
  timeline?: Json[];
  queue?: string;
}

/** Built-in schedulers used for comparison (every other name is a program of schedulers/). */
const BUILTIN = new Set(['default']);

function scenario(s: Setup): Json {
  const link = (delay: number) => ({
    rate: `${s.rateMbps ?? 20}Mbps`,
    delay: `${delay}ms`,
    queue: s.queue ?? '100KB',
  });
  return {
    name: `sim-${s.scheduler}`,
    until: `${s.seconds}s`,
    sample: s.sample ?? '100ms',
    links: { a: link(s.delays[0]), b: link(s.delays[1]) },
    paths: { p1: ['a'], p2: ['b'] },
    timeline: s.timeline ?? [],
    flows: [
      {
        name: 'f',
        protocol: 'mptcp',
        scheduler: BUILTIN.has(s.scheduler) ? s.scheduler : { progmpSource: program(s.scheduler) },
        registers: s.registers ?? {},
        backup: s.backup ?? [],
        actions: s.actions ?? [],
        workload: s.workload,
      },
    ],
  };
}

const SEED = 7;

function run(s: Setup): FlowResult {
  const f = runScenario(parseScenario(scenario(s)), { seed: SEED }).flows[0]!;
  assert.ok(f.integrity, `${s.scheduler}: every delivered byte intact`);
  assert.ok(f.bytesDelivered > 0, `${s.scheduler}: data delivered`);
  return f;
}

/** Bytes the data sender put on the subflow(s) of `path` (first transmissions, copies, retransmissions). */
const sentOn = (f: FlowResult, path: string): number =>
  f.subflows.filter((x) => x.path === path).reduce((a, x) => a + x.bytesSent, 0);
const sentAll = (f: FlowResult): number => f.subflows.reduce((a, x) => a + x.bytesSent, 0);
/** Bytes on `path` that were data already sent before (reinjections and redundant copies). */
const copiesOn = (f: FlowResult, path: string): number =>
  f.subflows.filter((x) => x.path === path).reduce((a, x) => a + (x.reinjectedBytes ?? 0), 0);

/** Mean throughput on `path` (or goodput without one) over the samples with from < t ≤ to, Mbit/s. */
function mean(tl: TimelinePoint[], from: number, to: number, path?: string): number {
  const xs = tl.filter((p) => p.t > from + 1e-9 && p.t <= to + 1e-9);
  const sum = xs.reduce((a, p) => a + (path === undefined ? p.goodputMbps : (p.perPathMbps[path] ?? 0)), 0);
  return sum / Math.max(1, xs.length);
}

/** The longest run of samples after `from` in which the application received nothing, ms. */
function longestStallMs(tl: TimelinePoint[], from: number, sampleMs: number): number {
  let run = 0;
  let longest = 0;
  for (const p of tl) {
    if (p.t <= from) continue;
    run = p.goodputMbps === 0 ? run + 1 : 0;
    longest = Math.max(longest, run);
  }
  return longest * sampleMs;
}

const share = (f: FlowResult, path: string): number => sentOn(f, path) / Math.max(1, sentAll(f));
const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;

/** A 4 Mbit/s stream: far below either path's 20 Mbit/s, so windows are free most of the time. */
const LIGHT = { stream: { rate: '4Mbps', chunk: '10KB' } };

describe('schedulers/ in the simulator', () => {
  test('minrtt: the low-RTT path carries the traffic, whichever path comes first', (t) => {
    const fastFirst = run({ scheduler: 'minrtt', delays: [5, 20], workload: LIGHT, seconds: 3 });
    const fastSecond = run({ scheduler: 'minrtt', delays: [20, 5], workload: LIGHT, seconds: 3 });
    const detail = `fast path's share: first ${pct(share(fastFirst, 'p1'))}, second ${pct(share(fastSecond, 'p2'))}`;
    t.diagnostic(detail);
    assert.ok(share(fastFirst, 'p1') > 0.9, detail);
    assert.ok(share(fastSecond, 'p2') > 0.9, detail);
  });

  test('roundrobin: equal paths carry equal shares, where minrtt favours one', (t) => {
    const equal = { delays: [10, 10] as [number, number], workload: LIGHT, seconds: 3 };
    const rr = run({ scheduler: 'roundrobin', ...equal });
    const min = run({ scheduler: 'minrtt', ...equal });
    const detail = `p1 share: round robin ${pct(share(rr, 'p1'))}, minrtt ${pct(share(min, 'p1'))}`;
    t.diagnostic(detail);
    assert.ok(Math.abs(share(rr, 'p1') - 0.5) < 0.05, detail);
    assert.ok(Math.abs(share(min, 'p1') - 0.5) > 0.3, detail);
  });

  test('redundant: every byte goes on both subflows', (t) => {
    const size = 1_000_000;
    const f = run({ scheduler: 'redundant', delays: [10, 10], workload: { bulk: '1MB' }, seconds: 4 });
    assert.ok(f.completed, 'the transfer completed');
    const detail = `sent on p1 ${sentOn(f, 'p1')}, on p2 ${sentOn(f, 'p2')} for ${size} bytes`;
    t.diagnostic(detail);
    assert.ok(sentOn(f, 'p1') >= size && sentOn(f, 'p2') >= size, detail);
  });

  /** Bytes sent per byte delivered for a light stream and under bulk load (10 Mbit/s paths), 3 s each. */
  function copiesPerByte(scheduler: string, delays: [number, number]) {
    const light = run({ scheduler, delays, workload: LIGHT, seconds: 3 });
    const bulk = run({ scheduler, delays, rateMbps: 10, workload: { bulk: 'forever' }, seconds: 3 });
    const out = { light: sentAll(light) / light.bytesDelivered, bulk: sentAll(bulk) / bulk.bytesDelivered };
    const detail = `bytes sent per byte delivered: light stream ${out.light.toFixed(2)}, bulk ${out.bulk.toFixed(2)}`;
    return { ...out, detail };
  }

  test('opportunistic_redundant: duplicates while windows are free, not when they are full', (t) => {
    const r = copiesPerByte('opportunistic_redundant', [10, 10]);
    t.diagnostic(r.detail);
    assert.ok(r.light > 1.8, r.detail);
    assert.ok(r.bulk < 1.4, r.detail);
  });

  test('redundant_if_no_q: copies only when Q is empty (a light stream), minimum RTT under bulk', (t) => {
    const r = copiesPerByte('redundant_if_no_q', [5, 20]);
    t.diagnostic(r.detail);
    assert.ok(r.light > 1.8, r.detail);
    assert.ok(r.bulk < 1.1, r.detail);
  });

  // 1 MB over two 10 Mbit/s paths: minimum RTT needs both, so the last packets it puts on the slow path
  // (100 ms RTT against 10 ms) arrive long after the rest, unless they are resent on the fast path.
  const compensation = (scheduler: string, endOfFlow: number, delays: [number, number]) =>
    run({
      scheduler,
      delays,
      rateMbps: 10,
      queue: '30KB',
      workload: { bulk: '1MB' },
      registers: { R1: endOfFlow },
      seconds: 4,
    });

  test('compensating: with the end of flow signalled, the tail is resent on the fast path and arrives sooner', (t) => {
    const off = compensation('compensating', 0, [5, 50]);
    const on = compensation('compensating', 1, [5, 50]);
    assert.ok(off.completed && on.completed);
    const detail = `completion ${off.completionMs} ms without the signal, ${on.completionMs} ms with; copies on the fast path ${copiesOn(off, 'p1')} → ${copiesOn(on, 'p1')} bytes`;
    t.diagnostic(detail);
    assert.ok(copiesOn(on, 'p1') > copiesOn(off, 'p1') + 10_000, detail);
    assert.ok(on.completionMs! < off.completionMs! - 10, detail);
  });

  test('selective_compensation: compensates on paths with an RTT ratio above 2, not on equal paths', (t) => {
    const unequal = compensation('selective_compensation', 1, [5, 50]);
    const unequalOff = compensation('selective_compensation', 0, [5, 50]);
    const equalSelective = compensation('selective_compensation', 1, [10, 10]);
    const equalFull = compensation('compensating', 1, [10, 10]);
    const copies = (f: FlowResult) => copiesOn(f, 'p1') + copiesOn(f, 'p2');
    const detail = `RTT ratio 10: completion ${unequalOff.completionMs} → ${unequal.completionMs} ms, copies ${copies(unequalOff)} → ${copies(unequal)}; equal paths: copies ${copies(equalSelective)} (compensating ${copies(equalFull)})`;
    t.diagnostic(detail);
    assert.ok(unequal.completionMs! < unequalOff.completionMs! - 10, detail);
    assert.ok(copies(unequal) > copies(unequalOff) + 10_000, detail);
    assert.ok(copies(equalSelective) < copies(equalFull) / 2, detail);
  });

  test('tap: the backup carries only what the preferred subflow cannot (target in R1)', (t) => {
    // Preferred 10 ms RTT, backup 40 ms, both 24 Mbit/s (~2.9 MB/s of payload); 1 MB/s, then 4 MB/s at 3 s.
    const setup = (scheduler: string): Setup => ({
      scheduler,
      delays: [5, 20],
      rateMbps: 24,
      queue: '150KB',
      backup: ['p2'],
      registers: { R1: 1000 },
      actions: [{ at: '3s', call: 'setRegister', register: 'R1', value: 4000 }],
      workload: {
        stream: { rate: '8Mbps', chunk: '10KB', changes: [{ at: '3s', rate: '32Mbps' }] },
      },
      seconds: 6,
    });
    const tap = run(setup('tap'));
    const plain = run(setup('default'));
    const tl = tap.timeline;
    const detail = `tap: 0.5–3 s backup ${mean(tl, 0.5, 3, 'p2').toFixed(2)} Mbit/s; 4–6 s preferred ${mean(tl, 4, 6, 'p1').toFixed(2)}, backup ${mean(tl, 4, 6, 'p2').toFixed(2)}, goodput ${mean(tl, 4, 6).toFixed(2)}; default (backup mode) goodput ${mean(plain.timeline, 4, 6).toFixed(2)}`;
    t.diagnostic(detail);
    assert.ok(mean(tl, 0.5, 3, 'p2') < 0.2, detail);
    assert.ok(mean(tl, 4, 6) > 30, detail);
    assert.ok(mean(tl, 4, 6, 'p2') > 4 && mean(tl, 4, 6, 'p2') < 13, detail);
    assert.ok(mean(plain.timeline, 4, 6) < 25, detail);
  });

  test('ppos: the primary path only, the other one during its outage, the primary again after', (t) => {
    // The primary (the initial subflow, p1) is the slower path: minimum RTT would choose p2.
    const f = run({
      scheduler: 'ppos',
      delays: [20, 5],
      workload: { stream: { rate: '8Mbps', chunk: '10KB' } },
      timeline: [
        { at: '1.5s', link: 'a', set: { up: false } },
        { at: '3s', link: 'a', set: { up: true } },
      ],
      seconds: 6,
    });
    const tl = f.timeline;
    const detail = `p1/p2 Mbit/s: before ${mean(tl, 0.3, 1.5, 'p1').toFixed(2)}/${mean(tl, 0.3, 1.5, 'p2').toFixed(2)}, outage ${mean(tl, 2, 3, 'p1').toFixed(2)}/${mean(tl, 2, 3, 'p2').toFixed(2)}, after ${mean(tl, 5, 6, 'p1').toFixed(2)}/${mean(tl, 5, 6, 'p2').toFixed(2)}`;
    t.diagnostic(detail);
    assert.ok(mean(tl, 0.3, 1.5, 'p2') < 0.1 && mean(tl, 0.3, 1.5, 'p1') > 7, detail);
    assert.ok(mean(tl, 2, 3, 'p2') > 7, detail);
    assert.ok(mean(tl, 5, 6, 'p2') < 0.1 && mean(tl, 5, 6, 'p1') > 7, detail);
  });

  test('handover: a path that goes silent stalls the receiver far shorter than under minrtt', (t) => {
    const outage = (scheduler: string) =>
      run({
        scheduler,
        delays: [5, 15],
        queue: '60KB',
        workload: { stream: { rate: '8Mbps', chunk: '10KB' } },
        timeline: [{ at: '1s', link: 'a', set: { up: false } }],
        sample: '10ms',
        seconds: 2,
      });
    const h = outage('handover');
    const m = outage('minrtt');
    const detail = `longest stall after the outage: handover ${longestStallMs(h.timeline, 1, 10)} ms, minrtt ${longestStallMs(m.timeline, 1, 10)} ms; copies on p2 ${copiesOn(h, 'p2')} vs ${copiesOn(m, 'p2')} bytes`;
    t.diagnostic(detail);
    assert.ok(longestStallMs(h.timeline, 1, 10) <= 100, detail);
    assert.ok(longestStallMs(m.timeline, 1, 10) >= longestStallMs(h.timeline, 1, 10) + 100, detail);
    assert.ok(mean(h.timeline, 1.5, 2) > 7, detail);
  });

  test('same seed, same result', () => {
    const s = parseScenario(
      scenario({ scheduler: 'roundrobin', delays: [5, 20], workload: { bulk: '500KB' }, seconds: 2 }),
    );
    assert.deepEqual(
      withoutWallClock(runScenario(s, { seed: 3 })),
      withoutWallClock(runScenario(s, { seed: 3 })),
    );
  });
});
