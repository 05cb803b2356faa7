/**
 * Use case 1 of the enhanced socket API paper: refresh the subflow every N bytes received. When a download
 * has received another N bytes, open a new subflow on the same addresses (the engine picks another local
 * port), and once it is established close the old one, so no single 4-tuple carries more than about N bytes
 * (against per-flow policing or to re-roll ECMP hashing).
 *
 *   node --import tsx examples/refresh-subflow.ts          # over UDP on loopback
 */
import type { MultipathConnection } from '../src/api/control.ts';
import { type Pair, udpPair } from './harness.ts';
import { objectClient, serveObjects } from './object-protocol.ts';

export interface Refresh {
  /** Bytes received when the refresh started, the subflow replaced and its replacement. */
  at: number;
  old: number;
  replacement: number;
}

/** Watches what `c` receives and replaces its data subflow every `everyBytes`; returns the refreshes so far. */
export function refreshEvery(c: MultipathConnection, everyBytes: number): Refresh[] {
  const done: Refresh[] = [];
  let received = 0;
  let next = everyBytes;
  let pending: Refresh | null = null;
  c.onData((chunk) => {
    received += chunk.length;
    if (received < next || pending !== null) return;
    next = received + everyBytes;
    // The newest working subflow carries the data now.
    const live = c.subflows().filter((s) => s.attached && (s.fullyEstablished || s.initial));
    const current = live.at(-1);
    if (!current) return;
    const replacement = c.openSubflow({
      local: current.local.address,
      remote: current.remote.address,
      remotePort: current.remote.port,
    });
    pending = { at: received, old: current.id, replacement };
  });
  c.onEvent((e) => {
    if (pending === null) return;
    if (e.type === 'sub_established' && e.subflow === pending.replacement) {
      c.closeSubflow(pending.old);
      done.push(pending);
      pending = null;
    } else if (e.type === 'sub_closed' && e.subflow === pending.replacement) pending = null;
  });
  return done;
}

export interface RefreshResult {
  intact: boolean;
  refreshes: Refresh[];
  /** Local ports of every subflow the connection had (all different). */
  ports: number[];
}

/** Downloads `size` bytes over one path, refreshing the subflow every `everyBytes`. */
export async function runRefresh(
  pair: Pair,
  size: number,
  everyBytes: number,
  limitMs: number,
): Promise<RefreshResult> {
  pair.serve(serveObjects);
  const c = pair.connect({ addresses: [pair.clientAddresses[0]!], pathManager: 'passive' });
  const refreshes = refreshEvery(c, everyBytes);
  let result: boolean | null = null;
  objectClient(c, {
    onObject: (_size, intact) => {
      result = intact;
      c.end();
    },
  }).request(size);
  await pair.run(() => result !== null, limitMs);
  return { intact: result === true, refreshes, ports: c.subflows().map((s) => s.local.port) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const pair = await udpPair();
  const r = await runRefresh(pair, 40_000_000, 8_000_000, 60_000);
  console.log(`download intact: ${r.intact}; ${r.refreshes.length} refreshes`);
  for (const x of r.refreshes)
    console.log(`  at ${x.at} bytes: subflow ${x.old} replaced by ${x.replacement}`);
  console.log(`local ports used: ${r.ports.join(', ')}`);
  await pair.close();
}
