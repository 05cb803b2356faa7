/**
 * `mptcp-ts demo`: the first thing a newcomer runs. A phone downloads over WiFi and LTE at once in the
 * simulator (scenarios/wifi-lte.json); the WiFi goes dark from 20 s to 35 s. It prints a per-path
 * throughput chart, how quickly the connection moved to LTE and back, and writes a pcap for Wireshark.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileSink } from '../io/file-sink.ts';
import type { FlowResult, TimelinePoint } from '../sim/result.ts';
import { runScenario } from '../sim/runner.ts';
import { parseScenario, type Scenario } from '../sim/scenario.ts';
import { PcapWriter } from '../wire/pcap.ts';
import { barChart, bucketize } from './chart.ts';
import type { CommandRegistrar } from './main.ts';

const here = dirname(fileURLToPath(import.meta.url));
const SCENARIO = join(here, '../../scenarios/wifi-lte.json');
const SNAPLEN = 128;

interface DemoOptions {
  pcap: string | false;
  seed?: string;
}

export const registerDemo: CommandRegistrar = (program, setCode) => {
  program
    .command('demo')
    .description('a simulated WiFi + LTE download with a WiFi outage: chart, failover times, pcap')
    .option(
      '--pcap <file>',
      'where to write the capture (headers and the first payload bytes)',
      'mptcp-demo.pcap',
    )
    .option('--no-pcap', 'write no capture')
    .option('--seed <n>', 'another seed for the same scenario')
    .action((opts: DemoOptions) => {
      const scenario = parseScenario(JSON.parse(readFileSync(SCENARIO, 'utf8')), { defaultName: 'wifi-lte' });
      const sink = opts.pcap ? new FileSink(resolve(opts.pcap)) : null;
      const started = performance.now();
      process.stdout.write(describe(scenario));
      const result = runScenario(scenario, {
        ...(opts.seed !== undefined ? { seed: Number(opts.seed) } : {}),
        // Headers and options are what Wireshark analyses; 128 bytes keep the file small.
        ...(sink ? { capture: new PcapWriter(undefined, SNAPLEN, { sink: sink.write }) } : {}),
        wallClock: () => performance.now(),
      });
      sink?.close();
      const flow = result.flows[0]!;
      process.stdout.write(`${report(scenario, flow, process.stdout.isTTY === true)}\n`);
      process.stdout.write(
        `\nsimulated ${result.simulatedMs / 1000} s in ${((performance.now() - started) / 1000).toFixed(1)} s` +
          (opts.pcap ? `; capture written to ${resolve(opts.pcap)} (open it in Wireshark)` : '') +
          '\nrun your own: mptcp-ts sim scenarios/wifi-lte.json --json\n',
      );
      if (!flow.integrity) setCode(1);
    });
};

function describe(s: Scenario): string {
  const rate = (name: string) => {
    const l = s.links.find((x) => x.name === name)!.settings;
    return `${(l.rate / 1e6).toFixed(0)} Mbit/s, ${(l.delay / 1000).toFixed(0)} ms`;
  };
  return (
    'A phone downloads over WiFi and LTE at once with Multipath TCP (simulated, LIA coupled congestion\n' +
    `control, the default min-RTT scheduler). WiFi: ${rate('wifi')}; LTE: ${rate('lte')}.\n` +
    'At 20 s the WiFi goes silent (no signal, no notice); at 35 s it comes back.\n\n'
  );
}

function report(s: Scenario, f: FlowResult, color: boolean): string {
  const tl = f.timeline;
  const step = s.sample / 1e6;
  const series = [
    {
      label: 'WiFi',
      values: bucketize(
        tl.map((p) => p.perPathMbps.wifi ?? 0),
        step,
        1,
      ),
      color: 36,
    },
    {
      label: 'LTE',
      values: bucketize(
        tl.map((p) => p.perPathMbps.lte ?? 0),
        step,
        1,
      ),
      color: 33,
    },
    {
      label: 'goodput',
      values: bucketize(
        tl.map((p) => p.goodputMbps),
        step,
        1,
      ),
      color: 32,
    },
  ];
  const chart = barChart(series, { height: 5, unit: 'Mbit/s', secondsPerColumn: 1, color });
  const bytes = (path: string) =>
    f.subflows.filter((x) => x.path === path).reduce((a, x) => a + x.bytesSent, 0);
  const cut = 20;
  const back = 35;
  const wifiBack = firstAbove(tl, 'wifi', back, 1);
  const failover = f.events?.find((e) => e.type === 'failover' && e.t >= cut);
  const lines = [
    'Per-path throughput (payload sent on each path), one column per second:',
    '',
    chart,
    '',
    `goodput: ${f.goodputMbps.toFixed(1)} Mbit/s over the run, ${(f.bytesDelivered / 1e6).toFixed(1)} MB delivered, integrity ${f.integrity ? 'verified' : 'FAILED'}`,
    `bytes sent per path: WiFi ${(bytes('wifi') / 1e6).toFixed(1)} MB, LTE ${(bytes('lte') / 1e6).toFixed(1)} MB (subflows: ${f.subflows.length}, re-created after the outage: ${f.subflows.filter((x) => x.id > 2).length})`,
    `failover: the WiFi's unacknowledged data was reinjected on LTE ${failover ? `${((failover.t - cut) * 1000).toFixed(0)} ms` : 'never'} after the cut; LTE carried ${mean(tl, cut, back, 'lte').toFixed(1)} Mbit/s during the outage`,
    `longest stall of the application stream: ${longestStall(tl).toFixed(2)} s`,
    `WiFi carried data again ${wifiBack === null ? 'never' : `${(wifiBack - back).toFixed(2)} s`} after it came back (Linux waits for its RTO backoff, about 6 s)`,
  ];
  return lines.join('\n');
}

function mean(tl: TimelinePoint[], from: number, to: number, path: string): number {
  const xs = tl.filter((p) => p.t > from && p.t <= to).map((p) => p.perPathMbps[path] ?? 0);
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}

function firstAbove(tl: TimelinePoint[], path: string, after: number, mbps: number): number | null {
  return tl.find((p) => p.t > after && (p.perPathMbps[path] ?? 0) > mbps)?.t ?? null;
}

function longestStall(tl: TimelinePoint[]): number {
  let longest = 0;
  let start: number | null = null;
  let prev = 0;
  for (const p of tl) {
    if (p.goodputMbps === 0) start ??= prev;
    else if (start !== null) {
      longest = Math.max(longest, prev - start);
      start = null;
    }
    prev = p.t;
  }
  return start === null ? longest : Math.max(longest, prev - start);
}
