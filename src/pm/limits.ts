/**
 * Join limits shared by the managers. Linux counts additional subflows (`ip mptcp limits set subflows N`,
 * at most 8); here a join is admitted while the live subflows, the initial one included, number fewer than
 * 1 + N, so a join that replaces a lost initial subflow is not refused. The connection's maxSubflows caps all.
 */
import type { MptcpConnection } from '../mptcp/connection.ts';
import { PathManagerError } from './errors.ts';

/** Linux's MPTCP_PM_ADDR_MAX: the largest value of a limit and the most endpoints. */
export const PM_ADDR_MAX = 8;

/** May one more subflow join, with at most `subflows` additional ones? */
export function joinAllowed(conn: MptcpConnection, subflows: number): boolean {
  const n = conn.subflowCount();
  return n < 1 + subflows && n < conn.config.maxSubflows;
}

/** Checks a limit like `ip mptcp limits set` does (an integer in 0..8). */
export function checkLimit(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > PM_ADDR_MAX)
    throw new PathManagerError(
      `limit ${name} must be an integer in 0..${PM_ADDR_MAX} (as in Linux), got ${value}`,
    );
  return value;
}
