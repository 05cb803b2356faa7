/**
 * `mptcp-ts client HOST [--port P] [--local A,B] [--time S | --bytes N] [--reverse | --raw] [--scheduler NAME|FILE]
 * [--cc NAME] [--json]`: an iperf-like multipath test against `mptcp-ts server`. Prints per-interval,
 * per-subflow throughput and RTT, a live progress line on a terminal, and a summary (or one JSON object).
 * Exit 0 when the test ran (and the pattern verified, when this side received), 1 otherwise.
 */
import { once } from 'node:events';
import { schedulerFrom } from '../api/env.ts';
import type { MultipathOptions, PathManagerSpec } from '../api/options.ts';
import { connect, type MptcpSocket } from '../api/socket.ts';
import type { CcName } from '../cc/index.ts';
import type { CommandRegistrar } from './main.ts';
import { type FlowOptions, type FlowResult, receivePattern, sendPattern } from './perf-flow.ts';
import { encodeRequest, HEADER_LENGTH } from './perf-header.ts';
import { formatInterval, formatSummary } from './perf-report.ts';
import { parseBytes, parseTcpFlags, tuningOptions } from './tcp-flags.ts';

export const DEFAULT_PERF_PORT = 5201;

/** The flags that become socket options (optionsFromFlags); each command takes those it offers. */
export interface StackFlags {
  local?: string;
  scheduler?: string;
  cc?: string;
  pathManager?: string;
  mss?: string;
  tcp?: string;
  /** false from `--no-coalesce`: every write in packets of its own. */
  coalesce?: boolean;
  /** Connection send buffer (MptcpConfig.sndBuf), a byte count. */
  sndbuf?: string;
  /** Largest connection receive window (MptcpConfig.rcvBufMax), a byte count. */
  rcvbuf?: string;
  transport?: string;
  tunDevice?: string;
  tunNetns?: string;
  pcap?: string;
}

export interface ClientOptions extends StackFlags {
  port: string;
  time?: string;
  bytes?: string;
  reverse?: boolean;
  raw?: boolean;
  interval: string;
  json?: boolean;
}

export function positive(text: string, what: string): number {
  const n = Number(text);
  if (!(n > 0)) throw new Error(`${what} must be a positive number, got '${text}'`);
  return n;
}

/** The socket options both commands take from their flags (the environment fills the rest). */
export function optionsFromFlags(o: StackFlags): MultipathOptions {
  const out: MultipathOptions = {};
  if (o.local) out.addresses = o.local.split(',').map((a) => a.trim());
  if (o.transport) out.transport = o.transport;
  if (o.tunDevice) out.transportOptions = { tun: { device: o.tunDevice, netns: o.tunNetns } };
  if (o.scheduler) out.scheduler = schedulerFrom(o.scheduler);
  if (o.cc) out.cc = o.cc as CcName;
  if (o.pathManager) out.pathManager = o.pathManager as PathManagerSpec;
  if (o.mss) out.mss = Number(o.mss);
  if (o.pcap) out.pcap = o.pcap;
  if (o.tcp) out.config = { tcp: parseTcpFlags(o.tcp) };
  if (o.coalesce === false) out.config = { ...out.config, coalesceWrites: false };
  if (o.sndbuf) out.config = { ...out.config, sndBuf: parseBytes(o.sndbuf) };
  if (o.rcvbuf) out.config = { ...out.config, rcvBufMax: parseBytes(o.rcvbuf) };
  return out;
}

/** Progress on a terminal: one line rewritten in place, cleared before other output. */
export class LiveLine {
  private shown = false;
  constructor(private readonly enabled: boolean) {}
  show(text: string): void {
    if (!this.enabled) return;
    process.stdout.write(`\r\x1b[K${text}`);
    this.shown = true;
  }
  clear(): void {
    if (this.shown) process.stdout.write('\r\x1b[K');
    this.shown = false;
  }
  print(line: string): void {
    this.clear();
    process.stdout.write(`${line}\n`);
  }
}

export async function runClient(host: string, o: ClientOptions): Promise<number> {
  const port = Number(o.port);
  const interval = Number(o.interval);
  if (o.time !== undefined && o.bytes !== undefined) throw new Error('give --time or --bytes, not both');
  if (o.raw && o.reverse) throw new Error('--raw sends without the request header: a reverse test needs it');
  const bytes = o.bytes !== undefined ? parseBytes(o.bytes) : undefined;
  const seconds = bytes === undefined ? (o.time !== undefined ? positive(o.time, '--time') : 10) : undefined;
  const live = new LiveLine(!o.json && process.stdout.isTTY === true);
  const flow: FlowOptions = {
    interval,
    onInterval: o.json ? undefined : (s) => live.print(formatInterval(s)),
    onProgress: o.json
      ? undefined
      : (b, t) =>
          live.show(
            `  ${t.toFixed(1)} s  ${(b / 1e6).toFixed(1)} MB  ${((b * 8) / t / 1e6).toFixed(1)} Mbit/s`,
          ),
  };
  const s: MptcpSocket = connect({ port, host, ...optionsFromFlags(o) });
  try {
    await once(s, 'connect');
  } catch (e) {
    const msg = `cannot connect to ${host}:${port}: ${(e as Error).message}`;
    process.stdout.write(o.json ? `${JSON.stringify({ error: msg })}\n` : '');
    if (!o.json) process.stderr.write(`${msg}\n`);
    return 1;
  }
  const hello = `connected to ${s.remoteAddress}:${s.remotePort} from ${s.localAddresses.join(', ')} (mss ${s.mss}, ${o.reverse ? 'server sends' : 'client sends'})`;
  // With --json, stdout carries only the result: the connected line goes to stderr.
  if (o.json) process.stderr.write(`${hello}\n`);
  else live.print(hello);
  // --raw: the pattern from the first byte, for a server that is not mptcp-ts (it can verify every byte).
  if (!o.raw)
    s.write(encodeRequest({ reverse: o.reverse === true, timeMs: (seconds ?? 0) * 1000, bytes: bytes ?? 0 }));
  let r: FlowResult;
  if (o.reverse) {
    s.end();
    r = await receivePattern(s, flow);
  } else {
    const limit = bytes !== undefined ? { bytes } : { seconds };
    r = await sendPattern(s, limit, flow, o.raw ? 0 : HEADER_LENGTH);
  }
  live.clear();
  if (o.json) process.stdout.write(`${JSON.stringify(r)}\n`);
  else {
    process.stdout.write(`${formatSummary('client', r)}\n`);
    if (r.error) process.stderr.write(`client: ${r.error}\n`);
  }
  return r.error || r.integrity === false ? 1 : 0;
}

export const registerClient: CommandRegistrar = (program, setCode) => {
  tuningOptions(program.command('client'))
    .description(
      'iperf-like multipath test against `mptcp-ts server` (payload i mod 251, verified by the receiver)',
    )
    .argument('<host>', 'server name or address')
    .option('-p, --port <port>', 'server port', String(DEFAULT_PERF_PORT))
    .option('--local <addresses>', 'local addresses, comma separated (default: every non-loopback address)')
    .option('-t, --time <seconds>', 'test length in seconds (default 10)')
    .option('-n, --bytes <n>', 'test length in bytes (K, M, G suffixes), instead of --time')
    .option('-R, --reverse', 'the server sends; this side receives and verifies the pattern')
    .option(
      '--raw',
      'send the pattern from the first byte, without the request header (a server that is not mptcp-ts)',
    )
    .option('--scheduler <name|file>', 'scheduler name, or a ProgMP file to load')
    .option('--cc <name>', 'congestion control: lia, olia, balia, reno, cubic')
    .option('--path-manager <pm>', 'fullmesh (default), passive, ndiffports or endpoints')
    .option('--mss <bytes>', 'subflow MSS (default from the interface MTU)')
    .option('--transport <kind>', 'udp (default: TCP-in-UDP) or tun (real IP through a TUN device, root)')
    .option('--tun-device <name>', 'with --transport tun: the device; --local gives the addresses behind it')
    .option('--tun-netns <name>', 'with --transport tun: the network namespace the device lives in')
    .option('--pcap <file>', "capture every segment (raw IP packets with the subflows' addresses) into FILE")
    .option('-i, --interval <seconds>', 'report interval', '1')
    .option('--json', 'print one JSON object at the end')
    .action(async (host: string, opts: ClientOptions) => {
      try {
        setCode(await runClient(host, opts));
      } catch (e) {
        process.stderr.write(`client: ${(e as Error).message}\n`);
        setCode(2);
      }
    });
};
