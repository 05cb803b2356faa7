/** MPTCP connection tunables, with Linux-like defaults where Linux has one. */
import type { TcpConfig } from '../tcp/config.ts';
import { type Duration, MS, SECOND } from '../util/time.ts';

export interface MptcpConfig {
  /** Ask for DSS checksums (the A flag of MP_CAPABLE, RFC 8684 §3.3.1). */
  checksum: boolean;
  /** Subflows per connection at most, the initial one included (Linux's hard maximum is 8). */
  maxSubflows: number;
  /** Scheduler name (built-in or loaded ProgMP program). */
  scheduler: string;
  /** Congestion control of the subflows: 'lia' | 'olia' | 'balia' couple them; 'reno' | 'cubic' do not. */
  cc: string;
  /** Connection-level send buffer (bytes written and not yet DATA_ACKed). */
  sndBuf: number;
  /** Initial connection-level receive window in bytes. */
  rcvBuf: number;
  /** Cap of the receive window, which grows toward 2 · ΣBW · RTTmax (the Linux paper's rule). */
  rcvBufMax: number;
  /** Retransmission timeouts in a row after which a subflow is stale (Linux's stale_loss_cnt). */
  staleLossCnt: number;
  /** Un-echoed ADD_ADDR retransmissions (Linux: 3) and the wait between them. */
  addAddrRetries: number;
  addAddrTimeout: Duration;
  /** Re-creating a failed subflow: first wait, then doubled up to the maximum. */
  rejoinInitial: Duration;
  rejoinMax: Duration;
  /** Largest RTO of a subflow while other subflows work: a path that comes back is found quickly. */
  subflowMaxRto: Duration;
  /**
   * A subflow that has heard nothing for this long is probed (TCP keep-alive, 3 probes 1 s apart) and closed
   * when the peer stays silent, so a receiving end notices a path that died (the sender gave up on it) and
   * its path manager can re-create it. Also keeps NAT mappings of idle subflows. 0 disables it.
   */
  subflowKeepAlive: Duration;
  /**
   * A listener takes joins at the address and port of a connection's initial subflow. false sets the C flag
   * of MP_CAPABLE (RFC 8684 §3.1: e.g. behind a load balancer) and refuses such joins; joins then go to
   * announced addresses only.
   */
  joinsToInitialAddress: boolean;
  /**
   * A write first tops up the newest packet still in Q when that packet is short and carries the same USER,
   * as Linux's tcp_sendmsg fills the unsent tail of its write queue: small writes queued behind a full window
   * leave as full segments instead of one segment each. Off, every write is cut into packets of its own (the
   * simulator keeps that, so its results stay comparable; the real drivers turn it on).
   */
  coalesceWrites: boolean;
  /** TCP settings of every subflow. */
  tcp: Partial<TcpConfig>;
}

/**
 * Payload bytes of a full data segment on a subflow of send MSS `mss`: less the timestamps option (12 bytes)
 * when negotiated and a DSS with a 64-bit data sequence number and DATA_ACK (28). The connection cuts its
 * packets to this size for its smallest subflow.
 */
export function segmentPayload(mss: number, timestamps = true): number {
  return mss - (timestamps ? 12 : 0) - 28;
}

export const DEFAULT_MPTCP_CONFIG: MptcpConfig = {
  checksum: false,
  maxSubflows: 8,
  scheduler: 'default',
  cc: 'lia',
  sndBuf: 4 * 1024 * 1024,
  rcvBuf: 256 * 1024,
  rcvBufMax: 16 * 1024 * 1024,
  staleLossCnt: 4,
  addAddrRetries: 3,
  addAddrTimeout: 2 * SECOND,
  rejoinInitial: 250 * MS,
  rejoinMax: 1 * SECOND,
  subflowMaxRto: 1 * SECOND,
  subflowKeepAlive: 5 * SECOND,
  joinsToInitialAddress: true,
  coalesceWrites: false,
  tcp: {},
};

export class MptcpConfigError extends Error {
  override name = 'MptcpConfigError';
}

export function resolveMptcpConfig(base: MptcpConfig, over?: Partial<MptcpConfig>): MptcpConfig {
  const c = { ...base, ...over, tcp: { ...base.tcp, ...over?.tcp } };
  if (!Number.isInteger(c.maxSubflows) || c.maxSubflows < 1 || c.maxSubflows > 64)
    throw new MptcpConfigError(`maxSubflows must be an integer in 1..64, got ${c.maxSubflows}`);
  for (const k of ['sndBuf', 'rcvBuf', 'rcvBufMax'] as const)
    if (!(c[k] > 0)) throw new MptcpConfigError(`${k} must be a positive number of bytes, got ${c[k]}`);
  return c;
}
