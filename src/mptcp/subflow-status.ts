/**
 * What the application sees of a subflow (the subflow-control API of the MPTCP socket-API papers, and the
 * fields of Linux's `ss -M` / MPTCP_INFO subflow dumps): addresses, address ids, priorities in both
 * directions, handshake state and a tcp_info snapshot.
 */
import type { CcName } from '../cc/index.ts';
import type { TcpInfo } from '../tcp/config.ts';
import type { Subflow } from './subflow.ts';

export interface Endpoint {
  address: string;
  port: number;
}

export interface SubflowStatus {
  id: number;
  local: Endpoint;
  remote: Endpoint;
  /** Our address id for the local address, and the peer's for its address (null until known). */
  addressId: number;
  remoteAddressId: number | null;
  /** Backup as we asked the peer to treat it (local) and as the peer asked us (remote). */
  backup: { local: boolean; remote: boolean };
  /** MP_CAPABLE confirmed (initial) or the MP_JOIN handshake complete including the fourth ACK. */
  fullyEstablished: boolean;
  /** TCP handshake done but the MPTCP one not yet confirmed (a join waiting for its fourth ACK). */
  preEstablished: boolean;
  /** Still part of the connection (not closed). */
  attached: boolean;
  /** The connection's initial subflow (MP_CAPABLE). */
  initial: boolean;
  /** Carries data in primary-path-only mode. */
  primary: boolean;
  /** Marked stale after repeated timeouts (its data was reinjected elsewhere). */
  stale: boolean;
  closedReason: string | null;
  cc: CcName;
  tos: number;
  /** Payload bytes this subflow sent (first transmissions), retransmitted, and received. */
  bytesSent: number;
  bytesRetransmitted: number;
  bytesReceived: number;
  info: TcpInfo;
}

/** Per-subflow options the application may set (MptcpConnection.setSubflowOptions). */
export interface SubflowOptions {
  /** IP TOS / traffic class byte: DSCP << 2 | ECN. */
  tos?: number;
  cc?: CcName;
  noDelay?: boolean;
}

export function subflowStatus(sf: Subflow): SubflowStatus {
  const t = sf.tcp;
  const established = sf.phase === 'established';
  return {
    id: sf.id,
    local: { address: t.local.address, port: t.local.port },
    remote: { address: t.remote.address, port: t.remote.port },
    addressId: sf.localAddressId,
    remoteAddressId: sf.remoteAddressId,
    backup: { local: sf.backupLocal, remote: sf.backupRemote },
    fullyEstablished: established && (sf.kind === 'initial' || sf.fullyEstablished),
    preEstablished: established && sf.kind === 'join' && !sf.fullyEstablished,
    attached: sf.phase !== 'closed',
    initial: sf.kind === 'initial',
    primary: sf.primary,
    stale: sf.stale,
    closedReason: sf.closedReason,
    cc: t.congestionControl,
    tos: t.tos,
    bytesSent: sf.bytesSent,
    bytesRetransmitted: sf.bytesRetransmitted,
    bytesReceived: sf.bytesReceived,
    info: t.info(),
  };
}
