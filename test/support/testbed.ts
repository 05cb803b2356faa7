/**
 * The shared test bed (../shared/testbed/testbed.sh) for every run that uses it (the kernel interop tests, the
 * socket API's acceptance runs, the test-bed benchmarks): why such a run must skip here, an exclusive lock so
 * that two runs never share the namespaces, bring-up and tear-down, commands inside the namespaces,
 * background processes that are always reaped, the kernel's MPTCP counters and endpoints, and the CPU time
 * the host steals during a run.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHARED } from './captures.ts';

export const TESTBED = join(SHARED, 'testbed', 'testbed.sh');
export const LOCK = '/run/mptcp-ts-interop.lock';
export type Ns = 'mpt-cli' | 'mpt-srv' | 'mpt-rtr';

export const hasCommand = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/**
 * Why a run of `what` on the test bed cannot happen here (a clear message), or null when it can; `tools`
 * are the commands it needs beyond the test bed's own, with their Debian packages.
 */
export function testbedSkipReason(
  what: string,
  tools: readonly (readonly [string, string])[] = [],
): string | null {
  if (process.platform !== 'linux') return `${what} needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return `${what} needs root (network namespaces): run it as root`;
  if (!existsSync(TESTBED))
    return `the test bed script ${TESTBED} is missing (../shared beside the repository)`;
  const needed: (readonly [string, string])[] = [
    ['ip', 'iproute2'],
    ['tc', 'iproute2'],
    ['iptables-restore', 'iptables'],
    ['python3', 'python3'],
  ];
  for (const [cmd, pkg] of [...needed, ...tools])
    if (!hasCommand(cmd)) return `'${cmd}' is missing (apt-get install ${pkg}): the test bed needs it`;
  return null;
}

export class TestbedError extends Error {
  override name = 'TestbedError';
}

export class Testbed {
  private readonly children = new Set<ChildProcess>();
  private readonly nstatHistory = mkdtempSync(join(tmpdir(), 'mptcp-ts-nstat-'));
  private released = false;
  private readonly exitGuard = () => this.releaseSync();
  /** Interrupted (Ctrl-C, a CI timeout): tear down first, then die of the signal as usual. */
  private readonly signalGuard = (signal: NodeJS.Signals) => {
    this.releaseSync();
    process.kill(process.pid, signal);
  };

  private constructor() {
    process.on('exit', this.exitGuard);
    process.once('SIGINT', this.signalGuard);
    process.once('SIGTERM', this.signalGuard);
  }

  /**
   * Takes the lock (waiting up to `waitMs` while another run holds it: test files that use the test bed may
   * run in parallel) and brings the test bed up with `upArgs`. A lock left by a dead run is taken over (its
   * test bed torn down); a test bed up without any lock is someone's manual session and makes this throw.
   */
  static async acquire(upArgs: string[], waitMs = 600_000): Promise<Testbed> {
    const t0 = Date.now();
    while (!takeLock()) {
      if (Date.now() - t0 > waitMs)
        throw new TestbedError(`another run held ${LOCK} for ${waitMs / 1000} s; try again later`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    const tb = new Testbed();
    try {
      if (namespacesUp()) tb.run(TESTBED, ['down']);
      tb.run(TESTBED, ['up', ...upArgs]);
    } catch (e) {
      tb.releaseSync();
      throw e;
    }
    return tb;
  }

  /** Runs a command to completion; throws with its output when it fails. */
  run(cmd: string, args: string[], opts: { allowFail?: boolean } = {}): string {
    const r = spawnSync(cmd, args, {
      encoding: 'utf8',
      env: { ...process.env, NSTAT_HISTORY: join(this.nstatHistory, 'history') },
      timeout: 60_000,
    });
    if ((r.status !== 0 || r.error) && !opts.allowFail)
      throw new TestbedError(
        `${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr}${r.stdout}`,
      );
    return r.stdout ?? '';
  }

  exec(ns: Ns, args: string[], opts: { allowFail?: boolean } = {}): string {
    return this.run('ip', ['netns', 'exec', ns, ...args], opts);
  }

  /** `ip -n NS ...` */
  ip(ns: Ns, ...args: string[]): string {
    return this.run('ip', ['-n', ns, ...args]);
  }

  /** `testbed.sh set-link K ...` (down/up: blackhole in the router; backup/nobackup; rate/delay/loss). */
  setLink(k: number, ...action: string[]): void {
    this.run(TESTBED, ['set-link', String(k), ...action]);
  }

  /** Starts a long-running command inside a namespace; it is killed (by its pid) at release at the latest. */
  spawn(ns: Ns, args: string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  /** Kills one process we started and waits for it to exit. */
  async stop(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 2000);
    await gone;
    clearTimeout(t);
  }

  /** The kernel's MPTcpExt* counters in a namespace (`nstat -az`, absolute values). */
  counters(ns: Ns): Record<string, number> {
    const out: Record<string, number> = {};
    for (const line of this.exec(ns, ['nstat', '-az']).split('\n')) {
      const m = /^(MPTcpExt\w+)\s+(\d+)/.exec(line);
      if (m) out[m[1]!] = Number(m[2]);
    }
    return out;
  }

  /** Resets the kernel path managers of both hosts to no endpoints and the test bed's limits. */
  resetEndpoints(): void {
    for (const ns of ['mpt-cli', 'mpt-srv'] as const) {
      this.ip(ns, 'mptcp', 'endpoint', 'flush');
      this.ip(ns, 'mptcp', 'limits', 'set', 'subflows', '8', 'add_addr_accepted', '8');
    }
  }

  /** Kills what we started, tears the test bed down and frees the lock. */
  async release(): Promise<void> {
    await Promise.all([...this.children].map((c) => this.stop(c)));
    this.releaseSync();
  }

  private releaseSync(): void {
    if (this.released) return;
    this.released = true;
    process.off('exit', this.exitGuard);
    process.off('SIGINT', this.signalGuard);
    process.off('SIGTERM', this.signalGuard);
    for (const c of this.children) if (c.exitCode === null && c.pid) c.kill('SIGKILL');
    spawnSync(TESTBED, ['down'], { encoding: 'utf8', timeout: 30_000 });
    rmSync(this.nstatHistory, { recursive: true, force: true });
    releaseLock();
  }
}

/**
 * Most CPU time (%) the host may steal during a run for the run to count as a measurement of the stack (the
 * benches report figures over such quiet runs beside those over all runs).
 */
export const QUIET_STEAL = 5;

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

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function namespacesUp(): boolean {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return /^mpt-(cli|rtr|srv)( |$)/m.test(r.stdout ?? '');
}

function createLock(): void {
  const fd = openSync(LOCK, 'wx');
  writeSync(fd, String(process.pid));
  closeSync(fd);
}

/**
 * Takes the lock: false while a live process holds it. A test bed that is up while nobody held the lock
 * belongs to someone else: refused. A lock left by a dead run is taken over, and that run's test bed is
 * ours to tear down.
 */
function takeLock(): boolean {
  try {
    createLock();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    const holder = Number(readFileSync(LOCK, 'utf8'));
    if (Number.isInteger(holder) && holder > 0 && pidAlive(holder)) return false;
    rmSync(LOCK, { force: true });
    return takeOver();
  }
  if (namespacesUp()) {
    releaseLock();
    throw new TestbedError(
      'the test bed is up but no run holds its lock (someone is using it): run testbed.sh down first',
    );
  }
  return true;
}

/** After removing a dead run's lock: another waiting run may have been quicker. */
function takeOver(): boolean {
  try {
    createLock();
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return false;
  }
}

function releaseLock(): void {
  try {
    if (Number(readFileSync(LOCK, 'utf8')) === process.pid) rmSync(LOCK, { force: true });
  } catch {
    // already gone
  }
}
