import assert from 'node:assert/strict';
import { test } from 'node:test';
import { simPair, udpPair } from '../../examples/harness.ts';
import { runLargeObjects } from '../../examples/large-object.ts';
import { MS } from '../../src/util/time.ts';

const SIZES = [20_000, 6_000_000, 30_000, 6_000_000, 1_000];

test('in the simulator: only objects above the threshold get the second path, and they finish sooner', async () => {
  // Two 20 Mbit/s paths: a large object over both should take about half the time of one path alone.
  const paths = [
    { rate: 20e6, delay: 10 * MS },
    { rate: 20e6, delay: 10 * MS },
  ];
  const { results, subflowsOpened } = await runLargeObjects(simPair(paths, 3), SIZES, 1_000_000, 60_000);
  assert.deepEqual(
    results.map((r) => r.secondSubflow),
    [false, true, false, true, false],
  );
  assert.ok(results.every((r) => r.intact));
  assert.equal(subflowsOpened, 2, 'one extra subflow per large object');
  // 6 MB at 20 Mbit/s is 2.4 s on one path; with the second path it must take clearly less.
  for (const r of results.filter((x) => x.secondSubflow))
    assert.ok(r.ms < 2000, `large object took ${r.ms} ms`);
});

test('over UDP on loopback', { timeout: 120_000 }, async () => {
  const pair = await udpPair();
  const { results } = await runLargeObjects(pair, SIZES, 1_000_000, 100_000);
  await pair.close();
  assert.deepEqual(
    results.map((r) => r.secondSubflow),
    [false, true, false, true, false],
  );
  assert.ok(results.every((r) => r.intact));
});
