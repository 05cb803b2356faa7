/** The hand-written schedulers and the registry. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { compileSource, createProgmpScheduler } from '../../src/progmp/program.ts';
import { BlestScheduler } from '../../src/sched/blest.ts';
import { EcfScheduler } from '../../src/sched/ecf.ts';
import { builtinSchedulers, createScheduler, UnknownSchedulerError } from '../../src/sched/registry.ts';
import { PacketQueue, type SchedSubflow } from '../../src/sched/types.ts';
import { Rng } from '../../src/util/rng.ts';
import { randomState } from '../progmp/gen.ts';
import { actions, FakeConn, packet, subflow } from './fixtures.ts';

const ms = (n: number) => n * 8000;

test('registry: every built-in by name; an unknown name lists the valid ones', () => {
  assert.deepEqual(Object.keys(builtinSchedulers), [
    'default',
    'roundrobin',
    'redundant',
    'ppos',
    'blest',
    'ecf',
  ]);
  for (const n of Object.keys(builtinSchedulers)) assert.equal(createScheduler(n).name, n);
  assert.throws(
    () => createScheduler('minrt'),
    (e: unknown) =>
      e instanceof UnknownSchedulerError &&
      e.validNames.includes('default') &&
      /unknown scheduler "minrt"; valid names: default, roundrobin, redundant, ppos, blest, ecf/.test(
        e.message,
      ),
  );
  // Instances of one name share their statistics.
  const a = createScheduler('roundrobin');
  const b = createScheduler('roundrobin');
  assert.equal(a.stats, b.stats);
});

test('default decides exactly like schedulers/minrtt.progmp on 2,000 random states', () => {
  const prog = compileSource(
    readFileSync(new URL('../../schedulers/minrtt.progmp', import.meta.url), 'utf8'),
  );
  let pushes = 0;
  for (let seed = 1; seed <= 2000; seed++) {
    const a = randomState(seed, new Rng(seed));
    const b = randomState(seed, new Rng(seed));
    const builtin = actions(createScheduler('default').schedule(a));
    const program = actions(createProgmpScheduler(prog).schedule(b));
    assert.deepEqual(builtin, program, `seed ${seed}`);
    pushes += builtin.length;
  }
  assert.ok(pushes > 500, `pushes: ${pushes}`);
});

test('roundrobin: rotates by subflow id, skips full windows, backups only without another usable subflow', () => {
  const c = new FakeConn([
    subflow({ id: 3 }),
    subflow({ id: 2, cwnd: 1, skbsInFlight: 1 }),
    subflow({ id: 1 }),
  ]);
  c.write(3);
  const s = createScheduler('roundrobin');
  for (let i = 0; i < 3; i++) c.send(s);
  assert.deepEqual(c.log, ['push 0 -> 3', 'push 1400 -> 1', 'push 2800 -> 3']);
  const b = new FakeConn([subflow({ id: 2, isBackup: true }), subflow({ id: 1, lossy: true })]);
  b.write(1);
  b.send(createScheduler('roundrobin'));
  assert.deepEqual(b.log, ['push 0 -> 2']);
});

test('redundant: each subflow with room gets what it lacks, else the head of Q', () => {
  const c = new FakeConn([subflow({ id: 2 }), subflow({ id: 1 })]);
  c.write(3);
  c.qu.packets.push(packet(90, { queue: PacketQueue.QU, sentOn: [c.subflows[0]!] }));
  const s = createScheduler('redundant');
  c.send(s);
  assert.deepEqual(c.log, ['push 0 -> 2', 'redundant 90 -> 1']);
  c.send(s);
  assert.deepEqual(c.log.slice(2), ['push 1400 -> 2', 'redundant 0 -> 1']);
});

test('ppos: primary subflows while one works; the others on failure; back on recovery', () => {
  const c = new FakeConn([subflow({ id: 2, rtt: ms(5) }), subflow({ id: 1, rtt: ms(50), primary: true })]);
  c.write(4);
  const s = createScheduler('ppos');
  c.send(s);
  c.subflows[1]!.skbsInFlight = 10;
  c.send(s);
  c.subflows[1]!.lossy = true;
  c.send(s);
  c.subflows[1]!.lossy = false;
  c.subflows[1]!.skbsInFlight = 0;
  c.send(s);
  assert.deepEqual(c.log, ['push 0 -> 1', 'push 1400 -> 2', 'push 2800 -> 1']);
});

/** A fast subflow with a full window and a slow one that could send. */
const blocked = (slow: Partial<SchedSubflow> = {}) => {
  const c = new FakeConn([
    subflow({ id: 2, rtt: ms(100), cwnd: 10, ...slow }),
    subflow({ id: 1, rtt: ms(10), cwnd: 10, skbsInFlight: 10 }),
  ]);
  c.write(50);
  return c;
};

test('blest: skips the slow subflow when it would block the fast one in the send window', () => {
  // r = 10: the fast subflow could send 1400 x (10 + 4.5) x 10 = 203,000 B during one slow RTT.
  const tight = blocked();
  tight.sendWindow = 150_000;
  tight.send(new BlestScheduler());
  assert.deepEqual(tight.log, []);
  const ample = blocked();
  ample.sendWindow = 400_000;
  ample.send(new BlestScheduler());
  assert.deepEqual(ample.log, ['push 0 -> 2']);
  // With room on the fast subflow BLEST is the default scheduler.
  const free = blocked();
  free.subflows[1]!.skbsInFlight = 0;
  free.sendWindow = 1000;
  free.send(new BlestScheduler());
  assert.deepEqual(free.log, ['push 0 -> 1']);
});

test('blest: λ grows after send-window blocking, shrinks otherwise, once per fast RTT, within [1, 1.3]', () => {
  const c = blocked({ cwnd: 1000 });
  c.write(200);
  const s = new BlestScheduler();
  c.send(s);
  assert.equal(s.lambda.toFixed(2), '1.19');
  c.send(s);
  assert.equal(s.lambda.toFixed(2), '1.19', 'not again within one fast RTT');
  c.now += 10_000;
  c.sendWindowBlocked = 3;
  c.send(s);
  assert.equal(s.lambda.toFixed(2), '1.23');
  for (let i = 0; i < 20; i++) {
    c.now += 10_000;
    c.sendWindowBlocked++;
    c.send(s);
  }
  assert.equal(s.lambda, 1.3);
  for (let i = 0; i < 100; i++) {
    c.now += 10_000;
    c.send(s);
  }
  assert.equal(s.lambda, 1);
});

test('ecf: waits for the fast subflow when it finishes sooner, with hysteresis β', () => {
  // k = 50 packets queued; fast: cwnd 10, RTT 10 ms → n·RTT_f = 6 x 10 = 60 ms < RTT_s + δ = 100 + 1 ms;
  // (k / cwnd_s)·RTT_s = 5 x 100 = 500 ms ≥ 2·RTT_f + δ: wait.
  const c = blocked();
  const s = new EcfScheduler();
  c.send(s);
  assert.deepEqual(c.log, []);
  assert.equal(s.waiting, true);
  // Little left to send: the slow subflow does not delay completion, use it.
  const short = blocked({ cwnd: 100 });
  short.q.packets.length = 2;
  short.queuedBytes = 2800;
  const s2 = new EcfScheduler();
  short.send(s2);
  assert.deepEqual(short.log, ['push 0 -> 2']);
  // Hysteresis: with RTT_s + δ = 55 ms, n·RTT_f = 60 ms waits only while already waiting (60 < 1.25 × 55).
  const h = blocked({ rtt: ms(54) });
  const waiting = new EcfScheduler();
  waiting.waiting = true;
  h.send(waiting);
  assert.deepEqual(h.log, []);
  const fresh = new EcfScheduler();
  h.send(fresh);
  assert.deepEqual(h.log, ['push 0 -> 2']);
  assert.equal(fresh.waiting, false);
});
