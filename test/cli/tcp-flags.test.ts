/** `--tcp key=value,...` (src/cli/tcp-flags.ts): parsed by each setting's type, with errors that say what to write. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from 'commander';
import { optionsFromFlags } from '../../src/cli/client.ts';
import { parseTcpFlags, tuningOptions } from '../../src/cli/tcp-flags.ts';
import { DEFAULT_TCP_CONFIG, TCP_DURATION_KEYS } from '../../src/tcp/config.ts';
import { MS, SECOND } from '../../src/util/time.ts';

test('--tcp: booleans, numbers and durations with their unit', () => {
  assert.deepEqual(parseTcpFlags('undo=false, rackTlp=on,initialCwnd=4,minRto=300ms,maxRto=60s'), {
    undo: false,
    rackTlp: true,
    initialCwnd: 4,
    minRto: 300 * MS,
    maxRto: 60 * SECOND,
  });
  assert.deepEqual(parseTcpFlags(''), {});
  // The client, server and nc commands hand them to the subflows.
  assert.deepEqual(optionsFromFlags({ tcp: 'idleDecay=0' }).config, { tcp: { idleDecay: false } });
  // --no-coalesce (commander gives coalesce: false) beside --tcp; without it the host's default stands.
  assert.deepEqual(optionsFromFlags({ tcp: 'undo=off', coalesce: false }).config, {
    tcp: { undo: false },
    coalesceWrites: false,
  });
  assert.equal(optionsFromFlags({ coalesce: true }).config, undefined);
  // --sndbuf and --rcvbuf: the connection's send buffer and largest receive window, in bytes (K/M/G).
  assert.deepEqual(optionsFromFlags({ sndbuf: '32M', rcvbuf: '64M', coalesce: false }).config, {
    coalesceWrites: false,
    sndBuf: 32_000_000,
    rcvBufMax: 64_000_000,
  });
  assert.throws(() => optionsFromFlags({ sndbuf: 'big' }), /'big' is not a byte count/);
});

test('--tcp: unknown settings and bad values are refused with what to write', () => {
  assert.throws(() => parseTcpFlags('undoo=false'), /unknown setting 'undoo'; the settings are .*undo/);
  assert.throws(() => parseTcpFlags('undo=maybe'), /undo: true or false/);
  assert.throws(() => parseTcpFlags('initialCwnd=ten'), /initialCwnd: a number/);
  assert.throws(() => parseTcpFlags('minRto=300'), /minRto=200ms/);
  assert.throws(() => parseTcpFlags('undo'), /'key=value' pairs/);
  // Settings another flag or the transport owns.
  assert.throws(() => parseTcpFlags('mss=1200'), /use --mss/);
  assert.throws(() => parseTcpFlags('cc=cubic'), /use --cc/);
  assert.throws(() => parseTcpFlags('gatherPayload=false'), /the transport decides/);
});

test('--tcp: every duration setting takes a unit, and only those do', () => {
  for (const key of TCP_DURATION_KEYS) {
    assert.equal(typeof DEFAULT_TCP_CONFIG[key], 'number', key);
    assert.deepEqual(parseTcpFlags(`${key}=1.5s`), { [key]: 1.5 * SECOND });
    assert.throws(() => parseTcpFlags(`${key}=1500`), /a duration with its unit/);
  }
  // A count is a plain number, whatever its name.
  assert.deepEqual(parseTcpFlags('keepAliveProbes=3,challengeAckLimit=50'), {
    keepAliveProbes: 3,
    challengeAckLimit: 50,
  });
});

test('the tuning flags as commander parses them reach the socket options', () => {
  const cmd = tuningOptions(new Command('x')).exitOverride();
  cmd.parse(['--tcp', 'undo=off', '--no-coalesce', '--sndbuf', '32M', '--rcvbuf', '64M'], { from: 'user' });
  assert.deepEqual(optionsFromFlags(cmd.opts()).config, {
    tcp: { undo: false },
    coalesceWrites: false,
    sndBuf: 32_000_000,
    rcvBufMax: 64_000_000,
  });
  const plain = tuningOptions(new Command('x')).exitOverride();
  plain.parse([], { from: 'user' });
  assert.equal(optionsFromFlags(plain.opts()).config, undefined);
});
