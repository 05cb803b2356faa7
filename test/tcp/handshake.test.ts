import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TcpConnection } from '../../src/tcp/connection.ts';
import { MS, SECOND } from '../../src/util/time.ts';
import { TcpFlag } from '../../src/wire/tcp.ts';
import { forge } from './forge.ts';
import { A, B, Net } from './net.ts';

function pair(net: Net, port = 80): { client: TcpConnection; server: () => TcpConnection | null } {
  let server: TcpConnection | null = null;
  net.b.listen(port, (c) => {
    server = c;
  });
  const client = net.a.connect(0, { local: A, remote: B, remotePort: port });
  return { client, server: () => server };
}

test('the handshake negotiates MSS, window scale, SACK and timestamps', () => {
  const net = new Net({ seed: 1, ab: { delay: 5 * MS } });
  const { client, server } = pair(net);
  net.run(100 * MS);
  const ci = client.info();
  const si = server()!.info();
  assert.equal(ci.state, 'ESTABLISHED');
  assert.equal(si.state, 'ESTABLISHED');
  for (const i of [ci, si]) {
    assert.equal(i.peerMss, 1460);
    assert.equal(i.mss, 1448, 'MSS minus the 12-byte timestamp option');
    assert.equal(i.sndWscale, 7, '6 MiB rcvBufMax needs shift 7');
    assert.equal(i.rcvWscale, 7);
    assert.ok(i.sackOk && i.tsOk);
  }
  assert.equal(ci.srtt, 10_000, 'the SYN gives the first RTT sample');
  assert.equal(net.a.counters.ActiveOpens, 1);
  assert.equal(net.b.counters.PassiveOpens, 1);
  assert.equal(net.a.counters.CurrEstab, 1);
});

test('options the peer does not offer are off, and the MSS is the smaller one', () => {
  const net = new Net({
    seed: 2,
    ab: { delay: 5 * MS },
    configB: { sack: false, timestamps: false, windowScale: false, mss: 1200 },
  });
  const { client, server } = pair(net);
  net.run(100 * MS);
  const ci = client.info();
  assert.equal(ci.mss, 1200);
  assert.equal(ci.sackOk, false);
  assert.equal(ci.tsOk, false);
  assert.equal(ci.sndWscale, 0);
  assert.equal(ci.rcvWscale, 0);
  assert.equal(server()!.info().mss, 1200);
  assert.equal(ci.sndWnd, 65535, 'an unscaled window is capped at 65535');
});

test('simultaneous open: both sides go SYN_SENT -> SYN_RECEIVED -> ESTABLISHED and exchange data', () => {
  const net = new Net({ seed: 3, ab: { delay: 5 * MS } });
  const states: string[] = [];
  net.tap = (s) => {
    if (s.p.flags & TcpFlag.SYN) states.push(`${s.dir}:${s.p.flags & TcpFlag.ACK ? 'SYN/ACK' : 'SYN'}`);
  };
  const a = net.a.connect(0, { local: A, localPort: 5000, remote: B, remotePort: 6000 });
  const b = net.b.connect(0, { local: B, localPort: 6000, remote: A, remotePort: 5000 });
  let gotA = '';
  let gotB = '';
  a.onData = (d) => {
    gotA += new TextDecoder().decode(d);
  };
  b.onData = (d) => {
    gotB += new TextDecoder().decode(d);
  };
  net.run(100 * MS);
  assert.equal(a.state, 'ESTABLISHED');
  assert.equal(b.state, 'ESTABLISHED');
  assert.deepEqual(states.sort(), ['ab:SYN', 'ab:SYN/ACK', 'ba:SYN', 'ba:SYN/ACK']);
  a.write(new TextEncoder().encode('from a'));
  b.write(new TextEncoder().encode('from b'));
  net.run(200 * MS);
  assert.equal(gotB, 'from a');
  assert.equal(gotA, 'from b');
});

test('simultaneous close goes through CLOSING to TIME_WAIT on both sides, then CLOSED after timeWait', () => {
  const net = new Net({
    seed: 4,
    ab: { delay: 5 * MS },
    configA: { timeWait: 2 * SECOND },
    configB: { timeWait: 2 * SECOND },
  });
  const { client, server } = pair(net);
  net.run(100 * MS);
  const s = server()!;
  const seen: string[] = [];
  const reasons: (string | null)[] = [];
  client.onClose = (r) => reasons.push(r);
  s.onClose = (r) => reasons.push(r);
  client.end();
  s.end();
  assert.equal(client.state, 'FIN_WAIT_1');
  assert.equal(s.state, 'FIN_WAIT_1');
  net.tap = () => {
    seen.push(`${client.state}/${s.state}`);
  };
  net.run(net.now + 7 * MS);
  assert.ok(seen.includes('CLOSING/CLOSING'), `states seen: ${seen.join(' ')}`);
  net.run(net.now + 20 * MS);
  assert.equal(client.state, 'TIME_WAIT');
  assert.equal(s.state, 'TIME_WAIT');
  assert.deepEqual(reasons, [null, null]);
  net.run(net.now + 1900 * MS);
  assert.equal(client.state, 'TIME_WAIT');
  net.run(net.now + 200 * MS);
  assert.equal(client.state, 'CLOSED');
  assert.equal(s.state, 'CLOSED');
  assert.equal(net.a.connections().length, 0);
  assert.equal(net.b.connections().length, 0);
});

test('TIME_WAIT lasts the configured time and re-ACKs a retransmitted FIN', () => {
  const net = new Net({ seed: 5, ab: { delay: 5 * MS }, configA: { timeWait: 3 * SECOND } });
  const { client, server } = pair(net);
  net.run(100 * MS);
  const s = server()!;
  s.onEnd = () => s.end();
  let finSeq = -1;
  let finAck = 0;
  net.tap = (seen) => {
    if (seen.dir === 'ba' && seen.p.flags & TcpFlag.FIN) {
      finSeq = seen.p.seq;
      finAck = seen.p.ack;
    }
  };
  client.end();
  let enteredAt = -1;
  net.run(net.now + 100 * MS, () => {
    if (client.state === 'TIME_WAIT' && enteredAt < 0) enteredAt = net.now;
    return false;
  });
  assert.equal(s.state, 'CLOSED');
  assert.ok(enteredAt > 0 && finSeq >= 0);
  net.run(enteredAt + 2 * SECOND);
  assert.equal(client.state, 'TIME_WAIT');
  // The peer's FIN again: answered, and 2·MSL starts over. (The peer is gone, so our ACK must not reach
  // it: its RST would end TIME_WAIT, as on Linux without rfc1337.)
  net.drop = (seen) => seen.dir === 'ab';
  const fin = forge(B, A, {
    srcPort: s.local.port,
    dstPort: client.local.port,
    seq: finSeq,
    ack: finAck,
    flags: TcpFlag.FIN | TcpFlag.ACK,
  });
  const before = net.a.counters.OutSegs;
  const t1 = net.now;
  net.inject('a', B, A, fin);
  assert.equal(net.a.counters.OutSegs, before + 1);
  net.run(enteredAt + 3 * SECOND + 1);
  assert.equal(client.state, 'TIME_WAIT');
  net.run(t1 + 3 * SECOND - 1);
  assert.equal(client.state, 'TIME_WAIT');
  net.run(t1 + 3 * SECOND);
  assert.equal(client.state, 'CLOSED');
});

test('a SYN to a closed port is answered with RST and the connect fails as refused', () => {
  const net = new Net({ seed: 6, ab: { delay: 5 * MS } });
  const c = net.a.connect(0, { local: A, remote: B, remotePort: 9 });
  let reason: string | null | undefined;
  c.onClose = (r) => {
    reason = r;
  };
  net.run(100 * MS);
  assert.equal(reason, 'refused');
  assert.equal(net.b.counters.OutRsts, 1);
  assert.equal(net.b.counters.DropNoSocket, 1);
  assert.equal(net.a.counters.AttemptFails, 1);
  // No RST in reply to an RST.
  net.inject('b', A, B, forge(A, B, { srcPort: 1234, dstPort: 9, seq: 1, flags: TcpFlag.RST }));
  assert.equal(net.b.counters.OutRsts, 1);
});

test('SYN retransmissions back off exponentially, then the connect times out', () => {
  const net = new Net({ seed: 7, ab: { delay: 5 * MS }, configA: { synRetries: 4 } });
  const synTimes: number[] = [];
  net.drop = (s) => {
    if (s.dir === 'ab') synTimes.push(s.at);
    return true;
  };
  const c = net.a.connect(0, { local: A, remote: B, remotePort: 80 });
  let reason: string | null | undefined;
  let closedAt = 0;
  c.onClose = (r) => {
    reason = r;
    closedAt = net.now;
  };
  net.run(100 * SECOND);
  const gaps = synTimes.slice(1).map((t, i) => t - synTimes[i]!);
  assert.deepEqual(
    gaps,
    [1, 2, 4, 8].map((s) => s * SECOND),
  );
  assert.equal(reason, 'timeout');
  assert.equal(closedAt, 31 * SECOND);
  assert.equal(net.a.counters.TCPSynRetrans, 4);
});

test('a SYN flood fills at most `backlog` half-open connections; the rest is dropped and counted', () => {
  const net = new Net({ seed: 8, ab: { delay: 5 * MS }, configB: { backlog: 8 } });
  net.b.listen(80, () => {});
  // SYN/ACKs to the spoofed sources vanish.
  net.drop = (s) => s.dir === 'ba';
  for (let i = 0; i < 500; i++)
    net.inject(
      'b',
      '10.9.0.1',
      B,
      forge('10.9.0.1', B, { srcPort: 1024 + i, dstPort: 80, seq: i * 7919, flags: TcpFlag.SYN }),
    );
  assert.equal(net.b.connections().length, 8);
  assert.equal(net.b.counters.ListenOverflows, 492);
  assert.equal(net.b.counters.TCPReqQFullDrop, 492);
  // Unanswered half-open connections expire after their SYN/ACK retries, freeing the backlog.
  net.run(200 * SECOND);
  assert.equal(net.b.connections().length, 0);
  net.drop = null;
  const c = net.a.connect(net.now, { local: A, remote: B, remotePort: 80 });
  net.run(net.now + SECOND);
  assert.equal(c.state, 'ESTABLISHED');
});
