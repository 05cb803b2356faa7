/** `progmp check` and `progmp dump` through the registrar, as the CLI wires it. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

// The registrar is wired into src/cli/main.ts by the integrator; until then a child process hosts it alone.
const HOST = `
import { Command } from 'commander';
import { registerProgmp } from './src/progmp/cli.ts';
const program = new Command('mptcp-ts').exitOverride();
let code = 0;
registerProgmp(program, (c) => { code = c; });
await program.parseAsync(process.argv.slice(1), { from: 'user' });
process.exitCode = code;
`;

/** Runs the command; returns its exit code and what it wrote. */
async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = spawnSync('node', ['--import', 'tsx', '--input-type=module', '-e', HOST, ...args], {
    encoding: 'utf8',
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'progmp-cli-'));
const good = join(dir, 'good.progmp');
const bad = join(dir, 'bad.progmp');
writeFileSync(
  good,
  'SCHEDULER g;\nDEFINE R2 AS limit;\nIF (limit > 0 AND !Q.EMPTY) { SUBFLOWS.GET(0).PUSH(Q.POP()); }\n',
);
writeFileSync(bad, 'SCHEDULER b;\nVAR x = SUBFLOWS.MIN(s => s.RTTX);\nSET(R7, 1);\n');

test('progmp check: exit 0 when every file is valid', async () => {
  const shipped = new URL('../../schedulers/', import.meta.url).pathname;
  const r = await cli('progmp', 'check', good, join(shipped, 'minrtt.progmp'), join(shipped, 'tap.progmp'));
  assert.deepEqual(r, { code: 0, out: '', err: '' });
});

test('progmp check: exit 1 and file:line:col: message for each error', async () => {
  const r = await cli('progmp', 'check', good, bad, join(dir, 'missing.progmp'));
  assert.equal(r.code, 1);
  const lines = r.err.trim().split('\n');
  assert.equal(lines[0], `${bad}:2:29: unknown property RTTX for subflow (did you mean RTT?)`);
  assert.equal(lines[1], `${bad}:3:5: register R7 does not exist (R1..R6)`);
  assert.match(lines[2]!, /missing\.progmp: cannot read/);
});

test('progmp dump: the normal form', async () => {
  const r = await cli('progmp', 'dump', good);
  assert.equal(r.code, 0);
  assert.equal(r.out, 'SCHEDULER g;\nIF (R2 > 0 AND !Q.EMPTY) {\n  SUBFLOWS.GET(0).PUSH(Q.POP());\n}\n');
  assert.equal((await cli('progmp', 'dump', bad)).code, 1);
});
