/**
 * Path managers by name, for the scenario runner, the socket API and the CLI: `createPathManager` for the
 * side that connects, `createServerPathManager` for a listener (a fresh manager per accepted connection).
 */
import type { PathManager } from '../mptcp/connection.ts';
import {
  DEFAULT_LIMITS,
  type EndpointFlag,
  type EndpointLimits,
  type EndpointSpec,
} from './endpoint-config.ts';
import { endpointsManager } from './endpoints.ts';
import { PathManagerError } from './errors.ts';
import { fullmeshManager } from './fullmesh.ts';
import { PM_ADDR_MAX } from './limits.ts';
import { ndiffportsManager } from './ndiffports.ts';
import { passiveManager } from './passive.ts';
import { type UserspaceOptions, userspaceManager } from './userspace.ts';

export type { EndpointFlag, EndpointLimits, EndpointSpec } from './endpoint-config.ts';
export { parseIpMptcp } from './endpoint-config.ts';
export { PathManagerError } from './errors.ts';
export {
  type UserspaceEvent,
  type UserspaceManager,
  type UserspaceOptions,
  userspaceOf,
} from './userspace.ts';

export const PATH_MANAGER_NAMES = ['passive', 'fullmesh', 'ndiffports', 'endpoints', 'userspace'] as const;
export type PathManagerName = (typeof PATH_MANAGER_NAMES)[number];

export interface PathManagerSpec {
  name: PathManagerName;
  /** This side's addresses, the initial subflow's first. */
  localAddresses: string[];
  /** fullmesh: subflows per address pair (default 1); ndiffports: subflows on the initial pair (default 2). */
  subflowsPerPath?: number;
  /** Local addresses whose subflows start as backup (the initial one's included: it sends MP_PRIO). */
  backupAddresses?: string[];
  /**
   * endpoints: the endpoint table. Left out, it is derived from the addresses: on the connecting side a
   * `subflow` endpoint per address after the first, on a listener a `signal` endpoint per address after the
   * first; `backup` for backup addresses (the first address gets an endpoint only to carry that flag).
   */
  endpoints?: EndpointSpec[];
  /**
   * passive, endpoints: the join limits (`ip mptcp limits`). Left out: for given endpoints Linux's defaults
   * (2 subflows, no accepted announcement); for derived ones enough subflows for every address on the
   * connecting side, and Linux's maximum (8) on a listener, as the testbed sets it.
   */
  limits?: EndpointLimits;
  /** endpoints: the local address routing picks toward a remote one (default: the initial subflow's). */
  route?: (remote: string) => string | null;
  /** userspace: the application's callbacks. */
  userspace?: UserspaceOptions;
}

/** The path manager of a connection this side opens. */
export function createPathManager(spec: PathManagerSpec): PathManager {
  check(spec);
  const backup = new Set(spec.backupAddresses ?? []);
  switch (spec.name) {
    case 'passive':
      return passiveManager(spec.limits?.subflows === undefined ? {} : { subflows: spec.limits.subflows });
    case 'fullmesh':
      return fullmeshManager({
        localAddresses: spec.localAddresses,
        subflowsPerPair: spec.subflowsPerPath ?? 1,
        backupAddresses: [...backup],
      });
    case 'ndiffports':
      return ndiffportsManager({
        subflows: spec.subflowsPerPath ?? 2,
        backup: backup.has(spec.localAddresses[0]!),
      });
    case 'endpoints': {
      const endpoints = spec.endpoints ?? derive(spec, 'subflow');
      const derived = endpoints.filter((e) => e.flags.includes('subflow')).length;
      const limits =
        spec.limits ??
        (spec.endpoints ? undefined : { subflows: Math.max(DEFAULT_LIMITS.subflows, derived) });
      return endpointsManager({
        endpoints,
        ...(limits ? { limits } : {}),
        ...(spec.route ? { route: spec.route } : {}),
      });
    }
    case 'userspace':
      return userspaceManager(spec.userspace);
  }
}

/**
 * What a listener uses per accepted connection: a server opens no subflow of its own under passive,
 * fullmesh and ndiffports (the client's manager does), so those accept joins within `limits.subflows`; the
 * endpoints and userspace managers work on both sides.
 */
export function createServerPathManager(spec: PathManagerSpec): () => PathManager {
  check(spec);
  switch (spec.name) {
    case 'passive':
    case 'fullmesh':
    case 'ndiffports': {
      const subflows = spec.limits?.subflows;
      return () => passiveManager(subflows === undefined ? {} : { subflows });
    }
    case 'endpoints': {
      const endpoints = spec.endpoints ?? derive(spec, 'signal');
      const limits = spec.limits ?? (spec.endpoints ? undefined : { subflows: PM_ADDR_MAX });
      return () =>
        endpointsManager({
          endpoints,
          ...(limits ? { limits } : {}),
          ...(spec.route ? { route: spec.route } : {}),
        });
    }
    case 'userspace':
      return () => userspaceManager(spec.userspace);
  }
}

function check(spec: PathManagerSpec): void {
  if (!(PATH_MANAGER_NAMES as readonly string[]).includes(spec.name))
    throw new PathManagerError(
      `unknown path manager ${JSON.stringify(spec.name)}: use one of ${PATH_MANAGER_NAMES.join(', ')}`,
    );
  if (spec.localAddresses.length === 0)
    throw new PathManagerError('localAddresses must hold at least the initial subflow’s address');
  const n = spec.subflowsPerPath;
  if (n !== undefined && (!Number.isInteger(n) || n < 1))
    throw new PathManagerError(`subflowsPerPath must be a whole number ≥ 1, got ${n}`);
}

/** One endpoint per address after the first with `flag`, backup addresses flagged (the first one too). */
function derive(spec: PathManagerSpec, flag: EndpointFlag): EndpointSpec[] {
  const backup = new Set(spec.backupAddresses ?? []);
  const out: EndpointSpec[] = [];
  spec.localAddresses.forEach((address, i) => {
    const flags: EndpointFlag[] = i === 0 ? [] : [flag];
    if (backup.has(address)) flags.push('backup');
    if (flags.length > 0) out.push({ address, flags });
  });
  return out;
}
