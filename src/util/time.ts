/** Time in the engine: integer microseconds. The simulator's clock is virtual; real drivers read a monotonic clock. */
export type Instant = number;
export type Duration = number;

export const US = 1;
export const MS = 1000;
export const SECOND = 1_000_000;

export const ms = (n: number): Duration => Math.round(n * MS);
export const seconds = (n: number): Duration => Math.round(n * SECOND);
