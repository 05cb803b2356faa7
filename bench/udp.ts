/**
 * Loopback goodput of one MPTCP connection over the UDP transport with 2 subflows (127.0.0.1 and 127.0.0.2 to
 * 127.0.0.1), next to the raw `node:dgram` ceiling measured in the same run with the same datagram size: one
 * process blasts datagrams, another counts what arrives. Sender and receiver are separate processes in both
 * cases (2 cores). Also reports the peak RSS of both MPTCP processes.
 *
 * MPTCP and the ceiling alternate for 3 rounds (medians reported, every run listed), at the driver's own MSS on
 * loopback (64 KB datagrams) and at an Ethernet path's (1448). MPTCP runs three times per round: with the UDP
 * addon's batching sockets (the default where it loads), the receiver reading 'data' events (a Buffer per chunk)
 * and then connect()'s onread (copies into one reused buffer, as net.Socket offers), and with node:dgram's
 * sockets (MPTCP_TS_UDP_NATIVE=0) and 'data' events.
 *
 *   node --import tsx bench/udp.ts [--seconds S] [--mss N] [--rounds R] [--rss]   (--rss: print RSS every second)
 *
 * Every process it starts takes BENCH_PROFILE=DIR (a CPU profile each, into DIR) and BENCH_NODE_FLAGS (more
 * Node flags, such as --trace-gc, which NODE_OPTIONS does not allow).
 */
import { type ChildProcess, fork } from 'node:child_process';
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from '../src/cli/bench.ts';
import { connect, createServer, type MptcpSocket } from '../src/index.ts';
import { udpAddon } from '../src/io/udp-native.ts';
import { median } from './median.ts';

/** One MPTCP run: goodput, CPU of each side in cores, peak RSS of [receiver, sender]. */
interface Run {
  goodput: number;
  rx: number;
  tx: number;
  rss: [number, number];
}

interface Report {
  bytes: number;
  seconds: number;
  rss: number;
  cpu: number;
}

const SELF = fileURLToPath(import.meta.url);
const PORT_RAW = 45_911;
/** Bytes of the TCP-in-UDP header before the options: a full segment's datagram is MSS + 12 bytes. */
const TIU_HEADER = 12;

function child(role: string, args: string[] = [], env: Record<string, string> = {}): ChildProcess {
  const prof = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
  return fork(SELF, [role, ...args], {
    execArgv: [
      '--import',
      'tsx',
      ...prof,
      ...(process.env.BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? []),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...env },
  });
}

function message<T>(c: ChildProcess, pred: (m: unknown) => boolean = () => true): Promise<T> {
  return new Promise((resolve, reject) => {
    const on = (m: unknown) => {
      if (!pred(m)) return;
      c.off('message', on);
      resolve(m as T);
    };
    c.on('message', on);
    c.once('exit', (code) => reject(new Error(`bench child exited with ${code}`)));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Counts datagrams for the measuring window (between 'start' and 'stop' messages). */
function rawReceiver(): void {
  const s = dgram.createSocket('udp4');
  let bytes = 0;
  let t0 = 0;
  s.on('message', (m) => {
    bytes += m.length;
  });
  s.bind(PORT_RAW, '127.0.0.1', () => {
    s.setRecvBufferSize(4 * 1024 * 1024);
    process.send!('ready');
  });
  process.on('message', (m) => {
    if (m === 'start') {
      bytes = 0;
      t0 = performance.now();
    } else {
      process.send!({
        bytes,
        seconds: (performance.now() - t0) / 1000,
        rss: process.memoryUsage().rss,
        cpu: 0,
      });
      s.close();
      process.exit(0);
    }
  });
}

/** Sends datagrams of `size` bytes as fast as a connected socket takes them, in bursts. */
function rawSender(size: number): void {
  const s = dgram.createSocket('udp4');
  const buf = Buffer.alloc(size);
  s.bind(0, '127.0.0.2', () => {
    s.setSendBufferSize(4 * 1024 * 1024);
    s.connect(PORT_RAW, '127.0.0.1', () => {
      const loop = () => {
        for (let i = 0; i < 32; i++) s.send(buf);
        setImmediate(loop);
      };
      loop();
    });
  });
}

/**
 * How the MPTCP receiver reads: 'stream' — the client sends, the server's socket gets 'data' events (a Buffer
 * per chunk); 'onread' — the server sends, the client reads with connect()'s onread into one reused buffer.
 */
type Reader = 'stream' | 'onread';

/** Measures one side of an MPTCP connection between the 'start' and 'stop' messages. */
class Side {
  bytes = 0;
  private t0 = 0;
  private peak = 0;
  private cpu0 = process.cpuUsage();
  private readonly rss: NodeJS.Timeout;

  constructor(name: string, trace?: () => void) {
    this.rss = setInterval(() => {
      this.peak = Math.max(this.peak, process.memoryUsage().rss);
      if (process.argv.includes('--rss'))
        process.stdout.write(`${name} rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(1)} MiB\n`);
      trace?.();
    }, 1000);
  }

  /** Calls `onStop` once the measurement ended, after reporting it to the parent. */
  measure(onStop: () => void): void {
    process.on('message', (m) => {
      if (m === 'start') {
        this.bytes = 0;
        this.t0 = performance.now();
        this.cpu0 = process.cpuUsage();
        return;
      }
      clearInterval(this.rss);
      const cpu = process.cpuUsage(this.cpu0);
      const seconds = (performance.now() - this.t0) / 1000;
      process.send!({
        bytes: this.bytes,
        seconds,
        rss: Math.max(this.peak, process.memoryUsage().rss),
        cpu: (cpu.user + cpu.system) / 1e6 / seconds,
      } satisfies Report);
      onStop();
      setTimeout(() => process.exit(0), 100);
    });
  }
}

/** Writes until `stop()` says so, as fast as the socket takes it. */
function pump(s: MptcpSocket, stop: () => boolean): void {
  const chunk = Buffer.alloc(256 * 1024);
  const go = () => {
    while (!stop() && s.write(chunk));
  };
  s.on('drain', go);
  go();
}

/** The MPTCP server: one connection; receives ('stream') or sends ('onread'). */
function mptcpServer(reader: Reader): void {
  const side = new Side('server');
  let stop = false;
  const server = createServer({}, (s) => {
    s.on('error', () => {});
    if (reader === 'onread') {
      pump(s, () => stop);
      s.resume();
      return;
    }
    s.on('data', (d: Buffer) => {
      side.bytes += d.length;
    });
    s.on('end', () => s.end());
  });
  server.listen(0, '127.0.0.1', () => process.send!({ port: server.address()!.port }));
  side.measure(() => {
    stop = true;
  });
}

/** The MPTCP client: 2 subflows over two loopback addresses; sends ('stream') or reads with onread. */
function mptcpClient(port: number, mss: number | undefined, reader: Reader): void {
  let stop = false;
  // Its per-second trace runs from 1 s on, when `s` exists.
  const side = new Side('client', () => {
    if (process.env.BENCH_TRACE)
      for (const f of s.subflows())
        process.stdout.write(
          `sf${f.id} cwnd ${f.info.cwnd} inflight ${f.info.inFlight} srtt ${(f.info.srtt / 1000).toFixed(1)}ms snd.wnd ${f.info.sndWnd} ca ${f.info.caState} retrans ${f.bytesRetransmitted} sent ${f.bytesSent}\n`,
        );
  });
  const count = (n: number) => {
    side.bytes += n;
  };
  const s = connect({
    port,
    host: '127.0.0.1',
    addresses: ['127.0.0.1', '127.0.0.2'],
    ...(mss ? { mss } : {}),
    ...(reader === 'onread' ? { onread: { buffer: Buffer.alloc(256 * 1024), callback: count } } : {}),
  });
  s.on('connect', () => {
    process.send!({ mss: s.mss });
    if (reader === 'stream') pump(s, () => stop);
  });
  s.on('error', (e) => process.stderr.write(`bench client: ${e.message}\n`));
  side.measure(() => {
    stop = true;
    if (process.env.BENCH_TRACE)
      process.stdout.write(`${JSON.stringify({ transport: s.transportStats, info: s.info() })}\n`);
    s.destroy();
  });
}

async function measureRaw(size: number, seconds: number): Promise<Report> {
  const rx = child('raw-recv');
  await message(rx);
  const tx = child('raw-send', [String(size)]);
  await sleep(500);
  rx.send('start');
  await sleep(seconds * 1000);
  const done = message<Report>(rx, (m) => typeof m === 'object');
  rx.send('stop');
  const r = await done;
  tx.kill();
  return r;
}

async function measureMptcp(
  seconds: number,
  mss: number | undefined,
  rss: boolean,
  native: boolean,
  reader: Reader,
): Promise<{ receiver: Report; sender: Report; mss: number }> {
  const extra = rss ? ['--rss'] : [];
  const env: Record<string, string> = native ? {} : { MPTCP_TS_UDP_NATIVE: '0' };
  const srv = child('mptcp-server', [reader, ...extra], env);
  const { port } = await message<{ port: number }>(srv);
  const cli = child('mptcp-client', [String(port), String(mss ?? 0), reader, ...extra], env);
  const hello = await message<{ mss: number }>(cli);
  // Past the handshakes and slow start before measuring.
  await sleep(1000);
  srv.send('start');
  cli.send('start');
  await sleep(seconds * 1000);
  const report = (c: ChildProcess) =>
    message<Report>(c, (m) => typeof m === 'object' && 'cpu' in (m as object));
  const [s, c] = [report(srv), report(cli)];
  // The receiver stops counting first, so the sender's stop cannot cut the measured window short.
  const [rx, tx] = reader === 'stream' ? [srv, cli] : [cli, srv];
  rx.send('stop');
  tx.send('stop');
  const [server, client] = await Promise.all([s, c]);
  return reader === 'stream'
    ? { receiver: server, sender: client, mss: hello.mss }
    : { receiver: client, sender: server, mss: hello.mss };
}

/** Datagram sizes measured by default: the driver's own MSS on loopback (64 KB) and an Ethernet path's. */
const DEFAULT_MSS = [0, 1448];
const ROUNDS = 3;

export async function benchUdp(
  opts: { seconds?: number; mss?: number[]; rss?: boolean; rounds?: number } = {},
): Promise<BenchResult[]> {
  const seconds = opts.seconds ?? 6;
  const native = udpAddon() !== null && process.env.MPTCP_TS_UDP_NATIVE !== '0';
  const rounds = opts.rounds ?? ROUNDS;
  const out: BenchResult[] = [];
  const mbps = (r: Report) => (r.bytes * 8) / r.seconds / 1e6;
  for (const want of opts.mss ?? DEFAULT_MSS) {
    // The MPTCP runs and the raw ceiling alternate, so a slow phase of the machine hits all alike.
    const runs: { stream: Run; onread: Run; dgram: number; ceiling: number }[] = [];
    let mss = 0;
    for (let r = 0; r < rounds; r++) {
      const m = await measureMptcp(seconds, want || undefined, opts.rss ?? false, native, 'stream');
      mss = m.mss;
      const o = await measureMptcp(seconds, want || undefined, opts.rss ?? false, native, 'onread');
      const raw = await measureRaw(m.mss + TIU_HEADER, seconds);
      const d = native ? await measureMptcp(seconds, want || undefined, false, false, 'stream') : m;
      const run = (x: typeof m): Run => ({
        goodput: mbps(x.receiver),
        rx: x.receiver.cpu,
        tx: x.sender.cpu,
        rss: [x.receiver.rss, x.sender.rss],
      });
      runs.push({ stream: run(m), onread: run(o), dgram: mbps(d.receiver), ceiling: mbps(raw) });
    }
    const list = (f: (x: (typeof runs)[number]) => number) => runs.map((x) => f(x).toFixed(0)).join(', ');
    const at = `MSS ${mss}, ${mss + TIU_HEADER}-byte datagrams`;
    const via = native ? 'UDP addon' : 'node:dgram';
    const readers: [Reader, string][] = [
      ['stream', "'data' events"],
      ['onread', 'onread into one buffer'],
    ];
    for (const [reader, how] of readers) {
      const rows = runs.map((x) => x[reader]);
      out.push(
        {
          name: `udp loopback, ${at}: MPTCP goodput, 2 subflows, ${via}, read by ${how}, median of ${list((x) => x[reader].goodput)}`,
          value: median(rows.map((x) => x.goodput)),
          unit: 'Mbit/s',
        },
        {
          name: `udp loopback, ${at}: MPTCP (${via}, ${how}) / raw, median of the rounds' ratios`,
          value: median(runs.map((x) => (100 * x[reader].goodput) / x.ceiling)),
          unit: '%',
        },
        {
          name: `udp loopback, ${at}, ${how}: receiver CPU`,
          value: median(rows.map((x) => x.rx)),
          unit: 'cores',
        },
        {
          name: `udp loopback, ${at}, ${how}: sender CPU`,
          value: median(rows.map((x) => x.tx)),
          unit: 'cores',
        },
        {
          name: `udp loopback, ${at}, ${how}: peak RSS, receiver`,
          value: Math.max(...rows.map((x) => x.rss[0])) / 2 ** 20,
          unit: 'MiB',
        },
        {
          name: `udp loopback, ${at}, ${how}: peak RSS, sender`,
          value: Math.max(...rows.map((x) => x.rss[1])) / 2 ** 20,
          unit: 'MiB',
        },
      );
    }
    if (native)
      out.push({
        name: `udp loopback, ${at}: MPTCP through node:dgram sockets, 'data' events, median of ${list((x) => x.dgram)}`,
        value: median(runs.map((x) => x.dgram)),
        unit: 'Mbit/s',
      });
    out.push({
      name: `udp loopback, ${at}: raw node:dgram ceiling, median of ${list((x) => x.ceiling)}`,
      value: median(runs.map((x) => x.ceiling)),
      unit: 'Mbit/s',
    });
  }
  return out;
}

const role = process.argv[2];
if (process.argv[1] === SELF) {
  if (role === 'raw-recv') rawReceiver();
  else if (role === 'raw-send') rawSender(Number(process.argv[3]));
  else if (role === 'mptcp-server') mptcpServer(process.argv[3] as Reader);
  else if (role === 'mptcp-client')
    mptcpClient(Number(process.argv[3]), Number(process.argv[4]) || undefined, process.argv[5] as Reader);
  else {
    const arg = (name: string) => {
      const i = process.argv.indexOf(name);
      return i > 0 ? Number(process.argv[i + 1]) : undefined;
    };
    const mss = arg('--mss');
    const results = await benchUdp({
      seconds: arg('--seconds'),
      mss: mss === undefined ? undefined : [mss],
      rounds: arg('--rounds'),
      rss: process.argv.includes('--rss'),
    });
    for (const r of results) console.log(`${r.name}  ${r.value.toFixed(1)} ${r.unit}`);
  }
}
