/** The experiments of issue 6, by name; each is loaded only when asked for. */
import type { Experiment } from './lib/experiment.ts';

// biome-ignore lint/suspicious/noExplicitAny: each experiment has its own result type; the CLI handles them alike.
type AnyExperiment = Experiment<any>;

export const EXPERIMENTS: Record<string, () => Promise<AnyExperiment>> = {
  fairness: async () => (await import('./fairness.ts')).fairness,
  'congested-path': async () => (await import('./congested-path.ts')).congestedPath,
  rcvbuf: async () => (await import('./rcvbuf.ts')).rcvbuf,
  loss: async () => (await import('./loss.ts')).loss,
  mss: async () => (await import('./mss.ts')).mssExperiment,
  'sched-redundant': async () => (await import('./sched-redundant.ts')).schedRedundant,
  'sched-compensation': async () => (await import('./sched-compensation.ts')).schedCompensation,
  'sched-tap': async () => (await import('./sched-tap.ts')).schedTap,
};

export type { Check, Experiment, ResultHeader } from './lib/experiment.ts';
