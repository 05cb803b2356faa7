/**
 * The result of a simulated run, shaped exactly as SCENARIOS.md "Result" (fields may be added, never renamed
 * or dropped). Figures are rounded to fixed decimals so that one seed gives one byte-identical JSON text.
 */
import type { FlowEvent } from './mptcp-flow.ts';

export interface SubflowResult {
  id: number;
  path: string;
  local: string;
  remote: string;
  /** Bytes sent by the data sender on this subflow (first transmissions and retransmissions). */
  bytesSent: number;
  bytesRetransmitted: number;
  backup: boolean;
  established: boolean;
  /** The data sender's smoothed RTT in ms (0 before any sample). */
  srttMs: number;
  /** null while open or after a clean close; otherwise why it closed ("reset", "timeout", ...). */
  closedReason: string | null;
  /** Added: the data sender's MSS (payload bytes per full segment). */
  mss: number;
  /** Added (MPTCP): the client's address id for the subflow's local address. */
  addressId?: number;
  /** Added (MPTCP): bytes the data sender reinjected onto this subflow after another failed or stalled. */
  reinjectedBytes?: number;
}

export interface RequestResult {
  size: number;
  startMs: number;
  fctMs: number | null;
}

export interface TimelinePoint {
  /** End of the interval, seconds of simulated time. */
  t: number;
  goodputMbps: number;
  perPathMbps: Record<string, number>;
}

export interface FlowResult {
  name: string;
  protocol: 'tcp' | 'mptcp';
  completed: boolean;
  completionMs: number | null;
  bytesDelivered: number;
  goodputMbps: number;
  integrity: boolean;
  fallback: boolean;
  subflows: SubflowResult[];
  requests: RequestResult[];
  timeline: TimelinePoint[];
  /** Added (MPTCP): the connection events of both ends (netlink-style names), with simulated seconds. */
  events?: FlowEvent[];
}

export interface SimResult {
  scenario: string;
  seed: number;
  simulatedMs: number;
  wallMs: number;
  events: number;
  eventsPerSecond: number;
  flows: FlowResult[];
}

/** Rounds to `digits` decimals (and turns -0 into 0), for stable JSON text. */
export function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  const r = Math.round(x * f) / f;
  return r === 0 ? 0 : r;
}

/** The nearest-rank `p` quantile (0 < p ≤ 1) of ascending `sorted` values; NaN when there are none. */
export function quantile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/** Megabits per second for `bytes` over `durationUs` µs (0 for an empty interval). */
export function mbps(bytes: number, durationUs: number): number {
  return durationUs > 0 ? (bytes * 8) / durationUs : 0;
}

/** Jain's fairness index of shares x_i: (Σx)² / (n·Σx²), 1 when all are equal, 1/n when one takes all. */
export function jainIndex(xs: readonly number[]): number {
  let sum = 0;
  let squares = 0;
  for (const x of xs) {
    sum += x;
    squares += x * x;
  }
  return squares === 0 ? 1 : (sum * sum) / (xs.length * squares);
}

/** The result without the two figures that depend on the machine (wallMs, eventsPerSecond). */
export function withoutWallClock(r: SimResult): Omit<SimResult, 'wallMs' | 'eventsPerSecond'> {
  const { wallMs: _w, eventsPerSecond: _e, ...rest } = r;
  return rest;
}
