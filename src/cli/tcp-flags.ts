/**
 * The engine-tuning flags of the commands that open connections: `--tcp key=value,...` (subflow TCP settings,
 * TcpConfig in src/tcp/config.ts, so that a run can switch one engine mechanism off or on, `--tcp undo=false`,
 * and be compared with another), write coalescing and the connection's buffers.
 */
import type { Command } from 'commander';
import { DEFAULT_MPTCP_CONFIG } from '../mptcp/config.ts';
import { DEFAULT_TCP_CONFIG, TCP_DURATION_KEYS, type TcpConfig } from '../tcp/config.ts';
import { MS, SECOND } from '../util/time.ts';

const mib = (bytes: number) => `${bytes / 2 ** 20} MiB`;

/**
 * The engine-tuning flags the client, server and nc commands share (StackFlags: tcp, coalesce, sndbuf,
 * rcvbuf); optionsFromFlags turns them into socket options.
 */
export function tuningOptions(command: Command): Command {
  return command
    .option(
      '--tcp <settings>',
      'subflow TCP settings as key=value,... (TcpConfig names: e.g. undo=false,rackTlp=off,minRto=300ms)',
    )
    .option(
      '--no-coalesce',
      'send every write in packets of its own instead of joining small writes into full segments (coalesceWrites)',
    )
    .option(
      '--sndbuf <bytes>',
      `connection send buffer in bytes (K/M/G: powers of 1000; default ${mib(DEFAULT_MPTCP_CONFIG.sndBuf)}): ` +
        "data in flight is at most this, so at most SIZE per RTT; the subflows' buffers follow it " +
        '(--tcp sndBuf= sets them apart)',
    )
    .option(
      '--rcvbuf <bytes>',
      `largest connection receive window in bytes (K/M/G: powers of 1000; default ${mib(DEFAULT_MPTCP_CONFIG.rcvBufMax)})`,
    );
}

/** Parses a byte count with an optional K/M/G suffix (powers of 1000). */
export function parseBytes(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmMgG]?)$/.exec(text.trim());
  if (!m) throw new Error(`'${text}' is not a byte count (e.g. 100M)`);
  const mult = { '': 1, k: 1e3, m: 1e6, g: 1e9 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.round(Number(m[1]) * mult);
}

/** Settings another flag or the transport owns: what to use instead. */
export const OWNED_BY_SOCKET_FLAGS: Readonly<Record<string, string>> = {
  mss: 'use --mss',
  cc: 'use --cc (the connection couples its subflows)',
  checksumOffload: 'the transport decides it',
  gatherPayload: 'the transport decides it',
};

function duration(key: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)$/.exec(text);
  if (!m)
    throw new Error(`--tcp ${key}: a duration with its unit, e.g. ${key}=200ms or ${key}=1s, not '${text}'`);
  return Math.round(Number(m[1]) * (m[2] === 's' ? SECOND : MS));
}

function value(key: keyof TcpConfig, text: string): TcpConfig[keyof TcpConfig] {
  const def = DEFAULT_TCP_CONFIG[key];
  if (typeof def === 'boolean') {
    if (text === 'true' || text === 'on' || text === '1') return true;
    if (text === 'false' || text === 'off' || text === '0') return false;
    throw new Error(`--tcp ${key}: true or false, not '${text}'`);
  }
  if (typeof def === 'number') {
    if (TCP_DURATION_KEYS.has(key)) return duration(key, text);
    const n = Number(text);
    if (text === '' || !Number.isFinite(n)) throw new Error(`--tcp ${key}: a number, not '${text}'`);
    return n;
  }
  throw new Error(`--tcp ${key}: not a setting a flag can give`);
}

/**
 * Parses `key=value` pairs separated by commas; unknown keys, keys in `owned` (with what to use instead) and
 * bad values throw with what to write.
 */
export function parseTcpFlags(
  text: string,
  owned: Readonly<Record<string, string>> = OWNED_BY_SOCKET_FLAGS,
): Partial<TcpConfig> {
  const keys = Object.keys(DEFAULT_TCP_CONFIG).filter((k) => owned[k] === undefined);
  const out: Record<string, unknown> = {};
  for (const part of text.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0) throw new Error(`--tcp: 'key=value' pairs separated by commas, not '${item}'`);
    const key = item.slice(0, eq).trim();
    if (owned[key] !== undefined) throw new Error(`--tcp ${key}: not here; ${owned[key]}`);
    if (!keys.includes(key))
      throw new Error(`--tcp: unknown setting '${key}'; the settings are ${keys.join(', ')}`);
    out[key] = value(key as keyof TcpConfig, item.slice(eq + 1).trim());
  }
  return out as Partial<TcpConfig>;
}
