/** Each program in schedulers/ on crafted states, checking the behaviour it is named for (both forms). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { compileSource, createProgmpScheduler } from '../../src/progmp/program.ts';
import { PacketQueue, type SchedSubflow } from '../../src/sched/types.ts';
import { FakeConn, packet, subflow } from '../sched/fixtures.ts';

const load = (name: string) =>
  compileSource(readFileSync(new URL(`../../schedulers/${name}.progmp`, import.meta.url), 'utf8'));

/** Runs `opportunities` scheduler calls on a fresh connection for each form; both logs must agree. */
function drive(name: string, make: () => FakeConn, opportunities = 1): FakeConn {
  const p = load(name);
  const conns = [true, false].map((interpret) => {
    const c = make();
    const s = createProgmpScheduler(p, { interpret });
    for (let i = 0; i < opportunities; i++) c.send(s);
    return c;
  });
  assert.deepEqual(conns[1]!.log, conns[0]!.log, `${name}: interpreter and compiled disagree`);
  return conns[1]!;
}

const ms = (n: number) => n * 8000;
const two = (a: Partial<SchedSubflow>, b: Partial<SchedSubflow>) => [
  subflow({ id: 2, ...a }),
  subflow({ id: 1, ...b }),
];

test('minrtt: lowest RTT with a free window; backups last; reinjections first', () => {
  const fast = () => {
    const c = new FakeConn(two({ rtt: ms(50) }, { rtt: ms(10) }));
    c.write(2);
    return c;
  };
  assert.deepEqual(drive('minrtt', fast, 2).log, ['push 0 -> 1', 'push 1400 -> 1']);
  const full = () => {
    const c = new FakeConn(two({ rtt: ms(50) }, { rtt: ms(10), cwnd: 4, skbsInFlight: 4 }));
    c.write(1);
    return c;
  };
  assert.deepEqual(drive('minrtt', full).log, ['push 0 -> 2']);
  const lossy = () => {
    const c = new FakeConn(two({ rtt: ms(50), throttled: true }, { rtt: ms(10), lossy: true }));
    c.write(1);
    return c;
  };
  assert.deepEqual(drive('minrtt', lossy).log, []);
  const backup = () => {
    const c = new FakeConn(two({ rtt: ms(50) }, { rtt: ms(10), isBackup: true }));
    c.write(1);
    return c;
  };
  assert.deepEqual(drive('minrtt', backup).log, ['push 0 -> 2']);
  const reinject = () => {
    const c = new FakeConn(two({ rtt: ms(50) }, { rtt: ms(10) }));
    c.write(1);
    c.rq.packets.push(packet(7, { queue: PacketQueue.RQ, sentOn: [c.subflows[1]!] }));
    return c;
  };
  assert.deepEqual(drive('minrtt', reinject).log, ['reinject 7 -> 2']);
});

test('roundrobin: turns rotate through the subflows; a full one loses its turn', () => {
  const c3 = () => {
    const c = new FakeConn([subflow({ id: 3 }), subflow({ id: 2 }), subflow({ id: 1 })]);
    c.write(4);
    return c;
  };
  assert.deepEqual(drive('roundrobin', c3, 4).log, [
    'push 0 -> 3',
    'push 1400 -> 2',
    'push 2800 -> 1',
    'push 4200 -> 3',
  ]);
  const skip = () => {
    const c = new FakeConn([
      subflow({ id: 3 }),
      subflow({ id: 2, cwnd: 1, skbsInFlight: 1 }),
      subflow({ id: 1 }),
    ]);
    c.write(3);
    return c;
  };
  assert.deepEqual(drive('roundrobin', skip, 3).log, ['push 0 -> 3', 'push 1400 -> 1', 'push 2800 -> 3']);
});

test('redundant: every packet on every subflow; a lagging subflow catches up first', () => {
  const both = () => {
    const c = new FakeConn(two({}, {}));
    c.write(2);
    return c;
  };
  assert.deepEqual(drive('redundant', both).log, ['push 0 -> 2', 'redundant 0 -> 1']);
  const lag = () => {
    const c = new FakeConn(two({}, {}));
    c.write(1);
    c.qu.packets.push(packet(90, { queue: PacketQueue.QU, sentOn: [c.subflows[0]!] }));
    return c;
  };
  assert.deepEqual(drive('redundant', lag).log, ['push 0 -> 2', 'redundant 90 -> 1']);
});

test('opportunistic_redundant: the head of Q on every subflow with room, once', () => {
  const c = () => {
    const x = new FakeConn([
      subflow({ id: 3 }),
      subflow({ id: 2, cwnd: 2, skbsInFlight: 2 }),
      subflow({ id: 1 }),
    ]);
    x.write(2);
    return x;
  };
  const r = drive('opportunistic_redundant', c);
  assert.deepEqual(r.log, ['push 0 -> 3', 'redundant 0 -> 1']);
  assert.deepEqual(
    r.q.packets.map((p) => p.seq),
    [1400],
  );
});

test('opportunistic_redundant: reinjections first; a subflow in RTO recovery gets nothing', () => {
  const c = () => {
    const x = new FakeConn([subflow({ id: 3, lossy: true }), subflow({ id: 2 }), subflow({ id: 1 })]);
    x.write(1);
    x.rq.packets.push(packet(7, { queue: PacketQueue.RQ, sentOn: [x.subflows[2]!] }));
    return x;
  };
  assert.deepEqual(drive('opportunistic_redundant', c).log, ['reinject 7 -> 2']);
  const noRq = () => {
    const x = c();
    x.rq.packets.length = 0;
    return x;
  };
  assert.deepEqual(drive('opportunistic_redundant', noRq).log, ['push 0 -> 2', 'redundant 0 -> 1']);
});

test('redundant_if_no_q: minimum RTT while Q has data, then the oldest packet again on another subflow', () => {
  const withQ = () => {
    const c = new FakeConn(two({ rtt: ms(80) }, { rtt: ms(10) }));
    c.write(1);
    return c;
  };
  assert.deepEqual(drive('redundant_if_no_q', withQ).log, ['push 0 -> 1']);
  const noQ = () => {
    const c = new FakeConn(two({ rtt: ms(80) }, { rtt: ms(10) }));
    c.qu.packets.push(packet(5, { queue: PacketQueue.QU, sentOn: [c.subflows[1]!, c.subflows[0]!] }));
    c.qu.packets.push(packet(6, { queue: PacketQueue.QU, sentOn: [c.subflows[0]!] }));
    return c;
  };
  assert.deepEqual(drive('redundant_if_no_q', noQ).log, ['redundant 6 -> 1']);
});

const inFlight = (endOfFlow: number, slowRtt: number) => () => {
  const c = new FakeConn(two({ rtt: ms(slowRtt), skbsInFlight: 1 }, { rtt: ms(10), skbsInFlight: 1 }));
  c.qu.packets.push(packet(5, { queue: PacketQueue.QU, sentOn: [c.subflows[0]!] }));
  c.qu.packets.push(packet(6, { queue: PacketQueue.QU, sentOn: [c.subflows[1]!] }));
  c.registers[0] = endOfFlow;
  return c;
};

test('compensating: at the end of the flow, in-flight packets of the slow subflow go to the fast one', () => {
  assert.deepEqual(drive('compensating', inFlight(0, 80)).log, []);
  // Packet 6, in flight on the fast subflow, is not copied to the slow one: the copy would arrive later.
  assert.deepEqual(drive('compensating', inFlight(1, 80)).log, ['redundant 5 -> 1']);
});

test('compensating: no copy onto a subflow that would deliver it later, that has losses to resend, or no spare window', () => {
  // USER holds each subflow's lowest RTT seen (the program records it): subflow 1 (10 ms base) has 11.7 ms of
  // queue, subflow 2 (30 ms base) 4.7 ms. One way (RTT − base / 2), 1 takes 16.7 ms and 2 takes 19.7 ms...
  const fastPathQueued = (one: Partial<SchedSubflow>) => () => {
    const c = new FakeConn(
      two(
        { rtt: ms(34.7), user: ms(30), skbsInFlight: 1 },
        { rtt: ms(21.7), user: ms(10), skbsInFlight: 1, ...one },
      ),
    );
    c.qu.packets.push(packet(5, { queue: PacketQueue.QU, sentOn: [c.subflows[0]!] }));
    c.registers[0] = 1;
    return c;
  };
  assert.deepEqual(drive('compensating', fastPathQueued({})).log, ['redundant 5 -> 1']);
  // ...but with 28 ms on the short path (queue full: 23 ms one way) the copy would arrive after the original.
  assert.deepEqual(drive('compensating', fastPathQueued({ rtt: ms(28) })).log, []);
  assert.deepEqual(drive('compensating', fastPathQueued({ lostSkbs: 1 })).log, []);
  assert.deepEqual(drive('compensating', fastPathQueued({ cwnd: 3, skbsInFlight: 2 })).log, []);
});

test('compensating: a packet that already arrived (waiting in QU for the DATA_ACK) is not copied', () => {
  // The slow subflow carried 4 and 5 and has one packet in flight: 5. Packet 4 arrived; it waits behind a hole.
  const c = () => {
    const x = new FakeConn(two({ rtt: ms(80), skbsInFlight: 1 }, { rtt: ms(10) }));
    x.qu.packets.push(packet(4, { queue: PacketQueue.QU, sentOn: [x.subflows[0]!] }));
    x.qu.packets.push(packet(5, { queue: PacketQueue.QU, sentOn: [x.subflows[0]!] }));
    x.registers[0] = 1;
    return x;
  };
  assert.deepEqual(drive('compensating', c).log, ['redundant 5 -> 1']);
  assert.deepEqual(drive('selective_compensation', c).log, ['redundant 5 -> 1']);
});

test('selective_compensation: only when max RTT / min RTT exceeds 2', () => {
  assert.deepEqual(drive('selective_compensation', inFlight(1, 15)).log, []);
  assert.deepEqual(drive('selective_compensation', inFlight(1, 80)).log, ['redundant 5 -> 1']);
  assert.deepEqual(drive('selective_compensation', inFlight(0, 80)).log, []);
});

test('tap: the preferred subflow first; the backup only for the share of the target it cannot carry', () => {
  // Preferred: cwnd 10 x 1400 B per 10 ms = 1400 B/ms = 1400 kB/s.
  const tap =
    (target: number, prefFull: boolean, backupInFlight = 0) =>
    () => {
      const c = new FakeConn(
        two(
          { rtt: ms(40), isBackup: true, skbsInFlight: backupInFlight },
          { rtt: ms(10), skbsInFlight: prefFull ? 10 : 0 },
        ),
      );
      c.registers[0] = target;
      c.write(1);
      return c;
    };
  assert.deepEqual(drive('tap', tap(0, false)).log, ['push 0 -> 1']);
  assert.deepEqual(drive('tap', tap(0, true)).log, [], 'no target: never the backup');
  assert.deepEqual(drive('tap', tap(1000, true)).log, [], 'the preferred subflow carries the target');
  // Target 2000 kB/s: the backup carries 600 B/ms x 40 ms = 24,000 B, about 17 packets in flight.
  assert.deepEqual(drive('tap', tap(2000, true)).log, ['push 0 -> 2']);
  assert.deepEqual(drive('tap', tap(2000, true, 9)).log, ['push 0 -> 2']);
  const busy = () => {
    const c = tap(2000, true)();
    c.subflows[0]!.cwnd = 40;
    c.subflows[0]!.skbsInFlight = 18;
    return c;
  };
  assert.deepEqual(drive('tap', busy).log, [], 'the backup already carries its share');
  const noPreferred = () => {
    const c = new FakeConn([subflow({ id: 2, isBackup: true })]);
    c.write(1);
    return c;
  };
  assert.deepEqual(drive('tap', noPreferred).log, ['push 0 -> 2']);
});

test('ppos: the primary subflow only while it works, the others when it fails, back when it recovers', () => {
  const ppos =
    (primary: Partial<SchedSubflow>, primaryId = 0) =>
    () => {
      const c = new FakeConn(two({ rtt: ms(5) }, { rtt: ms(50), ...primary }));
      c.registers[0] = primaryId;
      c.write(1);
      return c;
    };
  assert.deepEqual(drive('ppos', ppos({})).log, ['push 0 -> 1'], 'the slower primary still gets the data');
  assert.deepEqual(drive('ppos', ppos({ skbsInFlight: 10 })).log, [], 'a full primary is waited for');
  assert.deepEqual(
    drive('ppos', ppos({ lossy: true })).log,
    ['push 0 -> 2'],
    'failure: the other takes over',
  );
  assert.deepEqual(drive('ppos', ppos({}, 2)).log, ['push 0 -> 2'], 'R1 names the primary');
  // Recovery: the same connection goes back to the primary as soon as it is not LOSSY.
  const c = ppos({ lossy: true })();
  c.write(1);
  const s = createProgmpScheduler(load('ppos'));
  c.send(s);
  c.subflows[1]!.lossy = false;
  c.send(s);
  assert.deepEqual(c.log, ['push 0 -> 2', 'push 1400 -> 1']);
});

test('handover: packets stranded on a LOSSY subflow are duplicated onto a healthy one first', () => {
  const h = (lossy: boolean) => () => {
    const c = new FakeConn(two({ rtt: ms(30) }, { rtt: ms(10), lossy }));
    c.qu.packets.push(packet(5, { queue: PacketQueue.QU, sentOn: [c.subflows[1]!] }));
    c.qu.packets.push(packet(6, { queue: PacketQueue.QU, sentOn: [c.subflows[1]!] }));
    c.write(1);
    return c;
  };
  assert.deepEqual(drive('handover', h(true), 3).log, [
    'redundant 5 -> 2',
    'redundant 6 -> 2',
    'push 0 -> 2',
  ]);
  assert.deepEqual(drive('handover', h(false), 1).log, ['push 0 -> 1'], 'no handover: plain minimum RTT');
});
