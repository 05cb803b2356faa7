/** The real drivers' clock: integer microseconds from a monotonic source (never the wall clock, which jumps). */
import type { Instant } from '../util/time.ts';

export type Clock = () => Instant;

/** Microseconds since the clock was made (process.hrtime is monotonic and nanosecond-grained). */
export function monotonicClock(): Clock {
  const origin = process.hrtime.bigint();
  return () => Number((process.hrtime.bigint() - origin) / 1000n);
}
