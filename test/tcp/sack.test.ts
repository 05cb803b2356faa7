import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TcpConfig } from '../../src/tcp/config.ts';
import { seqDiff } from '../../src/tcp/seq.ts';
import { MS, SECOND } from '../../src/util/time.ts';
import { A, B, Net, pattern, pump, type Seen, sinkPair } from './net.ts';

const MSS = 1448;

function setup(seed: number, config: Partial<TcpConfig> = {}, link = { delay: 10 * MS, rate: 10_000_000 }) {
  const net = new Net({ seed, ab: link, configA: config, configB: config });
  return { net, ...sinkPair(net) };
}

test('SACK blocks: most recent block first, then earlier ones (RFC 2018 §4), and D-SACK for a duplicate', () => {
  const { net, client, server } = setup(21, { nagle: false });
  net.run(50 * MS);
  let s0 = -1;
  let dataN = 0;
  const acks: { ack: number; blocks: [number, number][] }[] = [];
  const dataSegs: Seen[] = [];
  net.drop = (s) => {
    if (s.dir === 'ab' && s.p.len > 0) {
      if (s0 < 0) s0 = s.p.seq;
      dataN++;
      dataSegs.push(s);
      return dataN === 3 || dataN === 6;
    }
    if (s.dir === 'ba' && s0 >= 0) {
      const rel = (x: number) => seqDiff(x, s0) / MSS;
      const blocks: [number, number][] = [];
      for (let i = 0; i < s.p.sackCount; i++) blocks.push([rel(s.p.sackLeft[i]!), rel(s.p.sackRight[i]!)]);
      acks.push({ ack: rel(s.p.ack), blocks });
    }
    return false;
  };
  client.write(new Uint8Array(10 * MSS));
  net.run(net.now + 15 * MS);
  assert.deepEqual(acks.slice(0, 8), [
    { ack: 1, blocks: [] },
    { ack: 2, blocks: [] },
    { ack: 2, blocks: [[3, 4]] },
    { ack: 2, blocks: [[3, 5]] },
    {
      ack: 2,
      blocks: [
        [6, 7],
        [3, 5],
      ],
    },
    {
      ack: 2,
      blocks: [
        [6, 8],
        [3, 5],
      ],
    },
    {
      ack: 2,
      blocks: [
        [6, 9],
        [3, 5],
      ],
    },
    {
      ack: 2,
      blocks: [
        [6, 10],
        [3, 5],
      ],
    },
  ]);
  net.run(net.now + 200 * MS);
  assert.equal(acks.at(-1)!.ack, 10);
  assert.equal(server()!.info().bytesReceived, 10 * MSS);
  // Replay the first data segment: the ACK reports it as a D-SACK block below the cumulative ACK.
  const n = acks.length;
  net.inject('b', A, B, dataSegs[0]!.bytes);
  assert.deepEqual(acks[n], { ack: 10, blocks: [[0, 1]] });
  assert.equal(net.b.counters.TCPDSACKOldSent, 1);
  net.run(net.now + 100 * MS);
  assert.equal(net.a.counters.TCPDSACKRecv, 1);
});

/** Drops the first transmission of the listed data segments (1-based, counted by first transmission). */
function dropPattern(net: Net, which: number[]) {
  const firstSeen = new Set<number>();
  const dropped: number[] = [];
  const retransmitted: number[] = [];
  let n = 0;
  net.drop = (s) => {
    if (s.dir !== 'ab' || s.p.len === 0) return false;
    if (firstSeen.has(s.p.seq)) {
      retransmitted.push(s.p.seq);
      return false;
    }
    firstSeen.add(s.p.seq);
    n++;
    if (which.includes(n)) {
      dropped.push(s.p.seq);
      return true;
    }
    return false;
  };
  return { dropped, retransmitted };
}

for (const sack of [true, false]) {
  test(`loss recovery with${sack ? ' SACK (RFC 6675)' : 'out SACK (NewReno, RFC 6582)'} retransmits exactly the lost segments`, () => {
    const { net, client, sink } = setup(sack ? 22 : 23, { sack });
    const data = pattern(600_000, 5);
    client.onEstablished = () => pump(client, data);
    const { dropped, retransmitted } = dropPattern(net, [30, 31, 34, 120, 200]);
    let closed = false;
    client.onClose = () => {
      closed = true;
    };
    net.run(30 * SECOND, () => closed && sink.ended);
    assert.deepEqual(Buffer.from(sink.bytes()), Buffer.from(data));
    assert.equal(dropped.length, 5);
    assert.deepEqual([...retransmitted].sort(), [...dropped].sort());
    const c = net.a.counters;
    assert.equal(c.TCPTimeouts, 0, 'recovered without a timeout');
    assert.equal(c.RetransSegs, 5);
    if (sack) assert.ok(c.TCPSackRecovery >= 2 && c.TCPRenoRecovery === 0);
    else assert.ok(c.TCPRenoRecovery >= 2 && c.TCPSackRecovery === 0);
  });
}

test('a lost retransmission is sent again as soon as later data is SACKed, without waiting for the RTO', () => {
  const { net, client, sink } = setup(25);
  const data = pattern(600_000, 6);
  client.onEstablished = () => pump(client, data);
  let target = -1;
  let copies = 0;
  const sentAt: number[] = [];
  net.drop = (s) => {
    if (s.dir !== 'ab' || s.p.len === 0) return false;
    if (target < 0 && ++copies === 40) target = s.p.seq;
    if (s.p.seq !== target) return false;
    sentAt.push(s.at);
    // The first transmission and the first retransmission are lost.
    return sentAt.length <= 2;
  };
  let closed = false;
  client.onClose = () => {
    closed = true;
  };
  net.run(30 * SECOND, () => closed && sink.ended);
  assert.deepEqual(Buffer.from(sink.bytes()), Buffer.from(data));
  assert.equal(sentAt.length, 3);
  const c = net.a.counters;
  assert.equal(c.TCPTimeouts, 0, 'no timeout');
  assert.equal(c.TCPLostRetransmit, 1);
  assert.equal(c.RetransSegs, 2);
  // Found lost about one round trip after the retransmission (20 ms RTT plus queueing), far below the RTO.
  assert.ok(sentAt[2]! - sentAt[1]! < 100 * MS, `resent after ${(sentAt[2]! - sentAt[1]!) / MS} ms`);
});

test('limited transmit (RFC 3042): the first duplicate ACKs release new segments', () => {
  const { net, client } = setup(24, { nagle: false, initialCwnd: 4 });
  net.run(50 * MS);
  const sent: number[] = [];
  let first = -1;
  net.drop = (s) => {
    if (s.dir === 'ab' && s.p.len > 0) {
      if (first < 0) first = s.p.seq;
      sent.push(seqDiff(s.p.seq, first) / MSS);
      return sent.length === 1;
    }
    return false;
  };
  client.write(new Uint8Array(20 * MSS));
  net.run(net.now + 25 * MS);
  // 4 segments in the initial window; segment 0 lost; each of the 3 SACKs lets one new segment go.
  assert.deepEqual(sent.slice(0, 7), [0, 1, 2, 3, 4, 5, 6]);
  assert.equal(net.a.counters.TCPSackRecovery, 1);
});
