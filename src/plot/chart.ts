/**
 * Charts as SVG: x/y charts (lines, markers, points) and grouped bar charts, each with axes, ticks, axis
 * labels with units, a legend, optional reference lines and error bars (lo–hi whiskers, e.g. min–max over
 * seeds). A figure stacks several charts. Output is deterministic: the same chart gives the same bytes.
 */
import { linear, niceTicks, type Ticks, tickLabel } from './scale.ts';
import { num, Svg } from './svg.ts';

export interface Axis {
  label: string;
  /** Shown in parentheses after the label. */
  unit?: string;
  /** Fixed ends; a free end is taken from the data and widened to a whole tick. */
  min?: number;
  max?: number;
  /** About this many ticks (default 6). */
  ticks?: number;
}

export interface Point {
  x: number;
  y: number;
  /** Error bar from lo to hi (both or neither). */
  lo?: number;
  hi?: number;
}

export interface Series {
  /** 'line': joined points (with markers unless `markers: false`); 'points': markers only. */
  kind: 'line' | 'points';
  name: string;
  points: Point[];
  markers?: boolean;
  dashed?: boolean;
  /** A CSS colour; by default the series' place in the palette. */
  color?: string;
  /** Stroke width of a line (default 2). */
  width?: number;
}

/** A horizontal (y) or vertical (x) line across the plot, labelled at its end. */
export interface RefLine {
  x?: number;
  y?: number;
  label: string;
}

export interface XYChart {
  kind: 'xy';
  title?: string;
  x: Axis;
  y: Axis;
  series: Series[];
  refLines?: RefLine[];
}

export interface BarValue {
  y: number;
  lo?: number;
  hi?: number;
}

export interface BarChart {
  kind: 'bar';
  title?: string;
  /** One group of bars per category, along x. */
  categories: string[];
  xLabel: string;
  y: Axis;
  /** One bar per group in every category (null: no bar there). */
  groups: { name: string; values: (BarValue | null)[]; color?: string }[];
  refLines?: RefLine[];
}

export type Chart = XYChart | BarChart;

export interface Figure {
  title?: string;
  panels: Chart[];
  /** Total width in px (default 900). */
  width?: number;
  /** Height of each panel in px (default 340). */
  panelHeight?: number;
}

/** Okabe–Ito colours: distinguishable with the common colour-vision deficiencies, and in grey print. */
export const PALETTE = [
  '#0072B2',
  '#D55E00',
  '#009E73',
  '#CC79A7',
  '#E69F00',
  '#56B4E9',
  '#000000',
  '#999999',
];
const MARKERS = ['circle', 'square', 'triangle', 'diamond'] as const;
type Marker = (typeof MARKERS)[number];

const FIGURE_TITLE = 30;
const MARGIN = { left: 78, right: 16, top: 34, bottom: 52 };
const LEGEND_GAP = 14;
const CHAR = 6.6;

/** Approximate width of `s` at 12 px: enough to lay out legends without measuring fonts. */
const textWidth = (s: string): number => s.length * CHAR;

const axisTitle = (a: { label: string; unit?: string }): string =>
  a.unit ? `${a.label} (${a.unit})` : a.label;

/** One chart as a complete SVG document. */
export function renderChart(chart: Chart, size: { width?: number; height?: number } = {}): string {
  return renderFigure({
    panels: [chart],
    ...(size.width !== undefined ? { width: size.width } : {}),
    ...(size.height !== undefined ? { panelHeight: size.height } : {}),
  });
}

/** Charts stacked top to bottom under an optional figure title, as one SVG document. */
export function renderFigure(fig: Figure): string {
  if (fig.panels.length === 0) throw new RangeError('a figure needs at least one chart');
  const width = fig.width ?? 900;
  const panelHeight = fig.panelHeight ?? 340;
  const top = fig.title ? FIGURE_TITLE : 0;
  const svg = new Svg(width, top + panelHeight * fig.panels.length);
  svg.el('rect', { x: 0, y: 0, width, height: svg.height, fill: '#ffffff' });
  if (fig.title)
    svg.text(width / 2, 20, fig.title, { 'text-anchor': 'middle', 'font-size': 14, 'font-weight': 'bold' });
  // One legend width for all panels, so that their plot areas line up.
  const legend = Math.max(...fig.panels.map((c) => legendWidth(legendOf(c))));
  fig.panels.forEach((chart, i) => {
    const box = { x: 0, y: top + i * panelHeight, w: width, h: panelHeight, id: `p${i}`, legend };
    if (chart.kind === 'xy') drawXY(svg, chart, box);
    else drawBars(svg, chart, box);
  });
  return svg.toString();
}

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
  id: string;
  /** Width of the legend column. */
  legend: number;
}

interface LegendEntry {
  name: string;
  color: string;
  kind: 'line' | 'points' | 'bar';
  dashed?: boolean;
  marker?: Marker;
}

/** Width of a legend column for these entries (0 without entries). */
function legendWidth(entries: LegendEntry[]): number {
  return entries.length ? Math.max(...entries.map((e) => textWidth(e.name))) + 34 : 0;
}

/** The plot area inside a panel, leaving `legend` px on the right (the same for every panel of a figure). */
function plotArea(box: Box) {
  const left = box.x + MARGIN.left;
  const right = box.x + box.w - MARGIN.right - (box.legend ? box.legend + LEGEND_GAP : 0);
  const top = box.y + MARGIN.top;
  const bottom = box.y + box.h - MARGIN.bottom;
  return { left, right, top, bottom, legendX: right + LEGEND_GAP };
}

type Area = ReturnType<typeof plotArea>;

/** Range of the values an axis must show, with the caller's fixed ends. */
function axisTicks(axis: Axis, values: number[], zeroBased: boolean): Ticks {
  for (const v of [...values, axis.min ?? 0, axis.max ?? 0])
    if (!Number.isFinite(v))
      throw new RangeError(`cannot plot ${v} on the '${axis.label}' axis: give finite values`);
  // A loop, not Math.min(...values): a long time series would overflow the argument stack.
  let least = Number.POSITIVE_INFINITY;
  let most = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (v < least) least = v;
    if (v > most) most = v;
  }
  let lo = axis.min ?? (values.length ? least : 0);
  let hi = axis.max ?? (values.length ? most : 1);
  if (zeroBased && axis.min === undefined) lo = Math.min(0, lo);
  if (axis.min !== undefined && axis.max === undefined && hi <= lo) hi = lo + 1;
  if (axis.max !== undefined && axis.min === undefined && lo >= hi) lo = hi - 1;
  return niceTicks(lo, hi, axis.ticks ?? 6, { min: axis.min !== undefined, max: axis.max !== undefined });
}

function drawTitle(svg: Svg, chart: Chart, box: Box, area: Area): void {
  if (chart.title)
    svg.text((area.left + area.right) / 2, box.y + 20, chart.title, {
      'text-anchor': 'middle',
      'font-size': 13,
    });
}

/** Grid, y ticks and labels, the frame and the y axis title. */
function drawYAxis(svg: Svg, axis: Axis, ticks: Ticks, y: (v: number) => number, area: Area, box: Box): void {
  svg.group({ stroke: '#dddddd', 'stroke-width': 1 }, () => {
    for (const v of ticks.values) svg.el('line', { x1: area.left, y1: y(v), x2: area.right, y2: y(v) });
  });
  svg.group({ 'text-anchor': 'end', fill: '#222222' }, () => {
    for (const v of ticks.values) svg.text(area.left - 7, y(v) + 4, tickLabel(v, ticks.step));
  });
  svg.group({ stroke: '#222222', 'stroke-width': 1 }, () => {
    for (const v of ticks.values) svg.el('line', { x1: area.left - 4, y1: y(v), x2: area.left, y2: y(v) });
  });
  const cy = (area.top + area.bottom) / 2;
  const cx = box.x + 18;
  svg.text(cx, cy, axisTitle(axis), {
    'text-anchor': 'middle',
    transform: `rotate(-90 ${num(cx)} ${num(cy)})`,
  });
}

function drawFrame(svg: Svg, area: Area): void {
  svg.el('line', { x1: area.left, y1: area.bottom, x2: area.right, y2: area.bottom, stroke: '#222222' });
  svg.el('line', { x1: area.left, y1: area.top, x2: area.left, y2: area.bottom, stroke: '#222222' });
}

function drawXTitle(svg: Svg, label: string, area: Area, box: Box): void {
  svg.text((area.left + area.right) / 2, box.y + box.h - 12, label, { 'text-anchor': 'middle' });
}

function drawRefLines(
  svg: Svg,
  lines: RefLine[],
  x: ((v: number) => number) | null,
  y: (v: number) => number,
  area: Area,
): void {
  if (!lines.length) return;
  svg.group({ stroke: '#555555', 'stroke-width': 1, 'stroke-dasharray': '6 4', fill: 'none' }, () => {
    for (const l of lines) {
      if (l.y !== undefined) svg.el('line', { x1: area.left, y1: y(l.y), x2: area.right, y2: y(l.y) });
      else if (l.x !== undefined && x)
        svg.el('line', { x1: x(l.x), y1: area.top, x2: x(l.x), y2: area.bottom });
    }
  });
  svg.group({ fill: '#444444', 'font-size': 11 }, () => {
    for (const l of lines) {
      if (l.y !== undefined) svg.text(area.right - 4, y(l.y) - 4, l.label, { 'text-anchor': 'end' });
      else if (l.x !== undefined && x) svg.text(x(l.x) + 4, area.top + 12, l.label);
    }
  });
}

function drawMarker(svg: Svg, m: Marker, cx: number, cy: number, color: string): void {
  const r = 3.5;
  if (m === 'circle') svg.el('circle', { cx, cy, r, fill: color });
  else if (m === 'square') svg.el('rect', { x: cx - r, y: cy - r, width: 2 * r, height: 2 * r, fill: color });
  else if (m === 'triangle')
    svg.el('polygon', {
      points: `${num(cx)},${num(cy - r * 1.2)} ${num(cx + r * 1.1)},${num(cy + r * 0.8)} ${num(cx - r * 1.1)},${num(cy + r * 0.8)}`,
      fill: color,
    });
  else
    svg.el('polygon', {
      points: `${num(cx)},${num(cy - r * 1.3)} ${num(cx + r * 1.1)},${num(cy)} ${num(cx)},${num(cy + r * 1.3)} ${num(cx - r * 1.1)},${num(cy)}`,
      fill: color,
    });
}

/** A vertical whisker from lo to hi with caps `cap` px wide. */
function whisker(svg: Svg, x: number, lo: number, hi: number, cap: number): void {
  svg.el('line', { x1: x, y1: lo, x2: x, y2: hi });
  svg.el('line', { x1: x - cap / 2, y1: lo, x2: x + cap / 2, y2: lo });
  svg.el('line', { x1: x - cap / 2, y1: hi, x2: x + cap / 2, y2: hi });
}

function drawLegend(svg: Svg, entries: LegendEntry[], area: Area): void {
  if (!entries.length) return;
  svg.group({}, () => {
    entries.forEach((e, i) => {
      const y = area.top + 8 + i * 18;
      const x = area.legendX;
      if (e.kind === 'bar') svg.el('rect', { x, y: y - 6, width: 20, height: 12, fill: e.color });
      else {
        if (e.kind === 'line')
          svg.el('line', {
            x1: x,
            y1: y,
            x2: x + 20,
            y2: y,
            stroke: e.color,
            'stroke-width': 2,
            'stroke-dasharray': e.dashed ? '5 3' : undefined,
          });
        if (e.marker) drawMarker(svg, e.marker, x + 10, y, e.color);
      }
      svg.text(x + 26, y + 4, e.name);
    });
  });
}

/** The legend entries of a chart, in drawing order. */
function legendOf(chart: Chart): LegendEntry[] {
  if (chart.kind === 'bar')
    return chart.groups.map((g, i) => ({
      name: g.name,
      color: g.color ?? PALETTE[i % PALETTE.length]!,
      kind: 'bar' as const,
    }));
  return chart.series.map((s, i) => ({
    name: s.name,
    color: s.color ?? PALETTE[i % PALETTE.length]!,
    kind: s.kind,
    dashed: s.dashed === true,
    ...(s.kind === 'points' || s.markers !== false ? { marker: MARKERS[i % MARKERS.length]! } : {}),
  }));
}

function drawXY(svg: Svg, chart: XYChart, box: Box): void {
  const legend = legendOf(chart);
  const area = plotArea(box);
  const all = chart.series.flatMap((s) => s.points);
  const refs = chart.refLines ?? [];
  const xt = axisTicks(
    chart.x,
    [...all.map((p) => p.x), ...refs.flatMap((r) => (r.x === undefined ? [] : [r.x]))],
    false,
  );
  const yt = axisTicks(
    chart.y,
    [
      ...all.flatMap((p) => [p.y, p.lo ?? p.y, p.hi ?? p.y]),
      ...refs.flatMap((r) => (r.y === undefined ? [] : [r.y])),
    ],
    true,
  );
  const x = linear(xt.min, xt.max, area.left, area.right);
  const y = linear(yt.min, yt.max, area.bottom, area.top);
  drawTitle(svg, chart, box, area);
  drawYAxis(svg, chart.y, yt, y, area, box);
  svg.group({ 'text-anchor': 'middle', fill: '#222222' }, () => {
    for (const v of xt.values) svg.text(x(v), area.bottom + 18, tickLabel(v, xt.step));
  });
  svg.group({ stroke: '#222222', 'stroke-width': 1 }, () => {
    for (const v of xt.values) svg.el('line', { x1: x(v), y1: area.bottom, x2: x(v), y2: area.bottom + 4 });
  });
  drawFrame(svg, area);
  drawXTitle(svg, axisTitle(chart.x), area, box);
  drawRefLines(svg, refs, x, y, area);
  // Data beyond fixed axis ends is cut at the plot's edge (with room for half a marker).
  const clip = `${box.id}-clip`;
  svg.clipRect(clip, area.left - 5, area.top - 5, area.right - area.left + 10, area.bottom - area.top + 10);
  svg.group({ 'clip-path': `url(#${clip})` }, () => {
    chart.series.forEach((s, i) => {
      const e = legend[i]!;
      const pts = [...s.points].sort((a, b) => a.x - b.x);
      svg.group({ stroke: e.color, fill: 'none', 'stroke-width': 1.2 }, () => {
        for (const p of pts)
          if (p.lo !== undefined && p.hi !== undefined) whisker(svg, x(p.x), y(p.lo), y(p.hi), 8);
      });
      if (s.kind === 'line' && pts.length > 1)
        svg.polyline(
          pts.map((p) => [x(p.x), y(p.y)] as const),
          {
            fill: 'none',
            stroke: e.color,
            'stroke-width': s.width ?? 2,
            'stroke-linejoin': 'round',
            'stroke-dasharray': s.dashed ? '7 4' : undefined,
          },
        );
      if (e.marker) {
        const marker = e.marker;
        svg.group({}, () => {
          for (const p of pts) drawMarker(svg, marker, x(p.x), y(p.y), e.color);
        });
      }
    });
  });
  drawLegend(svg, legend, area);
}

function drawBars(svg: Svg, chart: BarChart, box: Box): void {
  const legend = legendOf(chart);
  const area = plotArea(box);
  const values = chart.groups.flatMap((g) =>
    g.values.flatMap((v) => (v === null ? [] : [v.y, v.lo ?? v.y, v.hi ?? v.y])),
  );
  const refs = chart.refLines ?? [];
  const yt = axisTicks(chart.y, [...values, ...refs.flatMap((r) => (r.y === undefined ? [] : [r.y]))], true);
  const y = linear(yt.min, yt.max, area.bottom, area.top);
  drawTitle(svg, chart, box, area);
  drawYAxis(svg, chart.y, yt, y, area, box);
  const n = Math.max(1, chart.categories.length);
  const slot = (area.right - area.left) / n;
  const barWidth = (slot * 0.8) / Math.max(1, chart.groups.length);
  const base = y(Math.max(yt.min, Math.min(yt.max, 0)));
  svg.group({ 'text-anchor': 'middle', fill: '#222222' }, () => {
    chart.categories.forEach((c, i) => {
      svg.text(area.left + slot * (i + 0.5), area.bottom + 18, c);
    });
  });
  chart.groups.forEach((g, gi) => {
    const color = legend[gi]!.color;
    svg.group({ fill: color }, () => {
      g.values.forEach((v, ci) => {
        if (v === null) return;
        const x0 = area.left + slot * ci + slot * 0.1 + barWidth * gi;
        const top = y(Math.max(yt.min, Math.min(yt.max, v.y)));
        svg.el('rect', {
          x: x0 + 1,
          y: Math.min(top, base),
          width: Math.max(1, barWidth - 2),
          height: Math.abs(base - top),
        });
      });
    });
    svg.group({ stroke: '#222222', 'stroke-width': 1.2 }, () => {
      g.values.forEach((v, ci) => {
        if (v === null || v.lo === undefined || v.hi === undefined) return;
        const cx = area.left + slot * ci + slot * 0.1 + barWidth * (gi + 0.5);
        const clamp = (t: number) => y(Math.max(yt.min, Math.min(yt.max, t)));
        whisker(svg, cx, clamp(v.lo), clamp(v.hi), Math.min(10, barWidth * 0.5));
      });
    });
  });
  drawFrame(svg, area);
  drawXTitle(svg, chart.xLabel, area, box);
  drawRefLines(svg, refs, null, y, area);
  drawLegend(svg, legend, area);
}
