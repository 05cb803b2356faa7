import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runDeadline } from '../../examples/deadline.ts';
import { simPair, udpPair } from '../../examples/harness.ts';
import { MS } from '../../src/util/time.ts';

// Path 1 alone needs 4 s for 5 MB at 10 Mbit/s; with path 2 (20 Mbit/s) the deadline of 3 s is reachable.
const SLOW_FIRST = [
  { rate: 10e6, delay: 10 * MS },
  { rate: 20e6, delay: 10 * MS },
];

for (const mode of ['half', 'continuous'] as const)
  test(`behind schedule (${mode}): the second interface is added and the deadline is met`, async () => {
    const r = await runDeadline(simPair(SLOW_FIRST, 4), { size: 5_000_000, deadlineMs: 3000, mode }, 20_000);
    assert.ok(r.intact);
    assert.notEqual(r.openedAtMs, null);
    if (mode === 'half') assert.ok(Math.abs(r.openedAtMs! - 1500) < 1, `opened at ${r.openedAtMs}`);
    else assert.ok(r.openedAtMs! < 1500, `continuous check noticed at ${r.openedAtMs} ms`);
    assert.ok(r.metDeadline, `completed in ${r.completedMs} ms`);
  });

test('on schedule: no second subflow', async () => {
  const fast = [{ rate: 50e6, delay: 10 * MS }, { rate: 20e6 }];
  const r = await runDeadline(
    simPair(fast, 5),
    { size: 5_000_000, deadlineMs: 3000, mode: 'continuous' },
    20_000,
  );
  assert.ok(r.intact && r.metDeadline);
  assert.equal(r.openedAtMs, null);
});

test('over UDP on loopback (an impossible deadline forces the second subflow)', {
  timeout: 120_000,
}, async () => {
  const pair = await udpPair();
  const r = await runDeadline(
    pair,
    { size: 10_000_000, deadlineMs: 1, mode: 'continuous', checkEveryMs: 20, graceMs: 20 },
    100_000,
  );
  await pair.close();
  assert.ok(r.intact);
  assert.notEqual(r.openedAtMs, null);
});
