/**
 * Run-time semantics of PROGMP.md, each checked on the interpreter AND the compiled form (which must agree):
 * NULL rules, 32-bit wrap-around, MIN/MAX ties, snapshots, POP, PUSH/DROP classification, re-runs, the step
 * budget, PRINT, SET_USER, and the no-loss rule.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Op, PktProp, SbfProp } from '../../src/progmp/ir.ts';
import {
  compileSource,
  createProgmpScheduler,
  dumpProgram,
  loadScheduler,
} from '../../src/progmp/program.ts';
import { createScheduler, schedulerStats } from '../../src/sched/registry.ts';
import { PacketQueue, type SchedOutcome } from '../../src/sched/types.ts';
import { actions, FakeConn, packet, subflow } from '../sched/fixtures.ts';

type Setup = (c: FakeConn) => void;

const conn = (setup?: Setup): FakeConn => {
  const c = new FakeConn([subflow({ id: 2, rtt: 30_000 * 8 }), subflow({ id: 1, rtt: 12_345 * 8 })], 7);
  c.write(3);
  setup?.(c);
  return c;
};

/** Runs `src` once on each form; asserts they agree; returns the compiled form's observations. */
function run(src: string, setup?: Setup, budget?: number) {
  const p = compileSource(src, 't');
  const obs = [true, false].map((interpret) => {
    const c = conn(setup);
    const s = createProgmpScheduler(p, { interpret, stepBudget: budget });
    const out: SchedOutcome = s.schedule(c);
    return {
      actions: actions(out),
      rerun: out.rerun,
      budgetExceeded: out.budgetExceeded,
      trace: [...c.trace],
      registers: [...c.registers],
      users: c.subflows.map((x) => x.user),
      // A stopped run's count only says that it went over (the forms may notice at different places).
      steps: out.budgetExceeded ? (s.rt.steps > (budget ?? 100_000) ? 'over' : 'not over') : s.rt.steps,
    };
  });
  assert.deepEqual(obs[1], obs[0], 'interpreter and compiled disagree');
  return obs[1]!;
}

const show = (expr: string, setup?: Setup): string => run(`PRINT("%s", ${expr});`, setup).trace[0]!;

test('NULL rules', () => {
  const table: [string, string][] = [
    ['SUBFLOWS.GET(5)', 'NULL'],
    ['SUBFLOWS.GET(5).RTT', 'NULL'],
    ['SUBFLOWS.GET(5).RTT + 1', 'NULL'],
    ['1 + SUBFLOWS.GET(5).RTT', 'NULL'],
    ['SUBFLOWS.GET(5).RTT < 3', 'NULL'],
    ['SUBFLOWS.GET(5).RTT >= 3', 'NULL'],
    ['10 / 0', 'NULL'],
    ['10 % 0', 'NULL'],
    ['10 / R1', 'NULL'],
    ['NULL == NULL', 'TRUE'],
    ['NULL != NULL', 'FALSE'],
    ['SUBFLOWS.GET(5) == NULL', 'TRUE'],
    ['SUBFLOWS.GET(0) == NULL', 'FALSE'],
    ['SUBFLOWS.GET(5).RTT == 3', 'FALSE'],
    ['SUBFLOWS.GET(5).RTT != 3', 'TRUE'],
    ['SUBFLOWS.GET(5).RTT == SUBFLOWS.GET(6).RTT', 'TRUE'],
    ['!SUBFLOWS.GET(5).LOSSY', 'NULL'],
    ['SUBFLOWS.GET(5).LOSSY AND TRUE', 'FALSE'],
    ['SUBFLOWS.GET(5).LOSSY OR TRUE', 'TRUE'],
    ['SUBFLOWS.GET(5).LOSSY OR FALSE', 'FALSE'],
    ['SUBFLOWS.GET(R1 - 1)', 'NULL'],
    ['RQ.TOP', 'NULL'],
    ['RQ.POP()', 'NULL'],
    ['RQ.TOP.SEQ', 'NULL'],
    ['Q.TOP.SENT_ON(SUBFLOWS.GET(9))', 'NULL'],
    ['SUBFLOWS.GET(9).HAS_WINDOW_FOR(Q.TOP)', 'NULL'],
    ['RQ.TOP.SENT_ON_ALL', 'NULL'],
    ['SUBFLOWS.FILTER(s => SUBFLOWS.GET(9).LOSSY).COUNT', '0'],
    ['SUBFLOWS.FILTER(s => FALSE).MIN(s => s.RTT)', 'NULL'],
    ['SUBFLOWS.FILTER(s => FALSE).MAX(s => s.RTT)', 'NULL'],
    ['SUBFLOWS.MIN(s => SUBFLOWS.GET(9).RTT)', 'NULL'],
    ['SUBFLOWS.FILTER(s => FALSE).SUM(s => s.RTT)', '0'],
    ['SUBFLOWS.SUM(s => s.ID * 10 / (s.ID - 1))', '20'],
  ];
  for (const [e, want] of table) assert.equal(show(e), want, e);
  // IF takes the ELSE branch on NULL.
  assert.deepEqual(run('IF (SUBFLOWS.GET(5).LOSSY) { PRINT("then"); } ELSE { PRINT("else"); }').trace, [
    'else',
  ]);
  // SET(R, NULL) leaves R unchanged and is no change of state.
  const r = run('SET(R2, SUBFLOWS.GET(5).RTT);', (c) => {
    c.registers[1] = 9;
  });
  assert.equal(r.registers[1], 9);
  assert.equal(r.rerun, false);
});

test('unsigned 32-bit arithmetic', () => {
  const table: [string, string][] = [
    ['3 - 5', '4294967294'],
    ['4294967295 + 1', '0'],
    ['65536 * 65536', '0'],
    ['4294967295 * 2', '4294967294'],
    ['4294967295 * 4294967295', '1'],
    ['7 / 2', '3'],
    ['4294967295 / 2', '2147483647'],
    ['7 % 3', '1'],
    ['0 - 1 > 5', 'TRUE'],
    ['R1 - 1', '4294967295'],
  ];
  for (const [e, want] of table) assert.equal(show(e), want, e);
});

test('properties and their units', () => {
  assert.equal(show('SUBFLOWS.GET(1).RTT'), String(12_345 * 8));
  assert.equal(show('SUBFLOWS.GET(1).RTT_MS'), '12');
  assert.equal(show('SUBFLOWS.GET(1).RTT_US'), '12345');
  assert.equal(show('SUBFLOWS.GET(0).ID'), '2');
  assert.equal(show('Q.TOP.LENGTH'), '1400');
  assert.equal(
    show('SUBFLOWS.GET(0).HAS_WINDOW_FOR(Q.TOP)', (c) => (c.subflows[0]!.windowFree = 1399)),
    'FALSE',
  );
  assert.equal(
    show('SUBFLOWS.GET(0).HAS_WINDOW_FOR(Q.TOP)', (c) => (c.subflows[0]!.windowFree = 1400)),
    'TRUE',
  );
  const sent: Setup = (c) => c.q.packets[0]!.sentOn.push(c.subflows[1]!);
  assert.equal(show('Q.TOP.SENT_ON(SUBFLOWS.GET(1))', sent), 'TRUE');
  assert.equal(show('Q.TOP.SENT_ON(SUBFLOWS.GET(0))', sent), 'FALSE');
  assert.equal(show('Q.TOP.SENT_ON_ALL', sent), 'FALSE');
  assert.equal(
    show('Q.TOP.SENT_ON_ALL', (c) => c.q.packets[0]!.sentOn.push(...c.subflows)),
    'TRUE',
  );
  assert.equal(
    show('CURRENT_TIME_MS', (c) => (c.now = 5_000_000_123_456)),
    String(5_000_000_123 % 2 ** 32),
  );
  // RANDOM draws from the engine's generator, in order.
  const expected = new FakeConn([], 7).rng;
  assert.deepEqual(run('PRINT("%d", RANDOM); PRINT("%d", RANDOM);').trace, [
    String(expected.u32()),
    String(expected.u32()),
  ]);
  // The Op numbering is what interpret.ts's literal case labels assume.
  assert.deepEqual([Op.Int, Op.SbfProp, Op.Filter, Op.Pop, Op.Var, Op.SetUser], [0, 26, 35, 39, 40, 49]);
  assert.deepEqual([SbfProp.RTT, SbfProp.USER, PktProp.SEQ, PktProp.USER], [0, 18, 0, 3]);
});

test('MIN and MAX skip NULL keys and keep the first element on ties', () => {
  const tie: Setup = (c) => {
    c.subflows = [subflow({ id: 3, rtt: 800 }), subflow({ id: 2, rtt: 800 }), subflow({ id: 1, rtt: 800 })];
  };
  assert.equal(show('SUBFLOWS.MIN(s => s.RTT).ID', tie), '3');
  assert.equal(show('SUBFLOWS.MAX(s => s.RTT).ID', tie), '3');
  // Keys: NULL, 0, 0 → the first non-NULL key wins the tie.
  assert.equal(show('SUBFLOWS.MAX(s => 100 / (s.ID - 3)).ID', tie), '2');
  // Keys: 50, 100, NULL.
  assert.equal(show('SUBFLOWS.MIN(s => 100 / (s.ID - 1)).ID', tie), '3');
});

test('snapshots: VAR lists, FILTER and FOREACH see the list as it was', () => {
  assert.deepEqual(
    run('VAR l = Q; VOID(Q.POP()); PRINT("%d", l.COUNT); PRINT("%d", Q.COUNT); PRINT("%d", l.TOP.SEQ);')
      .trace,
    ['3', '2', '0'],
  );
  // FOREACH over Q while popping it: three iterations, three drops.
  const f = run('FOREACH (VAR p IN Q) { DROP(Q.POP()); }');
  assert.deepEqual(f.actions, ['drop 0', 'drop 1400', 'drop 2800']);
  // FILTER over Q while its body pops: every element of the snapshot is visited.
  assert.deepEqual(run('VAR kept = Q.FILTER(p => Q.POP() != NULL); PRINT("%d", kept.COUNT);').trace, ['3']);
  // A FILTER result taken into a VAR is not changed by a later evaluation of another FILTER.
  assert.deepEqual(
    run(
      'VAR a = SUBFLOWS.FILTER(s => s.ID == 1); VAR b = SUBFLOWS.FILTER(s => s.ID == 2); PRINT("%d", a.GET(0).ID);',
    ).trace,
    ['1'],
  );
});

test('POP and the no-loss rule: popped, unpushed packets stay at the front of their queue', () => {
  const c = conn();
  const s = createProgmpScheduler(
    compileSource('VAR a = Q.POP(); VAR b = Q.POP(); SUBFLOWS.GET(0).PUSH(b);', 'p'),
  );
  const out = s.schedule(c);
  assert.deepEqual(actions(out), ['push 1400 -> 2']);
  c.apply(out);
  assert.deepEqual(
    c.q.packets.map((p) => p.seq),
    [0, 2800],
  );
  assert.deepEqual(
    c.qu.packets.map((p) => p.seq),
    [1400],
  );
  // POP on an empty queue gives NULL and changes nothing (so no re-run).
  const e = run('VOID(RQ.POP());');
  assert.equal(e.rerun, false);
});

test('PUSH evaluates its receiver first and skips the packet when the receiver is NULL', () => {
  const r = run('SUBFLOWS.GET(9).PUSH(Q.POP()); PRINT("%d", Q.COUNT);');
  assert.deepEqual(r.actions, []);
  assert.deepEqual(r.trace, ['3']);
  assert.equal(r.rerun, false);
  assert.deepEqual(run('SUBFLOWS.GET(0).PUSH(RQ.TOP); DROP(RQ.TOP);').actions, []);
});

test('PUSH and DROP are classified: new data, redundant copies, reinjections, drops', () => {
  const withRq: Setup = (c) => {
    c.qu.packets.push(packet(99, { queue: PacketQueue.QU, sentOn: [c.subflows[0]!] }));
    c.rq.packets.push(packet(99, { queue: PacketQueue.RQ, sentOn: [c.subflows[0]!] }));
  };
  const r = run(
    'FOREACH (VAR s IN SUBFLOWS) { s.PUSH(Q.TOP); } DROP(Q.POP()); SUBFLOWS.GET(1).PUSH(QU.TOP); SUBFLOWS.GET(1).PUSH(RQ.TOP); DROP(Q.POP()); DROP(RQ.POP()); DROP(QU.TOP);',
    withRq,
  );
  assert.deepEqual(r.actions, [
    'push 0 -> 2',
    'redundant 0 -> 1',
    'redundant 99 -> 1',
    'reinject 99 -> 1',
    'drop 1400',
  ]);
  assert.deepEqual(run('DROP(RQ.POP());', withRq).actions, ['drop-rq 99']);
});

test('re-run rule: a run that changed state without pushing is re-run, at most 5 times in a row', () => {
  const p = compileSource('VOID(Q.POP());', 'popper');
  for (const interpret of [true, false]) {
    const c = conn();
    const s = createProgmpScheduler(p, { interpret });
    assert.equal(c.send(s), 6);
    assert.equal(s.stats.reruns, 5);
    assert.equal(c.send(s), 6, 'the count starts again at the next opportunity');
    assert.equal(s.stats.executions, 12);
    assert.deepEqual(
      c.q.packets.map((x) => x.seq),
      [0, 1400, 2800],
      'no packet lost',
    );
  }
  // A register that cycles until a subflow can send: the round robin moves on by re-running.
  const rr = compileSource('SET(R1, R1 + 1); IF (R1 == 3) { SUBFLOWS.GET(0).PUSH(Q.POP()); }', 'counter');
  const c = conn();
  const s = createProgmpScheduler(rr);
  assert.equal(c.send(s), 3);
  assert.deepEqual(c.log, ['push 0 -> 2']);
  // SET to the same value is no change.
  const same = conn();
  assert.equal(same.send(createProgmpScheduler(compileSource('SET(R1, R1);', 'same'))), 1);
});

test('step budget: an expensive run is stopped, discarded, undone and counted', () => {
  const src = `FOREACH (VAR a IN Q) { FOREACH (VAR b IN Q) { SET(R1, R1 + 1); SUBFLOWS.GET(0).SET_USER(5); SUBFLOWS.GET(0).PUSH(b); } }
PRINT("done");`;
  const big: Setup = (c) => {
    c.write(500);
    c.registers[0] = 40;
  };
  const r = run(src, big, 10_000);
  assert.equal(r.budgetExceeded, true);
  assert.deepEqual(r.actions, []);
  assert.equal(r.registers[0], 40);
  assert.deepEqual(r.users, [0, 0]);
  assert.deepEqual(r.trace, ['progmp t: step budget of 10000 exceeded; run discarded']);
  assert.equal(r.steps, 'over');
  assert.equal(r.rerun, false);
  const s = createProgmpScheduler(compileSource(src, 't'), { stepBudget: 10_000 });
  s.schedule(conn(big));
  assert.equal(s.stats.budgetStops, 1);
  // With a larger budget the same program completes.
  const ok = run(src, (c) => c.write(2), 10_000);
  assert.equal(ok.budgetExceeded, false);
  assert.equal(ok.actions.length, 25);
  assert.equal(ok.registers[0], 25);
});

test('step budget: a run that goes over in a loop over SUBFLOWS draws no RANDOM after it, in every form', () => {
  // 1 + 2 steps for the MIN: over a budget of 2 there, whether a form stops at once or at the next check.
  const src = 'VAR m = SUBFLOWS.MIN(s => s.RTT); VAR r = RANDOM; m.PUSH(Q.POP());';
  const next = [true, false].map((interpret) => {
    const c = conn();
    const s = createProgmpScheduler(compileSource(src, 't'), { interpret, stepBudget: 2 });
    const out = s.schedule(c);
    assert.equal(out.budgetExceeded, true);
    assert.equal(out.count, 0);
    assert.ok(s.rt.steps > 2);
    return c.rng.u32();
  });
  assert.equal(next[0], conn().rng.u32());
  assert.equal(next[1], next[0]);
});

test('step counting: one per statement executed and one per element of the list an iteration filters from', () => {
  assert.equal(run('VOID();').steps, 1);
  // An iteration costs the length of its root list (SUBFLOWS, or the queue as it was), filtered or not.
  assert.equal(run('VAR a = SUBFLOWS.FILTER(s => FALSE); VAR n = a.FILTER(s => TRUE).COUNT;').steps, 3 + 3);
  assert.equal(run('VAR a = Q.FILTER(p => p.SEQ > 0); VAR b = a.FILTER(p => TRUE);').steps, 1 + 3 + 1 + 3);
  assert.equal(run('VOID(Q.POP()); VAR l = Q.FILTER(p => TRUE);').steps, 1 + 1 + 2);
  // A VAR the plan leaves unbuilt costs its steps where it stands, used or not.
  assert.equal(run('VAR a = SUBFLOWS.FILTER(s => !s.LOSSY); RETURN;').steps, 1 + 2 + 1);
  assert.equal(run('VAR n = SUBFLOWS.FILTER(s => TRUE).COUNT;').steps, 1 + 2);
  assert.equal(run('FOREACH (VAR p IN Q) { VOID(); }').steps, 1 + 3 * 2);
  assert.equal(run('IF (TRUE) { VOID(); } ELSE { VOID(); VOID(); }').steps, 2);
  assert.equal(run('VAR m = SUBFLOWS.MIN(s => Q.FILTER(p => TRUE).COUNT);').steps, 1 + 2 * (1 + 3));
  assert.equal(run('RETURN;').steps, 1);
});

test('PRINT formats into the connection trace', () => {
  assert.deepEqual(
    run('PRINT("x=%d%%", 5); PRINT("plain", TRUE); PRINT("sbf %s", SUBFLOWS.GET(0)); PRINT("%u", Q.TOP);')
      .trace,
    ['x=5%', 'plain TRUE', 'sbf subflow 2', 'packet 0'],
  );
  assert.deepEqual(run('PRINT("only text");').trace, ['only text']);
});

test('SET_USER writes the subflow USER value the program reads back', () => {
  const r = run(
    'SUBFLOWS.GET(1).SET_USER(7); PRINT("%d", SUBFLOWS.GET(1).USER); SUBFLOWS.GET(9).SET_USER(1);',
  );
  assert.deepEqual(r.users, [0, 7]);
  assert.deepEqual(r.trace, ['7']);
  assert.equal(r.rerun, true);
});

test('loadScheduler registers a program; statistics use the clock passed in; dump by name', () => {
  const name = loadScheduler(
    'SCHEDULER sem_loaded;\nDEFINE R2 AS x;\nIF (!Q.EMPTY) { SUBFLOWS.GET(0).PUSH(Q.POP()); }',
  );
  assert.equal(name, 'sem_loaded');
  let t = 0;
  const s = createScheduler(name, { clock: () => (t += 10) });
  const c = conn();
  assert.equal(c.send(s), 1);
  assert.equal(s.stats, schedulerStats(name));
  assert.equal(s.stats.executions, 1);
  assert.equal(s.stats.actions, 1);
  assert.equal(s.stats.timeSpent, 10);
  assert.equal(
    dumpProgram(name),
    'SCHEDULER sem_loaded;\nIF (!Q.EMPTY) {\n  SUBFLOWS.GET(0).PUSH(Q.POP());\n}\n',
  );
  assert.equal(loadScheduler('VOID();', 'named_by_caller'), 'named_by_caller');
  assert.throws(() => loadScheduler('VOID();'), /no scheduler name/);
  assert.throws(() => loadScheduler('VOID();', 'default'), /belongs to a built-in/);
});
