import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TcpConfig } from '../../src/tcp/config.ts';
import type { TcpConnection } from '../../src/tcp/connection.ts';
import { MS, SECOND } from '../../src/util/time.ts';
import { A, B, Net, pattern, pump, Sink } from './net.ts';

function setup(seed: number, configA: Partial<TcpConfig> = {}, configB: Partial<TcpConfig> = {}) {
  const net = new Net({ seed, ab: { delay: 10 * MS }, configA, configB });
  let server: TcpConnection | null = null;
  const sink = new Sink();
  net.b.listen(80, (c) => {
    server = c;
    c.onData = (d) => sink.push(d);
  });
  const client = net.a.connect(0, { local: A, remote: B, remotePort: 80 });
  net.run(100 * MS);
  return { net, client, server: server! as TcpConnection, sink };
}

test('RTO: exponential backoff capped at maxRto, then abort after maxRetransmissions', () => {
  // Without the tail loss probe, which would go out in place of the first timeout (rack.test.ts).
  const { net, client } = setup(31, { maxRto: 2 * SECOND, maxRetransmissions: 7, rackTlp: false });
  const times: number[] = [];
  net.drop = (s) => {
    if (s.dir === 'ab' && s.p.len > 0) {
      times.push(s.at);
      return true;
    }
    return false;
  };
  let reason: string | null | undefined;
  client.onClose = (r) => {
    reason = r;
  };
  client.write(new Uint8Array(100));
  const rto0 = client.info().rto;
  assert.equal(rto0, 20 * MS + 200 * MS, 'SRTT + max(4·RTTVAR, minRto) after one 20 ms sample');
  net.run(net.now + 60 * SECOND);
  const gaps = times.slice(1).map((t, i) => t - times[i]!);
  assert.deepEqual(
    gaps,
    [220, 440, 880, 1760, 2000, 2000, 2000].map((m) => m * MS),
  );
  assert.equal(reason, 'timeout');
  assert.equal(net.a.counters.TCPTimeouts, 7);
  assert.equal(net.a.counters.TCPAbortOnTimeout, 1);
});

test("Karn's rule: no RTT sample from a retransmitted segment, and the backed-off RTO stays until a valid one", () => {
  const { net, client } = setup(32, { timestamps: false, rackTlp: false }, { timestamps: false });
  let dropped = false;
  net.drop = (s) => {
    if (s.dir === 'ab' && s.p.len > 0 && !dropped) {
      dropped = true;
      return true;
    }
    return false;
  };
  const before = client.info();
  client.write(new Uint8Array(100));
  net.run(net.now + 600 * MS);
  const after = client.info();
  assert.equal(net.a.counters.TCPTimeouts, 1);
  assert.equal(after.bytesAcked, 100);
  assert.equal(after.srtt, before.srtt, 'the ACK of the retransmission gave no sample');
  assert.equal(after.rto, 2 * before.rto, 'still backed off');
  client.write(new Uint8Array(100));
  net.run(net.now + 100 * MS);
  assert.equal(client.info().rto, before.rto, 'a valid sample ends the backoff');
});

test('zero window: persist probes back off while the reader is paused, then the transfer resumes intact', () => {
  const { net, client, server, sink } = setup(33, {}, { rcvBuf: 16384, autotune: false });
  server.pause();
  const data = pattern(200_000, 9);
  pump(client, data, false);
  let windowZeroAt = -1;
  net.tap = (s) => {
    if (s.dir === 'ba' && s.p.window === 0 && windowZeroAt < 0) windowZeroAt = s.at;
  };
  net.run(net.now + 10 * SECOND);
  assert.ok(windowZeroAt > 0, 'the receiver closed its window');
  assert.equal(server.readableLength, 16384);
  const p = net.a.counters.TCPWinProbe;
  assert.ok(p >= 4 && p <= 7, `${p} probes in 10 s with backoff`);
  server.resume();
  net.run(net.now + 10 * SECOND);
  assert.deepEqual(Buffer.from(sink.bytes()), Buffer.from(data));
  assert.equal(net.a.counters.TCPTimeouts, 0, 'probing is not retransmission');
});

test('keep-alive detects a dead peer after idle + probes × interval', () => {
  const { net, client } = setup(34, {
    keepAlive: true,
    keepAliveIdle: 10 * SECOND,
    keepAliveInterval: SECOND,
    keepAliveProbes: 3,
  });
  const start = net.now;
  let reason: string | null | undefined;
  let closedAt = -1;
  client.onClose = (r) => {
    reason = r;
    closedAt = net.now;
  };
  let lastReply = 0;
  net.tap = (s) => {
    if (s.dir === 'ba') lastReply = s.at + 10 * MS;
  };
  // While the peer answers, keep-alive probes keep the connection up.
  net.run(start + 35 * SECOND);
  assert.equal(client.state, 'ESTABLISHED');
  assert.equal(net.a.counters.TCPKeepAlive, 3);
  const t0 = net.now;
  net.drop = () => true;
  net.run(t0 + 60 * SECOND);
  assert.equal(reason, 'timeout');
  // Idle time counts from the last reply; then 3 unanswered probes 1 s apart, and the abort 1 s later.
  assert.equal(closedAt, lastReply + 10 * SECOND + 3 * SECOND);
  assert.equal(net.a.counters.TCPKeepAlive, 6);
});

test('Nagle coalesces small writes while data is unacknowledged; no-delay sends each at once', () => {
  for (const noDelay of [false, true]) {
    const { net, client, sink } = setup(35);
    client.setNoDelay(noDelay);
    let segs = 0;
    net.tap = (s) => {
      if (s.dir === 'ab' && s.p.len > 0) segs++;
    };
    for (let i = 0; i < 10; i++) {
      client.write(new Uint8Array(100).fill(i));
      net.run(net.now + MS);
    }
    net.run(net.now + 100 * MS);
    assert.equal(sink.length, 1000);
    assert.equal(
      segs,
      noDelay ? 10 : 2,
      noDelay ? 'one segment per write' : 'first write, then the rest coalesced',
    );
  }
});

test('delayed ACK: one segment is acknowledged after the 40 ms timer, two full segments at once', () => {
  const { net, client } = setup(36, { nagle: false }, { quickAcks: 0 });
  const acks: number[] = [];
  net.tap = (s) => {
    if (s.dir === 'ba') acks.push(s.at);
  };
  const t0 = net.now;
  client.write(new Uint8Array(500));
  net.run(t0 + 200 * MS);
  assert.deepEqual(acks, [t0 + 10 * MS + 40 * MS]);
  assert.equal(net.b.counters.DelayedACKs, 1);
  acks.length = 0;
  const t1 = net.now;
  client.write(new Uint8Array(2 * 1448));
  net.run(t1 + 200 * MS);
  assert.deepEqual(acks, [t1 + 10 * MS], 'the second full segment triggers an immediate ACK');
});

test('F-RTO: a delay spike that fires the RTO is detected as spurious, the window is not retransmitted and comes back', () => {
  const outcome: Record<
    string,
    { spurious: number; retrans: number; cwndBefore: number; cwndAfter: number }
  > = {};
  for (const frto of [true, false]) {
    const { net, client, sink } = setup(37, { frto });
    const data = pattern(3_000_000, 4);
    pump(client, data, false);
    // Every ACK sent during a 600 ms stretch arrives at its end (a delay spike): the RTO fires, nothing is lost.
    const t0 = net.now + 50 * MS;
    const t1 = t0 + 600 * MS;
    net.extraDelay = (s) => (s.dir === 'ba' && s.at >= t0 && s.at < t1 ? t1 - s.at : 0);
    net.run(t0);
    const cwndBefore = client.info().cwnd;
    // The held ACKs arrive at t1 plus the path's 10 ms.
    net.run(t1 + 20 * MS);
    const cwndAfter = client.info().cwnd;
    net.run(net.now + 20 * SECOND);
    assert.deepEqual(Buffer.from(sink.bytes()), Buffer.from(data));
    assert.ok(net.a.counters.TCPTimeouts >= 1);
    outcome[String(frto)] = {
      spurious: net.a.counters.TCPSpuriousRTOs,
      retrans: net.a.counters.RetransSegs,
      cwndBefore,
      cwndAfter,
    };
  }
  const on = outcome.true!;
  assert.equal(on.spurious, 1);
  assert.equal(outcome.false!.spurious, 0);
  assert.ok(
    on.retrans * 4 < outcome.false!.retrans,
    `F-RTO retransmitted ${on.retrans} segments, go-back-N ${outcome.false!.retrans}`,
  );
  // The undo gives back the window the timeout cut (Linux's tcp_try_undo_loss); go-back-N slow-starts from one
  // segment to half of it (57920 → 30445 bytes here).
  assert.ok(on.cwndAfter >= on.cwndBefore, `window ${on.cwndBefore} before the spike, ${on.cwndAfter} after`);
  assert.ok(outcome.false!.cwndAfter < 0.6 * outcome.false!.cwndBefore);
});

test('F-RTO without new data to send: the first ACK of data sent before the timeout proves it spurious', () => {
  // A multipath subflow often has nothing of its own beyond what is in flight (its scheduler pulls per segment),
  // so RFC 5682's step 2b cannot send new data; the ACK of original transmissions must be proof enough.
  for (const sack of [true, false]) {
    const { net, client, sink } = setup(38, { frto: true, sack }, { sack });
    const data = pattern(200_000, 5);
    client.write(data);
    net.run(net.now + 200 * MS);
    // The next write is all in flight at once: every ACK of it arrives 600 ms late.
    const more = pattern(30_000, 6);
    const t0 = net.now;
    const t1 = t0 + 600 * MS;
    net.extraDelay = (s) => (s.dir === 'ba' && s.at >= t0 && s.at < t1 ? t1 - s.at : 0);
    client.write(more);
    const cwndBefore = client.info().cwnd;
    net.run(t1 + 50 * MS);
    assert.deepEqual(Buffer.from(sink.bytes()), Buffer.concat([data, more]));
    assert.equal(net.a.counters.TCPTimeouts, 1, `sack ${sack}`);
    if (sack) {
      assert.equal(net.a.counters.TCPSpuriousRTOs, 1, 'with SACK the first late ACK is the proof');
      assert.ok(client.info().cwnd >= cwndBefore, `window ${cwndBefore} before, ${client.info().cwnd} after`);
    } else {
      // Without SACK, an ACK that also covers the retransmission is ambiguous (Linux's rule since 2018).
      assert.equal(net.a.counters.TCPSpuriousRTOs, 0);
    }
  }
});
