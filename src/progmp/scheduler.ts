/**
 * A ProgMP program as a Scheduler: runs the program (compiled, or interpreted), then applies the rules of
 * PROGMP.md around a run — discard and count a run over its step budget (undoing its register and USER
 * writes), flush PRINT lines to the connection's trace, ask for a re-run (at most 5 in a row) when the run
 * changed state without pushing, and keep statistics.
 *
 * A compiled program is a class generated from this one (compile.ts) whose `schedule` method holds the
 * program between its own copy of the prologue and epilogue, cut to what the program needs: the engine's
 * call reaches the program as directly as a built-in's. The tests compare statistics, re-runs, budget
 * stops and traces across the forms.
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
import { interpreter } from './interpret.ts';
import type { Program } from './ir.ts';
import { DEFAULT_STEP_BUDGET, type RunFn, RunStatus, Runtime } from './runtime.ts';

export const MAX_RERUNS = 5;

export abstract class ProgmpScheduler implements Scheduler {
  readonly stats: SchedulerStats;
  readonly rt: Runtime;
  /** The run's actions. (Fields are public for the generated subclasses, which read them directly.) */
  readonly out = new OutcomeBuffer();
  readonly clock: (() => number) | undefined;
  rerunsInARow = 0;

  constructor(
    readonly name: string,
    program: Program,
    options: SchedulerOptions = {},
  ) {
    this.stats = options.stats ?? newStats();
    this.clock = options.clock;
    this.rt = new Runtime(options.stepBudget ?? DEFAULT_STEP_BUDGET, this.out, program.uses.writes);
  }

  /**
   * One run, between the same prologue and epilogue in every form: an empty outcome and the registers
   * remembered before; after, a run over budget discarded (overBudget), PRINT lines flushed, a re-run asked
   * for when the run changed state without pushing (at most MAX_RERUNS in a row), statistics.
   */
  abstract schedule(state: SchedState): SchedOutcome;

  /** The run changed state and pushed nothing: ask for a re-run. */
  rerun(): void {
    this.out.rerun = true;
    this.rerunsInARow++;
    this.stats.reruns++;
  }

  /** A run over its step budget: discarded, undone, counted and traced. */
  overBudget(state: SchedState): void {
    this.out.discard();
    this.rt.rollback(state.registers);
    this.stats.budgetStops++;
    state.print(`progmp ${this.name}: step budget of ${this.rt.budget} exceeded; run discarded`);
  }

  /** Hands the run's PRINT lines to the connection's trace. */
  flushPrinted(state: SchedState): void {
    const printed = this.rt.printed;
    for (let i = 0; i < printed.length; i++) state.print(printed[i]!);
    printed.length = 0;
  }
}

/** A program run by the interpreter. */
export class InterpretedScheduler extends ProgmpScheduler {
  private readonly exec: RunFn;

  constructor(name: string, program: Program, options: SchedulerOptions = {}) {
    super(name, program, options);
    this.exec = interpreter(program, options.reference === true);
  }

  schedule(state: SchedState): SchedOutcome {
    const clock = this.clock;
    const t0 = clock === undefined ? 0 : clock();
    const out = this.out;
    out.begin();
    this.rt.begin(state.registers);
    const status = this.exec(state, this.rt);
    if (status === RunStatus.OVER_BUDGET) this.overBudget(state);
    if (this.rt.printed.length !== 0) this.flushPrinted(state);
    if (status === RunStatus.CHANGED && out.pushes === 0 && this.rerunsInARow < MAX_RERUNS) this.rerun();
    else this.rerunsInARow = 0;
    const stats = this.stats;
    stats.executions++;
    stats.actions += out.count;
    if (clock !== undefined) stats.timeSpent += clock() - t0;
    return out;
  }
}
