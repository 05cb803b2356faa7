/**
 * `mptcp-ts sim SCENARIO.json [--json] [--seed N] [--pcap FILE] [--plot FILE.svg]` and the engine flags of
 * sim-engine.ts: runs one scenario in the deterministic simulator (SCENARIOS.md). Exit 0 when it ran, 2 for an
 * invalid scenario or flag, 1 for a failure.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { FileSink } from '../io/file-sink.ts';
import { plotSimResult } from '../plot/index.ts';
import { type FlowResult, quantile, round, type SimResult } from '../sim/result.ts';
import { runScenario } from '../sim/runner.ts';
import { parseScenario, type Scenario, type SchedulerSpec } from '../sim/scenario.ts';
import { ScenarioError } from '../sim/units.ts';
import { PcapWriter } from '../wire/pcap.ts';
import type { CommandRegistrar } from './main.ts';
import { type SimEngineFlags, simEngine } from './sim-engine.ts';

interface SimOptions extends SimEngineFlags {
  json?: boolean;
  seed?: string;
  pcap?: string;
  plot?: string;
}

/** Reads, parses and validates a scenario file; ProgMP scheduler files are read relative to it. */
export function loadScenario(file: string): Scenario {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ScenarioError('', `cannot read ${file}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ScenarioError('', `${file} is not valid JSON: ${(e as Error).message}`);
  }
  const scenario = parseScenario(json, { defaultName: basename(file, extname(file)) });
  const dir = dirname(resolve(file));
  const readProgmp = (s: SchedulerSpec, path: string): void => {
    if (s.kind !== 'progmp') return;
    try {
      s.source = readFileSync(resolve(dir, s.file), 'utf8');
    } catch (e) {
      throw new ScenarioError(
        `${path}.progmp`,
        `cannot read ${JSON.stringify(s.file)}: ${(e as Error).message}`,
      );
    }
  };
  for (const f of scenario.flows) {
    readProgmp(f.scheduler, `flows[${f.index}].scheduler`);
    f.actions.forEach((a, i) => {
      if (a.call === 'setScheduler') readProgmp(a.scheduler, `flows[${f.index}].actions[${i}].scheduler`);
    });
  }
  return scenario;
}

const pad = (s: string, w: number, right = false): string => (right ? s.padStart(w) : s.padEnd(w));

function table(rows: string[][], rightAligned: boolean[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => pad(cell, widths[c]!, rightAligned[c])).join('  ')).join('\n');
}

const fmt = (x: number, digits = 1): string => x.toFixed(digits);

function flowTable(flows: FlowResult[]): string {
  const rows = [['flow', 'proto', 'done', 'time ms', 'delivered MB', 'goodput Mbps', 'intact', 'fallback']];
  for (const f of flows) {
    rows.push([
      f.name,
      f.protocol,
      f.completed ? 'yes' : 'no',
      f.completionMs === null ? '-' : fmt(f.completionMs),
      fmt(f.bytesDelivered / 1e6, 3),
      fmt(f.goodputMbps, 2),
      f.integrity ? 'yes' : 'NO',
      f.fallback ? 'yes' : 'no',
    ]);
  }
  const out = [table(rows, [false, false, false, true, true, true, false, false])];
  const subs = [['flow', 'sub', 'path', 'local', 'remote', 'sent MB', 'retrans MB', 'srtt ms', 'state']];
  for (const f of flows) {
    for (const s of f.subflows) {
      subs.push([
        f.name,
        String(s.id),
        s.path,
        s.local,
        s.remote,
        fmt(s.bytesSent / 1e6, 3),
        fmt(s.bytesRetransmitted / 1e6, 3),
        fmt(s.srttMs, 1),
        `${s.established ? 'established' : 'never established'}${s.backup ? ', backup' : ''}${s.closedReason ? `, closed: ${s.closedReason}` : ''}`,
      ]);
    }
  }
  if (subs.length > 1) out.push('', table(subs, [false, true, false, false, false, true, true, true, false]));
  const requests = flows.filter((f) => f.requests.length > 0);
  for (const f of requests) {
    const fcts = f.requests.flatMap((r) => (r.fctMs === null ? [] : [r.fctMs])).sort((a, b) => a - b);
    const q = (p: number) => (fcts.length ? fmt(quantile(fcts, p)) : '-');
    out.push(
      '',
      `${f.name}: ${fcts.length}/${f.requests.length} requests done, completion ms p50 ${q(0.5)}, p90 ${q(0.9)}, max ${q(1)}`,
    );
  }
  return out.join('\n');
}

/** Goodput per flow over buckets of whole seconds (wider when the run is long, so it stays short). */
function throughputListing(result: SimResult): string {
  const seconds = result.simulatedMs / 1000;
  const width = Math.max(1, Math.ceil(seconds / 60));
  const buckets = Math.ceil(seconds / width - 1e-9);
  if (buckets === 0) return '';
  const rows = [[`t s`, ...result.flows.map((f) => `${f.name} Mbps`)]];
  const sums = result.flows.map(() => new Float64Array(buckets));
  result.flows.forEach((f, i) => {
    let prev = 0;
    for (const p of f.timeline) {
      const b = Math.min(buckets - 1, Math.floor((prev + 1e-9) / width));
      sums[i]![b]! += p.goodputMbps * (p.t - prev);
      prev = p.t;
    }
  });
  for (let b = 0; b < buckets; b++) {
    const span = Math.min(width, seconds - b * width);
    rows.push([
      `${b * width}-${round(b * width + span, 3)}`,
      ...sums.map((s) => fmt(span > 0 ? s[b]! / span : 0, 2)),
    ]);
  }
  const title = width === 1 ? 'goodput per second' : `goodput per ${width} s`;
  return `${title}:\n${table(
    rows,
    rows[0]!.map((_, c) => c > 0),
  )}`;
}

export function formatSimResult(r: SimResult): string {
  return [
    `scenario ${r.scenario}, seed ${r.seed}: ${fmt(r.simulatedMs / 1000, 3)} s simulated in ${fmt(r.wallMs / 1000, 2)} s (${r.events.toLocaleString('en-US')} events, ${r.eventsPerSecond.toLocaleString('en-US')}/s)`,
    '',
    flowTable(r.flows),
    '',
    throughputListing(r),
  ].join('\n');
}

export const registerSim: CommandRegistrar = (program, setCode) => {
  program
    .command('sim')
    .description('run a scenario (SCENARIOS.md) in the deterministic network simulator')
    .argument('<scenario>', 'scenario file (JSON)')
    .option('--json', 'print the result object as JSON')
    .option('--seed <n>', "replace the scenario's seed")
    .option('--pcap <file>', 'capture every packet of every path into one raw-IPv4 pcap file')
    .option('--plot <file>', 'SVG plot of each flow: throughput per path and goodput over time')
    .option(
      '--linux',
      "every flow runs the real drivers' TCP behaviours (LINUX_BEHAVIOURS: RACK-TLP, PRR, ...)",
    )
    .option('--tcp <settings>', "every flow's (or subflow's) TCP settings as key=value,... (TcpConfig names)")
    .option(
      '--coalesce',
      'MPTCP flows join small writes into full segments (coalesceWrites), as the drivers do',
    )
    .option('--sndbuf <bytes>', "every flow's send buffer (K/M/G: powers of 1000); MPTCP subflows follow it")
    .option('--rcvbuf <bytes>', "every flow's largest receive window (K/M/G: powers of 1000)")
    .action((file: string, opts: SimOptions) => {
      setCode(simCommand(file, opts));
    });
};

function simCommand(file: string, opts: SimOptions): number {
  let seed: number | undefined;
  if (opts.seed !== undefined) {
    seed = Number(opts.seed);
    if (!/^[0-9]+$/.test(opts.seed) || seed > 0xffff_ffff) {
      process.stderr.write(`sim: --seed: expected a whole number from 0 to 4294967295, got "${opts.seed}"\n`);
      return 2;
    }
  }
  let sink: FileSink | null = null;
  try {
    const scenario = loadScenario(file);
    let engine: ReturnType<typeof simEngine>;
    try {
      engine = simEngine(scenario, opts);
    } catch (e) {
      process.stderr.write(`sim: ${(e as Error).message}\n`);
      return 2;
    }
    let capture: PcapWriter | undefined;
    if (opts.pcap !== undefined) {
      try {
        sink = new FileSink(opts.pcap);
      } catch (e) {
        process.stderr.write(`sim: --pcap: cannot write ${opts.pcap}: ${(e as Error).message}\n`);
        return 2;
      }
      capture = new PcapWriter(undefined, undefined, { sink: sink.write });
    }
    const result = runScenario(scenario, {
      ...(seed !== undefined ? { seed } : {}),
      ...(capture ? { capture } : {}),
      engine,
      wallClock: () => performance.now(),
    });
    sink?.close();
    sink = null;
    if (opts.plot !== undefined) {
      try {
        writeFileSync(opts.plot, plotSimResult(result));
      } catch (e) {
        process.stderr.write(`sim: --plot: cannot write ${opts.plot}: ${(e as Error).message}\n`);
        return 2;
      }
    }
    process.stdout.write(opts.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatSimResult(result)}\n`);
    return 0;
  } catch (e) {
    if (e instanceof ScenarioError) {
      process.stderr.write(`sim: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(
      `sim: internal failure: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
    );
    return 1;
  } finally {
    sink?.close();
  }
}
