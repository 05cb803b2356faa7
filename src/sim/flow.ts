/** A flow's transport as the scenario runner drives it (plain TCP in tcp-flow.ts, MPTCP in mptcp-flow.ts). */
import type { MptcpConfig } from '../mptcp/config.ts';
import type { TcpConfig } from '../tcp/config.ts';
import type { SubflowResult } from './result.ts';
import type { FlowAction, FlowSpec } from './scenario.ts';
import { ScenarioError } from './units.ts';

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

/** TCP settings beyond the scenario format; the congestion control stays the scenario's `cc`. */
export type EngineTcp = Omit<Partial<TcpConfig>, 'cc' | 'ccFactory'>;

/**
 * Engine settings of one flow beyond what the scenario format describes (buffers, MSS, TCP behaviours), for
 * both ends of the flow. The congestion control and the scheduler stay the scenario's.
 */
export interface FlowEngine {
  /** An MPTCP flow's connection settings; its subflows' TCP settings go in `mptcp.tcp`. */
  mptcp?: Omit<Partial<MptcpConfig>, 'cc' | 'scheduler' | 'tcp'> & { tcp?: EngineTcp };
  /** A TCP flow's connection settings. */
  tcp?: EngineTcp;
}

/** Settings the scenario owns (a caller without the types could still pass them). */
const OWNED_MPTCP = ['cc', 'scheduler'];
const OWNED_TCP = ['cc', 'ccFactory'];

/**
 * Refuses engine settings that would be ignored or would override the scenario: a name that is no flow, the
 * wrong kind of settings for the flow's protocol, or the flow's congestion control or scheduler.
 */
export function checkFlowEngine(
  flows: readonly FlowSpec[],
  engine: Readonly<Record<string, FlowEngine>>,
): void {
  for (const [name, e] of Object.entries(engine)) {
    const at = `options.engine.${name}`;
    const f = flows.find((x) => x.name === name);
    if (f === undefined) throw new ScenarioError(at, 'the scenario has no flow of this name');
    const mptcp = f.protocol === 'mptcp';
    if (mptcp && e.tcp !== undefined)
      throw new ScenarioError(
        `${at}.tcp`,
        "an MPTCP flow takes engine.mptcp (its subflows' TCP settings in mptcp.tcp)",
      );
    if (!mptcp && e.mptcp !== undefined)
      throw new ScenarioError(`${at}.mptcp`, 'a TCP flow takes engine.tcp');
    const given: [string, object | undefined, string[]][] = mptcp
      ? [
          [`${at}.mptcp`, e.mptcp, OWNED_MPTCP],
          [`${at}.mptcp.tcp`, e.mptcp?.tcp, OWNED_TCP],
        ]
      : [[`${at}.tcp`, e.tcp, OWNED_TCP]];
    for (const [path, settings, owned] of given)
      for (const key of owned)
        if (settings !== undefined && key in settings)
          throw new ScenarioError(
            `${path}.${key}`,
            "the scenario's flow sets this (its cc or scheduler field)",
          );
  }
}
