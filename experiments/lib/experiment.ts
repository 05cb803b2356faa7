/**
 * What every experiment of experiments/ provides: a run that produces a JSON-able result (a pure function of
 * its options: same options, same bytes), a plot of that result as SVG, and the acceptance checks
 * evaluated on it. Plot and checks read only the result, so they can be redone from a saved JSON file.
 */

export interface RunOptions {
  /** Fewer seeds and shorter runs (for tests); the result says so. */
  quick: boolean;
  /** Progress lines (one per trial); the result never depends on them. */
  log: (line: string) => void;
}

/** One acceptance criterion evaluated on a result. */
export interface Check {
  name: string;
  pass: boolean;
  /** The measured figures the verdict rests on. */
  detail: string;
}

/** Fields every result carries, beside the experiment's own. */
export interface ResultHeader {
  experiment: string;
  title: string;
  quick: boolean;
  seeds: number[];
  /** The command that reproduces this result. */
  command: string;
  checks: Check[];
}

export interface Experiment<D extends ResultHeader = ResultHeader> {
  name: string;
  title: string;
  /** One line: what is measured. */
  summary: string;
  run(opts: RunOptions): D;
  plot(result: D): string;
  checks(result: D): Check[];
}

/** The command line that reproduces a result. */
export function commandFor(name: string, quick: boolean): string {
  return `mptcp-ts experiment ${name}${quick ? ' --quick' : ''}`;
}

/**
 * A finished result: the header every result carries (in this key order), the experiment's own fields, and
 * the checks evaluated on the whole.
 */
export function finishResult<D extends ResultHeader>(
  e: { name: string; title: string },
  opts: RunOptions,
  seeds: number[],
  checks: (r: D) => Check[],
  own: Omit<D, keyof ResultHeader>,
): D {
  const r = {
    experiment: e.name,
    title: e.title,
    quick: opts.quick,
    seeds,
    command: commandFor(e.name, opts.quick),
    ...own,
    checks: [] as Check[],
  } as D;
  r.checks = checks(r);
  return r;
}

/** Seeds 1..n. */
export const seedsUpTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);
