import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StackDriver } from '../../src/io/driver.ts';
import type { Transport, TransportSink } from '../../src/io/transport.ts';
import type { OutSegment, SegmentStack } from '../../src/stack.ts';
import type { Instant } from '../../src/util/time.ts';

class FakeTransport implements Transport {
  readonly kind = 'fake';
  readonly carriesTcpChecksum = true;
  readonly gathers = false;
  readonly retainsPayload = false;
  readonly stats = {};
  sink: TransportSink | null = null;
  sent: OutSegment[] = [];
  attach(s: TransportSink) {
    this.sink = s;
  }
  send(o: OutSegment) {
    this.sent.push(o);
  }
  async open() {
    return 1;
  }
  setRef() {}
  async close() {}
}

/** A stack that answers each received segment with `replies` segments and keeps one timer. */
class EchoStack implements SegmentStack {
  out: OutSegment[] = [];
  deadline: Instant | null = null;
  timerCalls: Instant[] = [];
  onReceive: (() => void) | null = null;
  constructor(private readonly replies: number) {}
  receive(_now: Instant, src: string, dst: string, segment: Uint8Array) {
    for (let i = 0; i < this.replies; i++) this.out.push({ src: dst, dst: src, segment });
    this.onReceive?.();
  }
  poll(): OutSegment | null {
    return this.out.shift() ?? null;
  }
  nextDeadline() {
    return this.deadline;
  }
  onTimer(now: Instant) {
    this.timerCalls.push(now);
    this.deadline = null;
    this.out.push({ src: 'a', dst: 'b', segment: new Uint8Array(1) });
  }
}

test('after each received segment the stack is polled until it has nothing more', () => {
  const t = new FakeTransport();
  const stack = new EchoStack(3);
  new StackDriver(stack, t, { clock: () => 0, batchReceive: false });
  t.sink!.receive('10.0.0.1', '10.0.0.2', new Uint8Array(20));
  assert.equal(t.sent.length, 3);
  assert.equal(t.sent[0]!.dst, '10.0.0.1');
});

test('batched: the datagrams of one turn of the event loop go in first, then one drain sends everything', async () => {
  const t = new FakeTransport();
  const stack = new EchoStack(2);
  let polls = 0;
  const poll = stack.poll.bind(stack);
  stack.poll = () => {
    polls++;
    return poll();
  };
  new StackDriver(stack, t, { clock: () => 0 });
  for (let i = 0; i < 5; i++) t.sink!.receive('10.0.0.1', '10.0.0.2', new Uint8Array(20));
  assert.equal(t.sent.length, 0, 'nothing polled while the turn still reads');
  await new Promise((r) => setImmediate(r));
  assert.equal(t.sent.length, 10);
  assert.equal(polls, 11, 'one drain: ten segments and the null that ends it');
});

test('work given from inside a stack callback is polled in the same drain', () => {
  const t = new FakeTransport();
  const stack = new EchoStack(1);
  const d = new StackDriver(stack, t, { clock: () => 0, batchReceive: false });
  stack.onReceive = () => {
    // An application writing from a data callback: the stack has more to send, the driver is draining.
    stack.out.push({ src: 'x', dst: 'y', segment: new Uint8Array(2) });
    d.wake();
  };
  t.sink!.receive('10.0.0.1', '10.0.0.2', new Uint8Array(20));
  assert.equal(t.sent.length, 2);
});

test('a poll cap hands the rest to the next turn of the event loop', async () => {
  const t = new FakeTransport();
  const stack = new EchoStack(10);
  const d = new StackDriver(stack, t, { clock: () => 0, pollCap: 4, batchReceive: false });
  t.sink!.receive('10.0.0.1', '10.0.0.2', new Uint8Array(20));
  assert.equal(t.sent.length, 4);
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  assert.equal(t.sent.length, 10);
  assert.ok(d.stats.pollCapHits >= 2);
});

test('the timer fires at the stack deadline (µs clock), once it has passed', async () => {
  const t = new FakeTransport();
  const stack = new EchoStack(0);
  const start = performance.now();
  const d = new StackDriver(stack, t, { clock: () => Math.round((performance.now() - start) * 1000) });
  stack.deadline = 30_000;
  d.wake();
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(stack.timerCalls.length, 1);
  assert.ok(stack.timerCalls[0]! >= 30_000, `fired at ${stack.timerCalls[0]} µs`);
  assert.equal(t.sent.length, 1, 'what onTimer produced was sent');
  d.stop();
});

test('an exception thrown inside the stack is reported and the driver keeps going', () => {
  const t = new FakeTransport();
  const stack = new EchoStack(1);
  const d = new StackDriver(stack, t, { clock: () => 0, batchReceive: false });
  const errors: unknown[] = [];
  d.onError = (e) => errors.push(e);
  stack.onReceive = () => {
    throw new Error('application callback failed');
  };
  t.sink!.receive('10.0.0.1', '10.0.0.2', new Uint8Array(20));
  assert.equal(errors.length, 1);
  assert.equal(t.sent.length, 1, 'what the stack produced before the throw still went out');
  stack.onReceive = null;
  t.sink!.receive('10.0.0.1', '10.0.0.2', new Uint8Array(20));
  assert.equal(t.sent.length, 2);
});
