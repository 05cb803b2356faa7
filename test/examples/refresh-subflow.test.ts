import assert from 'node:assert/strict';
import { test } from 'node:test';
import { simPair, udpPair } from '../../examples/harness.ts';
import { runRefresh } from '../../examples/refresh-subflow.ts';

test('refresh every 3 MB in the simulator: a new port each time, the old subflow closed, every byte intact', async () => {
  const r = await runRefresh(simPair([{}]), 12_000_000, 3_000_000, 30_000);
  assert.ok(r.intact);
  assert.ok(r.refreshes.length >= 3, `${r.refreshes.length} refreshes`);
  assert.equal(new Set(r.ports).size, r.ports.length, `ports ${r.ports}`);
  for (const x of r.refreshes) assert.ok(x.replacement > x.old);
});

test('refresh over UDP on loopback', { timeout: 120_000 }, async () => {
  const pair = await udpPair();
  const r = await runRefresh(pair, 20_000_000, 4_000_000, 100_000);
  await pair.close();
  assert.ok(r.intact);
  assert.ok(r.refreshes.length >= 3, `${r.refreshes.length} refreshes`);
  assert.equal(new Set(r.ports).size, r.ports.length);
});
