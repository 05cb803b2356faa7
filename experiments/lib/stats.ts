/** Summaries over seeds: mean, sample standard deviation, extremes; rounded so result files are stable. */
import { round } from '../../src/sim/result.ts';

export interface Summary {
  mean: number;
  /** Sample standard deviation (n − 1); 0 for a single value. */
  sd: number;
  min: number;
  max: number;
  n: number;
}

export function summarize(values: readonly number[], digits = 3): Summary {
  const n = values.length;
  if (n === 0) throw new RangeError('summarize: no values; run at least one seed');
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : 0;
  return {
    mean: round(mean, digits),
    sd: round(sd, digits),
    min: round(Math.min(...values), digits),
    max: round(Math.max(...values), digits),
    n,
  };
}

/** Groups rows by a key, keeping the order in which keys first appear. */
export function groupBy<T>(rows: readonly T[], key: (row: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const r of rows) {
    const k = key(r);
    const list = out.get(k);
    if (list) list.push(r);
    else out.set(k, [r]);
  }
  return out;
}
