import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CcConfigError, createCc, Reno, UnknownCcError } from '../../src/cc/index.ts';
import type { CcContext } from '../../src/cc/types.ts';

const MSS = 1000;
const ctx = (o: Partial<CcContext> = {}): CcContext => ({
  mss: MSS,
  bytesInFlight: 0,
  srtt: 100_000,
  minRtt: 100_000,
  appLimited: false,
  ...o,
});

/** A Reno controller already in congestion avoidance with cwnd = ssthresh = w (a loss with FlightSize 2w). */
function renoAt(w: number): Reno {
  const cc = new Reno({ mss: MSS });
  cc.onCongestionEvent(0, ctx({ bytesInFlight: 2 * w }));
  cc.onRecoveryEnd(0, ctx());
  return cc;
}

describe('Reno', () => {
  it('starts with 10 segments and an infinite ssthresh', () => {
    const cc = createCc('reno', { mss: MSS });
    assert.equal(cc.name, 'reno');
    assert.equal(cc.cwnd, 10_000);
    assert.equal(cc.ssthresh, Number.POSITIVE_INFINITY);
    assert.equal(createCc('reno', { mss: 1460, initialCwnd: 4 }).cwnd, 5840);
  });

  it('slow start counts bytes with L = 2·MSS (RFC 3465)', () => {
    const cc = new Reno({ mss: MSS });
    cc.onAck(0, 1000, ctx()); // 10000 + 1000
    assert.equal(cc.cwnd, 11_000);
    cc.onAck(0, 3000, ctx()); // stretch ACK: + min(3000, 2000)
    assert.equal(cc.cwnd, 13_000);
    cc.onAck(0, 500, ctx()); // + 500
    assert.equal(cc.cwnd, 13_500);
    cc.onAck(0, 1000, ctx({ appLimited: true })); // application-limited: no growth
    assert.equal(cc.cwnd, 13_500);
  });

  it('sets ssthresh = max(FlightSize/2, 2·MSS) on a loss and deflates to it on recovery exit', () => {
    const cc = new Reno({ mss: MSS });
    cc.onCongestionEvent(0, ctx({ bytesInFlight: 20_000 })); // 20000/2 = 10000
    assert.equal(cc.ssthresh, 10_000);
    assert.equal(cc.cwnd, 10_000);
    cc.onRecoveryEnd(0, ctx());
    assert.equal(cc.cwnd, 10_000);
    cc.onCongestionEvent(0, ctx({ bytesInFlight: 3000 })); // max(1500, 2000)
    assert.equal(cc.ssthresh, 2000);
    assert.equal(cc.cwnd, 2000);
    cc.onCongestionEvent(0, ctx({ bytesInFlight: 5001 })); // floor(5001/2) = 2500
    assert.equal(cc.ssthresh, 2500);
  });

  it('grows about one MSS per RTT in congestion avoidance, byte-exact', () => {
    const cc = renoAt(10_000);
    // Each 1000-byte ACK adds 1000·1000 to the credit; cwnd grows by floor(credit/cwnd), the rest carries:
    //  1: 1000000/10000 = 100 r0        → 10100     6: 1003965/10490 = 95 r7415 → 10585
    //  2: 1000000/10100 = 99 r100       → 10199     7: 1007415/10585 = 95 r1840 → 10680
    //  3: 1000100/10199 = 98 r598       → 10297     8: 1001840/10680 = 93 r8600 → 10773
    //  4: 1000598/10297 = 97 r1789      → 10394     9: 1008600/10773 = 93 r6711 → 10866
    //  5: 1001789/10394 = 96 r3965      → 10490    10: 1006711/10866 = 92 r7039 → 10958
    const expected = [10100, 10199, 10297, 10394, 10490, 10585, 10680, 10773, 10866, 10958];
    for (const w of expected) {
      cc.onAck(0, 1000, ctx());
      assert.equal(cc.cwnd, w);
    }
    // One window of ACKs: +958 bytes, just under one MSS because the window grows during the round.
    assert.equal(cc.ssthresh, 10_000);
  });

  it('does not lose ACKs smaller than cwnd/MSS bytes', () => {
    const cc = renoAt(10_000);
    // Each 1-byte ACK credits 1·1000; the 10th makes 10000 = cwnd, one byte of window.
    for (let i = 0; i < 9; i++) cc.onAck(0, 1, ctx());
    assert.equal(cc.cwnd, 10_000);
    cc.onAck(0, 1, ctx());
    assert.equal(cc.cwnd, 10_001);
  });

  it('carries the bytes left over at the end of slow start into congestion avoidance', () => {
    const cc = new Reno({ mss: MSS });
    cc.onRto(0, ctx({ bytesInFlight: 10_000 })); // ssthresh 5000, cwnd 1000
    cc.onAck(0, 1000, ctx()); // 2000
    cc.onAck(0, 1000, ctx()); // 3000
    cc.onAck(0, 1500, ctx()); // 4500
    assert.equal(cc.cwnd, 4500);
    // + min(2000, 2·MSS) would pass ssthresh: 500 bytes fill it, 1500 go to CA: 1500·1000/5000 = 300.
    cc.onAck(0, 2000, ctx());
    assert.equal(cc.cwnd, 5300);
  });

  it('uses a one-segment loss window after an RTO and lowers ssthresh once per backed-off timeout', () => {
    const cc = renoAt(20_000);
    cc.onRto(0, ctx({ bytesInFlight: 10_000 }));
    assert.equal(cc.cwnd, 1000);
    assert.equal(cc.ssthresh, 5000);
    cc.onRto(0, ctx({ bytesInFlight: 4000 })); // same segment timing out again: ssthresh stays
    assert.equal(cc.ssthresh, 5000);
    assert.equal(cc.cwnd, 1000);
    for (const w of [2000, 3000, 4000, 5000]) {
      cc.onAck(0, 1000, ctx());
      assert.equal(cc.cwnd, w);
    }
    cc.onAck(0, 1000, ctx()); // CA: 1000·1000/5000 = 200
    assert.equal(cc.cwnd, 5200);
    cc.onRto(0, ctx({ bytesInFlight: 4000 })); // an ACK came in between: a new timeout lowers it again
    assert.equal(cc.ssthresh, 2000);
  });

  it('gives back what the last loss response cut (a timeout, backed-off ones included, or a recovery), once', () => {
    const cc = renoAt(20_000);
    cc.onRto(0, ctx({ bytesInFlight: 20_000 }));
    cc.onRto(0, ctx({ bytesInFlight: 1000 })); // backed off: the episode began at cwnd = ssthresh = 20000
    cc.onAck(0, 1000, ctx()); // 2000
    cc.onUndo(0, ctx());
    assert.equal(cc.cwnd, 20_000);
    assert.equal(cc.ssthresh, 20_000);
    cc.onCongestionEvent(0, ctx({ bytesInFlight: 8000 }));
    assert.equal(cc.cwnd, 4000);
    // A timeout inside that recovery keeps its ssthresh, and an undo goes back to before the recovery (Linux).
    cc.onRto(0, ctx({ bytesInFlight: 4000, keepSsthresh: true }));
    assert.equal(cc.ssthresh, 4000);
    cc.onUndo(0, ctx());
    assert.equal(cc.cwnd, 20_000, 'restored from before the recovery, not from the timeout inside it');
    assert.equal(cc.ssthresh, 20_000);
    cc.onRto(0, ctx({ bytesInFlight: 4000, keepSsthresh: true }));
    cc.onUndo(0, ctx()); // nothing saved any more: a no-op
    assert.equal(cc.cwnd, 1000);
    assert.equal(cc.ssthresh, 20_000);
  });

  it('keeps the record of the recovery when a timeout inside it is not a new episode (newEpisode false)', () => {
    const cc = renoAt(20_000);
    cc.onCongestionEvent(0, ctx({ bytesInFlight: 8000 }));
    // Without ssthreshFromCwnd the timeout computes its own ssthresh, but it belongs to the recovery's episode.
    cc.onRto(0, ctx({ bytesInFlight: 2000, newEpisode: false }));
    assert.equal(cc.ssthresh, 2000);
    cc.onUndo(0, ctx());
    assert.equal(cc.cwnd, 20_000);
    assert.equal(cc.ssthresh, 20_000);
  });

  it('an undo back into the initial slow start brings HyStart++ back, as Linux keeps HyStart through a recovery', () => {
    const rtt = (ms: number) => ctx({ rttSample: ms * 1000, srtt: ms * 1000, minRtt: 20_000 });
    const cc = new Reno({ mss: MSS, hystart: true });
    for (let i = 0; i < 20; i++) cc.onAck(0, MSS, rtt(20));
    cc.onCongestionEvent(0, ctx({ bytesInFlight: cc.cwnd }));
    cc.onUndo(0, ctx());
    assert.equal(cc.ssthresh, Number.POSITIVE_INFINITY, 'back in the initial slow start');
    // The RTT triples: HyStart++ ends slow start (ssthresh = cwnd) within a few rounds.
    for (let i = 0; i < 300 && cc.ssthresh === Number.POSITIVE_INFINITY; i++) cc.onAck(0, MSS, rtt(60));
    assert.ok(Number.isFinite(cc.ssthresh), 'HyStart++ left slow start on the RTT rise');
  });

  it('restarts from min(IW, cwnd) after idle (RFC 5681 §4.1)', () => {
    const big = renoAt(20_000);
    big.onIdleRestart(0, ctx());
    assert.equal(big.cwnd, 10_000);
    assert.equal(big.ssthresh, 20_000);
    const small = renoAt(5000);
    small.onIdleRestart(0, ctx());
    assert.equal(small.cwnd, 5000);
  });

  it("with halvings, decays as Linux's tcp_cwnd_restart: ssthresh to 3/4 of the window, then half per RTO idle", () => {
    const once = renoAt(80_000); // IW = 10 × 1000
    once.onIdleRestart(0, ctx(), 1);
    assert.equal(once.cwnd, 40_000);
    assert.equal(once.ssthresh, 80_000, 'ssthresh was already above 3/4 of the window');
    const cc = new Reno({ mss: MSS });
    for (let i = 0; i < 30; i++) cc.onAck(0, MSS, ctx()); // slow start: 10 → 40 segments, ssthresh unset
    cc.onIdleRestart(0, ctx(), 2);
    assert.equal(cc.cwnd, 10_000);
    assert.equal(cc.ssthresh, Number.POSITIVE_INFINITY, 'an unset ssthresh stays unset, as in Linux');
    const long = renoAt(80_000);
    long.onIdleRestart(0, ctx(), 30);
    assert.equal(long.cwnd, 10_000, 'never below the restart window');
    const low = renoAt(8000);
    while (low.cwnd < 12_000) low.onAck(0, 1000, ctx()); // congestion avoidance above ssthresh 8000
    const w = low.cwnd;
    low.onIdleRestart(0, ctx(), 0);
    assert.equal(low.cwnd, w);
    assert.equal(low.ssthresh, Math.floor((w * 3) / 4), 'ssthresh raised to 3/4 of the window');
  });

  it('rejects bad options and unknown names with typed errors', () => {
    assert.throws(() => createCc('reno', { mss: 0 }), CcConfigError);
    assert.throws(() => createCc('reno', { mss: 1000, initialCwnd: 1.5 }), CcConfigError);
    assert.throws(
      () => createCc('vegas' as 'reno', { mss: 1000 }),
      (e: unknown) => e instanceof UnknownCcError && /'vegas'.*reno, cubic, lia, olia, balia/.test(e.message),
    );
  });
});
