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
  backup?: boolean;
}

interface Slot {
  key: string;
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
        if (s.key.startsWith(`${address}>`)) {
          s.retryAt = null;
          s.backoff = 0;
        }
    } else this.down.add(address);
  }

  /** Opens subflows for wanted pairs that have none (and whose retry time has come). */
  reconcile(conn: MptcpConnection, wanted: WantedPair[], now?: Instant): void {
    if (conn.state !== 'established' || conn.fallback || conn.remoteKey === null) return;
    const seen = new Map<string, number>();
    for (const w of wanted) {
      const base = `${w.local}>${w.remote}:${w.port}`;
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      const key = `${base}#${n}`;
      let slot = this.slots.get(key);
      if (!slot) {
        slot = { key, subflow: null, retryAt: null, backoff: 0 };
        this.slots.set(key, slot);
        // The initial subflow fills the first slot of its own pair.
        const init = conn.initial();
        if (
          n === 0 &&
          init &&
          init.phase !== 'closed' &&
          `${init.tcp.local.address}>${init.tcp.remote.address}:${init.tcp.remote.port}` === base
        )
          slot.subflow = init.id;
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
        if (!(e instanceof MptcpStateError)) throw e;
        return;
      }
    }
  }

  /** A subflow failed: its slot is retried after a backoff that doubles up to the configured maximum. */
  failed(conn: MptcpConnection, sf: Subflow): void {
    for (const s of this.slots.values()) {
      if (s.subflow !== sf.id) continue;
      s.subflow = null;
      const cfg = conn.config;
      s.backoff = s.backoff === 0 ? cfg.rejoinInitial : Math.min(cfg.rejoinMax, s.backoff * 2);
      s.retryAt = conn.now + s.backoff;
    }
  }

  timer(conn: MptcpConnection, now: Instant, wanted: WantedPair[]): void {
    this.reconcile(conn, wanted, now);
  }

  nextDeadline(): Instant | null {
    let t: Instant | null = null;
    for (const s of this.slots.values())
      if (s.subflow === null && s.retryAt !== null && (t === null || s.retryAt < t)) t = s.retryAt;
    return t;
  }
}
