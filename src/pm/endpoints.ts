/**
 * The Linux-style in-kernel path manager (net/mptcp/pm_kernel.c), one instance per connection:
 *
 * - the endpoint matching the initial subflow's local address is taken by it (its `backup` flag makes the
 *   initial subflow backup, by MP_PRIO) and is neither announced nor used again;
 * - `signal` endpoints are announced (ADD_ADDR) once the connection is established;
 * - each `subflow` endpoint opens one subflow toward the peer's initial address, or, with `fullmesh`, one
 *   toward every remote address known (the initial one and the accepted announcements);
 * - `backup` endpoints open their subflows as backup, and joins the peer makes to them turn backup;
 * - a peer's ADD_ADDR is accepted while fewer than `add_addr_accepted` were and the subflow limit leaves
 *   room, unless a subflow to that address exists already: then one subflow goes to it from every
 *   `fullmesh` endpoint, or, with none, from the address routing picks (`route`; by default the initial
 *   subflow's); refused ones are only echoed;
 * - every subflow opened or accepted counts against `subflows`, and joins beyond it are refused.
 *
 * Unlike Linux, a subflow that fails is re-created with backoff when its path works again (the initial
 * subflow too, as a join, on the side that opened it), and a signal address that comes back is announced
 * again.
 */
import type { MptcpConnection, PathManager } from '../mptcp/connection.ts';
import type { Subflow } from '../mptcp/subflow.ts';
import type { Instant } from '../util/time.ts';
import {
  checkEndpoints,
  checkLimits,
  type Endpoint,
  type EndpointLimits,
  type EndpointSpec,
} from './endpoint-config.ts';
import { joinAllowed } from './limits.ts';
import { SubflowPlan, type WantedPair } from './plan.ts';

export interface EndpointsOptions {
  endpoints: EndpointSpec[];
  limits?: EndpointLimits;
  /**
   * The local address the routing table would pick toward `remote` (for subflows to accepted ADD_ADDRs when
   * no endpoint is `fullmesh`); null or left out: the initial subflow's local address.
   */
  route?: (remote: string) => string | null;
}

const isV6 = (a: string) => a.includes(':');

export function endpointsManager(opts: EndpointsOptions): PathManager {
  const endpoints = checkEndpoints(opts.endpoints);
  const limits = checkLimits(opts.limits);
  const plan = new SubflowPlan();
  const backupAddresses = new Set(endpoints.filter((e) => e.backup).map((e) => e.address));
  const backupIds = new Set(endpoints.filter((e) => e.backup).map((e) => e.id));
  /** Join slots decided so far, each counting against the subflow limit (the initial pair has its own). */
  const wanted: WantedPair[] = [];
  let initialSlot: WantedPair | null = null;
  /** The initial subflow's addresses, fixed at establishment. */
  let init: { local: string; remote: string; port: number } | null = null;
  let mpc: Endpoint | undefined;
  /** Subflow endpoints already used (Linux: cleared from id_avail_bitmap). */
  const used = new Set<number>();
  /** Accepted announcements: the peer's address id → address. */
  const accepted = new Map<number, string>();
  const announced = new Set<string>();
  /** Joins the peer made that we have not yet looked at (for backup endpoints). */
  let joinsToCheck = false;
  const checkedJoins = new Set<number>();

  const all = (): WantedPair[] => (initialSlot ? [initialSlot, ...wanted] : wanted);
  const room = (conn: MptcpConnection) => {
    let acceptedJoins = 0;
    for (const s of conn.subflows)
      if (s.phase !== 'closed' && s.kind === 'join' && !s.initiator) acceptedJoins++;
    return limits.subflows - wanted.length - acceptedJoins;
  };
  const hasSlot = (local: string, remote: string) =>
    all().some((w) => w.local === local && w.remote === remote);
  const addSlot = (local: string, remote: string, port: number, backup: boolean) =>
    wanted.push({ local, remote, port, ...(backup ? { backup: true } : {}) });

  /** Our endpoints' ids become the address ids of their addresses (Linux uses the endpoint id on the wire). */
  const registerIds = (conn: MptcpConnection) => {
    for (const e of endpoints) {
      if (e === mpc || conn.localAddresses.has(e.id)) continue;
      if ([...conn.localAddresses.values()].some((a) => a.address === e.address)) continue;
      conn.localAddresses.set(e.id, {
        addressId: e.id,
        address: e.address,
        port: null,
        backup: e.backup,
        announce: null,
      });
    }
  };

  /** The remote addresses a fullmesh endpoint meshes with: the initial one, then the accepted ones. */
  const knownRemotes = (conn: MptcpConnection): [string, number][] => {
    const out: [string, number][] = init ? [[init.remote, init.port]] : [];
    for (const [id, address] of accepted) {
      const r = conn.remoteAddresses.get(id);
      out.push([address, r?.port ?? init?.port ?? conn.port]);
    }
    return out;
  };

  /** Linux's "create subflow or signal addr" step for the subflow endpoints not used yet. */
  const openFromEndpoints = (conn: MptcpConnection) => {
    if (!init) return;
    for (const e of endpoints) {
      if (!e.subflow || e === mpc || used.has(e.id) || room(conn) <= 0) continue;
      used.add(e.id);
      if (!e.fullmesh) {
        if (isV6(e.address) === isV6(init.remote)) addSlot(e.address, init.remote, init.port, e.backup);
        continue;
      }
      for (const [remote, port] of knownRemotes(conn))
        if (room(conn) > 0 && isV6(e.address) === isV6(remote) && !hasSlot(e.address, remote))
          addSlot(e.address, remote, port, e.backup);
    }
  };

  const reconcile = (conn: MptcpConnection, now?: Instant) => {
    registerIds(conn);
    plan.reconcile(conn, all(), now);
  };

  return {
    name: 'endpoints',
    established(conn) {
      const sf = conn.initial();
      if (!sf) return;
      init = { local: sf.tcp.local.address, remote: sf.tcp.remote.address, port: sf.tcp.remote.port };
      mpc = endpoints.find((e) => e.address === init!.local);
      if (conn.role === 'client') initialSlot = { ...init, ...(mpc?.backup ? { backup: true } : {}) };
      else if (mpc?.backup) conn.setBackup(sf.id, true);
      registerIds(conn);
      for (const e of endpoints)
        if (e.signal && e !== mpc) {
          conn.announce(e.address, { backup: e.backup });
          announced.add(e.address);
        }
      openFromEndpoints(conn);
      reconcile(conn);
    },
    announced(conn, addressId) {
      const r = conn.remoteAddresses.get(addressId);
      if (!r || !init || accepted.has(addressId)) return;
      if (accepted.size >= limits.addAddrAccepted || room(conn) <= 0) return;
      // (A join the peer is still opening has no TCP connection attached yet.)
      const live = conn.subflows.some((s) => s.phase !== 'closed' && s.tcp?.remote.address === r.address);
      if (live || all().some((w) => w.remote === r.address)) return;
      const port = r.port ?? init.port;
      let added = 0;
      for (const e of endpoints)
        if (e.fullmesh && room(conn) > 0 && isV6(e.address) === isV6(r.address)) {
          addSlot(e.address, r.address, port, e.backup);
          added++;
        }
      if (added === 0) {
        const local = opts.route?.(r.address) ?? init.local;
        if (isV6(local) !== isV6(r.address)) return;
        addSlot(local, r.address, port, backupAddresses.has(local));
      }
      accepted.set(addressId, r.address);
      // A fullmesh subflow endpoint meshes with the new address too.
      openFromEndpoints(conn);
      reconcile(conn);
    },
    removed(conn, addressId) {
      const address = accepted.get(addressId);
      if (address !== undefined) {
        accepted.delete(addressId);
        for (let i = wanted.length - 1; i >= 0; i--) if (wanted[i]!.remote === address) wanted.splice(i, 1);
        // Joins still opening have no remote address id yet, so the connection kept them: abandon them.
        for (const s of conn.liveSubflows())
          if (s.initiator && s.kind === 'join' && s.tcp?.remote.address === address)
            conn.closeSubflow(s.id, 'address removed by the peer');
      }
      openFromEndpoints(conn);
      reconcile(conn);
    },
    subflowClosed: (conn: MptcpConnection, sf: Subflow) => plan.failed(conn, sf),
    addressChanged(conn, address, up) {
      plan.setAddressUp(address, up);
      // The connection withdrew the address when it went down (REMOVE_ADDR): announce it again.
      if (up && announced.has(address) && conn.state === 'established') {
        registerIds(conn);
        const e = endpoints.find((x) => x.address === address)!;
        conn.announce(address, { backup: e.backup });
      }
      reconcile(conn);
    },
    acceptJoin(conn) {
      const ok = joinAllowed(conn, limits.subflows);
      if (ok && backupAddresses.size > 0) joinsToCheck = true;
      return ok;
    },
    timer(conn, now) {
      if (joinsToCheck) {
        // A join to a backup endpoint's address turns backup (Linux sets the B bit of its SYN/ACK).
        joinsToCheck = false;
        // The endpoint gave the join our address id for its local address: the endpoint's id, or 0 for the
        // initial subflow's address.
        for (const s of conn.subflows) {
          if (s.kind !== 'join' || s.initiator || s.phase === 'closed' || checkedJoins.has(s.id)) continue;
          checkedJoins.add(s.id);
          const backup = s.localAddressId === 0 ? mpc?.backup === true : backupIds.has(s.localAddressId);
          if (backup && !s.backupLocal) conn.setBackup(s.id, true);
        }
      }
      reconcile(conn, now);
    },
    nextDeadline: (conn) => (joinsToCheck ? conn.now : plan.nextDeadline(conn)),
  };
}
