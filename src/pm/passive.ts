/**
 * The passive path manager (Linux's default for a server without endpoints): opens no subflow and announces
 * no address; accepts the peer's joins while within its subflow limit.
 */
import type { PathManager } from '../mptcp/connection.ts';
import { checkLimit, joinAllowed } from './limits.ts';

export interface PassiveOptions {
  /** Additional subflows the peer may join (Linux's `subflows` limit); left out, only maxSubflows caps them. */
  subflows?: number;
}

export function passiveManager(opts: PassiveOptions = {}): PathManager {
  const limit =
    opts.subflows === undefined ? Number.POSITIVE_INFINITY : checkLimit('subflows', opts.subflows);
  return { name: 'passive', acceptJoin: (conn) => joinAllowed(conn, limit) };
}
