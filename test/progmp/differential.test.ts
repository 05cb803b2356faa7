/**
 * The forms of a program must be indistinguishable. The reference interpreter (every list built where it
 * stands) defines the semantics; the interpreter under the evaluation plan (src/progmp/plan.ts) and the
 * compiled form must give the same actions, registers, USER values, trace, step count, budget outcome,
 * re-run flag and random draws: on 2,000 random states for every program in schedulers/, for random
 * well-typed programs, and for random scheduler-shaped programs that exercise the plan.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { dump } from '../../src/progmp/dump.ts';
import { Op, type Program, type S, type X } from '../../src/progmp/ir.ts';
import { optimised } from '../../src/progmp/plan.ts';
import {
  checkSource,
  compileSource,
  createProgmpScheduler,
  type LoadedProgram,
} from '../../src/progmp/program.ts';
import { Rng } from '../../src/util/rng.ts';
import { actions } from '../sched/fixtures.ts';
import { PlanProgramGen, ProgramGen, randomState } from './gen.ts';

const dir = new URL('../../schedulers/', import.meta.url);
const shipped = readdirSync(dir)
  .filter((f) => f.endsWith('.progmp'))
  .map((f) => compileSource(readFileSync(new URL(f, dir), 'utf8')));

type Form = 'reference' | 'interpreter' | 'compiled';
const FORMS: Form[] = ['reference', 'interpreter', 'compiled'];

/** Everything observable after one schedule() call. */
function observe(p: LoadedProgram, seed: number, form: Form, budget: number) {
  const c = randomState(seed, new Rng(seed));
  const s = createProgmpScheduler(p, {
    interpret: form !== 'compiled',
    reference: form === 'reference',
    stepBudget: budget,
  });
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

/** Runs every form on one state; asserts they agree with the reference; returns its observation. */
function agree(p: LoadedProgram, seed: number, budget: number, what: string) {
  const [ref, ...others] = FORMS.map((f) => observe(p, seed, f, budget));
  for (let i = 0; i < others.length; i++)
    assert.deepEqual(others[i], ref, `${FORMS[i + 1]} differs from the reference: ${what}`);
  return ref!;
}

test('shipped schedulers: every form agrees on 2,000 random states', () => {
  assert.ok(shipped.length >= 10);
  for (const p of shipped)
    for (let seed = 1; seed <= 2000; seed++) agree(p, seed, 100_000, `${p.name}, seed ${seed}`);
});

test('random programs: every form agrees, with budget stops', () => {
  const rng = new Rng(2024);
  const gen = new ProgramGen(rng);
  let states = 0;
  let stops = 0;
  let pushes = 0;
  for (let i = 0; i < 400; i++) {
    const src = gen.program();
    const p = compileSource(src);
    // The normal form parses back to the same checked program.
    assert.deepEqual(checkSource(dump(p.program)), p.program, src);
    for (let k = 0; k < 6; k++) {
      const seed = rng.u32();
      const budget = 5 + rng.int(120);
      const ref = agree(p, seed, budget, `program:\n${src}\nseed ${seed} budget ${budget}`);
      states++;
      if (ref.budgetExceeded) stops++;
      pushes += ref.actions.length;
    }
  }
  assert.ok(states >= 2000);
  // The generator exercises both outcomes, or the comparison proves little.
  assert.ok(stops > 100, `budget stops: ${stops}`);
  assert.ok(pushes > 200, `actions: ${pushes}`);
});

/** How often the plan departs from building lists where they stand in `program`. */
function planned(program: Program): { lazy: number; fused: number } {
  const plan = optimised(program.uses);
  const lazy = new Map<number, X[]>();
  let fused = 0;
  const expr = (x: X | null): void => {
    if (x === null) return;
    const lambda = x.op === Op.Filter || x.op === Op.Min || x.op === Op.Max || x.op === Op.Sum ? x.b : null;
    const kind = { [Op.Filter]: 'filter', [Op.Min]: 'min', [Op.Max]: 'max', [Op.Sum]: 'sum' } as const;
    if (lambda !== null && plan.inline(x.a!, kind[x.op as 35], lambda).length > 0) fused++;
    if (x.op === Op.Empty && plan.inline(x.a!, 'empty', null).length > 0) fused++;
    expr(x.a);
    expr(x.b);
  };
  const stmts = (body: S[] | null): void => {
    for (const s of body ?? []) {
      if (s.op === Op.Var) {
        const preds = plan.lazy(s.a!, (slot) => lazy.get(slot));
        if (preds !== null) lazy.set(s.n, preds);
      }
      expr(s.a);
      expr(s.b);
      stmts(s.body);
      stmts(s.alt);
    }
  };
  stmts(program.body);
  return { lazy: lazy.size, fused };
}

test('scheduler-shaped programs: the plan (unbuilt VARs, fused FILTERs) changes nothing observable', () => {
  const rng = new Rng(77);
  const gen = new PlanProgramGen(rng);
  let lazy = 0;
  let fused = 0;
  let stops = 0;
  let pushes = 0;
  for (let i = 0; i < 300; i++) {
    const src = gen.program();
    const p = compileSource(src);
    const n = planned(p.program);
    lazy += n.lazy;
    fused += n.fused;
    for (let k = 0; k < 8; k++) {
      const seed = rng.u32();
      const budget = rng.chance(0.3) ? 10 + rng.int(60) : 100_000;
      const ref = agree(p, seed, budget, `program:\n${src}\nseed ${seed} budget ${budget}`);
      if (ref.budgetExceeded) stops++;
      pushes += ref.actions.length;
    }
  }
  // The programs do exercise the plan, and both outcomes.
  assert.ok(lazy > 150, `VARs kept unbuilt: ${lazy}`);
  assert.ok(fused > 150, `fused loops: ${fused}`);
  assert.ok(stops > 50, `budget stops: ${stops}`);
  assert.ok(pushes > 300, `actions: ${pushes}`);
});
