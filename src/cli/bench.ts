/** `mptcp-ts bench [NAME...]`: the benchmarks, each printing figures measured side by side in one run. */
import type { CommandRegistrar } from './main.ts';

export interface BenchResult {
  name: string;
  value: number;
  unit: string;
}

/** Each benchmark is loaded only when asked for, so one benchmark's imports never slow another. */
const BENCHES: Record<string, () => Promise<BenchResult[]>> = {
  wire: async () => (await import('../../bench/wire.ts')).benchWire(),
  sim: async () => (await import('../../bench/sim.ts')).benchSim(),
  sched: async () => (await import('../../bench/sched.ts')).benchSched(),
  tun: async () => (await import('../../bench/tun.ts')).benchTun(),
  udp: async () => (await import('../../bench/udp.ts')).benchUdp(),
  testbed: async () => (await import('../../bench/testbed.ts')).benchTestbed(),
};

export function formatBench(results: BenchResult[]): string {
  const w = Math.max(...results.map((r) => r.name.length));
  return results
    .map(
      (r) =>
        `${r.name.padEnd(w)}  ${r.value.toLocaleString('en-US', { maximumFractionDigits: 2 })} ${r.unit}`,
    )
    .join('\n');
}

export const registerBench: CommandRegistrar = (program, setCode) => {
  program
    .command('bench')
    .description(`run benchmarks (${Object.keys(BENCHES).join(', ')}; all when none is named)`)
    .argument('[names...]', 'benchmarks to run')
    .option('--json', 'print the results as JSON')
    .action(async (names: string[], opts: { json?: boolean }) => {
      const chosen = names.length ? names : Object.keys(BENCHES);
      const unknown = chosen.filter((n) => !(n in BENCHES));
      if (unknown.length) {
        process.stderr.write(
          `bench: unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(BENCHES).join(', ')}\n`,
        );
        setCode(2);
        return;
      }
      const all: Record<string, BenchResult[]> = {};
      for (const n of chosen) {
        all[n] = await BENCHES[n]!();
        if (!opts.json) process.stdout.write(`# ${n}\n${formatBench(all[n]!)}\n\n`);
      }
      if (opts.json) process.stdout.write(`${JSON.stringify(all, null, 1)}\n`);
    });
};
