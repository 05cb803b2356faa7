/**
 * Runs a batch of trials in several processes. Every process runs the same experiment, so it reaches the same
 * runTrials call with the same list of trials; each then works through the list, claiming a trial by creating
 * its claim file (exclusive create: one process wins) and publishing the result in a shared directory, and
 * then waits for the results the others publish. All continue with the same results (only the first process
 * writes the experiment's files). Uneven trials balance themselves.
 *
 * Every result goes through JSON in every process, so one process or several give the same bytes. A claim
 * records the trial it is for and the claimer's process id: a trial claimed by a process that died without
 * publishing is run by the waiting process itself.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { SimResult } from '../../src/sim/result.ts';

export interface Shard {
  /** Directory shared by the processes. */
  dir: string;
}

/** Raised when the processes disagree on the trials (an experiment whose trials are not deterministic). */
export class ShardMismatchError extends Error {
  override name = 'ShardMismatchError';
}

const POLL_MS = 100;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Stored {
  key: string;
  result: SimResult;
}

/** Runs batches of trials shared with the other processes of a --jobs run. */
export class TrialSharer {
  /** Batches so far: the n-th runTrials call of every process is the same batch. */
  private batches = 0;
  /** Trials this process ran, of all it was given. */
  ranHere = 0;
  total = 0;

  constructor(private readonly shard: Shard) {}

  /** The results of `specs` (any JSON values naming the trials) in order; `run` computes one. */
  runAll(specs: readonly unknown[], run: (i: number) => SimResult): SimResult[] {
    const batch = this.batches++;
    const keys = specs.map((s) => createHash('sha256').update(JSON.stringify(s)).digest('hex'));
    const file = (i: number, ext: string) => join(this.shard.dir, `b${batch}-t${i}.${ext}`);
    this.total += specs.length;
    for (let i = 0; i < specs.length; i++) {
      if (!this.claim(file(i, 'claim'), keys[i]!)) continue;
      this.ranHere++;
      this.publish(file(i, 'json'), keys[i]!, run(i));
    }
    return specs.map((_, i) => {
      for (;;) {
        const f = file(i, 'json');
        if (existsSync(f)) return this.read(f, keys[i]!, i);
        // A claim without its line yet is being written: wait for it.
        const claimer = Number(readFileSync(file(i, 'claim'), 'utf8').split(' ')[1] ?? Number.NaN);
        if (Number.isInteger(claimer) && !alive(claimer) && !existsSync(f))
          return this.publish(f, keys[i]!, run(i));
        sleepSync(POLL_MS);
      }
    });
  }

  /** Creates the claim file; false when another process holds it (checked to be for the same trial). */
  private claim(file: string, key: string): boolean {
    let fd: number;
    try {
      fd = openSync(file, 'wx');
    } catch {
      const [held] = readFileSync(file, 'utf8').split(' ');
      // The winner may not have written its line yet: an empty claim is not a mismatch.
      if (held !== '' && held !== key)
        throw new ShardMismatchError(`${file} claims another trial: the processes' trials differ`);
      return false;
    }
    writeSync(fd, `${key} ${process.pid}`);
    closeSync(fd);
    return true;
  }

  private publish(file: string, key: string, result: SimResult): SimResult {
    const text = JSON.stringify({ key, result } satisfies Stored);
    writeFileSync(`${file}.${process.pid}.tmp`, text);
    renameSync(`${file}.${process.pid}.tmp`, file);
    return (JSON.parse(text) as Stored).result;
  }

  private read(file: string, key: string, i: number): SimResult {
    const stored = JSON.parse(readFileSync(file, 'utf8')) as Stored;
    if (stored.key !== key) throw new ShardMismatchError(`trial ${i}: ${file} holds another trial`);
    return stored.result;
  }
}
