/**
 * Scheduler names → factories: the built-ins, plus whatever else registers (ProgMP programs loaded with
 * `loadScheduler`). One statistics object per name is shared by every instance created under it.
 */
import { BlestScheduler } from './blest.ts';
import { DefaultScheduler } from './default.ts';
import { EcfScheduler } from './ecf.ts';
import { PposScheduler } from './ppos.ts';
import { RedundantScheduler } from './redundant.ts';
import { RoundRobinScheduler } from './roundrobin.ts';
import { newStats, type Scheduler, type SchedulerOptions, type SchedulerStats } from './types.ts';

export type SchedulerFactory = (options: SchedulerOptions) => Scheduler;

export const builtinSchedulers: Readonly<Record<string, SchedulerFactory>> = {
  default: (o) => new DefaultScheduler(o),
  roundrobin: (o) => new RoundRobinScheduler(o),
  redundant: (o) => new RedundantScheduler(o),
  ppos: (o) => new PposScheduler(o),
  blest: (o) => new BlestScheduler(o),
  ecf: (o) => new EcfScheduler(o),
};

/** Asked for a scheduler name nobody registered. */
export class UnknownSchedulerError extends Error {
  constructor(
    readonly schedulerName: string,
    readonly validNames: readonly string[],
  ) {
    super(
      `unknown scheduler "${schedulerName}"; valid names: ${validNames.join(', ')} (load a ProgMP program with loadScheduler to add one)`,
    );
    this.name = 'UnknownSchedulerError';
  }
}

/** Registering a name that a built-in already uses. */
export class SchedulerNameError extends Error {
  constructor(schedulerName: string) {
    super(`scheduler name "${schedulerName}" belongs to a built-in scheduler; choose another name`);
    this.name = 'SchedulerNameError';
  }
}

const loaded = new Map<string, SchedulerFactory>();
const statsByName = new Map<string, SchedulerStats>();

/** Adds (or replaces) a non-built-in scheduler under `name`. */
export function registerScheduler(name: string, factory: SchedulerFactory): void {
  if (Object.hasOwn(builtinSchedulers, name)) throw new SchedulerNameError(name);
  loaded.set(name, factory);
}

/** Every name `createScheduler` accepts. */
export function schedulerNames(): string[] {
  return [...Object.keys(builtinSchedulers), ...loaded.keys()];
}

/** The statistics shared by the instances of `name`. */
export function schedulerStats(name: string): SchedulerStats {
  let s = statsByName.get(name);
  if (s === undefined) {
    s = newStats();
    statsByName.set(name, s);
  }
  return s;
}

/** A new instance (one per connection) of the scheduler called `name`. */
export function createScheduler(name: string, options: SchedulerOptions = {}): Scheduler {
  const factory = Object.hasOwn(builtinSchedulers, name) ? builtinSchedulers[name] : loaded.get(name);
  if (factory === undefined) throw new UnknownSchedulerError(name, schedulerNames());
  return factory({ ...options, stats: options.stats ?? schedulerStats(name) });
}
