/**
 * 32-bit sequence-number arithmetic (RFC 9293 §3.4): comparisons modulo 2^32, valid while the two numbers
 * are less than 2^31 apart. The engine keeps its own bookkeeping in 53-bit stream offsets (plain numbers
 * that never wrap) and converts at the edge with these helpers.
 */

/** `a + n` modulo 2^32. */
export const seqAdd = (a: number, n: number): number => (a + n) >>> 0;
/** Signed distance `a - b` in (-2^31, 2^31). */
export const seqDiff = (a: number, b: number): number => (a - b) | 0;
export const seqLt = (a: number, b: number): boolean => ((a - b) | 0) < 0;
export const seqLe = (a: number, b: number): boolean => ((a - b) | 0) <= 0;
export const seqGt = (a: number, b: number): boolean => ((a - b) | 0) > 0;
export const seqGe = (a: number, b: number): boolean => ((a - b) | 0) >= 0;
