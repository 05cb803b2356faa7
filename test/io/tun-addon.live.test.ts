/**
 * The TUN addon (native/tun.c) when a process exits with its reader still running and packets still arriving:
 * the common end of a CLI client, whose host unreferences the transport and lets the process exit before its
 * linger closes it. Node tears the environment down while the reader thread keeps queueing batches, and a
 * batch delivered then must be dropped, not copied into an ArrayBuffer Node refuses to create (that crash
 * killed the CLI client in one CI run: 24 of 300 such exits died of SIGSEGV before the fix).
 *
 * A private network namespace holds a persistent TUN device; a flood of UDP datagrams routed into it keeps the
 * reader busy while short-lived processes attach, start an unreferenced reader and exit. Needs root.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { TUN_ADDON_BINARY, tunUnavailableReason } from '../../src/io/tun-addon.ts';
import { hasCommand } from '../support/testbed.ts';

const NS = 'mpt-tunexit';
const DEV = 'mptexit0';
const EXITS = 60;

function skipReason(): string | null {
  if (process.platform !== 'linux') return 'TUN needs Linux';
  if (process.getuid?.() !== 0) return 'needs root (a network namespace and a TUN device)';
  if (!existsSync('/dev/net/tun')) return '/dev/net/tun is missing (no TUN support in this kernel)';
  if (!hasCommand('ip')) return "'ip' is missing (apt-get install iproute2)";
  return tunUnavailableReason();
}

const SKIP = skipReason();

const ip = (...args: string[]): void => {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
};

/** Datagrams to an address behind the TUN device, as fast as the socket takes them. */
const FLOOD = `
const s = require('node:dgram').createSocket('udp4');
const b = Buffer.alloc(1200);
const burst = () => { for (let i = 0; i < 64; i++) s.send(b, 9999, '10.99.0.2'); setImmediate(burst); };
burst();`;

/** Attaches to the device, starts an unreferenced reader, reports what it read, and lets the process exit. */
const EXITER = `
const a = require(process.argv[1]);
const { handle } = a.open(process.argv[2], process.argv[3]);
let packets = 0;
a.start(handle, (_d, _e, count) => { packets += count; });
a.ref(handle, false);
setTimeout(() => process.stdout.write(String(packets)), Number(process.argv[4]));`;

describe('TUN addon: exiting under traffic', { skip: SKIP ?? false }, () => {
  let flood: ChildProcess | null = null;

  before(() => {
    spawnSync('ip', ['netns', 'del', NS]);
    ip('netns', 'add', NS);
    ip('-n', NS, 'link', 'set', 'lo', 'up');
    ip('-n', NS, 'tuntap', 'add', 'dev', DEV, 'mode', 'tun');
    ip('-n', NS, 'addr', 'add', '10.99.0.1/24', 'dev', DEV);
    ip('-n', NS, 'link', 'set', DEV, 'up');
    flood = spawn('ip', ['netns', 'exec', NS, process.execPath, '-e', FLOOD], { stdio: 'ignore' });
  });

  after(() => {
    flood?.kill('SIGKILL');
    spawnSync('ip', ['netns', 'del', NS]);
  });

  test(`${EXITS} processes exit while their reader receives: every one exits cleanly`, () => {
    const deaths: string[] = [];
    let read = 0;
    for (let i = 0; i < EXITS; i++) {
      const r = spawnSync(
        process.execPath,
        ['-e', EXITER, TUN_ADDON_BINARY, DEV, `/var/run/netns/${NS}`, String(10 + (i % 30))],
        { encoding: 'utf8', timeout: 20_000 },
      );
      if (r.status !== 0)
        deaths.push(`exit ${i}: status ${r.status}, signal ${r.signal}: ${r.stderr.trim()}`);
      read += Number(r.stdout) || 0;
    }
    assert.ok(read > EXITS * 10, `the readers saw the flood (${read} packets in all)`);
    assert.deepEqual(deaths, []);
  });
});
