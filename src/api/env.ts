/**
 * Drop-in configuration by environment (the UAV paper's ROS integration): an application that calls the API
 * without these options gets them from MPTCP_TS_* variables. Options passed in code always win.
 *
 *   MPTCP_TS_PRIMARY_PATH_ONLY=10.0.1.1[,..]  primary-path-only mode on these addresses
 *   MPTCP_TS_SCHEDULER=blest | ./my.progmp      built-in or loaded scheduler, or a ProgMP file to load
 *   MPTCP_TS_CC=olia                            congestion control of the subflows
 *   MPTCP_TS_ADDRESSES=10.0.1.1,10.0.2.1        local addresses
 *   MPTCP_TS_BACKUP=10.0.2.1[,..]               subflows from these local addresses are backup
 *   MPTCP_TS_PATH_MANAGER=fullmesh | passive | ndiffports | endpoints
 *   MPTCP_TS_TRANSPORT=udp
 *   MPTCP_TS_MSS=1400
 *   MPTCP_TS_CHECKSUM=1
 *   MPTCP_TS_USER_TIMEOUT_MS=30000
 */
import { readFileSync } from 'node:fs';
import { CC_NAMES, type CcName } from '../cc/index.ts';
import { PATH_MANAGER_NAMES, type PathManagerName } from '../pm/index.ts';
import { loadScheduler } from '../progmp/program.ts';
import { MptcpApiError } from './errors.ts';
import type { MultipathOptions } from './options.ts';

export type Environment = Record<string, string | undefined>;

const list = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

function bad(name: string, value: string, want: string): MptcpApiError {
  return new MptcpApiError(`environment variable ${name}='${value}' is invalid: ${want}`);
}

/** A scheduler option value: a name as is, or a ProgMP file (a path, or a name ending in .progmp) loaded now. */
export function schedulerFrom(value: string): string {
  if (!value.includes('/') && !value.endsWith('.progmp')) return value;
  let source: string;
  try {
    source = readFileSync(value, 'utf8');
  } catch (e) {
    throw new MptcpApiError(`cannot read ProgMP scheduler file ${value}: ${(e as Error).message}`);
  }
  const base = value.replace(/^.*\//, '').replace(/\.progmp$/, '');
  return loadScheduler(source, base);
}

/** `opts` completed from the environment (fields already set are kept). Throws on malformed variables. */
export function withEnvironment(opts: MultipathOptions, env: Environment = process.env): MultipathOptions {
  const o: MultipathOptions = { ...opts };
  const get = (name: string) => {
    const v = env[`MPTCP_TS_${name}`];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const ppo = get('PRIMARY_PATH_ONLY');
  if (o.primaryPathOnly === undefined && ppo !== undefined) o.primaryPathOnly = list(ppo);
  const sched = get('SCHEDULER');
  if (o.scheduler === undefined && sched !== undefined) o.scheduler = schedulerFrom(sched);
  const cc = get('CC');
  if (o.cc === undefined && cc !== undefined) {
    if (!(CC_NAMES as readonly string[]).includes(cc))
      throw bad('MPTCP_TS_CC', cc, `use one of ${CC_NAMES.join(', ')}`);
    o.cc = cc as CcName;
  }
  const addrs = get('ADDRESSES');
  if (o.addresses === undefined && addrs !== undefined) o.addresses = list(addrs);
  const backup = get('BACKUP');
  if (o.backupList === undefined && backup !== undefined)
    o.backupList = list(backup).map((local) => ({ local }));
  const pm = get('PATH_MANAGER');
  if (o.pathManager === undefined && pm !== undefined) {
    if (!(PATH_MANAGER_NAMES as readonly string[]).includes(pm))
      throw bad('MPTCP_TS_PATH_MANAGER', pm, `use one of ${PATH_MANAGER_NAMES.join(', ')}`);
    o.pathManager = pm as PathManagerName;
  }
  const transport = get('TRANSPORT');
  if (o.transport === undefined && transport !== undefined) o.transport = transport;
  const mss = get('MSS');
  if (o.mss === undefined && mss !== undefined) {
    const n = Number(mss);
    if (!Number.isInteger(n)) throw bad('MPTCP_TS_MSS', mss, 'give an integer number of bytes');
    o.mss = n;
  }
  const checksum = get('CHECKSUM');
  if (o.checksum === undefined && checksum !== undefined) {
    if (!/^(0|1|true|false)$/.test(checksum)) throw bad('MPTCP_TS_CHECKSUM', checksum, 'use 1 or 0');
    o.checksum = checksum === '1' || checksum === 'true';
  }
  const ut = get('USER_TIMEOUT_MS');
  if (o.userTimeoutMs === undefined && ut !== undefined) {
    const n = Number(ut);
    if (!(n >= 0)) throw bad('MPTCP_TS_USER_TIMEOUT_MS', ut, 'give milliseconds >= 0');
    o.userTimeoutMs = n;
  }
  return o;
}
