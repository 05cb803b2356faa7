/**
 * Undoing a loss response that proved unnecessary (TcpConfig.undo; RFC 3708 D-SACK detection, RFC 3522 Eifel
 * detection with timestamps; Linux's tcp_try_undo_*): a batch of segments held back on the path looks lost
 * and is retransmitted, then the originals arrive.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TcpConfig } from '../../src/tcp/config.ts';
import { MS, SECOND } from '../../src/util/time.ts';
import { Net, pattern, pump, type Seen, sinkPair } from './net.ts';

/** A sender held to ~64 KB by the receiver's window on a 20 ms path, so its window is steady and nothing is lost. */
function setup(seed: number, configA: Partial<TcpConfig>, configB: Partial<TcpConfig> = {}) {
  const net = new Net({
    seed,
    ab: { delay: 10 * MS },
    configA,
    configB: { rcvBuf: 65536, rcvBufMax: 65536, autotune: false, ...configB },
  });
  const { client, sink } = sinkPair(net);
  net.run(50 * MS);
  const data = pattern(4_000_000, 9);
  pump(client, data, false);
  net.run(net.now + SECOND);
  return { net, client, sink, data };
}

/** From `at`, the next `count` data segments from A take `extra` longer (a batch released late). */
function holdBatch(net: Net, at: number, count: number, extra: number, dropped: number[] = []) {
  let n = 0;
  net.extraDelay = (s: Seen) => {
    if (s.dir !== 'ab' || s.p.len === 0 || s.at < at || n >= count) return 0;
    n++;
    return extra;
  };
  // `dropped`: data segments after `at` (1-based) lost for real, beside the batch.
  let k = 0;
  net.drop = (s: Seen) => s.dir === 'ab' && s.p.len > 0 && s.at >= at && dropped.includes(++k);
}

interface Outcome {
  cwndBefore: number;
  cwndAfter: number;
  ssthresh: number;
  retrans: number;
  c: Record<string, number>;
}

function run(
  seed: number,
  configA: Partial<TcpConfig>,
  opts: { late?: number; dropped?: number[]; configB?: Partial<TcpConfig> } = {},
) {
  const { late = 30 * MS, dropped = [], configB = {} } = opts;
  const { net, client, sink, data } = setup(seed, configA, configB);
  const t0 = net.now;
  const cwndBefore = client.info().cwnd;
  const r0 = net.a.counters.RetransSegs;
  holdBatch(net, t0, 8, late, dropped);
  net.run(t0 + 300 * MS);
  const out: Outcome = {
    cwndBefore,
    cwndAfter: client.info().cwnd,
    ssthresh: client.info().ssthresh,
    retrans: net.a.counters.RetransSegs - r0,
    c: { ...net.a.counters } as unknown as Record<string, number>,
  };
  net.extraDelay = null;
  net.drop = null;
  net.run(net.now + 10 * SECOND, () => sink.length === data.length);
  assert.deepEqual(Buffer.from(sink.bytes()), Buffer.from(data), 'the data arrive intact');
  return out;
}

test('undo by D-SACK: a recovery whose every retransmission is reported as a duplicate gives its window back', () => {
  const base = { rackTlp: true };
  const on = run(81, { ...base, undo: true });
  const off = run(81, { ...base, undo: false });
  // The batch was taken for lost and retransmitted, and the receiver reported each copy as a duplicate.
  for (const o of [on, off]) {
    assert.equal(o.c.TCPSackRecovery, 1);
    assert.ok(o.retrans > 0);
    assert.ok(o.c.TCPDSACKRecv >= o.retrans, `${o.c.TCPDSACKRecv} D-SACKs for ${o.retrans} retransmissions`);
  }
  assert.equal(on.c.TCPDSACKUndo, 1);
  assert.ok(on.cwndAfter >= on.cwndBefore, `window ${on.cwndBefore} before the batch, ${on.cwndAfter} after`);
  assert.equal(off.c.TCPDSACKUndo, 0);
  assert.ok(off.cwndAfter < 0.75 * off.cwndBefore, `without undo: ${off.cwndBefore} → ${off.cwndAfter}`);
});

test('undo by timestamps (Eifel): without SACK, the ACK that ends recovery echoes an original, not the retransmission', () => {
  // 15 ms late: the originals arrive before the retransmissions that three duplicate ACKs started.
  const opts = { late: 15 * MS, configB: { sack: false } };
  const on = run(82, { sack: false, undo: true }, opts);
  const off = run(82, { sack: false, undo: false }, opts);
  for (const o of [on, off]) {
    assert.equal(o.c.TCPRenoRecovery, 1);
    assert.ok(o.retrans > 0);
  }
  assert.equal(on.c.TCPFullUndo, 1);
  assert.ok(on.cwndAfter >= on.cwndBefore, `window ${on.cwndBefore} before the batch, ${on.cwndAfter} after`);
  assert.equal(off.c.TCPFullUndo, 0);
  assert.ok(off.cwndAfter < 0.75 * off.cwndBefore, `without undo: ${off.cwndBefore} → ${off.cwndAfter}`);
});

test('no undo when a segment was really lost: its retransmission is what the receiver needed', () => {
  for (const sack of [true, false]) {
    // Segment 20 after the batch starts is dropped (not one of the 8 held back, which are all late only).
    const o = run(83, { sack, rackTlp: sack, undo: true }, { dropped: [20], configB: { sack } });
    assert.equal(o.c.TCPDSACKUndo + o.c.TCPFullUndo + o.c.TCPLossUndo, 0, `sack ${sack}`);
    assert.ok(o.cwndAfter < 0.75 * o.cwndBefore, `sack ${sack}: ${o.cwndBefore} → ${o.cwndAfter}`);
  }
});

test('undo of a timeout by timestamps (Eifel): held ACKs echo the originals, so the window comes back without F-RTO', () => {
  const outcome: Outcome[] = [];
  for (const undo of [true, false]) {
    const { net, client, sink, data } = setup(84, { undo, frto: false });
    // Every ACK sent during 600 ms arrives at its end: the RTO fires, nothing is lost.
    const t0 = net.now;
    const t1 = t0 + 600 * MS;
    net.extraDelay = (s) => (s.dir === 'ba' && s.at >= t0 && s.at < t1 ? t1 - s.at : 0);
    const cwndBefore = client.info().cwnd;
    net.run(t1 + 20 * MS);
    outcome.push({
      cwndBefore,
      cwndAfter: client.info().cwnd,
      ssthresh: client.info().ssthresh,
      retrans: 0,
      c: { ...net.a.counters } as unknown as Record<string, number>,
    });
    net.extraDelay = null;
    net.run(net.now + 10 * SECOND, () => sink.length === data.length);
    assert.deepEqual(Buffer.from(sink.bytes()), Buffer.from(data));
  }
  const [on, off] = outcome as [Outcome, Outcome];
  assert.equal(on.c.TCPTimeouts, 1);
  assert.equal(on.c.TCPLossUndo, 1);
  assert.equal(on.c.TCPSpuriousRTOs, 0, 'F-RTO is off');
  assert.ok(on.cwndAfter >= on.cwndBefore, `window ${on.cwndBefore} before the spike, ${on.cwndAfter} after`);
  assert.equal(off.c.TCPLossUndo, 0);
  assert.ok(off.cwndAfter < 0.5 * off.cwndBefore, `without undo: ${off.cwndBefore} → ${off.cwndAfter}`);
});

/** 20 writes of 30 segments 100 ms apart warm the window; returns the pair before the measured write. */
function warmedWrites(seed: number) {
  const net = new Net({
    seed,
    ab: { delay: 10 * MS },
    configA: { nagle: false, rackTlp: true, frto: true, ssthreshFromCwnd: true, undo: true },
  });
  const { client, sink } = sinkPair(net);
  net.run(50 * MS);
  for (let i = 0; i < 20; i++) {
    client.write(pattern(30 * 1448, i));
    net.run(net.now + 100 * MS);
  }
  return { net, client, sink };
}

test('D-SACK undo after everything was acknowledged: a spurious retransmission at the end of a write is undone', () => {
  const { net, client, sink } = warmedWrites(7);
  const cwndBefore = client.info().cwnd;
  // The 5th segment of the write is 30 ms late: RACK retransmits it, the retransmission arrives first, and the
  // original's D-SACK comes back once the whole write is acknowledged.
  let k = 0;
  net.extraDelay = (s) => (s.dir === 'ab' && s.p.len > 0 && ++k === 5 ? 30 * MS : 0);
  client.write(pattern(30 * 1448, 99));
  net.run(net.now + 300 * MS);
  assert.equal(sink.length, 21 * 30 * 1448);
  const c = net.a.counters;
  assert.equal(c.TCPSackRecovery, 1);
  assert.equal(c.TCPDSACKUndo, 1);
  assert.equal(client.info().cwnd, cwndBefore);
});

test("no D-SACK undo from a loss probe's copy: the probe went out before the recovery it would prove spurious", () => {
  const { net, client, sink } = warmedWrites(7);
  const cwndBefore = client.info().cwnd;
  // Segment 5 of the write is lost, and the ACKs are held 60 ms: the probe resends the last segment, whose
  // D-SACK arrives during the recovery that repairs segment 5.
  const t0 = net.now;
  let k = 0;
  net.drop = (s) => s.dir === 'ab' && s.p.len > 0 && ++k === 5;
  net.extraDelay = (s) =>
    s.dir === 'ba' && s.at >= t0 + 5 * MS && s.at < t0 + 65 * MS ? t0 + 65 * MS - s.at : 0;
  client.write(pattern(30 * 1448, 99));
  net.run(net.now + 400 * MS);
  assert.equal(sink.length, 21 * 30 * 1448);
  const c = net.a.counters;
  assert.equal(c.TCPLossProbes, 1);
  assert.ok(c.TCPDSACKRecv >= 1, 'the probe was reported as a duplicate');
  assert.equal(c.TCPDSACKUndo + c.TCPFullUndo + c.TCPLossUndo, 0);
  assert.ok(client.info().cwnd <= cwndBefore / 2 + 1448, `window ${cwndBefore} → ${client.info().cwnd}`);
});

test('a timeout inside a recovery from a real loss is neither F-RTO-undone nor undone by timestamps', () => {
  const { net, sink, data } = setup(7, {
    rackTlp: true,
    frto: true,
    ssthreshFromCwnd: true,
    undo: true,
  });
  // Segment 5 from now and its first retransmission are lost; then every ACK is held 300 ms, so the RTO fires
  // inside the recovery.
  const t0 = net.now;
  let k = 0;
  let victim = -1;
  let drops = 0;
  net.drop = (s) => {
    if (s.dir !== 'ab' || s.p.len === 0) return false;
    if (++k === 5) victim = s.p.seq;
    return s.p.seq === victim && drops++ < 2;
  };
  net.extraDelay = (s) =>
    s.dir === 'ba' && s.at >= t0 + 45 * MS && s.at < t0 + 345 * MS ? t0 + 345 * MS - s.at : 0;
  net.run(t0 + 800 * MS);
  const c = net.a.counters;
  assert.equal(c.TCPTimeouts, 1);
  assert.equal(c.TCPSpuriousRTOs + c.TCPDSACKUndo + c.TCPFullUndo + c.TCPLossUndo, 0);
  net.drop = null;
  net.extraDelay = null;
  net.run(net.now + 10 * SECOND, () => sink.length === data.length);
  assert.deepEqual(Buffer.from(sink.bytes()), Buffer.from(data));
});

test('a lost FIN retransmitted by a timeout is not taken as proven: no D-SACK can report a FIN', () => {
  const net = new Net({
    seed: 7,
    ab: { delay: 10 * MS },
    configA: { undo: true, rackTlp: true, nagle: false },
  });
  const { client, sink } = sinkPair(net);
  net.run(50 * MS);
  client.write(pattern(200_000, 1));
  net.run(net.now + SECOND);
  // The FIN and its loss probe are lost.
  let dropped = 0;
  net.drop = (s) => s.dir === 'ab' && (s.p.flags & 1) !== 0 && dropped++ < 2;
  client.end();
  net.run(net.now + 3 * SECOND);
  assert.ok(sink.ended);
  const c = net.a.counters;
  assert.equal(c.TCPTimeouts, 1);
  assert.equal(c.TCPDSACKRecv, 0);
  assert.equal(c.TCPDSACKUndo + c.TCPFullUndo + c.TCPLossUndo, 0);
});
