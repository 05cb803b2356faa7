/** The `mptcp-ts` command line: one file per command under src/cli/, wired here. */
import { Command, CommanderError } from 'commander';
import { registerProgmp } from '../progmp/cli.ts';
import { registerBench } from './bench.ts';
import { registerClient } from './client.ts';
import { registerDemo } from './demo.ts';
import { registerExperiment } from './experiment.ts';
import { registerInspect } from './inspect.ts';
import { registerNc } from './nc.ts';
import { registerServer } from './server.ts';
import { registerSim } from './sim.ts';

export async function main(argv: string[]): Promise<number> {
  const program = new Command('mptcp-ts')
    .description('Multipath TCP (RFC 8684) in userspace: simulator, tools and sockets')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  let code = 0;
  const setCode = (c: number) => {
    code = c;
  };
  for (const register of commands) register(program, setCode);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
  return code;
}

/** A command registers itself on the program and reports its exit status through `setCode`. */
export type CommandRegistrar = (program: Command, setCode: (code: number) => void) => void;

const commands: CommandRegistrar[] = [
  registerDemo,
  registerInspect,
  registerSim,
  registerProgmp,
  registerBench,
  registerClient,
  registerServer,
  registerNc,
  registerExperiment,
];
