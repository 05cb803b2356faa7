/**
 * Every experiment of experiments/ runs with --quick (fewer seeds, shorter runs): its result has one trial per
 * configuration and seed with sane figures, its checks are evaluated, its plot is a complete SVG; and the
 * command (run in this process) writes NAME.quick.json and NAME.quick.svg, redraws them with --replot, and
 * refuses unknown names.
 * The figures of a 2-second run say nothing about the acceptance criteria: those are judged on the full runs
 * in experiments/results/.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXPERIMENTS } from '../../experiments/index.ts';
import type { ResultHeader } from '../../experiments/lib/experiment.ts';
import { main } from '../../src/cli/main.ts';

/** Runs the command line in this process (no second tsx start-up), capturing what it prints. */
async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const { stdout, stderr } = process;
  const writeOut = stdout.write;
  const writeErr = stderr.write;
  stdout.write = ((s: string) => out.push(s) > 0) as typeof stdout.write;
  stderr.write = ((s: string) => err.push(s) > 0) as typeof stderr.write;
  try {
    const code = await main(argv);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    stdout.write = writeOut;
    stderr.write = writeErr;
  }
}

interface AnyTrial {
  seed: number;
  integrity?: boolean;
  [k: string]: unknown;
}

/** Every number in the object tree is finite. */
function finite(x: unknown, path = 'result'): void {
  if (typeof x === 'number') assert.ok(Number.isFinite(x), `${path} = ${x}`);
  else if (Array.isArray(x)) for (const [i, v] of x.entries()) finite(v, `${path}[${i}]`);
  else if (x !== null && typeof x === 'object')
    for (const [k, v] of Object.entries(x)) finite(v, `${path}.${k}`);
}

describe('experiments --quick', () => {
  for (const [name, load] of Object.entries(EXPERIMENTS)) {
    it(`${name}: runs, checks and plots`, async () => {
      const e = await load();
      const lines: string[] = [];
      const r = e.run({ quick: true, log: (l) => lines.push(l) }) as ResultHeader & { trials: AnyTrial[] };
      assert.equal(r.experiment, name);
      assert.equal(r.quick, true);
      assert.equal(r.command, `mptcp-ts experiment ${name} --quick`);
      assert.ok(r.trials.length > 0);
      assert.equal(lines.length, r.trials.length, 'one progress line per trial');
      for (const t of r.trials) {
        assert.ok(r.seeds.includes(t.seed));
        if (t.integrity !== undefined)
          assert.equal(t.integrity, true, `bytes intact in ${JSON.stringify(t)}`);
      }
      finite(r);
      assert.ok(r.checks.length > 0);
      assert.deepEqual(e.checks(r), r.checks, 'checks are a function of the result');
      const svg = e.plot(r);
      assert.match(svg, /^<svg [^>]*width="\d+" height="\d+"/);
      assert.ok(svg.trimEnd().endsWith('</svg>'));
      assert.equal(e.plot(JSON.parse(JSON.stringify(r))), svg, 'the plot of the saved JSON is the same');
      console.log(
        `${name}: ${r.trials.length} trials; ${r.checks.map((c) => `${c.pass ? 'pass' : 'FAIL'} ${c.name}`).join('; ')}`,
      );
    });
  }

  it('the command writes NAME.quick.json and .svg, redraws them with --replot, refuses unknown names', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'experiment-'));
    try {
      const run = await cli(['experiment', 'loss', '--quick', '--out', dir]);
      assert.equal(run.code, 0);
      assert.match(run.stdout, /wrote .*loss\.quick\.json and .*loss\.quick\.svg/);
      assert.match(run.stdout, /^(PASS|FAIL) {2}path 1's goodput/m);
      const json = readFileSync(join(dir, 'loss.quick.json'), 'utf8');
      const svg = readFileSync(join(dir, 'loss.quick.svg'), 'utf8');
      assert.equal((JSON.parse(json) as ResultHeader).experiment, 'loss');
      assert.equal((await cli(['experiment', 'loss', '--quick', '--out', dir, '--replot'])).code, 0);
      assert.equal(readFileSync(join(dir, 'loss.quick.json'), 'utf8'), json, 'replot keeps the result');
      assert.equal(readFileSync(join(dir, 'loss.quick.svg'), 'utf8'), svg, 'and draws the same plot');
      const missing = await cli(['experiment', 'rcvbuf', '--quick', '--out', dir, '--replot']);
      assert.equal(missing.code, 2, 'nothing to replot');
      const bad = await cli(['experiment', 'nonsense']);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /unknown experiment "nonsense"; known: fairness/);
      const list = await cli(['experiment', 'list']);
      for (const n of Object.keys(EXPERIMENTS)) assert.match(list.stdout, new RegExp(`^${n} `, 'm'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--jobs 2 splits the trials between two processes and writes the same bytes as one process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'experiment-'));
    try {
      const files = ['congested-path.quick.json', 'congested-path.quick.svg'];
      assert.equal((await cli(['experiment', 'congested-path', '--quick', '--out', join(dir, '1')])).code, 0);
      const two = await cli([
        'experiment',
        'congested-path',
        '--quick',
        '--jobs',
        '2',
        '--out',
        join(dir, '2'),
      ]);
      assert.equal(two.code, 0, two.stderr);
      // The helper process did run some of the trials (same bytes alone would not show a split).
      const m = /this process ran (\d+) of the (\d+) trials/.exec(two.stderr);
      assert.ok(m !== null, two.stderr);
      assert.ok(Number(m[1]) < Number(m[2]), m[0]);
      for (const f of files)
        assert.equal(readFileSync(join(dir, '2', f), 'utf8'), readFileSync(join(dir, '1', f), 'utf8'), f);
      assert.equal((await cli(['experiment', 'loss', '--quick', '--jobs', '0'])).code, 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
