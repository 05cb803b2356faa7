/**
 * `mptcp-ts experiment NAME [--quick] [--out DIR] [--replot]`: runs one measurement of experiments/ in the
 * simulator and writes DIR/NAME.json (the result, byte for byte the same for the same options) and
 * DIR/NAME.svg (its plot), then prints the acceptance checks. --replot redraws the SVG and re-evaluates the
 * checks from an existing JSON file without running anything. `mptcp-ts experiment list` names them all.
 * --jobs N splits the trials between N processes (experiments/lib/shards.ts); the result is the same.
 * Exit 0 when it ran (whatever the checks say), 2 for a bad name or option, 1 for a failure.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Option } from 'commander';
import { EXPERIMENTS, type ResultHeader } from '../../experiments/index.ts';
import type { TrialSharer } from '../../experiments/lib/shards.ts';
import { shareTrials } from '../../experiments/lib/trial.ts';
import type { CommandRegistrar } from './main.ts';

interface ExperimentOptions {
  quick?: boolean;
  out: string;
  replot?: boolean;
  jobs: string;
  /** Internal: this process is shard "k/N" of a --jobs run sharing trials in --shard-dir. */
  shard?: string;
  shardDir?: string;
}

const CLI = fileURLToPath(new URL('../../bin/mptcp-ts', import.meta.url));

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
    .option('--jobs <n>', 'split the trials between n processes (same result)', '1')
    .addOption(new Option('--shard <k/n>').hideHelp())
    .addOption(new Option('--shard-dir <dir>').hideHelp())
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
  if (opts.shard !== undefined) return runShard(e.run.bind(e), quick, opts.shard, opts.shardDir);
  const jobs = Number(opts.jobs);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64) {
    process.stderr.write(`experiment: --jobs expects a whole number from 1 to 64, got "${opts.jobs}"\n`);
    return 2;
  }
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
    const helpers = jobs > 1 ? startShards(name, quick, jobs) : null;
    try {
      result = e.run({ quick, log: (line) => process.stderr.write(`${line}\n`) });
    } catch (err) {
      // The other shards would wait for this one's trials for ever.
      for (const c of helpers?.children ?? []) c.kill();
      throw err;
    } finally {
      if (helpers !== null) await stopShards(helpers);
    }
  }
  mkdirSync(opts.out, { recursive: true });
  writeFileSync(files.json, `${JSON.stringify(result, null, 1)}\n`);
  writeFileSync(files.svg, e.plot(result));
  process.stdout.write(`${e.title}\nwrote ${files.json} and ${files.svg}\n`);
  for (const c of result.checks)
    process.stdout.write(`${c.pass ? 'PASS' : 'FAIL'}  ${c.name}: ${c.detail}\n`);
  return 0;
}

interface Shards {
  dir: string;
  children: ChildProcess[];
  sharer: TrialSharer;
}

/** Makes this process shard 0 of `jobs` and starts the others. */
function startShards(name: string, quick: boolean, jobs: number): Shards {
  const dir = mkdtempSync(join(tmpdir(), `mptcp-ts-${name}-`));
  const sharer = shareTrials({ dir })!;
  const children: ChildProcess[] = [];
  for (let k = 1; k < jobs; k++) {
    const args = [CLI, 'experiment', name, '--shard', `${k}/${jobs}`, '--shard-dir', dir];
    if (quick) args.push('--quick');
    children.push(spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] }));
  }
  return { dir, children, sharer };
}

/** Waits for the other shards (they end with the last trial) and removes the shared directory. */
async function stopShards(s: Shards): Promise<void> {
  shareTrials(null);
  await Promise.all(
    s.children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) resolve();
          else c.once('exit', () => resolve());
        }),
    ),
  );
  rmSync(s.dir, { recursive: true, force: true });
  process.stderr.write(
    `experiment: this process ran ${s.sharer.ranHere} of the ${s.sharer.total} trials, ${s.children.length} helper process(es) the rest\n`,
  );
}

/** A helper process of a --jobs run: runs its share of the trials (and reads the rest), writes nothing. */
function runShard(
  run: (opts: { quick: boolean; log: (line: string) => void }) => unknown,
  quick: boolean,
  shard: string,
  dir: string | undefined,
): number {
  const m = /^(\d+)\/(\d+)$/.exec(shard);
  if (m === null || dir === undefined || Number(m[1]) >= Number(m[2])) {
    process.stderr.write('experiment: --shard k/n needs 0 <= k < n and --shard-dir\n');
    return 2;
  }
  shareTrials({ dir });
  run({ quick, log: () => {} });
  return 0;
}
