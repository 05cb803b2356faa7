/**
 * The shared test bed (../shared/testbed/testbed.sh) for the socket API's acceptance runs: why the tests skip
 * here, the interop runs' lock (/run/mptcp-ts-interop.lock, the same protocol as test/interop) so two runs
 * never share the namespaces, commands inside the namespaces, and background processes that are always reaped.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { SHARED } from '../../support/captures.ts';

export const TESTBED = join(SHARED, 'testbed', 'testbed.sh');
const LOCK = '/run/mptcp-ts-interop.lock';
export type Ns = 'mpt-cli' | 'mpt-srv';

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** Why the test bed runs cannot happen here (a clear message), or null when they can. */
export function skipReason(): string | null {
  if (process.platform !== 'linux') return `the test bed needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'the test bed needs root (network namespaces): run the tests as root';
  if (!existsSync(TESTBED))
    return `the test bed script ${TESTBED} is missing (../shared beside the repository)`;
  for (const cmd of ['ip', 'tc', 'iptables-restore', 'python3'])
    if (!has(cmd)) return `'${cmd}' is missing: the test bed needs it`;
  return null;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryLock(): boolean {
  try {
    const fd = openSync(LOCK, 'wx');
    writeSync(fd, String(process.pid));
    closeSync(fd);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    const holder = Number(readFileSync(LOCK, 'utf8'));
    if (Number.isInteger(holder) && holder > 0 && alive(holder)) return false;
    rmSync(LOCK, { force: true });
    return tryLock();
  }
}

export class Bed {
  private readonly children = new Set<ChildProcess>();
  private released = false;
  private readonly exitGuard = () => this.releaseSync();

  /** Waits (up to `waitMs`) for the lock, then brings the test bed up with `upArgs`. */
  static async acquire(upArgs: string[], waitMs = 600_000): Promise<Bed> {
    const t0 = Date.now();
    while (!tryLock()) {
      if (Date.now() - t0 > waitMs) throw new Error('another run holds the test bed lock; try again later');
      await new Promise((r) => setTimeout(r, 2000));
    }
    const bed = new Bed();
    try {
      bed.run(TESTBED, ['down'], true);
      bed.run(TESTBED, ['up', ...upArgs]);
    } catch (e) {
      bed.releaseSync();
      throw e;
    }
    return bed;
  }

  private constructor() {
    process.on('exit', this.exitGuard);
  }

  run(cmd: string, args: string[], allowFail = false): string {
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
    if ((r.status !== 0 || r.error) && !allowFail)
      throw new Error(
        `${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr}`,
      );
    return r.stdout ?? '';
  }

  setLink(k: number, ...action: string[]): void {
    this.run(TESTBED, ['set-link', String(k), ...action]);
  }

  /** Runs a command inside a namespace in the background; killed at release at the latest. */
  spawn(ns: Ns, args: string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  release(): void {
    this.releaseSync();
  }

  private releaseSync(): void {
    if (this.released) return;
    this.released = true;
    process.off('exit', this.exitGuard);
    for (const c of this.children) if (c.exitCode === null && c.pid) c.kill('SIGKILL');
    spawnSync(TESTBED, ['down'], { encoding: 'utf8', timeout: 30_000 });
    try {
      if (Number(readFileSync(LOCK, 'utf8')) === process.pid) rmSync(LOCK, { force: true });
    } catch {
      // already gone
    }
  }
}

/** Everything a child prints, once it has exited. */
export function collect(c: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  c.stdout!.on('data', (d) => {
    stdout += d;
  });
  c.stderr!.on('data', (d) => {
    stderr += d;
  });
  return new Promise((resolve) => c.once('close', (code) => resolve({ code, stdout, stderr })));
}

const BIN = new URL('../../../bin/mptcp-ts', import.meta.url).pathname;

/** An Ethernet frame of a full segment: 14 + 20 (IP) + 8 (UDP) + 12 (TCP-in-UDP) + the MSS (1460). */
const FRAME = 1514;
/** Payload of a full data segment: MSS 1460 less timestamps (12) and a DSS with 64-bit DSN and data ACK (28). */
const PAYLOAD = 1460 - 12 - 28;
/** What the two 100 Mbit/s paths (rates count L2 bytes) carry of the pattern over UDP: Mbit/s of payload. */
export const PAYLOAD_CAPACITY_MBPS = (2 * 100 * PAYLOAD) / FRAME;

/**
 * The share (%) of the machine's CPU time that the hypervisor gave to other guests (steal, /proc/stat) from
 * now until the returned function is called. A userspace stack needs several times the kernel's CPU for the
 * same traffic, so it is the first to slow down when a shared host takes its CPUs away.
 */
export function stealMeter(): () => number {
  const read = () => {
    // cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest time is inside user)
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
    return { total: f.reduce((a, b) => a + b, 0), steal: f[7] ?? 0 };
  };
  const a = read();
  return () => {
    const b = read();
    return b.total > a.total ? (100 * (b.steal - a.steal)) / (b.total - a.total) : 0;
  };
}

/** What a `mptcp-ts client --json` / `server --json` pair printed, and the steal (%) during the run. */
export interface ClientServerRun {
  client: Record<string, unknown>;
  server: Record<string, unknown>;
  stealPct: number;
}

/**
 * `mptcp-ts server` in mpt-srv (10.1.1.1) and `mptcp-ts client` in mpt-cli over both paths (10.0.1.1,
 * 10.0.2.1) for `seconds`, over UDP; `during(ms)` is called every 100 ms from the client's connection on.
 */
export async function clientServerRun(
  bed: Bed,
  opts: { seconds: number; port: number; cc?: string; during?: (ms: number) => void },
): Promise<ClientServerRun> {
  const node = process.execPath;
  const server = bed.spawn('mpt-srv', [
    node,
    BIN,
    'server',
    '--port',
    String(opts.port),
    '--addresses',
    '10.1.1.1',
    '--once',
    '--json',
  ]);
  const serverOut = collect(server);
  await new Promise((r) => setTimeout(r, 1500));
  const client = bed.spawn('mpt-cli', [
    node,
    BIN,
    'client',
    '10.1.1.1',
    '--port',
    String(opts.port),
    '--local',
    '10.0.1.1,10.0.2.1',
    '--time',
    String(opts.seconds),
    '--json',
    ...(opts.cc ? ['--cc', opts.cc] : []),
  ]);
  const clientOut = collect(client);
  // The clock starts when the client is connected, as the intervals of its report do.
  await new Promise<void>((resolve) => {
    let err = '';
    const onData = (d: Buffer) => {
      err += d;
      if (!err.includes('connected to')) return;
      client.stderr!.off('data', onData);
      resolve();
    };
    client.stderr!.on('data', onData);
    client.once('exit', () => resolve());
  });
  const t0 = Date.now();
  const steal = stealMeter();
  const during = opts.during;
  const timer = during ? setInterval(() => during(Date.now() - t0), 100) : null;
  const c = await clientOut;
  const stealPct = steal();
  if (timer) clearInterval(timer);
  const s = await serverOut;
  if (c.code !== 0) throw new Error(`mptcp-ts client exited with ${c.code}: ${c.stderr}`);
  if (s.code !== 0) throw new Error(`mptcp-ts server exited with ${s.code}: ${s.stderr}`);
  return { client: JSON.parse(c.stdout), server: JSON.parse(s.stdout.trim().split('\n').at(-1)!), stealPct };
}
