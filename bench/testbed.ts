/**
 * Goodput over UDP on ../shared/testbed (root only): `mptcp-ts client` in mpt-cli → `mptcp-ts server` in
 * mpt-srv, 2 × 100 Mbit/s paths with 10 ms each way, 30 s runs, against the summed payload capacity of the
 * paths (issue 7: at least 90 %). The default congestion control (LIA, coupled) and CUBIC on each subflow
 * (uncoupled, as the Linux kernel's MPTCP runs) alternate for ROUNDS rounds in one run; the figures are medians
 * and every run is printed. Both ends are this stack, so the two processes and the test bed's delay daemon
 * share the machine's cores: the CPU seconds of each end are reported too.
 */

import type { BenchResult } from '../src/cli/bench.ts';
import { Bed, clientServerRun, PAYLOAD_CAPACITY_MBPS, skipReason } from '../test/api/testbed/bed.ts';
import { median } from './median.ts';

const SECONDS = 30;
const ROUNDS = 3;
const PORT = 45_400;

export async function benchTestbed(): Promise<BenchResult[]> {
  const skip = skipReason();
  if (skip) {
    process.stderr.write(`bench testbed: skipped: ${skip}\n`);
    return [];
  }
  const bed = await Bed.acquire(['--paths', '2', '--rate', '100', '--delay', '10', '--pm', 'none']);
  const runs: Record<string, { mbps: number[]; cpu: number[] }> = {
    lia: { mbps: [], cpu: [] },
    cubic: { mbps: [], cpu: [] },
  };
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
    );
  }
  return out;
}
