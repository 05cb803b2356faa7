/**
 * The application-facing ProgMP API: `loadScheduler(source, name?)` parses, checks and compiles a program
 * and registers it so `createScheduler(name)` finds it; `dumpProgram` prints a checked program in normal
 * form; `compileSource` is the same pipeline without registering.
 */
import { registerScheduler } from '../sched/registry.ts';
import type { SchedulerOptions } from '../sched/types.ts';
import { check } from './check.ts';
import { type CompiledClass, compileProgram } from './compile.ts';
import { dump } from './dump.ts';
import { ProgmpError } from './errors.ts';
import type { Program } from './ir.ts';
import { parse } from './parser.ts';
import { InterpretedScheduler, type ProgmpScheduler } from './scheduler.ts';

export interface LoadedProgram {
  name: string;
  program: Program;
  /** The generated JavaScript, for inspection. */
  js: string;
  /** The compiled program's scheduler class. */
  Compiled: CompiledClass;
}

const loaded = new Map<string, LoadedProgram>();

/** Parses and checks `source` (throws ProgmpError with every error found). */
export function checkSource(source: string): Program {
  return check(parse(source));
}

/** Parses, checks and compiles; the name comes from `name`, else from the SCHEDULER line. */
export function compileSource(source: string, name?: string): LoadedProgram {
  const program = checkSource(source);
  const n = name ?? program.name;
  if (n === null || n === undefined)
    throw new ProgmpError([
      { line: 1, col: 1, message: 'no scheduler name: start with SCHEDULER name; or pass a name' },
    ]);
  const { source: js, Compiled } = compileProgram(program);
  return { name: n, program, js, Compiled };
}

/** A scheduler instance (one per connection) running the compiled program, or the interpreter. */
export function createProgmpScheduler(p: LoadedProgram, options: SchedulerOptions = {}): ProgmpScheduler {
  return options.interpret === true
    ? new InterpretedScheduler(p.name, p.program, options)
    : new p.Compiled(p.name, p.program, options);
}

/** Loads a program so `createScheduler(name)` finds it; returns the name. Reloading a name replaces it. */
export function loadScheduler(source: string, name?: string): string {
  const p = compileSource(source, name);
  registerScheduler(p.name, (options) => createProgmpScheduler(p, options));
  loaded.set(p.name, p);
  return p.name;
}

/** The normalised text of a loaded program (by name) or of a program source. */
export function dumpProgram(sourceOrName: string): string {
  const p = loaded.get(sourceOrName);
  return dump(p !== undefined ? p.program : checkSource(sourceOrName));
}
