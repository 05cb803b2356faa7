/**
 * The configuration of the Linux-style in-kernel path manager: endpoints with flags and the two limits, as
 * `ip mptcp endpoint add ADDR [id N] [signal] [subflow] [backup] [fullmesh]` and
 * `ip mptcp limits set [subflows N] [add_addr_accepted M]` give them, checked the way the kernel checks
 * them (net/mptcp/pm_kernel.c), and a reader for those command lines.
 */
import { parseIp } from '../wire/address.ts';
import { DecodeError } from '../wire/errors.ts';
import { PathManagerError } from './errors.ts';
import { checkLimit, PM_ADDR_MAX } from './limits.ts';

export type EndpointFlag = 'signal' | 'subflow' | 'backup' | 'fullmesh';
export const ENDPOINT_FLAGS: readonly EndpointFlag[] = ['signal', 'subflow', 'backup', 'fullmesh'];

export interface EndpointSpec {
  address: string;
  /** Address id 1..255; left out, the lowest free one. */
  id?: number;
  flags: EndpointFlag[];
}

export interface EndpointLimits {
  /** Additional subflows per connection, created or accepted (Linux default 2). */
  subflows?: number;
  /** The peer's ADD_ADDRs that may create subflows (Linux default 0: announcements are only echoed). */
  addAddrAccepted?: number;
}

/** Linux's defaults (pm_nl_init_net). */
export const DEFAULT_LIMITS: Required<EndpointLimits> = { subflows: 2, addAddrAccepted: 0 };

/** An endpoint after checking: its id is fixed and its flags are booleans. */
export interface Endpoint {
  address: string;
  id: number;
  signal: boolean;
  subflow: boolean;
  backup: boolean;
  fullmesh: boolean;
}

/** Checks the endpoint list (as `ip mptcp endpoint add` would refuse) and gives every endpoint its id. */
export function checkEndpoints(specs: EndpointSpec[]): Endpoint[] {
  if (specs.length > PM_ADDR_MAX)
    throw new PathManagerError(`at most ${PM_ADDR_MAX} endpoints (as in Linux), got ${specs.length}`);
  const taken = new Set<number>();
  for (const s of specs) {
    if (s.id === undefined) continue;
    if (!Number.isInteger(s.id) || s.id < 1 || s.id > 255)
      throw new PathManagerError(`endpoint ${s.address}: id must be an integer in 1..255, got ${s.id}`);
    if (taken.has(s.id)) throw new PathManagerError(`endpoint id ${s.id} is given twice; ids are unique`);
    taken.add(s.id);
  }
  const seen = new Set<string>();
  let next = 1;
  return specs.map((s) => {
    if (parseIp(s.address) instanceof DecodeError)
      throw new PathManagerError(
        `endpoint address ${JSON.stringify(s.address)} is not an IPv4 or IPv6 address`,
      );
    if (seen.has(s.address)) throw new PathManagerError(`endpoint ${s.address} is given twice`);
    seen.add(s.address);
    for (const f of s.flags)
      if (!ENDPOINT_FLAGS.includes(f))
        throw new PathManagerError(
          `endpoint ${s.address}: unknown flag ${JSON.stringify(f)} (${ENDPOINT_FLAGS.join(', ')})`,
        );
    const has = (f: EndpointFlag) => s.flags.includes(f);
    if (has('signal') && has('fullmesh'))
      throw new PathManagerError(
        `endpoint ${s.address}: flags mustn't have both signal and fullmesh (as in Linux)`,
      );
    let id = s.id;
    if (id === undefined) {
      while (taken.has(next)) next++;
      id = next;
      taken.add(id);
    }
    return {
      address: s.address,
      id,
      signal: has('signal'),
      subflow: has('subflow'),
      backup: has('backup'),
      fullmesh: has('fullmesh'),
    };
  });
}

/** Both limits, Linux's defaults for those left out. */
export function checkLimits(limits: EndpointLimits = {}): Required<EndpointLimits> {
  return {
    subflows: checkLimit('subflows', limits.subflows ?? DEFAULT_LIMITS.subflows),
    addAddrAccepted: checkLimit(
      'add_addr_accepted',
      limits.addAddrAccepted ?? DEFAULT_LIMITS.addAddrAccepted,
    ),
  };
}

/**
 * Reads `ip mptcp endpoint add …` and `ip mptcp limits set …` lines (one per line; `#` comments and blank
 * lines skipped; a `dev IFACE` argument is accepted and ignored) into endpoints and limits.
 */
export function parseIpMptcp(text: string): { endpoints: EndpointSpec[]; limits: EndpointLimits } {
  const endpoints: EndpointSpec[] = [];
  const limits: EndpointLimits = {};
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    const where = `line ${i + 1} (${JSON.stringify(line)})`;
    const w = line.split(/\s+/);
    if (w[0] === 'ip') w.shift();
    if (w[0] !== 'mptcp')
      throw new PathManagerError(`${where}: expected "ip mptcp endpoint add" or "ip mptcp limits set"`);
    const number = (k: number) => {
      const v = Number(w[k]);
      if (w[k] === undefined || !/^\d+$/.test(w[k]!))
        throw new PathManagerError(`${where}: ${w[k - 1]} needs a number`);
      return v;
    };
    if (w[1] === 'endpoint' && w[2] === 'add' && w[3] !== undefined) {
      const spec: EndpointSpec = { address: w[3], flags: [] };
      for (let k = 4; k < w.length; k++) {
        const word = w[k]!;
        if (word === 'id') spec.id = number(++k);
        else if (word === 'dev') k++;
        else if ((ENDPOINT_FLAGS as readonly string[]).includes(word)) spec.flags.push(word as EndpointFlag);
        else throw new PathManagerError(`${where}: unsupported word ${JSON.stringify(word)}`);
      }
      endpoints.push(spec);
    } else if (w[1] === 'limits' && w[2] === 'set') {
      for (let k = 3; k < w.length; k++) {
        if (w[k] === 'subflows') limits.subflows = number(++k);
        else if (w[k] === 'add_addr_accepted') limits.addAddrAccepted = number(++k);
        else throw new PathManagerError(`${where}: unsupported limit ${JSON.stringify(w[k])}`);
      }
    } else
      throw new PathManagerError(
        `${where}: expected "ip mptcp endpoint add ADDR …" or "ip mptcp limits set …"`,
      );
  });
  checkEndpoints(endpoints);
  checkLimits(limits);
  return { endpoints, limits };
}
