/**
 * TUN benchmarks (root only):
 *  1. Read rate into JavaScript: a worker thread writes IPv4 packets into one TUN device; the kernel forwards
 *     them out of a second TUN whose reader hands them to the main thread. "queued": 100 000 packets wait in
 *     the second device's queue before the reader starts (the reader's own capacity); otherwise the
 *     generator runs concurrently (the rate is then the lower of generator and reader: the kernel's drop
 *     counter says which). Both devices live in a private network namespace deleted afterwards.
 *  2. Goodput on the test bed (2 × 100 Mbit/s, 10 ms one way, CUBIC on every flow): kernel client → kernel
 *     server, then mptcp-ts (TUN) client → kernel server, alternating for GOODPUT_ROUNDS rounds in the same
 *     run, each for GOODPUT_SECONDS, as measured by the kernel receiver; the figures are the medians.
 * Run alone: `node --import tsx bench/tun.ts` (as root); MPTCP_TS_BENCH_TUN=read or =goodput runs one part.
 */
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { BenchResult } from '../src/cli/bench.ts';
import { loadTunAddon, TUN_ADDON_BINARY } from '../src/io/tun-addon.ts';
import { IpFramer } from '../src/io/tun-frame.ts';
import { fullmeshManager } from '../src/pm/fullmesh.ts';
import { ipFromText } from '../src/wire/address.ts';
import { ipv4Template, writeIpv4Header } from '../src/wire/ip.ts';
import { ourStack, Session, sleep, until } from '../test/interop/harness/ours.ts';
import { KernelPeer } from '../test/interop/harness/peer.ts';
import {
  acquireWithTuns,
  CLIENT_TUN,
  kernelClientAddress,
  kernelServerAddress,
  ourClientAddress,
  skipReason,
  type Testbed,
} from '../test/interop/harness/testbed.ts';
import { QUIET_STEAL, stealMeter } from '../test/support/testbed.ts';
import { median } from './median.ts';

const NS = `mptcp-ts-bench-${process.pid}`;
const GEN = 'mptbgen';
const RX = 'mptbrx';
const READ_SECONDS = 3;
const GOODPUT_SECONDS = 10;
const GOODPUT_ROUNDS = 5;
const PORT = 45300;

const ip = (...args: string[]) => {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
};

/** `count` copies of a 60-byte IPv4 packet (protocol 253, for experiments) from 10.76.0.2 to 10.77.0.2. */
function packetBatch(count: number, size: number): { data: Uint8Array; ends: Uint32Array } {
  const data = new Uint8Array(count * size);
  const ends = new Uint32Array(count);
  const h = ipv4Template(253);
  h.src = ipFromText('10.76.0.2');
  h.dst = ipFromText('10.77.0.2');
  for (let i = 0; i < count; i++) {
    h.id = i & 0xffff;
    writeIpv4Header(h, size - 20, data, i * size);
    ends[i] = (i + 1) * size;
  }
  return { data, ends };
}

/**
 * The generator thread: plain JavaScript (a worker cannot load TypeScript through tsx here) that loads the
 * addon itself and writes batches into the generator TUN until told to stop.
 */
const GENERATOR = `
const { parentPort, workerData } = require('node:worker_threads');
const addon = require(workerData.binary);
const { handle } = addon.open(workerData.device, workerData.netns);
const { data, ends, count } = workerData;
let stop = false;
let written = 0;
parentPort.on('message', (m) => { if (m === 'stop') stop = true; });
const loop = () => {
  for (let k = 0; k < 64 && !stop; k++) {
    written += addon.writeMany(handle, data, ends, count ? Math.min(ends.length, count - written) : ends.length);
    if (count && written >= count) stop = true;
  }
  if (stop) {
    addon.close(handle);
    parentPort.postMessage({ written });
  } else setImmediate(loop);
};
parentPort.postMessage('ready');
loop();
`;

const DRAIN_PACKETS = 100_000;

/**
 * The reader's own capacity, without a generator competing for the CPU: DRAIN_PACKETS packets wait in the
 * TUN's queue (the device is attached, the reader not started), then the reader starts and the time until
 * JavaScript has all of them is measured.
 */
async function drainRate(size: number): Promise<{ pps: number; batch: number }> {
  const addon = loadTunAddon();
  ip('-n', NS, 'link', 'set', RX, 'txqueuelen', String(DRAIN_PACKETS + 1000));
  const { handle } = addon.open(RX, `/run/netns/${NS}`);
  const k0 = deviceTx(RX);
  const worker = new Worker(GENERATOR, {
    eval: true,
    workerData: {
      binary: TUN_ADDON_BINARY,
      netns: `/run/netns/${NS}`,
      device: GEN,
      count: DRAIN_PACKETS,
      ...packetBatch(256, size),
    },
  });
  await new Promise((r) => worker.on('message', (m) => m !== 'ready' && r(m)));
  await worker.terminate();
  await sleep(100); // forwarding done: the packets sit in the queue
  // The device counts a packet when the reader takes it; those the queue could not hold count as dropped.
  let packets = 0;
  let last = 0;
  const t0 = performance.now();
  addon.start(handle, (_data, _ends, count) => {
    packets += count;
    last = performance.now();
  });
  await until(() => last > 0 && performance.now() - last > 200, 10_000, 'the reader to drain the queue');
  const s = addon.stats(handle);
  addon.close(handle);
  const dropped = deviceTx(RX).dropped - k0.dropped;
  if (packets + dropped < DRAIN_PACKETS * 0.9)
    throw new Error(`only ${packets} of ${DRAIN_PACKETS} packets reached the reader (${dropped} dropped)`);
  const t1 = last;
  return { pps: packets / ((t1 - t0) / 1000), batch: s.packetsRead / Math.max(1, s.batches) };
}

async function readRate(
  size: number,
  strip: boolean,
): Promise<{ pps: number; offered: number; dropped: number; batch: number }> {
  const addon = loadTunAddon();
  const { handle } = addon.open(RX, `/run/netns/${NS}`);
  const framer = new IpFramer(['10.77.0.2']);
  let packets = 0;
  let counting = false;
  addon.start(handle, (data, ends, count) => {
    if (!counting) return;
    if (strip) {
      let start = 0;
      for (let i = 0; i < count; i++) {
        framer.strip(data.subarray(start, ends[i]!));
        start = ends[i]!;
      }
    }
    packets += count;
  });
  const batch = packetBatch(256, size);
  const worker = new Worker(GENERATOR, {
    eval: true,
    workerData: { binary: TUN_ADDON_BINARY, netns: `/run/netns/${NS}`, device: GEN, ...batch },
  });
  await new Promise<void>((r) => worker.once('message', () => r()));
  await sleep(300);
  const s0 = addon.stats(handle);
  const k0 = deviceTx(RX);
  counting = true;
  const t0 = performance.now();
  await sleep(READ_SECONDS * 1000);
  counting = false;
  const dt = (performance.now() - t0) / 1000;
  const s1 = addon.stats(handle);
  const k1 = deviceTx(RX);
  worker.postMessage('stop');
  await new Promise((r) => worker.once('message', r));
  await worker.terminate();
  addon.close(handle);
  return {
    pps: packets / dt,
    offered: (k1.packets + k1.dropped - k0.packets - k0.dropped) / dt,
    dropped: k1.dropped - k0.dropped,
    batch: (s1.packetsRead - s0.packetsRead) / Math.max(1, s1.batches - s0.batches),
  };
}

/** The kernel's transmit counters of a device in the bench namespace: packets queued to the reader, and dropped. */
function deviceTx(dev: string): { packets: number; dropped: number } {
  const r = spawnSync('ip', ['-n', NS, '-s', '-j', 'link', 'show', 'dev', dev], { encoding: 'utf8' });
  const tx = JSON.parse(r.stdout)[0].stats64.tx;
  return { packets: tx.packets, dropped: tx.dropped };
}

const progress = (what: string) => process.stderr.write(`bench tun: ${what}\n`);

async function benchReadRate(): Promise<BenchResult[]> {
  progress('TUN read rate');
  ip('netns', 'add', NS);
  try {
    ip('-n', NS, 'link', 'set', 'lo', 'up');
    for (const d of [GEN, RX]) {
      ip('-n', NS, 'tuntap', 'add', 'dev', d, 'mode', 'tun');
      ip('-n', NS, 'link', 'set', d, 'up');
    }
    ip('-n', NS, 'link', 'set', RX, 'txqueuelen', '10000');
    ip('-n', NS, 'addr', 'add', '10.76.0.1/24', 'dev', GEN);
    ip('-n', NS, 'addr', 'add', '10.77.0.1/24', 'dev', RX);
    spawnSync('ip', [
      'netns',
      'exec',
      NS,
      'sysctl',
      '-qw',
      'net.ipv4.ip_forward=1',
      'net.ipv4.conf.all.rp_filter=0',
    ]);
    const drainSmall = await drainRate(60);
    const drainFull = await drainRate(1500);
    ip('-n', NS, 'link', 'set', RX, 'txqueuelen', '10000');
    const small = await readRate(60, false);
    const stripped = await readRate(60, true);
    const full = await readRate(1500, false);
    return [
      { name: 'tun read, queued: 60-byte packets into JS', value: drainSmall.pps, unit: 'packets/s' },
      { name: 'tun read, queued: mean batch', value: drainSmall.batch, unit: 'packets per JS call' },
      { name: 'tun read, queued: 1500-byte packets into JS', value: drainFull.pps, unit: 'packets/s' },
      { name: 'tun read: 60-byte packets into JS', value: small.pps, unit: 'packets/s' },
      { name: 'tun read: 60-byte packets offered by the kernel', value: small.offered, unit: 'packets/s' },
      { name: 'tun read: 60-byte packets dropped (reader behind)', value: small.dropped, unit: 'packets' },
      { name: 'tun read: mean batch', value: small.batch, unit: 'packets per JS call' },
      { name: 'tun read: 60-byte packets, IP stripped in JS', value: stripped.pps, unit: 'packets/s' },
      { name: 'tun read: 1500-byte packets into JS', value: full.pps, unit: 'packets/s' },
      { name: 'tun read: 1500-byte packets into JS', value: (full.pps * 1500 * 8) / 1e9, unit: 'Gbit/s' },
    ];
  } finally {
    spawnSync('ip', ['netns', 'del', NS]);
  }
}

const mbps = (d: { received: number; seconds: number }) => (d.received * 8) / d.seconds / 1e6;

/** Kernel client → kernel server for GOODPUT_SECONDS (a subflow endpoint per path); the receiver measures. */
async function kernelRun(tb: Testbed, port: number): Promise<number> {
  tb.resetEndpoints();
  tb.ip('mpt-cli', 'mptcp', 'endpoint', 'add', kernelClientAddress(2), 'dev', 'eth2', 'id', '2', 'subflow');
  const ks = KernelPeer.server(tb, 'mpt-srv', { port, cc: 'cubic' });
  await ks.listening();
  KernelPeer.client(tb, 'mpt-cli', kernelServerAddress(1), { port, time: GOODPUT_SECONDS, cc: 'cubic' });
  const kernel = await ks.done((GOODPUT_SECONDS + 30) * 1000);
  tb.resetEndpoints();
  return mbps(kernel);
}

/** mptcp-ts (TUN, 2 subflows) → kernel server for GOODPUT_SECONDS; the kernel receiver measures. */
async function oursRun(tb: Testbed, port: number, seed: number): Promise<{ mbps: number; cpu: number }> {
  const os = KernelPeer.server(tb, 'mpt-srv', { port, cc: 'cubic' });
  await os.listening();
  const locals = [ourClientAddress(1), ourClientAddress(2)];
  const stack = ourStack({
    device: CLIENT_TUN,
    netns: 'mpt-cli',
    addresses: locals,
    seed,
    config: { cc: 'cubic' },
    capture: false,
  });
  let ours: Awaited<ReturnType<typeof os.done>>;
  const cpu0 = process.cpuUsage();
  try {
    const conn = stack.endpoint.connect(stack.driver.now(), {
      local: locals[0]!,
      remote: kernelServerAddress(1),
      remotePort: port,
      pathManager: fullmeshManager({ localAddresses: locals }),
    });
    const session = new Session(conn, stack.driver, Number.MAX_SAFE_INTEGER);
    stack.driver.wake();
    await session.established;
    await sleep(GOODPUT_SECONDS * 1000);
    session.stopSending();
    ours = await os.done(60_000);
    await until(() => conn.state === 'closed', 10_000, 'our connection to close').catch(() => undefined);
  } finally {
    stack.close();
  }
  const cpu = process.cpuUsage(cpu0);
  return { mbps: mbps(ours), cpu: (100 * (cpu.user + cpu.system)) / 1e6 / ours.seconds };
}

/**
 * GOODPUT_ROUNDS rounds of kernel → kernel then ours → kernel on one test bed. One 10 s run is decided by
 * its start (where slow start stops, how its overshoot is recovered), so single runs of ours spread over
 * 10 points; the medians of alternating runs are the figures, every run is printed. The CPU time the host
 * steals is measured during each run (see bench/testbed.ts): the ratio is also given over the rounds in which
 * neither run lost more than QUIET_STEAL %.
 */
async function benchGoodput(): Promise<BenchResult[]> {
  const tb = await acquireWithTuns(['--paths', '2', '--rate', '100', '--delay', '10', '--pm', 'none']);
  try {
    const kernel: number[] = [];
    const ours: number[] = [];
    const cpu: number[] = [];
    const quiet: number[] = [];
    for (let round = 0; round < GOODPUT_ROUNDS; round++) {
      progress(`round ${round + 1}/${GOODPUT_ROUNDS}: kernel → kernel for ${GOODPUT_SECONDS} s`);
      let steal = stealMeter();
      kernel.push(await kernelRun(tb, PORT + 2 * round));
      const kernelSteal = steal();
      progress(`round ${round + 1}/${GOODPUT_ROUNDS}: mptcp-ts → kernel for ${GOODPUT_SECONDS} s`);
      steal = stealMeter();
      const r = await oursRun(tb, PORT + 2 * round + 1, 300 + round);
      const oursSteal = steal();
      ours.push(r.mbps);
      cpu.push(r.cpu);
      if (Math.max(kernelSteal, oursSteal) <= QUIET_STEAL) quiet.push(round);
      progress(
        `round ${round + 1}: kernel ${kernel.at(-1)!.toFixed(1)} (steal ${kernelSteal.toFixed(1)} %), mptcp-ts ${r.mbps.toFixed(1)} Mbit/s (steal ${oursSteal.toFixed(1)} %)`,
      );
    }
    const runs = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(', ');
    const ratio = (rounds: number[]) =>
      (100 * median(rounds.map((i) => ours[i]!))) / median(rounds.map((i) => kernel[i]!));
    return [
      {
        name: `goodput kernel → kernel (2 × 100 Mbit/s, 10 ms), median of ${runs(kernel)}`,
        value: median(kernel),
        unit: 'Mbit/s',
      },
      {
        name: `goodput mptcp-ts TUN → kernel (same bed), median of ${runs(ours)}`,
        value: median(ours),
        unit: 'Mbit/s',
      },
      {
        name: 'goodput ratio mptcp-ts / kernel (medians)',
        value: ratio(kernel.map((_, i) => i)),
        unit: '%',
      },
      quiet.length > 0
        ? {
            name: `goodput ratio mptcp-ts / kernel, the ${quiet.length} rounds with at most ${QUIET_STEAL} % stolen (medians)`,
            value: ratio(quiet),
            unit: '%',
          }
        : { name: `goodput ratio: no round with at most ${QUIET_STEAL} % stolen`, value: 0, unit: 'rounds' },
      { name: 'mptcp-ts CPU during its runs (median)', value: median(cpu), unit: '% of one core' },
    ];
  } finally {
    await tb.release();
  }
}

export async function benchTun(): Promise<BenchResult[]> {
  const skip = skipReason();
  if (skip) {
    process.stderr.write(`bench tun: skipped: ${skip}\n`);
    return [];
  }
  const part = process.env.MPTCP_TS_BENCH_TUN;
  return [
    ...(part !== 'goodput' ? await benchReadRate() : []),
    ...(part !== 'read' ? await benchGoodput() : []),
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const r of await benchTun()) console.log(`${r.name}  ${r.value.toFixed(2)} ${r.unit}`);
}
