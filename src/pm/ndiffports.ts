/**
 * The ndiffports path manager (after the out-of-tree Linux module): n subflows on the initial address pair,
 * told apart by their source ports, for paths that load-balance by 5-tuple (ECMP). Announced addresses are
 * ignored. A subflow that fails is re-created with backoff while the local address is up.
 */
import type { MptcpConnection, PathManager } from '../mptcp/connection.ts';
import type { Subflow } from '../mptcp/subflow.ts';
import type { Instant } from '../util/time.ts';
import { PathManagerError } from './errors.ts';
import { SubflowPlan, type WantedPair } from './plan.ts';

export interface NdiffportsOptions {
  /** Subflows on the pair, the initial one included (Linux's module: num_subflows, default 2). */
  subflows?: number;
  /** All of them backup (the initial one sends MP_PRIO). */
  backup?: boolean;
}

export function ndiffportsManager(opts: NdiffportsOptions = {}): PathManager {
  const n = opts.subflows ?? 2;
  if (!Number.isInteger(n) || n < 1)
    throw new PathManagerError(`ndiffports needs a whole number of subflows (≥ 1), got ${n}`);
  const plan = new SubflowPlan();
  // The initial pair, fixed at establishment: the initial subflow may close later, the pair stays wanted.
  let wanted: WantedPair[] = [];
  return {
    name: 'ndiffports',
    established: (conn: MptcpConnection) => {
      const init = conn.initial();
      if (!init) return;
      const pair: WantedPair = {
        local: init.tcp.local.address,
        remote: init.tcp.remote.address,
        port: init.tcp.remote.port,
        ...(opts.backup ? { backup: true } : {}),
      };
      wanted = Array.from({ length: n }, () => pair);
      plan.reconcile(conn, wanted);
    },
    subflowClosed: (conn: MptcpConnection, sf: Subflow) => plan.failed(conn, sf),
    addressChanged: (conn: MptcpConnection, address: string, up: boolean) => {
      plan.setAddressUp(address, up);
      plan.reconcile(conn, wanted);
    },
    timer: (conn: MptcpConnection, now: Instant) => plan.timer(conn, now, wanted),
    nextDeadline: (conn: MptcpConnection) => plan.nextDeadline(conn),
  };
}
