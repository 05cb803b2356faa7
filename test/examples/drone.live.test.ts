import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runDrone, type Snapshot } from '../../examples/drone.ts';
import { simPair, udpPair } from '../../examples/harness.ts';
import { MS } from '../../src/util/time.ts';

const delta = (a: Snapshot, b: Snapshot, which: 'control' | 'video', address: string) =>
  (b[which][address] ?? 0) - (a[which][address] ?? 0);

test('in the simulator: control on the primary path, fails over when it is cut and returns, video on the other', async () => {
  const paths = [
    { rate: 10e6, delay: 10 * MS },
    { rate: 20e6, delay: 20 * MS },
  ];
  const s = await runDrone(
    simPair(paths, 6),
    { periodMs: 50, messageBytes: 200, durationMs: 9000, marks: [1000, 3000, 6000, 7500] },
    [
      { at: 3000, up: false },
      { at: 6000, up: true },
    ],
  );
  const [p1, p2] = ['10.0.1.1', '10.0.2.1'];
  assert.equal(s.echoed, s.sent, 'every control message came back');
  const [a, cut, back, late, end] = s.snapshots;
  // Before the cut: control on the primary only, video on path 2 only.
  assert.ok(delta(a!, cut!, 'control', p1) > 0);
  assert.equal(delta(a!, cut!, 'control', p2), 0);
  assert.ok(delta(a!, cut!, 'video', p2) > 1_000_000);
  assert.ok(delta(a!, cut!, 'video', p1) < 100_000, 'the primary is only the video backup');
  // During the cut: control moved to path 2.
  assert.ok(delta(cut!, back!, 'control', p2) > 0, 'control failed over');
  // After the return (once the primary's backed-off RTO fires and finds the path again): control is back
  // on the primary.
  assert.ok(delta(back!, late!, 'control', p1) > 0, 'control returned to the primary');
  assert.equal(delta(late!, end!, 'control', p2), 0);
  assert.ok(delta(late!, end!, 'control', p1) > 0);
  // Latency stays bounded during the failover (an RTO or two, not seconds).
  assert.ok(Math.max(...s.latencies) < 2000, `max control latency ${Math.max(...s.latencies)} ms`);
});

test('over UDP on loopback: control on 127.0.0.1, video on 127.0.0.2', {
  timeout: 120_000,
}, async () => {
  const pair = await udpPair();
  const s = await runDrone(pair, { periodMs: 20, messageBytes: 200, durationMs: 3000, videoMbps: 40 });
  await pair.close();
  assert.equal(s.echoed, s.sent);
  const last = s.snapshots.at(-1)!;
  // Mostly on the primary: an overloaded loopback may drop datagrams, and a timeout fails control over.
  assert.ok(
    (last.control['127.0.0.1'] ?? 0) > 5 * (last.control['127.0.0.2'] ?? 0),
    JSON.stringify(last.control),
  );
  assert.ok((last.video['127.0.0.2'] ?? 0) > 10 * (last.video['127.0.0.1'] ?? 0));
});
