import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Simulator } from '../../src/sim/events.ts';
import { SimHostError } from '../../src/sim/host.ts';
import { Network } from '../../src/sim/network.ts';
import type { OutSegment, SegmentStack } from '../../src/stack.ts';
import { MS } from '../../src/util/time.ts';
import { parseIpv4 } from '../../src/wire/address.ts';
import { encodeTcp, TcpFlag } from '../../src/wire/tcp.ts';

const A = '10.0.1.1';
const B = '10.1.1.1';

function seg(seq: number, src = A, dst = B): OutSegment {
  const segment = encodeTcp(
    {
      srcPort: 45020,
      dstPort: 45021,
      seq,
      ack: 0,
      flags: TcpFlag.ACK,
      reserved: 0,
      window: 1000,
      checksum: 0,
      urgent: 0,
      options: [],
    },
    undefined,
    { src: parseIpv4(src) as Uint8Array, dst: parseIpv4(dst) as Uint8Array },
  );
  return { src, dst, segment };
}

/** A stack driven by a script: a list of deadlines, segments to send, and a log of every call. */
class Scripted implements SegmentStack {
  readonly log: string[] = [];
  readonly out: OutSegment[] = [];
  deadline: number | null = null;
  onTimerHook: (now: number) => void = () => {};
  onReceiveHook: (now: number) => void = () => {};
  receive(now: number, _src: string, _dst: string, segment: Uint8Array): void {
    this.log.push(`rx@${now}:${segment.length}`);
    this.onReceiveHook(now);
  }
  poll(now: number): OutSegment | null {
    const s = this.out.shift() ?? null;
    if (s) this.log.push(`tx@${now}`);
    return s;
  }
  nextDeadline(): number | null {
    return this.deadline;
  }
  onTimer(now: number): void {
    this.log.push(`timer@${now}`);
    this.onTimerHook(now);
  }
}

function pair() {
  const sim = new Simulator(1);
  const net = new Network(sim);
  net.addLink('l', { delay: 5 * MS });
  net.addPath('p', ['l'], A);
  const a = net.addHost('a', [A]);
  const b = net.addHost('b', [B]);
  return { sim, net, a, b };
}

test('attach polls at once; the timer fires at nextDeadline and is rescheduled, one event at a time', () => {
  const { sim, a } = pair();
  const s = new Scripted();
  s.out.push(seg(1));
  s.deadline = 10 * MS;
  s.onTimerHook = (now) => {
    s.deadline = now < 30 * MS ? now + 10 * MS : null;
  };
  a.attach(s);
  assert.deepEqual(s.log, ['tx@0']);
  assert.equal(a.stats.sent, 1);
  sim.run(100 * MS);
  assert.deepEqual(s.log, ['tx@0', `timer@${10 * MS}`, `timer@${20 * MS}`, `timer@${30 * MS}`]);
  assert.equal(sim.pending, 0);
  assert.throws(() => a.attach(new Scripted()), SimHostError);
});

test('an earlier deadline replaces the pending timer; only one timer event is ever pending', () => {
  const { sim, a } = pair();
  const s = new Scripted();
  s.deadline = 50 * MS;
  s.onTimerHook = () => {
    s.deadline = null;
  };
  a.attach(s);
  sim.run(1 * MS);
  for (let i = 0; i < 5000; i++) {
    s.deadline = 40 * MS - i;
    a.wake();
  }
  assert.equal(sim.pending, 1);
  sim.run(100 * MS);
  assert.deepEqual(s.log, [`timer@${40 * MS - 4999}`]);
});

test('a deadline in the past is clamped to now', () => {
  const { sim, a } = pair();
  const s = new Scripted();
  a.attach(s);
  sim.run(20 * MS);
  s.deadline = 3 * MS;
  s.onTimerHook = () => {
    s.deadline = null;
  };
  a.wake();
  sim.run(30 * MS);
  assert.deepEqual(s.log, [`timer@${20 * MS}`]);
});

test('wake() polls now; a delivery polls too; segments arrive at the other host after the link delay', () => {
  const { sim, a, b } = pair();
  const sa = new Scripted();
  const sb = new Scripted();
  a.attach(sa);
  b.attach(sb);
  sb.onReceiveHook = () => sb.out.push(seg(9, B, A));
  sim.at(2 * MS, () => {
    sa.out.push(seg(1), seg(2));
    a.wake();
  });
  sim.run(100 * MS);
  assert.deepEqual(sa.log, [`tx@${2 * MS}`, `tx@${2 * MS}`, `rx@${12 * MS}:20`, `rx@${12 * MS}:20`]);
  assert.deepEqual(sb.log, [`rx@${7 * MS}:20`, `tx@${7 * MS}`, `rx@${7 * MS}:20`, `tx@${7 * MS}`]);
});

test('a wake() from inside a stack callback is not lost: the host polls again', () => {
  const { sim, a, b } = pair();
  const sa = new Scripted();
  const sb = new Scripted();
  a.attach(sa);
  b.attach(sb);
  // The "application" reacts to data by writing, and wakes the host from within receive().
  sb.onReceiveHook = () => {
    b.wake();
    sb.out.push(seg(7, B, A));
  };
  sa.out.push(seg(1));
  a.wake();
  sim.run(100 * MS);
  assert.deepEqual(sb.log, [`rx@${5 * MS}:20`, `tx@${5 * MS}`]);
  assert.deepEqual(sa.log, ['tx@0', `rx@${10 * MS}:20`]);
});

test('a stack that never stops returning segments is cut off per wakeup, counted, and time still moves', () => {
  const { sim, net, a } = pair();
  let n = 0;
  const runaway: SegmentStack = {
    receive() {},
    poll: () => (n++ < 25_000 ? seg(n) : null),
    // A far deadline must not delay the rest of the drain.
    nextDeadline: () => 1_000 * MS,
    onTimer() {},
  };
  net.setLink('l', { queue: { packets: 100 }, rate: 1_000_000 });
  a.attach(runaway);
  sim.run(1 * MS);
  assert.equal(a.stats.pollCapHits, 2);
  assert.equal(a.stats.sent, 25_000);
  assert.equal(sim.now, 1 * MS);
  assert.equal(net.linkStats('l').up.dropped.queue, 25_000 - 100);
});

test('a timer whose deadline never passes is pushed on after too many firings at one instant', () => {
  const { sim, a } = pair();
  const s = new Scripted();
  s.deadline = 1 * MS;
  let fired = 0;
  s.onTimerHook = () => {
    fired++;
    if (fired > 5000) s.deadline = null;
  };
  a.attach(s);
  sim.run(100 * MS);
  assert.equal(fired, 5001);
  assert.ok(a.stats.timerStalls > 0);
  assert.equal(sim.now, 100 * MS);
});

test('an attached host without a stack drops arrivals and counts them', () => {
  const { sim, a, b } = pair();
  const sa = new Scripted();
  a.attach(sa);
  sa.out.push(seg(1));
  a.wake();
  sim.run(100 * MS);
  assert.equal(b.stats.received, 1);
  assert.equal(b.stats.noStack, 1);
});
