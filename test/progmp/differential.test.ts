/**
 * The interpreter and the compiled form must be indistinguishable: on 2,000+ random states, for every
 * program in schedulers/ and for random well-typed programs, both give the same actions, registers, USER
 * values, trace, step count, budget outcome, re-run flag and random draws.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { dump } from '../../src/progmp/dump.ts';
import {
  checkSource,
  compileSource,
  createProgmpScheduler,
  type LoadedProgram,
} from '../../src/progmp/program.ts';
import { Rng } from '../../src/util/rng.ts';
import { actions } from '../sched/fixtures.ts';
import { ProgramGen, randomState } from './gen.ts';

const dir = new URL('../../schedulers/', import.meta.url);
const shipped = readdirSync(dir)
  .filter((f) => f.endsWith('.progmp'))
  .map((f) => compileSource(readFileSync(new URL(f, dir), 'utf8')));

/** Everything observable after one schedule() call. */
function observe(p: LoadedProgram, seed: number, interpret: boolean, budget: number) {
  const c = randomState(seed, new Rng(seed));
  const s = createProgmpScheduler(p, { interpret, stepBudget: budget });
  const out = s.schedule(c);
  return {
    actions: actions(out),
    rerun: out.rerun,
    budgetExceeded: out.budgetExceeded,
    // A stopped run's count only says that it went over (the forms may notice at different places).
    steps: out.budgetExceeded ? (s.rt.steps > budget ? 'over' : 'not over') : s.rt.steps,
    registers: [...c.registers],
    users: c.subflows.map((x) => x.user),
    trace: c.trace,
    nextRandom: c.rng.u32(),
    stats: { ...s.stats, timeSpent: 0 },
  };
}

test('shipped schedulers: interpreter and compiled agree on 2,000 random states', () => {
  assert.ok(shipped.length >= 10);
  for (const p of shipped) {
    for (let seed = 1; seed <= 2000; seed++) {
      const a = observe(p, seed, true, 100_000);
      const b = observe(p, seed, false, 100_000);
      assert.deepEqual(b, a, `${p.name}, seed ${seed}`);
    }
  }
});

test('random programs: interpreter and compiled agree, with budget stops', () => {
  const rng = new Rng(2024);
  const gen = new ProgramGen(rng);
  let programs = 0;
  let states = 0;
  let stops = 0;
  let pushes = 0;
  for (let i = 0; i < 400; i++) {
    const src = gen.program();
    const p = compileSource(src);
    // The normal form parses back to the same checked program.
    assert.deepEqual(checkSource(dump(p.program)), p.program, src);
    programs++;
    for (let k = 0; k < 6; k++) {
      const seed = rng.u32();
      const budget = 5 + rng.int(120);
      const a = observe(p, seed, true, budget);
      const b = observe(p, seed, false, budget);
      assert.deepEqual(b, a, `program:\n${src}\nseed ${seed} budget ${budget}`);
      states++;
      if (a.budgetExceeded) stops++;
      pushes += a.actions.length;
    }
  }
  assert.equal(programs, 400);
  assert.ok(states >= 2000);
  // The generator exercises both outcomes, or the comparison proves little.
  assert.ok(stops > 100, `budget stops: ${stops}`);
  assert.ok(pushes > 200, `actions: ${pushes}`);
});
