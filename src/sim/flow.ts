/** A flow's transport as the scenario runner drives it (plain TCP in tcp-flow.ts, MPTCP in mptcp-flow.ts). */
import type { MptcpConfig } from '../mptcp/config.ts';
import type { TcpConfig } from '../tcp/config.ts';
import type { SubflowResult } from './result.ts';
import type { FlowAction } from './scenario.ts';

export interface FlowTransport {
  /** Opens the client side now; the application gets its socket. */
  start(): void;
  /** Nothing more will happen: both ends closed, or the client gave up before the server accepted. */
  readonly done: boolean;
  readonly fallback: boolean;
  /** One entry per subflow the connection had (TCP: exactly one). */
  subflows(): SubflowResult[];
  /** A timed API call of the scenario (MPTCP only; the parser refuses actions on TCP flows). */
  act?(action: FlowAction): void;
}

/**
 * Engine settings of one flow beyond what the scenario format describes (buffers, MSS, TCP behaviours): the
 * MPTCP connection's for an MPTCP flow, the connection's for a TCP flow. Both ends get them; the scenario's
 * `cc` and `scheduler` win over any given here.
 */
export interface FlowEngine {
  mptcp?: Partial<MptcpConfig>;
  tcp?: Partial<TcpConfig>;
}
