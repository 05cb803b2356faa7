/** Axis arithmetic: round ("nice") tick steps of 1, 2 or 5 times a power of ten, linear maps, tick labels. */

export interface Ticks {
  /** The axis range, widened to whole steps. */
  min: number;
  max: number;
  step: number;
  values: number[];
}

/** A step of 1, 2 or 5 × 10^k close to span/count. */
export function niceStep(span: number, count: number): number {
  if (!(span > 0) || !Number.isFinite(span)) return 1;
  const raw = span / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const f = raw / power;
  const m = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
  return m * power;
}

/**
 * About `count` ticks covering [min, max]. Ends the caller fixed are kept as they are (ticks inside them);
 * free ends are widened to the next whole step.
 */
export function niceTicks(
  min: number,
  max: number,
  count = 5,
  fixed: { min?: boolean; max?: boolean } = {},
): Ticks {
  if (min === max) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    if (!fixed.min) min -= pad;
    if (!fixed.max) max += pad;
  }
  const step = niceStep(max - min, count);
  const lo = fixed.min ? min : Math.floor(min / step + 1e-9) * step;
  const hi = fixed.max ? max : Math.ceil(max / step - 1e-9) * step;
  const values: number[] = [];
  const first = Math.ceil(lo / step - 1e-9);
  for (let i = first; i * step <= hi + step * 1e-9; i++) values.push(clean(i * step, step));
  return { min: clean(lo, step), max: clean(hi, step), step, values };
}

/** Removes float noise (0.30000000000000004) at the precision of `step`. */
function clean(v: number, step: number): number {
  const d = decimals(step);
  const r = Number(v.toFixed(d));
  return r === 0 ? 0 : r;
}

/** Decimals needed to print multiples of `step` exactly. */
export function decimals(step: number): number {
  if (!(step > 0)) return 0;
  let d = 0;
  while (d < 10 && Math.abs(Math.round(step * 10 ** d) - step * 10 ** d) > 1e-9 * 10 ** d) d++;
  return d;
}

/** The tick label of `v` on an axis with ticks `step` apart. */
export function tickLabel(v: number, step: number): string {
  const s = v.toFixed(decimals(step));
  return /^-0(\.0+)?$/.test(s) ? s.slice(1) : s;
}

/** Maps [d0, d1] linearly onto [r0, r1]. */
export function linear(d0: number, d1: number, r0: number, r1: number): (v: number) => number {
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}
