/**
 * `mptcp-ts progmp check FILE...` (exit 0 when every file is a valid program, else 1 with the errors as
 * `file:line:col: message` on stderr) and `mptcp-ts progmp dump FILE` (the checked program in normal form).
 */
import { readFile } from 'node:fs/promises';
import type { CommandRegistrar } from '../cli/main.ts';
import { ProgmpError } from './errors.ts';
import { checkSource, dumpProgram } from './program.ts';

/** Reads and checks one file; returns its source, or null after reporting why not. */
async function load(file: string): Promise<string | null> {
  let src: string;
  try {
    src = await readFile(file, 'utf8');
  } catch (e) {
    process.stderr.write(`${file}: cannot read: ${(e as Error).message}\n`);
    return null;
  }
  try {
    checkSource(src);
    return src;
  } catch (e) {
    if (!(e instanceof ProgmpError)) throw e;
    process.stderr.write(`${e.withFile(file).message}\n`);
    return null;
  }
}

export const registerProgmp: CommandRegistrar = (program, setCode) => {
  const progmp = program.command('progmp').description('check and print ProgMP scheduler programs');
  progmp
    .command('check')
    .description('check ProgMP programs; print file:line:col: message for each error')
    .argument('<files...>', 'program files (.progmp)')
    .action(async (files: string[]) => {
      let ok = true;
      for (const f of files) if ((await load(f)) === null) ok = false;
      setCode(ok ? 0 : 1);
    });
  progmp
    .command('dump')
    .description('print a checked program in normal form (aliases and DEFINE names resolved)')
    .argument('<file>', 'program file (.progmp)')
    .action(async (file: string) => {
      const src = await load(file);
      if (src === null) {
        setCode(1);
        return;
      }
      process.stdout.write(dumpProgram(src));
    });
};
