/**
 * `mptcp-ts experiment NAME [--quick] [--out DIR] [--replot]`: runs one measurement of experiments/ in the
 * simulator and writes DIR/NAME.json (the result, byte for byte the same for the same options) and
 * DIR/NAME.svg (its plot), then prints the acceptance checks. --replot redraws the SVG and re-evaluates the
 * checks from an existing JSON file without running anything. `mptcp-ts experiment list` names them all.
 * Exit 0 when it ran (whatever the checks say), 2 for a bad name or option, 1 for a failure.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXPERIMENTS, type ResultHeader } from '../../experiments/index.ts';
import type { CommandRegistrar } from './main.ts';

interface ExperimentOptions {
  quick?: boolean;
  out: string;
  replot?: boolean;
}

const DEFAULT_OUT = 'experiments/results';

/** File names of a result: quick runs get their own, so they never overwrite a full run's files. */
export function resultFiles(dir: string, name: string, quick: boolean): { json: string; svg: string } {
  const base = quick ? `${name}.quick` : name;
  return { json: join(dir, `${base}.json`), svg: join(dir, `${base}.svg`) };
}

export const registerExperiment: CommandRegistrar = (program, setCode) => {
  program
    .command('experiment')
    .description(
      `run a measurement of experiments/ and write its JSON result and SVG plot (${Object.keys(EXPERIMENTS).join(', ')}; "list" describes them)`,
    )
    .argument('<name>', 'experiment name, or "list"')
    .option('--quick', 'fewer seeds and shorter runs (for tests)')
    .option('--out <dir>', 'directory for NAME.json and NAME.svg', DEFAULT_OUT)
    .option('--replot', 'redraw the SVG and re-check from the existing JSON result; run nothing')
    .action(async (name: string, opts: ExperimentOptions) => {
      setCode(await experimentCommand(name, opts));
    });
};

async function experimentCommand(name: string, opts: ExperimentOptions): Promise<number> {
  if (name === 'list') {
    for (const [n, load] of Object.entries(EXPERIMENTS)) {
      const e = await load();
      process.stdout.write(`${n.padEnd(12)} ${e.summary}\n`);
    }
    return 0;
  }
  const load = EXPERIMENTS[name];
  if (!load) {
    process.stderr.write(
      `experiment: unknown experiment "${name}"; known: ${Object.keys(EXPERIMENTS).join(', ')}\n`,
    );
    return 2;
  }
  const e = await load();
  const quick = opts.quick === true;
  const files = resultFiles(opts.out, name, quick);
  let result: ResultHeader;
  if (opts.replot) {
    try {
      result = JSON.parse(readFileSync(files.json, 'utf8')) as ResultHeader;
    } catch (err) {
      process.stderr.write(`experiment: --replot: cannot read ${files.json}: ${(err as Error).message}\n`);
      return 2;
    }
    result.checks = e.checks(result);
  } else {
    result = e.run({ quick, log: (line) => process.stderr.write(`${line}\n`) });
  }
  mkdirSync(opts.out, { recursive: true });
  writeFileSync(files.json, `${JSON.stringify(result, null, 1)}\n`);
  writeFileSync(files.svg, e.plot(result));
  process.stdout.write(`${e.title}\nwrote ${files.json} and ${files.svg}\n`);
  for (const c of result.checks)
    process.stdout.write(`${c.pass ? 'PASS' : 'FAIL'}  ${c.name}: ${c.detail}\n`);
  return 0;
}
