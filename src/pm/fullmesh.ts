/**
 * The fullmesh path manager: one subflow per (local address × remote address) pair, the initial pair
 * included (like Linux's out-of-tree "fullmesh" and the in-kernel `fullmesh` endpoint flag). A subflow that
 * fails is re-created with backoff while its local address is up (Linux does not; users ask for it).
 */
import type { MptcpConnection, PathManager } from '../mptcp/connection.ts';
import type { Subflow } from '../mptcp/subflow.ts';
import type { Instant } from '../util/time.ts';
import { SubflowPlan, type WantedPair } from './plan.ts';

export interface FullmeshOptions {
  /** The client's addresses (the initial subflow's comes first). */
  localAddresses: string[];
  /** Subflows per address pair (ndiffports uses n on one pair). */
  subflowsPerPair?: number;
  /** Local addresses whose subflows start as backup (the initial one too: it sends MP_PRIO). */
  backupAddresses?: string[];
}

export function fullmeshManager(opts: FullmeshOptions): PathManager {
  const plan = new SubflowPlan();
  const perPair = opts.subflowsPerPair ?? 1;
  const backup = new Set(opts.backupAddresses ?? []);
  const wanted = (conn: MptcpConnection) => {
    const init = conn.initial();
    const port = init?.tcp.remote.port ?? conn.port;
    // Remote address → port: the initial one, then the announced ones (an ADD_ADDR may name its own port).
    const remotes = new Map<string, number>();
    if (init) remotes.set(init.tcp.remote.address, port);
    for (const r of conn.remoteAddresses.values())
      if (!remotes.has(r.address)) remotes.set(r.address, r.port ?? port);
    const pairs: WantedPair[] = [];
    for (const local of opts.localAddresses)
      for (const [remote, rport] of remotes)
        for (let k = 0; k < perPair; k++)
          pairs.push({ local, remote, port: rport, ...(backup.has(local) ? { backup: true } : {}) });
    return pairs;
  };
  return {
    name: 'fullmesh',
    established: (conn) => plan.reconcile(conn, wanted(conn)),
    announced: (conn) => plan.reconcile(conn, wanted(conn)),
    removed: (conn) => plan.reconcile(conn, wanted(conn)),
    subflowClosed: (conn: MptcpConnection, sf: Subflow) => plan.failed(conn, sf),
    addressChanged: (conn: MptcpConnection, address: string, up: boolean) => {
      plan.setAddressUp(address, up);
      plan.reconcile(conn, wanted(conn));
    },
    timer: (conn: MptcpConnection, now: Instant) => plan.timer(conn, now, wanted(conn)),
    nextDeadline: (conn: MptcpConnection) => plan.nextDeadline(conn),
  };
}
