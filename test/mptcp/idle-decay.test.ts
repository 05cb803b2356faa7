/**
 * Chunks written with pauses a little longer than the RTO (a video segment every 350 ms): each pause restarts
 * the subflows' windows. RFC 5681 takes them back to the initial window; Linux's decay (TcpConfig.idleDecay,
 * on in the real drivers) halves them, so a chunk goes out in fewer round trips.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TcpConfig } from '../../src/tcp/config.ts';
import { MS, SECOND } from '../../src/util/time.ts';
import { bed, fullmeshPair, pattern } from './harness.ts';

/** The real drivers' loss recovery and window rules (src/api/host.ts), pacing aside. */
const REAL: Partial<TcpConfig> = {
  rackTlp: true,
  frto: true,
  undo: true,
  hystart: true,
  ssthreshFromCwnd: true,
};

function meanChunkTime(idleDecay: boolean): number {
  const path = { delay: 10 * MS, rate: 50e6 };
  const b = bed(1, [path, path], { tcp: { ...REAL, idleDecay } });
  const { conn, server } = fullmeshPair(b);
  b.clientHost.wake();
  b.sim.run(300 * MS);
  let got = 0;
  server()!.onData = (d: Uint8Array) => {
    got += d.length;
  };
  let written = 0;
  const times: number[] = [];
  for (let k = 0; k < 12; k++) {
    const t0 = b.sim.now;
    const end = written + 500_000;
    while (written < end) written += conn.write(pattern(written, Math.min(64 * 1024, end - written)));
    b.clientHost.wake();
    b.sim.run(t0 + 5 * SECOND, () => got >= end);
    assert.equal(got, end, `chunk ${k} arrived`);
    // The first chunks warm the windows up.
    if (k >= 4) times.push(b.sim.now - t0);
    b.sim.run(t0 + 350 * MS);
  }
  return times.reduce((a, x) => a + x, 0) / times.length;
}

test('500 KB every 350 ms over 2 × 50 Mbit/s: halving the windows after each pause, not restarting them, cuts the chunk time', () => {
  const rfc = meanChunkTime(false);
  const linux = meanChunkTime(true);
  // Measured: 99.4 ms with the restart, 60.9 ms with decay.
  assert.ok(
    linux < 0.75 * rfc,
    `mean chunk time ${rfc / MS} ms with RFC 5681's restart, ${linux / MS} ms with decay`,
  );
});
