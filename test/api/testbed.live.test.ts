/**
 * Acceptance on ../shared/testbed (2 × 100 Mbit/s, 10 ms each way): `mptcp-ts client` in mpt-cli against
 * `mptcp-ts server` in mpt-srv over the UDP transport. Runs as root (as in CI); skips with the reason otherwise.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { QUIET_STEAL, Testbed } from '../support/testbed.ts';
import { clientServerRun, PAYLOAD_CAPACITY_MBPS, skipReason } from './testbed/bed.ts';

const skip = skipReason() ?? false;
const PORT = 45_201;

let bed: Testbed | null = null;

before(async () => {
  if (skip) return;
  bed = await Testbed.acquire(['--paths', '2', '--rate', '100', '--delay', '10', '--pm', 'none']);
});

after(() => bed?.release());

interface Interval {
  from: number;
  t: number;
  mbps: number;
  subflows: { id: number; local: string; mbps: number; cwnd: number; retrans: number; up: boolean }[];
}

const onPath = (iv: Interval, k: number) =>
  iv.subflows.filter((f) => f.local === `10.0.${k}.1`).reduce((a, f) => a + f.mbps, 0);

// The goodput against the summed capacity is a benchmark (`mptcp-ts bench testbed`, side by side with the
// same run under CUBIC): a timed assertion here would measure the CI's other jobs as much as the stack.
test('30 s over 2 × 100 Mbit/s: the pattern arrives intact over both subflows', {
  skip,
  timeout: 600_000,
}, async () => {
  const r = await clientServerRun(bed!, { seconds: 30, port: PORT });
  const capacity = PAYLOAD_CAPACITY_MBPS;
  const goodput = r.server.goodputMbps as number;
  console.log(
    `testbed goodput ${goodput} Mbit/s of ${capacity.toFixed(1)} Mbit/s payload capacity (${((100 * goodput) / capacity).toFixed(1)} %); client ${r.client.goodputMbps} Mbit/s; CPU client ${r.client.cpuSeconds} s, server ${r.server.cpuSeconds} s in ${r.server.seconds} s; steal ${r.stealPct.toFixed(1)} %; subflows ${JSON.stringify(r.client.subflows)}`,
  );
  assert.equal(r.server.integrity, true);
  const subflows = r.client.subflows as { bytesSent: number }[];
  assert.equal(subflows.length, 2);
  // A tenth of what a path carries in 30 s; under steal the whole run can fall to a few Mbit/s (a CI run with
  // 45 % stolen carried 5.8 Mbit/s in all), so then each subflow only has to have carried data.
  const floor = r.stealPct <= QUIET_STEAL ? 10 * 2 ** 20 : 2 ** 20;
  for (const f of subflows) assert.ok(f.bytesSent > floor, `a subflow sent only ${f.bytesSent} B`);
});

test('set-link 1 down then up: the timeline shows the move to path 2 and the return', {
  skip,
  timeout: 600_000,
}, async () => {
  let state = 0;
  const r = await clientServerRun(bed!, {
    seconds: 30,
    port: PORT + 1,
    during: (ms) => {
      if (state === 0 && ms > 8000) {
        state = 1;
        bed!.setLink(1, 'down');
      } else if (state === 1 && ms > 18_000) {
        state = 2;
        bed!.setLink(1, 'up');
      }
    },
  });
  assert.equal(r.server.integrity, true);
  const iv = r.client.intervals as Interval[];
  for (const x of iv)
    console.log(
      `  ${x.from.toFixed(1)}-${x.t.toFixed(1)} s: path 1 ${onPath(x, 1).toFixed(1)}, path 2 ${onPath(x, 2).toFixed(1)}, total ${x.mbps.toFixed(1)} Mbit/s; ${x.subflows.map((f) => `sf${f.id} cwnd ${Math.round(f.cwnd / 1024)} KiB retr ${f.retrans}`).join(', ')}`,
    );
  const within = (a: number, b: number) => iv.filter((x) => x.from >= a && x.t <= b);
  const sum = (xs: Interval[], k: number) => xs.reduce((a, x) => a + onPath(x, k), 0);
  const share = (xs: Interval[], k: number) => sum(xs, k) / Math.max(1e-9, sum(xs, 1) + sum(xs, 2));
  const rates = (xs: Interval[], k: number) => xs.map((x) => onPath(x, k).toFixed(1)).join(', ');
  const before = within(2, 8);
  const cut = within(10, 17);
  const back = within(22, 30);
  // The move and the return, as shares of what arrives and as means over each window; not per-second rates
  // (those are the benchmark's). Rates measure the machine too: when the host steals a third of the two cores,
  // the delay emulator stalls, both paths' RTTs jump, both lose packets at once and both fall together (a CI
  // run under coverage saw 8-26 Mbit/s for six seconds after the return; in a run on 2026-11-21 the total fell
  // from 159 to 5 Mbit/s at 26-29 s, path 1 under 1 Mbit/s), which says nothing about where the stack sends.
  const mean = (xs: Interval[], k: number) => sum(xs, k) / Math.max(1, xs.length);
  // How the scheduler splits the data between the paths is judged only when the host left the machine alone:
  // under steal the RTTs swing with the emulator's stalls and so does the split (a CI run with 32 % stolen
  // gave path 1 exactly 30 % before the cut). Where the data goes (the move and the return) is judged always.
  const quiet = r.stealPct <= QUIET_STEAL;
  if (!quiet)
    console.log(
      `  the host stole ${r.stealPct.toFixed(1)} % of the CPU time: the paths' shares are not judged`,
    );
  assert.ok(
    mean(before, 1) > 1 && (!quiet || share(before, 1) > 0.3),
    `path 1 carries data before the cut: ${rates(before, 1)} Mbit/s, ${(100 * share(before, 1)).toFixed(0)} % of the total`,
  );
  assert.ok(
    cut.every((x) => onPath(x, 1) < 1),
    'nothing on path 1 while it is cut',
  );
  assert.ok(mean(cut, 2) > 5, `path 2 carries the transfer during the cut: ${rates(cut, 2)} Mbit/s`);
  assert.ok(
    mean(back, 1) > 1 && (!quiet || share(back, 1) > 0.3),
    `path 1 carries data again after it returns: ${rates(back, 1)} Mbit/s, ${(100 * share(back, 1)).toFixed(0)} % of the total`,
  );
});
