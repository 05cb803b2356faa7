/**
 * Keeps a connection's subflows matching a wanted set of address pairs: opens the missing ones, and after a
 * failure re-creates them with exponential backoff (MptcpConfig.rejoinInitial … rejoinMax) while the local
 * address is up. Path managers decide the wanted set; this decides when to (re)open.
 */
import type { MptcpConnection } from '../mptcp/connection.ts';
import { MptcpStateError } from '../mptcp/connection.ts';
import type { Subflow } from '../mptcp/subflow.ts';
import type { Instant } from '../util/time.ts';

export interface WantedPair {
  local: string;
  remote: string;
  port: number;
  /** Open it as backup or active (MP_JOIN B bit); left out, the connection's lists and address decide. */
  backup?: boolean;
  /** A stable name for the slot; left out, `local>remote:port#n` (the n-th pair of that kind). */
  key?: string;
}

interface Slot {
  key: string;
  local: string;
  /** The subflow serving this slot, when one is open or opening. */
  subflow: number | null;
  /** When to try again after a failure. */
  retryAt: Instant | null;
  backoff: number;
}

export class SubflowPlan {
  private readonly slots = new Map<string, Slot>();
  private readonly down = new Set<string>();

  setAddressUp(address: string, up: boolean): void {
    if (up) {
      this.down.delete(address);
      // A returning address is tried at once, whatever the backoff said.
      for (const s of this.slots.values())
        if (s.local === address) {
          s.retryAt = null;
          s.backoff = 0;
        }
    } else this.down.add(address);
  }

  isUp(address: string): boolean {
    return !this.down.has(address);
  }

  /** Opens subflows for wanted pairs that have none (and whose retry time has come); forgets unwanted slots. */
  reconcile(conn: MptcpConnection, wanted: WantedPair[], now?: Instant): void {
    const keys = slotKeys(wanted);
    const keep = new Set(keys);
    for (const k of this.slots.keys()) if (!keep.has(k)) this.slots.delete(k);
    if (conn.state !== 'established' || conn.fallback || conn.remoteKey === null) return;
    for (let i = 0; i < wanted.length; i++) {
      const w = wanted[i]!;
      const key = keys[i]!;
      let slot = this.slots.get(key);
      if (!slot) {
        slot = { key, local: w.local, subflow: null, retryAt: null, backoff: 0 };
        this.slots.set(key, slot);
        if (w.key === undefined && key.endsWith('#0')) this.claimInitial(conn, w, slot);
      }
      if (slot.subflow !== null && conn.subflows.some((s) => s.id === slot.subflow && s.phase !== 'closed'))
        continue;
      slot.subflow = null;
      if (this.down.has(w.local)) continue;
      if (slot.retryAt !== null && (now === undefined || now < slot.retryAt)) continue;
      if (conn.liveSubflows().length >= conn.config.maxSubflows) return;
      try {
        slot.subflow = conn.openSubflow(
          w.local,
          w.remote,
          w.port,
          w.backup === undefined ? {} : { backup: w.backup },
        );
        slot.retryAt = null;
      } catch (e) {
        // Refused for this pair (a limit, the peer's C flag): the other pairs may still open.
        if (!(e instanceof MptcpStateError)) throw e;
      }
    }
  }

  /** The initial subflow fills the first slot of its own pair; a backup slot makes it backup (MP_PRIO). */
  private claimInitial(conn: MptcpConnection, w: WantedPair, slot: Slot): void {
    const init = conn.initial();
    if (
      !init ||
      init.phase === 'closed' ||
      init.tcp.local.address !== w.local ||
      init.tcp.remote.address !== w.remote ||
      init.tcp.remote.port !== w.port
    )
      return;
    slot.subflow = init.id;
    if (w.backup && !init.backupLocal) conn.setBackup(init.id, true);
  }

  /** Binds a subflow opened elsewhere (by the application) to the slot `key`, so it is kept like the others. */
  adopt(key: string, local: string, subflow: number): void {
    this.slots.set(key, { key, local, subflow, retryAt: null, backoff: 0 });
  }

  /** Drops a slot (its subflow, if any, is no longer kept). */
  forget(key: string): void {
    this.slots.delete(key);
  }

  /** The slot a subflow serves, if any. */
  slotOf(subflow: number): string | undefined {
    for (const s of this.slots.values()) if (s.subflow === subflow) return s.key;
    return undefined;
  }

  /** A subflow failed: its slot is retried after a backoff that doubles up to the configured maximum. */
  failed(conn: MptcpConnection, sf: Subflow): void {
    for (const s of this.slots.values()) {
      if (s.subflow !== sf.id) continue;
      s.subflow = null;
      const cfg = conn.config;
      // A subflow that got through its handshake starts a fresh backoff; one that never did keeps doubling.
      if (sf.fullyEstablished || sf.kind === 'initial') s.backoff = 0;
      s.backoff = s.backoff === 0 ? cfg.rejoinInitial : Math.min(cfg.rejoinMax, s.backoff * 2);
      s.retryAt = conn.now + s.backoff;
    }
  }

  timer(conn: MptcpConnection, now: Instant, wanted: WantedPair[]): void {
    this.reconcile(conn, wanted, now);
  }

  /**
   * The next retry; slots whose local address is down wait for it to come up instead (no timer until then),
   * and nothing is retried once the connection is no longer established (closing, closed, fallen back).
   */
  nextDeadline(conn: MptcpConnection): Instant | null {
    if (conn.state !== 'established' || conn.fallback) return null;
    let t: Instant | null = null;
    for (const s of this.slots.values())
      if (
        s.subflow === null &&
        s.retryAt !== null &&
        !this.down.has(s.local) &&
        (t === null || s.retryAt < t)
      )
        t = s.retryAt;
    return t;
  }
}

/** Each pair's slot name: its own key, or `local>remote:port#n` for the n-th pair with those addresses. */
function slotKeys(wanted: WantedPair[]): string[] {
  const seen = new Map<string, number>();
  return wanted.map((w) => {
    if (w.key !== undefined) return w.key;
    const base = `${w.local}>${w.remote}:${w.port}`;
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    return `${base}#${n}`;
  });
}
