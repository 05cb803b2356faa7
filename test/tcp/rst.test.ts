import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TcpConnection } from '../../src/tcp/connection.ts';
import { MS } from '../../src/util/time.ts';
import { TcpFlag } from '../../src/wire/tcp.ts';
import { forge } from './forge.ts';
import { A, B, established, Net } from './net.ts';

function rstToB(client: TcpConnection, server: TcpConnection, seq: number): Uint8Array {
  return forge(A, B, { srcPort: client.local.port, dstPort: server.local.port, seq, flags: TcpFlag.RST });
}

test('an RST with exactly RCV.NXT resets the connection', () => {
  const { net, client, server, rcvNxtB } = established(11);
  let reason: string | null | undefined;
  server.onClose = (r) => {
    reason = r;
  };
  net.inject('b', A, B, rstToB(client, server, rcvNxtB));
  assert.equal(server.state, 'CLOSED');
  assert.equal(reason, 'reset');
  assert.equal(net.b.counters.EstabResets, 1);
});

test('a blind in-window RST gets a challenge ACK and the connection survives (RFC 5961 §3)', () => {
  const { net, client, server, rcvNxtB, fromB } = established(12);
  const n = fromB.length;
  net.inject('b', A, B, rstToB(client, server, rcvNxtB + 5000));
  assert.equal(server.state, 'ESTABLISHED');
  assert.equal(net.b.counters.TCPChallengeACK, 1);
  assert.equal(net.b.counters.DropRstInvalid, 1);
  const challenge = fromB[n]!;
  assert.equal(challenge.p.flags, TcpFlag.ACK);
  assert.equal(
    challenge.p.ack,
    rcvNxtB,
    'the challenge ACK carries RCV.NXT so a real peer can send the exact RST',
  );
  // Out of window: silently dropped.
  net.inject('b', A, B, rstToB(client, server, rcvNxtB + 100_000_000));
  assert.equal(server.state, 'ESTABLISHED');
  assert.equal(net.b.counters.TCPChallengeACK, 1);
  assert.equal(fromB.length, n + 1);
  // The connection still works.
  let got = 0;
  server.onData = (d) => {
    got += d.length;
  };
  server.resume();
  client.write(new Uint8Array(1000));
  net.run(net.now + 100 * MS);
  assert.equal(got, 4000);
});

test('a SYN on an established connection gets a challenge ACK (RFC 5961 §4), challenge ACKs are rate-limited', () => {
  const net0 = established(13);
  const { net, client, server, rcvNxtB } = net0;
  const syn = forge(A, B, {
    srcPort: client.local.port,
    dstPort: server.local.port,
    seq: rcvNxtB + 7,
    flags: TcpFlag.SYN,
  });
  net.inject('b', A, B, syn);
  assert.equal(server.state, 'ESTABLISHED');
  assert.equal(net.b.counters.TCPSYNChallenge, 1);
  assert.equal(net.b.counters.TCPChallengeACK, 1);
  const limited = new Net({ seed: 14, ab: { delay: 5 * MS }, configB: { challengeAckLimit: 3 } });
  let srv: TcpConnection | null = null;
  limited.b.listen(80, (c) => {
    srv = c;
  });
  const c2 = limited.a.connect(0, { local: A, remote: B, remotePort: 80 });
  limited.run(50 * MS);
  for (let i = 0; i < 10; i++)
    limited.inject(
      'b',
      A,
      B,
      forge(A, B, { srcPort: c2.local.port, dstPort: 80, seq: 12345 + i, flags: TcpFlag.SYN }),
    );
  assert.equal((srv as TcpConnection | null)?.state, 'ESTABLISHED');
  assert.equal(limited.b.counters.TCPChallengeACK, 3);
  assert.equal(limited.b.counters.TCPACKSkippedChallenge, 7);
});

test('an ACK for data never sent is dropped with a challenge ACK (RFC 5961 §5)', () => {
  const { net, client, server, rcvNxtB, sndNxtB } = established(15);
  const bogus = forge(A, B, {
    srcPort: client.local.port,
    dstPort: server.local.port,
    seq: rcvNxtB,
    ack: sndNxtB + 100_000,
    flags: TcpFlag.ACK,
  });
  net.inject('b', A, B, bogus);
  assert.equal(net.b.counters.DropAckUnsent, 1);
  assert.equal(net.b.counters.TCPChallengeACK, 1);
  assert.equal(server.state, 'ESTABLISHED');
  const old = forge(A, B, {
    srcPort: client.local.port,
    dstPort: server.local.port,
    seq: rcvNxtB,
    ack: sndNxtB - 3_000_000,
    flags: TcpFlag.ACK,
  });
  net.inject('b', A, B, old);
  assert.equal(net.b.counters.DropOldAck, 1);
});

test('corrupted and malformed segments are dropped and counted, never thrown', () => {
  const { net, client, server, rcvNxtB } = established(16);
  const good = forge(A, B, {
    srcPort: client.local.port,
    dstPort: server.local.port,
    seq: rcvNxtB,
    flags: TcpFlag.RST,
  });
  const bad = good.slice();
  bad[4] ^= 0x40;
  net.inject('b', A, B, bad);
  assert.equal(net.b.counters.InCsumErrors, 1);
  net.inject('b', A, B, good.subarray(0, 12));
  const badOff = good.slice();
  badOff[12] = 0xf0;
  net.inject('b', A, B, badOff);
  assert.equal(net.b.counters.DropMalformed, 2);
  net.inject('b', 'not-an-address', B, good);
  assert.equal(net.b.counters.DropBadAddress, 1);
  assert.equal(net.b.counters.InErrs, 4);
  assert.equal(server.state, 'ESTABLISHED');
});
