/**
 * The userspace path manager (after Linux's `pm_type 1` driven by mptcpd or `ip mptcp` netlink commands):
 * it opens and announces nothing by itself. Every path-manager event goes to the application's callback,
 * joins are accepted by the application's predicate, and the application acts through helpers that call
 * the connection API. Subflows opened through the helpers (and the initial one, on the side that opened
 * it) are kept: one that fails is re-created with backoff when its path works again, unless the
 * application closed it or removed its address.
 */
import type { MptcpConnection, PathManager } from '../mptcp/connection.ts';
import type { MptcpEvent } from '../mptcp/events.ts';
import type { Subflow } from '../mptcp/subflow.ts';
import type { Instant } from '../util/time.ts';
import { PathManagerError } from './errors.ts';
import { joinAllowed } from './limits.ts';
import { SubflowPlan, type WantedPair } from './plan.ts';

/** What the application hears: the kernel-named connection events a path manager sees, and interface changes. */
export type UserspaceEvent =
  | Extract<MptcpEvent, { type: 'established' | 'announced' | 'removed' | 'sub_closed' }>
  | { type: 'interface'; address: string; up: boolean };

export interface UserspaceOptions {
  onEvent?: (conn: MptcpConnection, e: UserspaceEvent) => void;
  /** Decides each join the peer opens; left out, joins are accepted up to the connection's maxSubflows. */
  acceptJoin?: (conn: MptcpConnection) => boolean;
  /** Re-create failed subflows opened through the helpers, and the initial one (default true). */
  keepSubflows?: boolean;
}

export interface UserspaceManager extends PathManager {
  /** ADD_ADDR for a local address; returns its address id. */
  announce(conn: MptcpConnection, address: string, opts?: { port?: number; backup?: boolean }): number;
  /** REMOVE_ADDR for a local address; its subflows close and are not re-created. */
  removeAddress(conn: MptcpConnection, address: string): void;
  /** Opens a subflow (port: the peer's, by default the connection's); returns its id. */
  openSubflow(
    conn: MptcpConnection,
    local: string,
    remote: string,
    opts?: { port?: number; backup?: boolean },
  ): number;
  /** Closes a subflow for good (it is not re-created). */
  closeSubflow(conn: MptcpConnection, id: number): void;
  /** MP_PRIO; a re-created subflow keeps the priority. */
  setBackup(conn: MptcpConnection, id: number, backup: boolean): void;
}

const managers = new WeakSet<PathManager>();

/** The userspace manager driving `conn`; throws when another manager drives it. */
export function userspaceOf(conn: MptcpConnection): UserspaceManager {
  if (!managers.has(conn.pm))
    throw new PathManagerError(
      `this connection's path manager is '${conn.pm.name}': create it with userspaceManager() to drive it`,
    );
  return conn.pm as UserspaceManager;
}

export function userspaceManager(opts: UserspaceOptions = {}): UserspaceManager {
  const keep = opts.keepSubflows ?? true;
  const plan = new SubflowPlan();
  const wanted: WantedPair[] = [];
  let next = 0;
  const tell = (conn: MptcpConnection, e: UserspaceEvent) => opts.onEvent?.(conn, e);
  const mine = (conn: MptcpConnection) => {
    if (conn.pm !== pm)
      throw new PathManagerError('this helper belongs to the path manager of another connection');
  };
  const drop = (key: string) => {
    plan.forget(key);
    const i = wanted.findIndex((w) => w.key === key);
    if (i >= 0) wanted.splice(i, 1);
  };

  const pm: UserspaceManager = {
    name: 'userspace',
    established(conn) {
      const init = conn.initial();
      if (keep && init && conn.role === 'client') {
        const pair = {
          key: 'initial',
          local: init.tcp.local.address,
          remote: init.tcp.remote.address,
          port: init.tcp.remote.port,
        };
        wanted.push(pair);
        plan.adopt(pair.key, pair.local, init.id);
      }
      tell(conn, { type: 'established', token: conn.localToken });
    },
    announced(conn, addressId) {
      const r = conn.remoteAddresses.get(addressId);
      if (r) tell(conn, { type: 'announced', addressId, address: r.address, port: r.port });
    },
    removed: (conn, addressId) => tell(conn, { type: 'removed', addressId }),
    subflowClosed(conn: MptcpConnection, sf: Subflow, reason: string) {
      plan.failed(conn, sf);
      tell(conn, { type: 'sub_closed', subflow: sf.id, local: sf.local, remote: sf.remote, reason });
    },
    addressChanged(conn, address, up) {
      plan.setAddressUp(address, up);
      plan.reconcile(conn, wanted);
      tell(conn, { type: 'interface', address, up });
    },
    timer: (conn: MptcpConnection, now: Instant) => plan.timer(conn, now, wanted),
    nextDeadline: (conn) => plan.nextDeadline(conn),
    acceptJoin: (conn) => opts.acceptJoin?.(conn) ?? joinAllowed(conn, Number.POSITIVE_INFINITY),

    announce(conn, address, o = {}) {
      mine(conn);
      return conn.announce(address, o);
    },
    removeAddress(conn, address) {
      mine(conn);
      for (const w of [...wanted]) if (w.local === address) drop(w.key!);
      conn.removeAddress(address);
    },
    openSubflow(conn, local, remote, o = {}) {
      mine(conn);
      const port = o.port ?? conn.port;
      const id = conn.openSubflow(local, remote, port, o.backup === undefined ? {} : { backup: o.backup });
      if (keep) {
        const key = `app${++next}`;
        wanted.push({ key, local, remote, port, ...(o.backup === undefined ? {} : { backup: o.backup }) });
        plan.adopt(key, local, id);
      }
      return id;
    },
    closeSubflow(conn, id) {
      mine(conn);
      const key = plan.slotOf(id);
      if (key !== undefined) drop(key);
      conn.closeSubflow(id);
    },
    setBackup(conn, id, backup) {
      mine(conn);
      conn.setBackup(id, backup);
      const key = plan.slotOf(id);
      const w = wanted.find((x) => x.key === key);
      if (w) w.backup = backup;
    },
  };
  managers.add(pm);
  return pm;
}
