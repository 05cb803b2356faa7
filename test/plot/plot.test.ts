import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  type BarChart,
  esc,
  niceStep,
  niceTicks,
  num,
  plotSimResult,
  renderChart,
  renderFigure,
  tickLabel,
  type XYChart,
} from '../../src/plot/index.ts';
import type { SimResult } from '../../src/sim/result.ts';
import { Rng } from '../../src/util/rng.ts';

/** Every opened tag is closed in order; returns the element names seen. */
function wellFormed(svg: string): string[] {
  const stack: string[] = [];
  const names: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z]+)([^>]*?)(\/?)>/g)) {
    const [, close, name, , self] = m;
    if (close) assert.equal(stack.pop(), name, `</${name}> closes <${stack.at(-1)}>`);
    else {
      names.push(name!);
      if (!self) stack.push(name!);
    }
  }
  assert.deepEqual(stack, [], 'every element is closed');
  assert.doesNotMatch(svg.replace(/&(amp|lt|gt|quot);/g, ''), /&/, 'no raw ampersand');
  return names;
}

const texts = (svg: string): string[] => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);

const xy: XYChart = {
  kind: 'xy',
  title: 'Goodput <vs> buffer & delay',
  x: { label: 'receive buffer', unit: 'MiB', min: 0, max: 16 },
  y: { label: 'goodput', unit: 'Mbit/s', min: 0 },
  series: [
    {
      kind: 'line',
      name: 'equal delays',
      points: [
        { x: 2, y: 150, lo: 140, hi: 160 },
        { x: 8, y: 189, lo: 188, hi: 190 },
      ],
    },
    { kind: 'points', name: 'TCP', points: [{ x: 4, y: 96.5 }] },
    {
      kind: 'line',
      name: 'limit',
      dashed: true,
      markers: false,
      points: [
        { x: 0, y: 190 },
        { x: 16, y: 190 },
      ],
    },
  ],
  refLines: [{ y: 100, label: 'one link' }],
};

describe('scale', () => {
  it('picks steps of 1, 2 or 5 times a power of ten', () => {
    assert.equal(niceStep(97, 5), 20);
    assert.equal(niceStep(1, 5), 0.2);
    assert.equal(niceStep(0.5, 5), 0.1);
    assert.equal(niceStep(7000, 6), 1000);
    assert.equal(niceStep(35, 6), 5);
  });

  it('widens free ends to whole steps and keeps fixed ones', () => {
    assert.deepEqual(niceTicks(0, 97, 5).values, [0, 20, 40, 60, 80, 100]);
    const t = niceTicks(0.5, 1, 5, { min: true, max: true });
    assert.deepEqual(t.values, [0.5, 0.6, 0.7, 0.8, 0.9, 1]);
    assert.equal(t.min, 0.5);
    const odd = niceTicks(3, 17, 6, { min: true, max: true });
    assert.deepEqual([odd.min, odd.max], [3, 17]);
    assert.deepEqual(odd.values, [4, 6, 8, 10, 12, 14, 16]);
    assert.deepEqual(niceTicks(5, 5).values.length > 1, true, 'a flat range still gets ticks');
  });

  it('labels ticks with as many decimals as the step needs, without float noise', () => {
    assert.equal(tickLabel(0.30000000000000004, 0.1), '0.3');
    assert.equal(tickLabel(20, 20), '20');
    assert.equal(tickLabel(0.25, 0.05), '0.25');
    assert.equal(tickLabel(-0.00001, 0.1), '0.0');
  });
});

describe('svg text', () => {
  it('prints coordinates with at most two decimals and never -0', () => {
    assert.equal(num(1.005), '1');
    assert.equal(num(12.3456), '12.35');
    assert.equal(num(-0.001), '0');
    assert.equal(num(300), '300');
    assert.throws(() => num(Number.NaN), RangeError);
  });

  it('escapes text for XML', () => {
    assert.equal(esc('a < b & "c" > d'), 'a &lt; b &amp; &quot;c&quot; &gt; d');
  });
});

describe('charts', () => {
  it('draws axes with units, ticks, a legend, error bars and reference lines', () => {
    const svg = renderChart(xy);
    const names = wellFormed(svg);
    const t = texts(svg);
    assert.ok(t.includes('receive buffer (MiB)'));
    assert.ok(t.includes('goodput (Mbit/s)'));
    assert.ok(t.includes('Goodput &lt;vs&gt; buffer &amp; delay'));
    for (const tick of ['0', '4', '8', '12', '16', '50', '100', '150', '200'])
      assert.ok(t.includes(tick), tick);
    for (const legend of ['equal delays', 'TCP', 'limit', 'one link']) assert.ok(t.includes(legend), legend);
    assert.ok(names.includes('polyline') && names.includes('clipPath'));
    // Two error bars of three lines each (the whisker and its caps).
    const caps = [...svg.matchAll(/<line x1="[\d.]+" y1="[\d.]+" x2="[\d.]+" y2="[\d.]+"\/>/g)].length;
    assert.ok(caps >= 6, `${caps} whisker lines`);
    assert.match(svg, /stroke-dasharray="7 4"/, 'the dashed series');
  });

  it('gives the same bytes for the same chart, and different bytes for different data', () => {
    assert.equal(renderChart(xy), renderChart(structuredClone(xy)));
    const moved = structuredClone(xy);
    moved.series[0]!.points[0]!.y = 151;
    assert.notEqual(renderChart(moved), renderChart(xy));
  });

  it('draws one bar per group and category, with whiskers and category labels', () => {
    const bars: BarChart = {
      kind: 'bar',
      title: 'share',
      categories: ['1 subflow', '2 subflows', '3 subflows'],
      xLabel: 'subflows',
      y: { label: 'share', unit: '%', min: 0, max: 100 },
      groups: [
        { name: 'reno', values: [{ y: 50, lo: 48, hi: 52 }, { y: 66 }, { y: 75, lo: 70, hi: 80 }] },
        { name: 'lia', values: [{ y: 50 }, null, { y: 51 }] },
      ],
      refLines: [{ y: 50, label: 'equal share' }],
    };
    const svg = renderChart(bars);
    wellFormed(svg);
    // The background plus one rect per bar plus one legend swatch per group.
    assert.equal([...svg.matchAll(/<rect /g)].length, 1 + 5 + 2);
    for (const c of [...bars.categories, 'share (%)', 'equal share', 'reno', 'lia'])
      assert.ok(texts(svg).includes(c));
  });

  it('stacks panels with aligned plot areas', () => {
    const svg = renderFigure({ title: 'two', panels: [xy, { ...xy, series: xy.series.slice(0, 1) }] });
    wellFormed(svg);
    const lefts = [
      ...svg.matchAll(/<clipPath id="p(\d)-clip"><rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"/g),
    ];
    assert.equal(lefts.length, 2);
    assert.equal(lefts[0]![2], lefts[1]![2]);
    assert.equal(lefts[0]![3], lefts[1]![3], 'the same plot width whatever each legend holds');
  });

  it('draws long time series (more points than a function may take arguments)', () => {
    const points = Array.from({ length: 200_000 }, (_, i) => ({ x: i / 100, y: i % 977 }));
    const svg = renderChart({
      kind: 'xy',
      x: { label: 't', unit: 's' },
      y: { label: 'y' },
      series: [{ kind: 'line', name: 'long', markers: false, points }],
    });
    assert.ok(texts(svg).includes('1000'), 'the y axis reaches the data maximum, 976');
  });

  it('refuses non-finite data with a RangeError', () => {
    const bad = structuredClone(xy);
    bad.series[0]!.points[0]!.y = Number.POSITIVE_INFINITY;
    assert.throws(() => renderChart(bad), RangeError);
  });

  it('survives random charts (well-formed, deterministic)', () => {
    const rng = new Rng(6);
    for (let i = 0; i < 50; i++) {
      const n = 1 + rng.int(5);
      const chart: XYChart = {
        kind: 'xy',
        x: { label: 'x' },
        y: { label: 'y', unit: 'u' },
        series: Array.from({ length: n }, (_, k) => ({
          kind: rng.int(2) ? ('line' as const) : ('points' as const),
          name: `s${k}`,
          points: Array.from({ length: rng.int(6) }, () => {
            const y = (rng.float() - 0.5) * 10 ** rng.int(6);
            return { x: rng.float() * 100, y, lo: y - rng.float(), hi: y + rng.float() };
          }),
        })),
      };
      const svg = renderChart(chart);
      wellFormed(svg);
      assert.equal(svg, renderChart(chart));
      assert.doesNotMatch(svg, /NaN|Infinity|-0[^.\d]/);
    }
  });
});

describe('plotSimResult (sim --plot)', () => {
  const result: SimResult = {
    scenario: 'two-paths',
    seed: 1,
    simulatedMs: 3000,
    wallMs: 0,
    events: 0,
    eventsPerSecond: 0,
    flows: [
      {
        name: 'main',
        protocol: 'mptcp',
        completed: false,
        completionMs: null,
        bytesDelivered: 1,
        goodputMbps: 150,
        integrity: true,
        fallback: false,
        subflows: [],
        requests: [],
        timeline: [1, 2, 3].map((t) => ({ t, goodputMbps: 150, perPathMbps: { wifi: 100, lte: 50 + t } })),
      },
    ],
  };

  it('plots per-path throughput and goodput over time, one panel per flow', () => {
    const svg = plotSimResult(result);
    wellFormed(svg);
    const t = texts(svg);
    for (const s of ['wifi (sent)', 'lte (sent)', 'goodput (delivered)', 'time (s)', 'throughput (Mbit/s)'])
      assert.ok(t.includes(s), s);
    assert.equal([...svg.matchAll(/<polyline /g)].length, 3);
  });

  it('renders in a real SVG renderer when one is installed (rsvg-convert)', (t) => {
    if (!existsSync('/usr/bin/rsvg-convert')) {
      t.skip('rsvg-convert is not installed (apt-get install librsvg2-bin)');
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'plot-'));
    try {
      for (const [name, svg] of [
        ['sim', plotSimResult(result)],
        ['xy', renderChart(xy)],
      ] as const) {
        writeFileSync(join(dir, `${name}.svg`), svg);
        execFileSync('/usr/bin/rsvg-convert', [join(dir, `${name}.svg`), '-o', join(dir, `${name}.png`)]);
        assert.ok(existsSync(join(dir, `${name}.png`)));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('`mptcp-ts sim --plot FILE` writes the plot of the run it prints', () => {
    const dir = mkdtempSync(join(tmpdir(), 'plot-'));
    try {
      const bin = new URL('../../bin/mptcp-ts', import.meta.url).pathname;
      const scenario = new URL('../../scenarios/example.json', import.meta.url).pathname;
      const file = join(dir, 'run.svg');
      const out = execFileSync(process.execPath, [bin, 'sim', scenario, '--json', '--plot', file], {
        encoding: 'utf8',
      });
      const result = JSON.parse(out) as SimResult;
      assert.equal(readFileSync(file, 'utf8'), plotSimResult(result));
      for (const f of result.flows)
        assert.ok(readFileSync(file, 'utf8').includes(`${f.name} (${f.protocol})`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
