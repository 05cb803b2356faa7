/**
 * The engine flags of `mptcp-ts sim` (--linux, --tcp, --coalesce, --sndbuf, --rcvbuf): settings the scenario
 * format has no field for, given to every flow of the scenario (RunOptions.engine), so that a run with the real
 * drivers' TCP behaviours or larger buffers needs no code.
 */
import type { FlowEngine } from '../sim/flow.ts';
import type { Scenario } from '../sim/scenario.ts';
import { LINUX_BEHAVIOURS, type TcpConfig } from '../tcp/config.ts';
import { parseBytes, parseTcpFlags } from './tcp-flags.ts';

export interface SimEngineFlags {
  linux?: boolean;
  tcp?: string;
  coalesce?: boolean;
  sndbuf?: string;
  rcvbuf?: string;
}

/** TCP settings a scenario gives itself. */
const OWNED_BY_SCENARIO: Readonly<Record<string, string>> = { cc: "set the flow's cc in the scenario" };

/** The engine settings of every flow; empty when no flag was given (the simulator's defaults stay). */
export function simEngine(scenario: Scenario, f: SimEngineFlags): Record<string, FlowEngine> {
  if (!f.linux && f.tcp === undefined && !f.coalesce && f.sndbuf === undefined && f.rcvbuf === undefined)
    return {};
  const tcp: Partial<TcpConfig> = {
    ...(f.linux ? LINUX_BEHAVIOURS : {}),
    ...(f.tcp !== undefined ? parseTcpFlags(f.tcp, OWNED_BY_SCENARIO) : {}),
  };
  const buffers = {
    ...(f.sndbuf !== undefined ? { sndBuf: parseBytes(f.sndbuf) } : {}),
    ...(f.rcvbuf !== undefined ? { rcvBufMax: parseBytes(f.rcvbuf) } : {}),
  };
  const engine: Record<string, FlowEngine> = {};
  for (const flow of scenario.flows)
    engine[flow.name] =
      flow.protocol === 'mptcp'
        ? { mptcp: { ...buffers, ...(f.coalesce ? { coalesceWrites: true } : {}), tcp } }
        : { tcp: { ...tcp, ...buffers } };
  return engine;
}
