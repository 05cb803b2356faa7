/**
 * Pacing (TcpConfig.pacing): data segments spread over the round trip at 2·cwnd/srtt in slow start and
 * 1.2·cwnd/srtt after, in bursts of about PACING_QUANTUM, instead of leaving a window at one instant.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PACING_QUANTUM } from '../../src/tcp/connection.ts';
import { MS, SECOND } from '../../src/util/time.ts';
import { bulkTransfer, Net } from './net.ts';

const TOTAL = 3_000_000;

/** Sends TOTAL bytes a → b over a link without a rate (a window leaves at once unless paced). */
function run(pacing: boolean) {
  const net = new Net({ seed: 5, ab: { delay: 10 * MS }, configA: { pacing } });
  const perMs = new Map<number, number>();
  net.tap = (s) => {
    if (s.dir !== 'ab' || s.bytes.length <= s.p.headerLength) return;
    const ms = Math.floor(s.at / PACING_QUANTUM);
    perMs.set(ms, (perMs.get(ms) ?? 0) + 1);
  };
  const { doneAt, got, conn } = bulkTransfer(net, TOTAL, 20 * SECOND);
  return { doneAt, got, maxBurst: Math.max(...perMs.values()), info: conn.info() };
}

test('pacing spreads each window over the round trip; the transfer still completes at once', (t) => {
  const bursty = run(false);
  const paced = run(true);
  t.diagnostic(
    `largest burst per ms: ${bursty.maxBurst} unpaced, ${paced.maxBurst} paced; done at ${bursty.doneAt} and ${paced.doneAt} µs`,
  );
  assert.equal(bursty.got, TOTAL);
  assert.equal(paced.got, TOTAL);
  // Unpaced, a whole window leaves within one millisecond; paced, about a millisecond's share of it.
  assert.ok(bursty.maxBurst > 100, `unpaced: at most ${bursty.maxBurst} segments in a millisecond`);
  assert.ok(
    paced.maxBurst * 4 < bursty.maxBurst,
    `paced: ${paced.maxBurst} segments in a millisecond against ${bursty.maxBurst} unpaced`,
  );
  // At twice cwnd/srtt per round trip, slow start still doubles each round: the cost is small.
  assert.ok(
    paced.doneAt < 1.5 * bursty.doneAt,
    `paced ${paced.doneAt} µs against unpaced ${bursty.doneAt} µs`,
  );
  assert.equal(paced.info.retransmits, 0);
});
