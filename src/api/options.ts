/**
 * Options of the socket API: which local addresses and transport a connection uses, its path manager,
 * scheduler, congestion control, policies and timeouts. Options not given come from MPTCP_TS_* environment
 * variables (src/api/env.ts), so an unmodified application can be configured from outside.
 */
import { CC_NAMES, type CcName } from '../cc/index.ts';
import type { TunTransportOptions } from '../io/tun-transport.ts';
import type { UdpTransportOptions } from '../io/udp.ts';
import type { MptcpConfig } from '../mptcp/config.ts';
import type { AddressPair, PathManager } from '../mptcp/connection.ts';
import { PATH_MANAGER_NAMES, type PathManagerName } from '../pm/index.ts';
import { MptcpApiError } from './errors.ts';

/**
 * How a connection opens subflows: a manager of src/pm by name (fullmesh: one per local × remote address
 * pair; passive: none beyond the first; ndiffports; endpoints: Linux-style; userspace), or your own.
 */
export type PathManagerSpec = PathManagerName | ((ctx: { localAddresses: string[] }) => PathManager);

export interface MultipathOptions {
  /**
   * Local addresses the connection may use. Default: the address the route to the peer picks first, then
   * every other non-loopback address of the host of the same family (only that first one for a loopback peer).
   */
  addresses?: string[];
  /**
   * 'udp' (default; TCP-in-UDP, no privileges) or 'tun' (real IP through a TUN device, root; `addresses`
   * are then the stack's own addresses behind the device).
   */
  transport?: string;
  /** Options handed to the transport of that kind. */
  transportOptions?: { udp?: UdpTransportOptions; tun?: TunTransportOptions; [kind: string]: unknown };
  /** Default: 'fullmesh' for a client, 'passive' for a server. */
  pathManager?: PathManagerSpec;
  /** fullmesh: subflows per address pair; ndiffports: subflows on the initial pair. */
  subflowsPerPath?: number;
  /** Scheduler name: a built-in (default, roundrobin, redundant, ppos, blest, ecf) or a loaded ProgMP program. */
  scheduler?: string;
  /** Congestion control of the subflows (lia, olia, balia couple them; reno, cubic do not). Default lia. */
  cc?: CcName;
  /** Primary-path-only mode: data only on subflows of these addresses while one works. */
  primaryPathOnly?: string[];
  /** Persistent priority lists: subflows on these address pairs are active / backup, now and later. */
  activeList?: AddressPair[];
  backupList?: AddressPair[];
  /** TCP MSS of every subflow. Default: from the MTU of the local interfaces (1460 on Ethernet over IPv4). */
  mss?: number;
  /** Ask for DSS checksums (RFC 8684 §3.3.1). */
  checksum?: boolean;
  /** Subflow keep-alives (they also keep NAT mappings of idle subflows alive). Default on, idle 5 s. */
  keepAlive?: boolean;
  keepAliveIdleMs?: number;
  /**
   * Abort with ETIMEDOUT when written data sees no data-level acknowledgement, or no subflow works, for this
   * long (ms; like TCP_USER_TIMEOUT). Default 30 000; 0 turns it off.
   */
  userTimeoutMs?: number;
  /** Disable Nagle on every subflow (the default for MPTCP subflows: the scheduler decides what goes out). */
  noDelay?: boolean;
  maxSubflows?: number;
  /** Engine tunables beyond the above (src/mptcp/config.ts). */
  config?: Partial<MptcpConfig>;
  /**
   * Capture every segment of this socket's (or server's) connections into this pcap file, as raw IP packets
   * with the subflows' addresses (src/io/capture.ts): readable by Wireshark and `mptcp-ts inspect`.
   */
  pcap?: string;
  /** Seed of the engine's random numbers (keys, ports, ISNs); random by default. For reproducible tests. */
  seed?: number;
}

/** Checks what can be checked without the network; throws MptcpApiError naming the bad option. */
export function checkOptions(o: MultipathOptions, where = 'options'): void {
  if (o.cc !== undefined && !(CC_NAMES as readonly string[]).includes(o.cc))
    throw new MptcpApiError(`${where}.cc must be one of ${CC_NAMES.join(', ')}, got '${o.cc}'`);
  if (o.mss !== undefined && (!Number.isInteger(o.mss) || o.mss < 64 || o.mss > 65000))
    throw new MptcpApiError(`${where}.mss must be an integer in 64..65000, got ${o.mss}`);
  if (
    o.pathManager !== undefined &&
    typeof o.pathManager !== 'function' &&
    !(PATH_MANAGER_NAMES as readonly string[]).includes(o.pathManager)
  )
    throw new MptcpApiError(
      `${where}.pathManager must be one of ${PATH_MANAGER_NAMES.join(', ')} or a function, got '${o.pathManager}'`,
    );
  for (const k of ['userTimeoutMs', 'keepAliveIdleMs'] as const) {
    const v = o[k];
    if (v !== undefined && !(Number.isFinite(v) && v >= 0))
      throw new MptcpApiError(`${where}.${k} must be a number of milliseconds >= 0, got ${v}`);
  }
  if (o.addresses !== undefined && (!Array.isArray(o.addresses) || o.addresses.length === 0))
    throw new MptcpApiError(`${where}.addresses must be a non-empty array of IP addresses`);
}
