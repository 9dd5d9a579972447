import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { ShapeError } from '../../src/errors.js';
import {
  barChart,
  escapeXml,
  formatTick,
  heatmap,
  linePlot,
  niceTicks,
  reliabilityPlot,
  seriesPlot,
  viridis,
} from '../../src/report/svg.js';

/**
 * A small XML well-formedness check: tags nest and close in order, attributes
 * are quoted, and text holds no bare '<' or unescaped '&'.
 */
function expectWellFormed(svg: string): void {
  const stack: string[] = [];
  const token = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/g;
  for (const m of svg.matchAll(token)) {
    const [, closing, name, , selfClosing, text, stray] = m;
    if (stray) expect.fail(`bad tag at ${m.index}: ${svg.slice(m.index, m.index + 60)}`);
    if (text !== undefined) {
      expect(text.replace(/&(amp|lt|gt|quot|#\d+);/g, '')).not.toMatch(/[&<>]/);
    } else if (closing) {
      expect(stack.pop(), `closing </${name}>`).toBe(name);
    } else if (!selfClosing) {
      stack.push(name!);
    }
  }
  expect(stack).toEqual([]);
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  expect(svg).not.toMatch(/NaN|Infinity|undefined|null/);
}

function numbersOf(svg: string, element: string, attributes: string[]): number[][] {
  const pattern = new RegExp(`<${element} [^>]*>`, 'g');
  return [...svg.matchAll(pattern)].map(([tag]) =>
    attributes.map((a) => Number(new RegExp(` ${a}="([^"]*)"`).exec(tag)?.[1])),
  );
}

describe('linePlot', () => {
  it('maps data to pixels linearly, y upwards', () => {
    const svg = linePlot({
      points: [{ label: 'data', x: [0, 1, 0.5], y: [0, 1, 0.25] }],
      xDomain: [0, 1],
      yDomain: [0, 1],
      title: 'known points',
    });
    expectWellFormed(svg);
    const [[x0, y0], [x1, y1], [xm, ym]] = numbersOf(svg, 'circle', ['cx', 'cy']) as number[][] as [
      [number, number],
      [number, number],
      [number, number],
    ];
    expect(x1).toBeGreaterThan(x0);
    expect(y1).toBeLessThan(y0); // larger y is higher on the page
    expect(xm).toBeCloseTo(x0 + 0.5 * (x1 - x0), 1);
    expect(ym).toBeCloseTo(y0 + 0.25 * (y1 - y0), 1);
  });

  it('draws bands, lines and points with a legend, breaking lines at non-finite values', () => {
    const x = [-2, -1, 0, 1, 2];
    const svg = linePlot({
      title: 'Predictive <GLM> & "NN"',
      xLabel: 'x',
      yLabel: 'y',
      lines: [{ label: 'mean', x, y: [0, 1, Number.NaN, 1, 0] }],
      bands: [{ label: '±2σ', x, lower: [-1, 0, -1, 0, -1], upper: [1, 2, Number.POSITIVE_INFINITY, 2, 1] }],
      points: [{ label: 'train', x: [-1.5, 1.5], y: [0.5, 0.5] }],
    });
    expectWellFormed(svg);
    expect(svg).toContain('Predictive &lt;GLM&gt; &amp; &quot;NN&quot;');
    for (const label of ['mean', '±2σ', 'train']) expect(svg).toContain(`>${label}</text>`);
    const meanPath = /<path d="([^"]*)" fill="none"/.exec(svg)![1]!;
    expect(meanPath.match(/M/g)).toHaveLength(2);
    const bandPath = /<path d="([^"]*)" fill="#[0-9A-F]+" fill-opacity/.exec(svg)![1]!;
    expect(bandPath.match(/Z/g)).toHaveLength(2);
    // Ticks of the automatic domain cover the data: −2.0 … 2.0 in steps of 0.5 on x.
    expect(svg).toContain('>-2.0</text>');
    expect(svg).toContain('>2.0</text>');
  });

  it('survives empty and constant data', () => {
    expectWellFormed(linePlot({}));
    expectWellFormed(linePlot({ lines: [{ label: 'flat', x: [1, 1], y: [3, 3] }] }));
  });
});

describe('ticks', () => {
  test.prop([
    fc.double({ min: -1e6, max: 1e6, noNaN: true }),
    fc.double({ min: 1e-3, max: 1e6, noNaN: true }),
  ])('niceTicks are 1, 2 or 5 × 10ᵏ apart, inside the range, and a handful', (min, width) => {
    const { ticks, step } = niceTicks(min, min + width, 5);
    const mantissa = step / 10 ** Math.floor(Math.log10(step) + 1e-12);
    expect([1, 2, 5, 10].some((m) => Math.abs(mantissa - m) < 1e-9)).toBe(true);
    expect(ticks.length).toBeGreaterThanOrEqual(2);
    expect(ticks.length).toBeLessThanOrEqual(11);
    for (const t of ticks) {
      expect(t).toBeGreaterThanOrEqual(min - 1e-9 * Math.abs(min) - step * 1e-6);
      expect(t).toBeLessThanOrEqual(min + width + 1e-9 * Math.abs(min + width) + step * 1e-6);
    }
  });

  test.prop([
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
  ])(
    'niceTicks gives a handful of increasing finite ticks for any finite range, however narrow or wide',
    (a, b) => {
      const [min, max] = a <= b ? [a, b] : [b, a];
      const { ticks, step } = niceTicks(min, max, 5);
      expect(step > 0 && Number.isFinite(step)).toBe(true);
      expect(ticks.length).toBeGreaterThanOrEqual(2);
      expect(ticks.length).toBeLessThanOrEqual(11);
      for (let i = 1; i < ticks.length; i++) expect(ticks[i]!).toBeGreaterThan(ticks[i - 1]!);
    },
  );

  it('draws data that is flat to the last bit, tiny, or near the largest double', () => {
    for (const y of [
      [1, 1 + 2 ** -52],
      [3e-149, 1e-149],
      [-1.7e308, 1.7e308],
      [5e-324, 0],
    ]) {
      const svg = linePlot({ lines: [{ label: 'l', x: [0, 1], y }] });
      expectWellFormed(svg);
      expect(svg).not.toMatch(/NaN|Infinity/);
    }
  });

  it('formats ticks with the decimals the step needs', () => {
    expect(niceTicks(0, 1, 5).ticks).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(formatTick(0.30000000000000004, 0.1)).toBe('0.3');
    expect(formatTick(-0, 1)).toBe('0');
    expect(formatTick(2500, 500)).toBe('2500');
    expect(formatTick(3e7, 1e7)).toBe('3.00e+7');
  });

  it('escapes XML and interpolates viridis between its ends', () => {
    expect(escapeXml(`<a href="x">&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;');
    expect(viridis(0)).toBe('#440154');
    expect(viridis(1)).toBe('#fde725');
    expect(viridis(2)).toBe('#fde725');
  });
});

describe('heatmap', () => {
  it('draws one cell per finite value with colours from the value range, and points on top', () => {
    const xs = [0, 1, 2];
    const ys = [0, 1];
    const svg = heatmap({
      xs,
      ys,
      values: [0.5, 0.6, 0.7, 0.8, 0.9, 1],
      valueLabel: 'confidence',
      points: [
        { label: 'class 0', x: [0.2], y: [0.1] },
        { label: 'class 1', x: [1.8], y: [0.9] },
      ],
      title: 'confidence map',
    });
    expectWellFormed(svg);
    // Cells come first; the two legend swatches sit on a dark viridis background too.
    const filled = [...svg.matchAll(/<rect [^>]*fill="(#[0-9a-f]{6})"\/>/g)].map((m) => m[1]);
    expect(filled).toHaveLength(6 + 2);
    const cells = filled.slice(0, 6);
    expect(cells[0]).toBe(viridis(0));
    expect(cells[5]).toBe(viridis(1));
    // Cell (row 1, column 2) is at the top right: the largest x and the smallest y pixel.
    const rects = numbersOf(svg, 'rect', ['x', 'y', 'width']).filter(([, , w]) => w! > 20 && w! < 300);
    expect(rects[5]![0]).toBeGreaterThan(rects[3]![0]!);
    expect(rects[5]![1]).toBeLessThan(rects[0]![1]!);
    expect(svg).toContain('>confidence</text>');
  });

  it('rejects a grid of the wrong size', () => {
    expect(() => heatmap({ xs: [0, 1], ys: [0, 1], values: [1, 2, 3] })).toThrow(ShapeError);
  });
});

describe('reliabilityPlot, seriesPlot, barChart', () => {
  it('reliability bars reach their accuracy on the [0, 1] axis', () => {
    const svg = reliabilityPlot({
      title: 'reliability',
      series: [
        {
          label: 'MAP',
          bins: [
            { lower: 0.5, upper: 0.6, confidence: 0.55, accuracy: 0.5, count: 10 },
            { lower: 0.9, upper: 1, confidence: 0.97, accuracy: 1, count: 3 },
          ],
        },
      ],
    });
    expectWellFormed(svg);
    const bars = [...svg.matchAll(/<rect [^>]*><title>/g)].map(([tag]) =>
      ['y', 'height'].map((a) => Number(new RegExp(` ${a}="([^"]*)"`).exec(tag)![1])),
    );
    expect(bars).toHaveLength(2);
    // The diagonal is the longest dashed line, from (0, 0) to (1, 1).
    const dashed = [...svg.matchAll(/<line [^>]*stroke-dasharray[^>]*>/g)].map(([tag]) =>
      ['y1', 'y2'].map((a) => Number(new RegExp(` ${a}="([^"]*)"`).exec(tag)![1])),
    );
    const [yZero, yOne] = dashed.reduce((a, b) =>
      Math.abs(b[0]! - b[1]!) > Math.abs(a[0]! - a[1]!) ? b : a,
    ) as [number, number];
    expect(bars.some(([y, h]) => Math.abs(y! - yOne) < 0.02 && Math.abs(y! + h! - yZero) < 0.02)).toBe(true);
    const half = bars.find(([y]) => Math.abs(y! - (yZero + yOne) / 2) < 0.02);
    expect(half, `a bar whose top is halfway between ${yZero} and ${yOne}`).toBeDefined();
    expect(svg).toContain('perfect calibration');
  });

  it('seriesPlot rings the best point of each panel and labels categories', () => {
    const svg = seriesPlot({
      title: 'evidence against depth',
      x: ['1 layer', '5 layers', '20 layers'],
      xLabel: 'architecture',
      panels: [
        { yLabel: 'log evidence', series: [{ label: 'evidence', y: [-50, -80, -120] }], best: 'max' },
        { yLabel: 'test NLL', series: [{ label: 'NLL', y: [0.3, 0.2, 0.9] }], best: 'min' },
      ],
    });
    expectWellFormed(svg);
    expect(svg).toContain('>20 layers</text>');
    const rings = numbersOf(svg, 'circle', ['r', 'cx']).filter(([r]) => r === 8);
    expect(rings).toHaveLength(2);
    // The evidence peaks at the first category, the NLL dips at the second (further right).
    expect(rings[1]![1]).toBeGreaterThan(rings[0]![1]!);
  });

  it('barChart draws negative bars below the zero line', () => {
    const svg = barChart({
      categories: ['a', 'b'],
      series: [{ label: 's', values: [2, -1] }],
      yLabel: 'value',
    });
    expectWellFormed(svg);
    const [positive, negative] = numbersOf(svg, 'rect', ['y', 'height']).filter(
      (_, i, all) => i >= all.length - 3,
    );
    const zero = numbersOf(svg, 'line', ['y1']).at(-1)![0]!;
    expect(positive![0]! + positive![1]!).toBeCloseTo(zero, 1);
    expect(negative![0]).toBeCloseTo(zero, 1);
    expect(positive![1]).toBeCloseTo(2 * negative![1]!, 0);
  });
});
