/**
 * Runs an experiment's trials in several processes without changing how experiments are written: every
 * process runs the same experiment from the start, and its n-th runTrial call is the same trial in all of
 * them (run() is deterministic). Process k of N runs the trials whose call number is k modulo N and writes
 * each result to a shared directory; for the others it waits for the file the owning process writes. So all
 * processes end with the same trials and the same result, and the wall time divides by about N.
 *
 * Every result goes through JSON in every process, the one that ran it included, so all of them compute on
 * identical numbers. A file records the trial it answers; a process that finds another trial there (two
 * processes calling trials in a different order) stops with an error instead of mixing results. A process
 * whose owner of a trial died runs that trial itself.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SimResult } from '../../src/sim/result.ts';

export interface Shard {
  /** This process's share: call numbers ≡ index (mod count). */
  index: number;
  count: number;
  /** Directory shared by the processes; each writes its process id there (to notice a dead one). */
  dir: string;
}

/** Raised when the shards disagree on the order of trials. */
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

/** Runs trials through a shard: its own ones locally, the others' from the shared directory. */
export class TrialSharer {
  private calls = 0;

  constructor(private readonly shard: Shard) {
    writeFileSync(this.pidFile(shard.index), String(process.pid));
  }

  /** The result of the next trial, whose identity is `spec` (any JSON value) and which `run` computes. */
  next(spec: unknown, run: () => SimResult): SimResult {
    const n = this.calls++;
    const key = createHash('sha256').update(JSON.stringify(spec)).digest('hex');
    const file = join(this.shard.dir, `trial-${n}.json`);
    if (n % this.shard.count === this.shard.index) return this.publish(file, key, run());
    const owner = this.pidFile(n % this.shard.count);
    for (;;) {
      if (existsSync(file)) return this.read(file, key, n);
      // An owner not started yet has no pid file: wait for it.
      if (existsSync(owner) && !alive(Number(readFileSync(owner, 'utf8'))) && !existsSync(file))
        return this.publish(file, key, run());
      sleepSync(POLL_MS);
    }
  }

  private pidFile(index: number): string {
    return join(this.shard.dir, `shard-${index}.pid`);
  }

  private publish(file: string, key: string, result: SimResult): SimResult {
    const text = JSON.stringify({ key, result } satisfies Stored);
    writeFileSync(`${file}.${process.pid}.tmp`, text);
    renameSync(`${file}.${process.pid}.tmp`, file);
    return (JSON.parse(text) as Stored).result;
  }

  private read(file: string, key: string, n: number): SimResult {
    const stored = JSON.parse(readFileSync(file, 'utf8')) as Stored;
    if (stored.key !== key)
      throw new ShardMismatchError(
        `trial ${n}: ${file} holds another trial; the shards called their trials in different orders`,
      );
    return stored.result;
  }
}
