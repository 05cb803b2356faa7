/**
 * Use case 3 of the enhanced socket API paper: a download with a deadline starts on one interface and opens
 * a subflow on a second one only when it falls behind: either once, at half the deadline (behind when less
 * than half the bytes arrived), or continuously (behind when received/elapsed < size/deadline).
 *
 *   node --import tsx examples/deadline.ts          # over UDP on loopback
 */
import type { MultipathConnection } from '../src/api/control.ts';
import { type Pair, udpPair } from './harness.ts';
import { objectClient, serveObjects } from './object-protocol.ts';

export interface DeadlineOptions {
  size: number;
  deadlineMs: number;
  secondLocal: string;
  /** 'half': one check at deadline/2; 'continuous': a check every `checkEveryMs` (default 100). */
  mode: 'half' | 'continuous';
  checkEveryMs?: number;
  /** Continuous checks start this late, past the handshake and slow start (default deadline/10). */
  graceMs?: number;
}

export interface DeadlineResult {
  intact: boolean;
  completedMs: number;
  /** When the second subflow was opened (ms after the request), or null. */
  openedAtMs: number | null;
  metDeadline: boolean;
}

/** Requests `size` bytes on `c` and watches the rate against the deadline; calls `done` at the end. */
export function downloadWithDeadline(
  c: MultipathConnection,
  o: DeadlineOptions,
  done: (r: DeadlineResult) => void,
): void {
  const t0 = c.now();
  let received = 0;
  let openedAt: number | null = null;
  let finished = false;
  let cancel: () => void = () => {};
  const behind = () => {
    const elapsed = c.now() - t0;
    if (o.mode === 'half') return received < o.size / 2;
    return elapsed > 0 && received / elapsed < o.size / o.deadlineMs;
  };
  const check = () => {
    if (finished || openedAt !== null) return;
    if (c.info().state !== 'established') {
      // Joins need the connection established: look again shortly.
      cancel = c.after(o.checkEveryMs ?? 100, check);
      return;
    }
    if (behind()) {
      openedAt = c.now() - t0;
      c.openSubflow({ local: o.secondLocal });
      return;
    }
    if (o.mode === 'continuous') cancel = c.after(o.checkEveryMs ?? 100, check);
  };
  cancel = c.after(o.mode === 'half' ? o.deadlineMs / 2 : (o.graceMs ?? o.deadlineMs / 10), check);
  objectClient(c, {
    onProgress: (n) => {
      received = n;
    },
    onObject: (_size, intact) => {
      finished = true;
      cancel();
      const completedMs = c.now() - t0;
      c.end();
      done({ intact, completedMs, openedAtMs: openedAt, metDeadline: completedMs <= o.deadlineMs });
    },
  }).request(o.size);
}

export async function runDeadline(
  pair: Pair,
  o: Omit<DeadlineOptions, 'secondLocal'>,
  limitMs: number,
): Promise<DeadlineResult> {
  pair.serve(serveObjects);
  const [first, second] = pair.clientAddresses;
  const c = pair.connect({ addresses: [first!], pathManager: 'passive' });
  let result: DeadlineResult | null = null;
  downloadWithDeadline(c, { ...o, secondLocal: second! }, (r) => {
    result = r;
  });
  await pair.run(() => result !== null, limitMs);
  return result!;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const pair = await udpPair();
  const r = await runDeadline(pair, { size: 30_000_000, deadlineMs: 2000, mode: 'continuous' }, 60_000);
  console.log(
    `30 MB in ${r.completedMs.toFixed(0)} ms (deadline 2000 ms, ${r.metDeadline ? 'met' : 'missed'}); second subflow ${
      r.openedAtMs === null ? 'not needed' : `opened at ${r.openedAtMs.toFixed(0)} ms`
    }; intact ${r.intact}`,
  );
  await pair.close();
}
