/** Connection-level info, after Linux's struct mptcp_info (MPTCP_INFO), with stream offsets for sequence numbers. */
import type { ConnectionState } from './connection.ts';

export interface MptcpInfo {
  state: ConnectionState;
  fallback: boolean;
  /** DSS checksums in use (either end asked). */
  checksums: boolean;
  localToken: number;
  remoteToken: number;
  /** Live subflows, all subflows this connection ever had, and the limit. */
  subflows: number;
  subflowsTotal: number;
  subflowsMax: number;
  localAddresses: number;
  remoteAddresses: number;
  /** Local addresses other than the initial one (candidates for ADD_ADDR). */
  addAddrSignal: number;
  /** Stream offsets: bytes written, acknowledged at the data level (DATA_ACK), and expected next from the peer. */
  writeSeq: number;
  sndUna: number;
  rcvNxt: number;
  bytesWritten: number;
  /** Payload bytes handed to subflows, of which reinjections; bytes acknowledged; received on subflows; delivered. */
  bytesSent: number;
  bytesReinjected: number;
  bytesAcked: number;
  bytesReceived: number;
  bytesDelivered: number;
  sendBuffered: number;
  /** The connection-level receive window we offer (auto-tuned toward 2·ΣBW·RTTmax). */
  receiveWindow: number;
  scheduler: string;
  cc: string;
}
