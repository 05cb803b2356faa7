/**
 * Use case 2 of the enhanced socket API paper: use a second subflow only for large objects. The client reads
 * each response's length first (like an HTTP Content-Length); above a threshold it opens a subflow on its
 * second interface for that object and closes it when the object is complete, so small objects never pay
 * for (or wake up) the second interface.
 *
 *   node --import tsx examples/large-object.ts          # over UDP on loopback
 */
import type { MultipathConnection } from '../src/api/control.ts';
import { type Pair, udpPair } from './harness.ts';
import { objectClient, serveObjects } from './object-protocol.ts';

export interface ObjectResult {
  size: number;
  intact: boolean;
  /** A second subflow was opened for this object. */
  secondSubflow: boolean;
  ms: number;
}

/**
 * Fetches `sizes` one after the other on `c`, with a subflow from `secondLocal` while an object larger than
 * `threshold` is transferred. Calls `done` with the results.
 */
export function fetchObjects(
  c: MultipathConnection,
  sizes: number[],
  o: { threshold: number; secondLocal: string },
  done: (results: ObjectResult[]) => void,
): void {
  const results: ObjectResult[] = [];
  let extra: number | null = null;
  let started = 0;
  let next = 0;
  const client = objectClient(c, {
    onHeader(size) {
      if (size > o.threshold && extra === null) extra = c.openSubflow({ local: o.secondLocal });
    },
    onObject(size, intact) {
      results.push({ size, intact, secondSubflow: extra !== null, ms: c.now() - started });
      if (extra !== null) {
        // Closed unless it failed on its own meanwhile.
        if (c.subflows().some((s) => s.id === extra && s.attached)) c.closeSubflow(extra);
        extra = null;
      }
      ask();
    },
  });
  const ask = () => {
    if (next === sizes.length) {
      c.end();
      done(results);
      return;
    }
    started = c.now();
    client.request(sizes[next++]!);
  };
  ask();
}

export async function runLargeObjects(
  pair: Pair,
  sizes: number[],
  threshold: number,
  limitMs: number,
): Promise<{ results: ObjectResult[]; subflowsOpened: number }> {
  pair.serve(serveObjects);
  const [first, second] = pair.clientAddresses;
  const c = pair.connect({ addresses: [first!], pathManager: 'passive' });
  let results: ObjectResult[] | null = null;
  fetchObjects(c, sizes, { threshold, secondLocal: second! }, (r) => {
    results = r;
  });
  await pair.run(() => results !== null, limitMs);
  return { results: results!, subflowsOpened: c.subflows().length - 1 };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const pair = await udpPair();
  const { results } = await runLargeObjects(
    pair,
    [20_000, 5_000_000, 30_000, 8_000_000, 1_000],
    1_000_000,
    60_000,
  );
  for (const r of results)
    console.log(
      `${String(r.size).padStart(9)} bytes  ${r.ms.toFixed(1).padStart(8)} ms  ${r.secondSubflow ? 'two subflows' : 'one subflow'}  ${r.intact ? 'intact' : 'CORRUPT'}`,
    );
  await pair.close();
}
