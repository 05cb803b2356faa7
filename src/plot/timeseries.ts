/**
 * The plot of a simulated run (`mptcp-ts sim --plot FILE.svg`): for each flow, the throughput on each of its
 * paths (payload sent, retransmissions included, as SCENARIOS.md defines perPathMbps) and the goodput the
 * receiving application saw, over time.
 */
import type { SimResult } from '../sim/result.ts';
import { type Chart, PALETTE, renderFigure } from './chart.ts';

/** One panel per flow; SVG text with deterministic bytes for a given result. */
export function plotSimResult(result: SimResult): string {
  const panels: Chart[] = result.flows.map((f) => {
    const paths = [...new Set(f.timeline.flatMap((p) => Object.keys(p.perPathMbps)))];
    const origin = { x: 0, y: 0 };
    const perPath = paths.map((path, i) => ({
      kind: 'line' as const,
      name: `${path} (sent)`,
      markers: false,
      width: 1.5,
      color: PALETTE[i % PALETTE.length]!,
      points: [origin, ...f.timeline.map((p) => ({ x: p.t, y: p.perPathMbps[path] ?? 0 }))],
    }));
    return {
      kind: 'xy' as const,
      title: `${f.name} (${f.protocol}): goodput ${f.goodputMbps} Mbit/s`,
      x: { label: 'time', unit: 's', min: 0, max: result.simulatedMs / 1000 },
      y: { label: 'throughput', unit: 'Mbit/s', min: 0 },
      series: [
        ...perPath,
        {
          kind: 'line' as const,
          name: 'goodput (delivered)',
          markers: false,
          dashed: true,
          width: 2,
          color: '#000000',
          points: [origin, ...f.timeline.map((p) => ({ x: p.t, y: p.goodputMbps }))],
        },
      ],
    };
  });
  if (panels.length === 0)
    panels.push({
      kind: 'xy',
      title: 'no flows',
      x: { label: 'time', unit: 's' },
      y: { label: 'throughput', unit: 'Mbit/s' },
      series: [],
    });
  return renderFigure({
    title: `${result.scenario}, seed ${result.seed}: throughput per path and goodput`,
    panels,
    panelHeight: 300,
  });
}
