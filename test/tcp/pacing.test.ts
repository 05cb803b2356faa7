/**
 * Pacing (TcpConfig.pacing): data segments spread over the round trip at 2·cwnd/srtt in slow start and
 * 1.2·cwnd/srtt after, in bursts of about PACING_QUANTUM, instead of leaving a window at one instant.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PACING_QUANTUM, type TcpConnection } from '../../src/tcp/connection.ts';
import type { SubflowHook } from '../../src/tcp/hook.ts';
import { MS, SECOND } from '../../src/util/time.ts';
import { bulkTransfer, Net } from './net.ts';

const TOTAL = 3_000_000;

/** The data source of an upper layer (MPTCP's place): pulled data is sent as a view, apart from the header. */
class Source implements SubflowHook {
  private next = 0;
  constructor(private readonly bytes: Uint8Array) {}
  options(): null {
    return null;
  }
  incoming(): boolean {
    return true;
  }
  pull(_c: TcpConnection, _ssn: number, max: number): Uint8Array | null {
    if (this.next >= this.bytes.length) return null;
    const n = Math.min(max, this.bytes.length - this.next);
    this.next += n;
    return this.bytes.subarray(this.next - n, this.next);
  }
}

/**
 * Sends `total` bytes a → b over a 10 ms link without a rate (a window leaves at once unless paced);
 * `gather`: the data comes from a pulling upper layer and leaves apart from its header (gatherPayload);
 * `late`: every timer fires that late.
 */
function run(pacing: boolean, o: { gather?: boolean; late?: number; total?: number } = {}) {
  const net = new Net({
    seed: 5,
    ab: { delay: 10 * MS },
    configA: { pacing, gatherPayload: o.gather ?? false },
  });
  net.timerLate = o.late ?? 0;
  const perMs = new Map<number, number>();
  net.tap = (s) => {
    if (s.dir !== 'ab' || s.bytes.length <= s.p.headerLength) return;
    const ms = Math.floor(s.at / PACING_QUANTUM);
    perMs.set(ms, (perMs.get(ms) ?? 0) + 1);
  };
  const total = o.total ?? TOTAL;
  const source = o.gather ? new Source(new Uint8Array(total)) : undefined;
  const { doneAt, got, conn } = bulkTransfer(net, total, 20 * SECOND, source);
  return {
    doneAt,
    got,
    total,
    gathered: net.gathered.length,
    maxBurst: Math.max(...perMs.values()),
    info: conn.info(),
  };
}

test('pacing spreads each window over the round trip; the transfer still completes at once', (t) => {
  const bursty = run(false);
  const paced = run(true);
  t.diagnostic(
    `largest burst per ms: ${bursty.maxBurst} unpaced, ${paced.maxBurst} paced; done at ${bursty.doneAt} and ${paced.doneAt} µs`,
  );
  assert.equal(bursty.got, TOTAL);
  assert.equal(paced.got, TOTAL);
  // Unpaced, a whole window leaves within one millisecond; paced, at most about three milliseconds' share
  // of it (PACING_QUANTUM ahead of the schedule, PACING_CATCH_UP behind it).
  assert.ok(bursty.maxBurst > 100, `unpaced: at most ${bursty.maxBurst} segments in a millisecond`);
  assert.ok(
    paced.maxBurst * 2 < bursty.maxBurst,
    `paced: ${paced.maxBurst} segments in a millisecond against ${bursty.maxBurst} unpaced`,
  );
  // At twice cwnd/srtt per round trip, slow start still doubles each round: the cost is small.
  assert.ok(
    paced.doneAt < 1.5 * bursty.doneAt,
    `paced ${paced.doneAt} µs against unpaced ${bursty.doneAt} µs`,
  );
  assert.equal(paced.info.retransmits, 0);
});

test('a segment whose data goes apart from its header (gatherPayload) is paced by all of its bytes', (t) => {
  const joined = run(true);
  const gathered = run(true, { gather: true });
  t.diagnostic(`largest burst per ms: ${joined.maxBurst} joined, ${gathered.maxBurst} gathered`);
  assert.equal(gathered.got, TOTAL);
  assert.ok(gathered.gathered > 1000, 'the data left apart from the headers');
  // Counting the header alone, the gathered sender let whole windows go at once (638 segments in a millisecond).
  assert.ok(
    gathered.maxBurst <= 1.1 * joined.maxBurst,
    `gathered: ${gathered.maxBurst} segments in a millisecond against ${joined.maxBurst} joined`,
  );
});

test('a paced sender whose timers fire late catches up instead of losing the lateness', (t) => {
  // No rate on the path: pacing is what spreads the window, and each late timer would slow the flow.
  const opts = { total: 20_000_000, late: 3 * MS };
  const unpaced = run(false, opts);
  const paced = run(true, opts);
  t.diagnostic(`done at ${unpaced.doneAt} µs unpaced, ${paced.doneAt} µs paced, timers 3 ms late`);
  assert.equal(paced.got, opts.total);
  // Without catching up, the paced transfer took 1.30 times as long here.
  assert.ok(
    paced.doneAt < 1.1 * unpaced.doneAt,
    `paced ${paced.doneAt} µs against unpaced ${unpaced.doneAt} µs`,
  );
});
