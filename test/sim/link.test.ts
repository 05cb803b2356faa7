import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Simulator } from '../../src/sim/events.ts';
import {
  DEFAULT_LINK,
  Link,
  LinkConfigError,
  LinkDirection,
  type LinkDirectionConfig,
} from '../../src/sim/link.ts';
import { MS } from '../../src/util/time.ts';

interface P {
  bytes: Uint8Array;
  id: number;
}

function direction(config: Partial<LinkDirectionConfig>, seed = 1) {
  const sim = new Simulator(seed);
  const arrivals: { id: number; time: number; bytes: Uint8Array }[] = [];
  const dir = new LinkDirection<P>(sim, sim.rng.fork(), { ...DEFAULT_LINK, ...config }, (p) =>
    arrivals.push({ id: p.id, time: sim.now, bytes: p.bytes }),
  );
  let next = 0;
  const send = (size: number) => {
    const bytes = new Uint8Array(size);
    bytes[0] = next & 0xff;
    dir.send({ bytes, id: next++ });
  };
  return { sim, dir, arrivals, send };
}

test('serialisation: N packets of S bytes at rate R arrive at k·S·8/R + delay, exactly', () => {
  // 8 Mbit/s is one byte per µs: 1000-byte packets take 1000 µs each.
  const { sim, arrivals, send } = direction({ rate: 8_000_000, delay: 5 * MS });
  for (let i = 0; i < 10; i++) send(1000);
  sim.run(Number.POSITIVE_INFINITY);
  assert.deepEqual(
    arrivals.map((a) => a.time),
    Array.from({ length: 10 }, (_, k) => (k + 1) * 1000 + 5000),
  );
});

test('serialisation with fractional µs: the busy time is exact and each packet leaves at the next whole µs', () => {
  // 100 bytes at 3 Mbit/s = 800/3 µs: no rounding error builds up over 300 packets.
  const { sim, arrivals, send } = direction({ rate: 3_000_000, delay: 0 });
  for (let i = 0; i < 300; i++) send(100);
  sim.run(Number.POSITIVE_INFINITY);
  assert.deepEqual(
    arrivals.map((a) => a.time),
    Array.from({ length: 300 }, (_, k) => Math.ceil(((k + 1) * 800) / 3)),
  );
  assert.equal(arrivals[299]!.time, 80_000);
});

test('a packet arriving at an idle link starts at once; one arriving mid-transmission waits', () => {
  const { sim, arrivals, send } = direction({ rate: 8_000_000, delay: 100 });
  send(1000); // leaves at 1000 + 100
  sim.at(500, () => send(500)); // waits until 1000, done at 1500
  sim.at(3000, () => send(200)); // idle again: 3200
  sim.run(Number.POSITIVE_INFINITY);
  assert.deepEqual(
    arrivals.map((a) => a.time),
    [1100, 1600, 3300],
  );
});

test('queue limit in packets drops exactly the excess (the packet in service counts)', () => {
  const { sim, dir, arrivals, send } = direction({ rate: 8_000_000, queue: { packets: 5 } });
  for (let i = 0; i < 12; i++) send(1000);
  assert.equal(dir.queuedPackets, 5);
  sim.run(Number.POSITIVE_INFINITY);
  assert.deepEqual(
    arrivals.map((a) => a.id),
    [0, 1, 2, 3, 4],
  );
  assert.equal(dir.stats.dropped.queue, 7);
  assert.equal(dir.stats.maxQueuePackets, 5);
  // After 2.5 packet times two have left: exactly two more fit.
  const {
    sim: sim2,
    dir: dir2,
    arrivals: arr2,
    send: send2,
  } = direction({ rate: 8_000_000, queue: { packets: 5 } });
  for (let i = 0; i < 5; i++) send2(1000);
  sim2.at(2500, () => {
    for (let i = 0; i < 4; i++) send2(1000);
  });
  sim2.run(Number.POSITIVE_INFINITY);
  assert.equal(arr2.length, 7);
  assert.equal(dir2.stats.dropped.queue, 2);
});

test('queue limit in bytes drops exactly the packets that would exceed it', () => {
  const { sim, dir, arrivals, send } = direction({ rate: 8_000_000, queue: { bytes: 3000 } });
  send(1000);
  send(1000);
  send(1500); // 3500 > 3000: dropped
  send(1000); // 3000: fits
  send(1); // dropped
  sim.run(Number.POSITIVE_INFINITY);
  assert.deepEqual(
    arrivals.map((a) => a.id),
    [0, 1, 3],
  );
  assert.equal(dir.stats.dropped.queue, 2);
  assert.equal(dir.stats.maxQueueBytes, 3000);
});

test('queue limit in time drops the packets that would wait longer than the limit', () => {
  // 1500 bytes at 1.2 Mbit/s = 10 ms each; a 35 ms limit admits waits of 0, 10, 20 and 30 ms.
  const { sim, dir, arrivals, send } = direction({ rate: 1_200_000, queue: { time: 35 * MS } });
  for (let i = 0; i < 10; i++) send(1500);
  sim.run(Number.POSITIVE_INFINITY);
  assert.equal(arrivals.length, 4);
  assert.equal(dir.stats.dropped.queue, 6);
  assert.deepEqual(
    arrivals.map((a) => a.time),
    [10_000, 20_000, 30_000, 40_000],
  );
});

test('packets above the MTU are dropped and counted', () => {
  const { sim, dir, arrivals, send } = direction({ mtu: 1500 });
  send(1500);
  send(1501);
  sim.run(Number.POSITIVE_INFINITY);
  assert.equal(arrivals.length, 1);
  assert.equal(dir.stats.dropped.mtu, 1);
});

test('Bernoulli loss over 100k packets stays within 5 standard deviations of the rate', () => {
  const { sim, dir, arrivals, send } = direction({ loss: 0.05 }, 11);
  const n = 100_000;
  for (let i = 0; i < n; i++) send(40);
  sim.run(Number.POSITIVE_INFINITY);
  const sd = Math.sqrt(n * 0.05 * 0.95);
  assert.ok(Math.abs(dir.stats.dropped.loss - n * 0.05) < 5 * sd, `lost ${dir.stats.dropped.loss}`);
  assert.equal(arrivals.length + dir.stats.dropped.loss, n);
});

test('Gilbert–Elliott: mean loss p/(p+r) and mean burst length 1/r when lossInBad = 1', () => {
  const pGoodToBad = 0.01;
  const pBadToGood = 0.25;
  const { sim, arrivals, send } = direction(
    { lossModel: { gilbertElliott: { pGoodToBad, pBadToGood, lossInBad: 1, lossInGood: 0 } } },
    5,
  );
  const n = 200_000;
  for (let i = 0; i < n; i++) send(40);
  sim.run(Number.POSITIVE_INFINITY);
  const got = new Uint8Array(n);
  for (const a of arrivals) got[a.id] = 1;
  let lost = 0;
  let bursts = 0;
  for (let i = 0; i < n; i++) {
    if (got[i]) continue;
    lost++;
    if (i === 0 || got[i - 1]) bursts++;
  }
  const meanLoss = lost / n;
  const expected = pGoodToBad / (pGoodToBad + pBadToGood);
  assert.ok(Math.abs(meanLoss - expected) < 0.1 * expected, `mean loss ${meanLoss}, expected ${expected}`);
  const meanBurst = lost / bursts;
  assert.ok(
    Math.abs(meanBurst - 1 / pBadToGood) < 0.3,
    `mean burst ${meanBurst}, expected ${1 / pBadToGood}`,
  );
  // Independent loss at the same rate would give bursts of about 1/(1 - p) ≈ 1.04.
});

test('the link loss is the Good-state loss of a Gilbert–Elliott model unless lossInGood is given', () => {
  const { sim, dir, send } = direction(
    { loss: 0.2, lossModel: { gilbertElliott: { pGoodToBad: 0, pBadToGood: 1, lossInBad: 1 } } },
    9,
  );
  for (let i = 0; i < 20_000; i++) send(40);
  sim.run(Number.POSITIVE_INFINITY);
  assert.ok(Math.abs(dir.stats.dropped.loss / 20_000 - 0.2) < 0.02);
});

test('jitter spreads the delay but never reorders', () => {
  // Packets 1 ms apart with ±2 ms of jitter: without the FIFO rule many would overtake each other.
  const { sim, arrivals, send } = direction({ rate: 100_000_000, delay: 10 * MS, jitter: 2 * MS }, 3);
  for (let i = 0; i < 5000; i++) sim.at(i * MS, () => send(100));
  sim.run(Number.POSITIVE_INFINITY);
  assert.equal(arrivals.length, 5000);
  for (let i = 1; i < arrivals.length; i++) {
    assert.equal(arrivals[i]!.id, i);
    assert.ok(arrivals[i]!.time >= arrivals[i - 1]!.time);
  }
  // The one-way delay varies: some packets come early (delay − jitter), some late.
  const delays = arrivals.map((a) => a.time - a.id * MS);
  assert.ok(Math.min(...delays) < 8.5 * MS, `min delay ${Math.min(...delays)}`);
  assert.ok(Math.max(...delays) > 11.5 * MS, `max delay ${Math.max(...delays)}`);
});

test('normal jitter has about the configured standard deviation (sparse packets, no FIFO clamping)', () => {
  const { sim, arrivals, send } = direction(
    { delay: 50 * MS, jitter: 2 * MS, jitterDistribution: 'normal' },
    4,
  );
  for (let i = 0; i < 4000; i++) sim.at(i * 20 * MS, () => send(100));
  sim.run(Number.POSITIVE_INFINITY);
  const d = arrivals.map((a) => a.time - a.id * 20 * MS - 50 * MS);
  const mean = d.reduce((s, x) => s + x, 0) / d.length;
  const sd = Math.sqrt(d.reduce((s, x) => s + (x - mean) ** 2, 0) / d.length);
  assert.ok(Math.abs(mean) < 150, `mean ${mean}`);
  assert.ok(Math.abs(sd - 2 * MS) < 150, `sd ${sd}`);
});

test('reorder holds back the configured share by reorderDelay, and later packets overtake them', () => {
  const { sim, dir, arrivals, send } = direction({ delay: 10 * MS, reorder: 0.1, reorderDelay: 3 * MS }, 8);
  const n = 20_000;
  for (let i = 0; i < n; i++) sim.at(i * 100, () => send(100));
  sim.run(Number.POSITIVE_INFINITY);
  const share = dir.stats.reordered / n;
  assert.ok(Math.abs(share - 0.1) < 0.01, `share ${share}`);
  let late = 0;
  for (const a of arrivals) {
    const d = a.time - a.id * 100;
    if (d === 13 * MS) late++;
    else assert.equal(d, 10 * MS);
  }
  assert.equal(late, dir.stats.reordered);
  let outOfOrder = 0;
  for (let i = 1; i < arrivals.length; i++) if (arrivals[i]!.id < arrivals[i - 1]!.id) outOfOrder++;
  assert.ok(outOfOrder >= dir.stats.reordered * 0.9);
});

test('duplication delivers the configured share twice', () => {
  const { sim, dir, arrivals, send } = direction({ duplicate: 0.05 }, 12);
  const n = 20_000;
  for (let i = 0; i < n; i++) send(100);
  sim.run(Number.POSITIVE_INFINITY);
  assert.ok(Math.abs(dir.stats.duplicated / n - 0.05) < 0.008, `share ${dir.stats.duplicated / n}`);
  assert.equal(arrivals.length, n + dir.stats.duplicated);
  const counts = new Map<number, number>();
  for (const a of arrivals) counts.set(a.id, (counts.get(a.id) ?? 0) + 1);
  assert.equal([...counts.values()].filter((c) => c === 2).length, dir.stats.duplicated);
});

test('corruption flips exactly one bit of a copy; the sender’s bytes are untouched', () => {
  const { sim, dir, arrivals } = direction({ corrupt: 1 }, 2);
  const originals: Uint8Array[] = [];
  for (let i = 0; i < 200; i++) {
    const bytes = new Uint8Array(64).fill(0xa5);
    originals.push(bytes);
    dir.send({ bytes, id: i });
  }
  sim.run(Number.POSITIVE_INFINITY);
  assert.equal(dir.stats.corrupted, 200);
  for (const a of arrivals) {
    let flipped = 0;
    for (let i = 0; i < 64; i++) {
      let x = a.bytes[i]! ^ 0xa5;
      for (; x; x &= x - 1) flipped++;
    }
    assert.equal(flipped, 1);
    assert.ok(originals[a.id]!.every((b) => b === 0xa5));
  }
});

test('a link that goes down drops what it holds and what arrives; it carries again once up', () => {
  const { sim, dir, arrivals, send } = direction({ rate: 8_000_000, delay: 10 * MS });
  for (let i = 0; i < 5; i++) send(1000); // would arrive at 11, 12, 13, 14, 15 ms
  sim.at(12_500, () => dir.configure({ up: false }));
  sim.at(13_000, () => send(1000));
  sim.at(20_000, () => dir.configure({ up: true }));
  sim.at(20_000, () => send(1000));
  sim.run(Number.POSITIVE_INFINITY);
  assert.deepEqual(
    arrivals.map((a) => [a.id, a.time]),
    [
      [0, 11_000],
      [1, 12_000],
      [6, 31_000],
    ],
  );
  assert.equal(dir.stats.dropped.down, 4);
});

test('a link keeps one event per direction, not one per packet, and runs them as if it kept one per packet', () => {
  const { sim, dir, arrivals, send } = direction({ rate: 8_000_000, delay: 10 * MS });
  const trace: string[] = [];
  for (let i = 0; i < 100; i++) send(1000); // arrive at 11, 12, ... 110 ms
  // Events scheduled after the packets, due at the same instant as one of them, run after it.
  sim.at(50_000, () => trace.push(`timer after ${arrivals.length}`));
  assert.equal(sim.pending, 2);
  sim.run(Number.POSITIVE_INFINITY);
  assert.equal(arrivals.length, 100);
  assert.deepEqual(trace, ['timer after 40']);
  assert.equal(arrivals[39]!.time, 50_000);
  assert.equal(sim.eventsProcessed, 101);
  // Going down with packets on the way leaves no event behind.
  for (let i = 0; i < 10; i++) send(1000);
  dir.configure({ up: false });
  assert.equal(sim.pending, 0);
});

test('a rate or delay change applies to packets arriving after it; the packet in service finishes', () => {
  const { sim, dir, arrivals, send } = direction({ rate: 8_000_000, delay: 1000 });
  send(1000); // 0..1000 at 8 Mbit/s: arrives 2000
  sim.at(500, () => {
    dir.configure({ rate: 4_000_000, delay: 3000 });
    send(1000); // waits until 1000, then 2000 µs at 4 Mbit/s: arrives 3000 + 3000
  });
  sim.at(10_000, () => dir.configure({ delay: 0 }));
  sim.at(10_000, () => send(500)); // 1000 µs: arrives 11 000
  sim.run(Number.POSITIVE_INFINITY);
  assert.deepEqual(
    arrivals.map((a) => a.time),
    [2000, 6000, 11_000],
  );
});

test('a shorter delay after a change never lets a packet overtake one already on the wire', () => {
  const { sim, dir, arrivals, send } = direction({ delay: 10 * MS });
  send(100);
  sim.at(1000, () => {
    dir.configure({ delay: 1 * MS });
    send(100);
  });
  sim.run(Number.POSITIVE_INFINITY);
  assert.deepEqual(
    arrivals.map((a) => [a.id, a.time]),
    [
      [0, 10_000],
      [1, 10_000],
    ],
  );
});

test('the two directions of a link are independent servers', () => {
  const sim = new Simulator(1);
  const times: string[] = [];
  const link = new Link<P>(
    sim,
    'l',
    { rate: 8_000_000, delay: 0, directions: { down: { rate: 4_000_000 } } },
    { up: (p) => times.push(`up${p.id}@${sim.now}`), down: (p) => times.push(`down${p.id}@${sim.now}`) },
  );
  link.up.send({ bytes: new Uint8Array(1000), id: 0 });
  link.down.send({ bytes: new Uint8Array(1000), id: 1 });
  link.up.send({ bytes: new Uint8Array(1000), id: 2 });
  sim.run(Number.POSITIVE_INFINITY);
  // Equal times run in scheduling order: down1 was sent before up2.
  assert.deepEqual(times, ['up0@1000', 'down1@2000', 'up2@2000']);
  link.set({ up: false }, 'down');
  assert.equal(link.up.config.up, true);
  assert.equal(link.down.config.up, false);
  link.set({ delay: 7, directions: { down: { delay: 9, up: true } } });
  assert.deepEqual([link.up.config.delay, link.down.config.delay, link.down.config.up], [7, 9, true]);
});

test('the same seed gives the same delivery trace with every impairment on', () => {
  const trace = (seed: number) => {
    const { sim, arrivals, send } = direction(
      {
        rate: 10_000_000,
        delay: 5 * MS,
        jitter: 2 * MS,
        loss: 0.02,
        duplicate: 0.02,
        reorder: 0.05,
        corrupt: 0.01,
        queue: { packets: 50 },
      },
      seed,
    );
    for (let i = 0; i < 3000; i++) sim.at(i * 500, () => send(700));
    sim.run(Number.POSITIVE_INFINITY);
    return arrivals.map((a) => `${a.id}@${a.time}:${a.bytes[0]}`).join(' ');
  };
  assert.equal(trace(77), trace(77));
  assert.notEqual(trace(77), trace(78));
});

test('bad configurations are refused with a message naming the field', () => {
  const sim = new Simulator(1);
  const make = (c: Partial<LinkDirectionConfig>) =>
    new LinkDirection(sim, sim.rng.fork(), { ...DEFAULT_LINK, ...c }, () => {}, 'wifi.up');
  assert.throws(() => make({ loss: 1.5 }), /wifi\.up\.loss: expected a fraction/);
  assert.throws(() => make({ delay: 1.5 }), LinkConfigError);
  assert.throws(() => make({ queue: { packets: 0 } }), /queue\.packets/);
  assert.throws(
    () => make({ lossModel: { gilbertElliott: { pGoodToBad: -1, pBadToGood: 0.1, lossInBad: 1 } } }),
    /pGoodToBad/,
  );
});
