/**
 * A ProgMP program as a Scheduler: runs the compiled form (or the interpreter), then applies the rules of
 * PROGMP.md around a run — discard and count a run over its step budget (undoing its register and USER
 * writes), flush PRINT lines to the connection's trace, ask for a re-run (at most 5 in a row) when the run
 * changed state without pushing, and keep statistics.
 */
import { OutcomeBuffer } from '../sched/outcome.ts';
import {
  newStats,
  type SchedOutcome,
  type SchedState,
  type Scheduler,
  type SchedulerOptions,
  type SchedulerStats,
} from '../sched/types.ts';
import type { CompiledFactory } from './compile.ts';
import { interpreter } from './interpret.ts';
import type { Program } from './ir.ts';
import { BUDGET_EXCEEDED, DEFAULT_STEP_BUDGET, type RunFn, Runtime } from './runtime.ts';

export const MAX_RERUNS = 5;

export class ProgmpScheduler implements Scheduler {
  readonly stats: SchedulerStats;
  readonly rt: Runtime;
  private readonly out = new OutcomeBuffer();
  private readonly run: RunFn;
  private readonly clock: (() => number) | undefined;
  private rerunsInARow = 0;

  constructor(
    readonly name: string,
    program: Program,
    compiled: CompiledFactory,
    options: SchedulerOptions = {},
  ) {
    this.stats = options.stats ?? newStats();
    this.clock = options.clock;
    this.rt = new Runtime(options.stepBudget ?? DEFAULT_STEP_BUDGET, this.out, program.uses.writes);
    this.run =
      options.interpret === true
        ? interpreter(program, this.rt, options.reference === true)
        : compiled(this.rt);
  }

  schedule(state: SchedState): SchedOutcome {
    const clock = this.clock;
    const t0 = clock === undefined ? 0 : clock();
    const out = this.out;
    const rt = this.rt;
    const stats = this.stats;
    out.begin();
    rt.begin(state.registers);
    let changed = false;
    try {
      changed = this.run(state);
    } catch (e) {
      if (e !== BUDGET_EXCEEDED) throw e;
      out.discard();
      rt.rollback(state.registers);
      stats.budgetStops++;
      state.print(`progmp ${this.name}: step budget of ${rt.budget} exceeded; run discarded`);
    }
    const printed = rt.printed;
    if (printed.length !== 0) {
      for (let i = 0; i < printed.length; i++) state.print(printed[i]!);
      printed.length = 0;
    }
    if (changed && out.pushes === 0 && this.rerunsInARow < MAX_RERUNS) {
      out.rerun = true;
      this.rerunsInARow++;
      stats.reruns++;
    } else this.rerunsInARow = 0;
    stats.executions++;
    stats.actions += out.count;
    if (clock !== undefined) stats.timeSpent += clock() - t0;
    return out;
  }
}
