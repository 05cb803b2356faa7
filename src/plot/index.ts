/** A small SVG plotting library of our own: x/y and bar charts with axes, legends and error bars. */
export {
  type Axis,
  type BarChart,
  type BarValue,
  type Chart,
  type Figure,
  PALETTE,
  type Point,
  type RefLine,
  renderChart,
  renderFigure,
  type Series,
  type XYChart,
} from './chart.ts';
export { decimals, linear, niceStep, niceTicks, type Ticks, tickLabel } from './scale.ts';
export { esc, num, Svg } from './svg.ts';
export { plotSimResult } from './timeseries.ts';
