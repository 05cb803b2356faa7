/**
 * Bar charts for a terminal: one panel per series, one column per time bucket, eighth-block characters for
 * resolution finer than a row, an optional ANSI colour per series.
 */

const EIGHTHS = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

export interface Series {
  label: string;
  values: number[];
  /** ANSI SGR colour code (e.g. 36 for cyan); ignored without colour. */
  color?: number;
}

export interface ChartOptions {
  /** Rows per panel. */
  height: number;
  /** The value of a full panel (default: the largest value of all series). */
  max?: number;
  unit: string;
  /** Seconds per column, for the time axis. */
  secondsPerColumn: number;
  color: boolean;
}

/** Averages `values` (one per `step` seconds) into buckets of `bucket` seconds. */
export function bucketize(values: number[], step: number, bucket: number): number[] {
  const per = Math.max(1, Math.round(bucket / step));
  const out: number[] = [];
  for (let i = 0; i < values.length; i += per) {
    const slice = values.slice(i, i + per);
    out.push(slice.reduce((a, b) => a + b, 0) / slice.length);
  }
  return out;
}

export function barChart(series: Series[], o: ChartOptions): string {
  const max = o.max ?? Math.max(1e-9, ...series.flatMap((s) => s.values));
  const columns = Math.max(...series.map((s) => s.values.length));
  const scale = `${formatValue(max)} ${o.unit}`;
  const margin = Math.max(scale.length, ...series.map((s) => s.label.length)) + 1;
  const lines: string[] = [];
  for (const s of series) {
    for (let row = o.height - 1; row >= 0; row--) {
      let bar = '';
      for (const v of s.values) {
        const eighths = Math.round((Math.min(v, max) / max) * o.height * 8) - row * 8;
        bar += EIGHTHS[Math.max(0, Math.min(8, eighths))];
      }
      const label = row === o.height - 1 ? scale : row === 0 ? s.label : '';
      const painted = o.color && s.color !== undefined ? `\x1b[${s.color}m${bar}\x1b[0m` : bar;
      lines.push(`${label.padStart(margin)} │${painted}`);
    }
    lines.push(`${''.padStart(margin)} └${'─'.repeat(columns)}`);
  }
  lines.push(`${''.padStart(margin)}  ${timeAxis(columns, o.secondsPerColumn)}`);
  return lines.join('\n');
}

/** Tick labels every 10 columns: "0s        10s       20s". */
function timeAxis(columns: number, secondsPerColumn: number): string {
  let axis = '';
  for (let c = 0; c < columns; c += 10) {
    const tick = `${Math.round(c * secondsPerColumn)}s`;
    axis = axis.padEnd(c) + tick;
  }
  return axis.slice(0, columns + 4);
}

function formatValue(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}
