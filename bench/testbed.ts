/**
 * Goodput over UDP on ../shared/testbed (root only): `mptcp-ts client` in mpt-cli → `mptcp-ts server` in
 * mpt-srv, 2 × 100 Mbit/s paths with 10 ms each way, 30 s runs, against the summed payload capacity of the
 * paths (issue 7: at least 90 %). The default congestion control (LIA, coupled) and CUBIC on each subflow
 * (uncoupled, as the Linux kernel's MPTCP runs) alternate for ROUNDS rounds in one run; the figures are medians
 * and every run is printed. Both ends are this stack, so the two processes and the test bed's delay daemon
 * share the machine's cores: the CPU seconds of each end are reported too. Each round also runs the Linux
 * kernel's MPTCP (mptcp-bulk.py, 2 subflows through the test bed's endpoints) over the same paths, and each of
 * our runs is reported against it too: a starved machine (its delay daemon stalls) slows both.
 */

import { join } from 'node:path';
import type { BenchResult } from '../src/cli/bench.ts';
import { Bed, clientServerRun, collect, PAYLOAD_CAPACITY_MBPS, skipReason } from '../test/api/testbed/bed.ts';
import { SHARED } from '../test/support/captures.ts';
import { median } from './median.ts';

const SECONDS = 30;
const ROUNDS = 3;
const PORT = 45_400;
const KERNEL_PORT = 45_500;
const BULK = join(SHARED, 'testbed', 'mptcp-bulk.py');

/**
 * The Linux kernel's MPTCP over the same paths in the same minutes (mptcp-bulk.py, the test bed's subflow
 * endpoints on the client): the reference that tells a slow stack from a starved machine.
 */
async function kernelRun(bed: Bed, port: number): Promise<number> {
  const server = bed.spawn('mpt-srv', ['python3', BULK, 'server', '--port', String(port), '--once']);
  const out = collect(server);
  await new Promise((r) => setTimeout(r, 1000));
  const client = bed.spawn('mpt-cli', [
    'python3',
    BULK,
    'client',
    '10.1.1.1',
    '--port',
    String(port),
    '--time',
    String(SECONDS),
  ]);
  await collect(client);
  const m = / = ([\d.]+) Mbit\/s/.exec((await out).stdout);
  if (!m) throw new Error('bench testbed: the kernel reference printed no goodput');
  return Number(m[1]);
}

export async function benchTestbed(): Promise<BenchResult[]> {
  const skip = skipReason();
  if (skip) {
    process.stderr.write(`bench testbed: skipped: ${skip}\n`);
    return [];
  }
  // Subflow endpoints on the client serve the kernel's reference runs; our stack (over UDP) ignores them.
  const bed = await Bed.acquire(['--paths', '2', '--rate', '100', '--delay', '10', '--pm', 'client']);
  const runs: Record<string, { mbps: number[]; cpu: number[] }> = {
    lia: { mbps: [], cpu: [] },
    cubic: { mbps: [], cpu: [] },
  };
  const kernel: number[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const cc of Object.keys(runs)) {
        const r = await clientServerRun(bed, {
          seconds: SECONDS,
          port: PORT + 2 * round + (cc === 'lia' ? 0 : 1),
          ...(cc === 'lia' ? {} : { cc }),
        });
        if (r.server.integrity !== true) throw new Error('bench testbed: the server saw a corrupted pattern');
        const mbps = r.server.goodputMbps as number;
        runs[cc]!.mbps.push(mbps);
        runs[cc]!.cpu.push((r.client.cpuSeconds as number) + (r.server.cpuSeconds as number));
        process.stderr.write(
          `bench testbed: round ${round + 1}/${ROUNDS}, ${cc}: ${mbps.toFixed(1)} Mbit/s\n`,
        );
      }
      const k = await kernelRun(bed, KERNEL_PORT + round);
      kernel.push(k);
      process.stderr.write(
        `bench testbed: round ${round + 1}/${ROUNDS}, Linux kernel: ${k.toFixed(1)} Mbit/s\n`,
      );
    }
  } finally {
    bed.release();
  }
  const out: BenchResult[] = [
    { name: 'payload capacity of the 2 paths', value: PAYLOAD_CAPACITY_MBPS, unit: 'Mbit/s' },
  ];
  for (const [cc, r] of Object.entries(runs)) {
    const label = cc === 'lia' ? 'LIA (default)' : 'CUBIC per subflow';
    const list = r.mbps.map((x) => x.toFixed(1)).join(', ');
    out.push(
      {
        name: `udp ${SECONDS} s, ${label}: goodput, median of ${list}`,
        value: median(r.mbps),
        unit: 'Mbit/s',
      },
      {
        name: `udp ${SECONDS} s, ${label}: share of the capacity`,
        value: (100 * median(r.mbps)) / PAYLOAD_CAPACITY_MBPS,
        unit: '%',
      },
      { name: `udp ${SECONDS} s, ${label}: CPU of both ends`, value: median(r.cpu) / SECONDS, unit: 'cores' },
      {
        name: `udp ${SECONDS} s, ${label} / the Linux kernel's MPTCP in the same round, median of the rounds`,
        value: median(r.mbps.map((x, i) => (100 * x) / kernel[i]!)),
        unit: '%',
      },
    );
  }
  out.push({
    name: `Linux kernel MPTCP (mptcp-bulk.py, ${SECONDS} s): goodput, median of ${kernel.map((x) => x.toFixed(1)).join(', ')}`,
    value: median(kernel),
    unit: 'Mbit/s',
  });
  return out;
}
