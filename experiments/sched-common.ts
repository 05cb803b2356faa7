/**
 * What the scheduler experiments (sched-*.ts) share: a scheduler given by name, either a built-in or a program
 * of schedulers/ (run through the scenario's `progmpSource`, so the trial is a plain scenario), and the byte
 * counts they compare.
 */
import { readFileSync } from 'node:fs';
import type { FlowResult } from '../src/sim/result.ts';

/** Built-in schedulers the experiments compare against; every other name is a file of schedulers/. */
const BUILTIN = new Set(['default']);

/** The scenario's `scheduler` field for `name`. */
export function schedulerField(name: string): string | { progmpSource: string } {
  if (BUILTIN.has(name)) return name;
  return { progmpSource: readFileSync(new URL(`../schedulers/${name}.progmp`, import.meta.url), 'utf8') };
}

/** Bytes the data sender put on the wire, over every subflow (first sends, copies, retransmissions). */
export const bytesSent = (f: FlowResult): number => f.subflows.reduce((a, s) => a + s.bytesSent, 0);

/** Bytes sent again on a subflow after they were sent before anywhere: redundant copies and reinjections. */
export const copiedBytes = (f: FlowResult): number =>
  f.subflows.reduce((a, s) => a + (s.reinjectedBytes ?? 0), 0);

/** A link with a little seeded jitter, so that seeds differ without random loss (lib/variation.ts). */
export function link(rateMbps: number, delayMs: number, queue: string, extra: Record<string, unknown> = {}) {
  return { rate: `${rateMbps}Mbps`, delay: `${delayMs}ms`, jitter: '500us', queue, ...extra };
}
