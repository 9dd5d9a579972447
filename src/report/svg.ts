/**
 * Charts as SVG strings, with no dependencies.
 *
 * Every chart is a frame, a rectangle of plot area with linear scales
 *
 *   px = left + (x − x₀)/(x₁ − x₀) · width,   py = top + (1 − (y − y₀)/(y₁ − y₀)) · height,
 *
 * axes with "nice" ticks (steps of 1, 2 or 5 times a power of ten), a title,
 * axis labels and a legend above the plot; the marks are drawn inside a clip
 * path so that a band or line leaving the domain is cut at the frame.
 * Colours are the Okabe–Ito palette, distinguishable with the common forms of
 * colour blindness, and series also differ in marker shape or dash where
 * colour alone would carry the meaning. Heatmaps use viridis, which is
 * perceptually uniform and readable in greyscale.
 *
 * Non-finite values are never written: a line breaks at them, a point or a
 * band slice with one is skipped. The output is deterministic, so a report can
 * be diffed; ids inside one SVG are prefixed with a per-process counter so that
 * many charts can share one HTML page.
 */
import { ShapeError } from '../errors.js';
import type { ReliabilityBin } from '../metrics.js';

/** Okabe & Ito (2008) colours: blue, orange, green, vermillion, reddish purple, sky blue, yellow, black. */
export const PALETTE = [
  '#0072B2',
  '#E69F00',
  '#009E73',
  '#D55E00',
  '#CC79A7',
  '#56B4E9',
  '#F0E442',
  '#000000',
];

export type MarkerShape = 'circle' | 'square' | 'triangle' | 'diamond';
const SHAPES: MarkerShape[] = ['circle', 'square', 'triangle', 'diamond'];

/** Layout and labels shared by every chart. */
export interface ChartOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Size in CSS pixels; the SVG has a viewBox, so it also scales. */
  width?: number;
  height?: number;
  /** Fixed axis ranges; by default the data's extent, widened to nice ticks. */
  xDomain?: readonly [number, number];
  yDomain?: readonly [number, number];
}

/** A line through (x[i], y[i]). */
export interface LineSeries {
  label: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  color?: string;
  dashed?: boolean;
  strokeWidth?: number;
}

/** A shaded region between lower[i] and upper[i] over x[i], e.g. mean ± 2σ. */
export interface BandSeries {
  label: string;
  x: ArrayLike<number>;
  lower: ArrayLike<number>;
  upper: ArrayLike<number>;
  color?: string;
  opacity?: number;
}

/** Markers at (x[i], y[i]). */
export interface ScatterSeries {
  label: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  color?: string;
  shape?: MarkerShape;
  radius?: number;
}

// ---------------------------------------------------------------- scales and ticks

/**
 * Round numbers covering [min, max]: about `count` ticks at 1, 2 or 5 × 10ᵏ apart.
 * Any finite range works: one narrower than 1e-10 of its magnitude (the last
 * bits of a flat loss curve) is widened as a single value would be, since
 * ticks inside it could not be told apart; the step is found without forming
 * max − min, which overflows for ranges near ±1.8e308.
 */
export function niceTicks(min: number, max: number, count = 5): { ticks: number[]; step: number } {
  if (degenerate(min, max)) [min, max] = padDegenerate(min / 2 + max / 2);
  const raw = max / Math.max(1, count) - min / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  // The mantissa nearest raw on a log scale (thresholds √2, √10, √50), as d3 does.
  const error = raw / power;
  const mantissa = error >= Math.sqrt(50) ? 10 : error >= Math.sqrt(10) ? 5 : error >= Math.SQRT2 ? 2 : 1;
  // 10 × 1e308 would overflow; 1e308 is then the step.
  const step = Number.isFinite(mantissa * power) ? mantissa * power : power;
  // Counted by index, not by comparing i·step with max + slack, which overflows near 1.8e308.
  const ticks: number[] = [];
  const last = Math.floor(max / step + 1e-9);
  for (let i = Math.ceil(min / step - 1e-9); i <= last; i++) {
    const tick = Number((i * step).toPrecision(15));
    ticks.push(Math.abs(tick) < step * 1e-9 ? 0 : tick);
  }
  return { ticks, step };
}

/** Values below this are zero to a chart: steps between them would underflow. */
const NEGLIGIBLE = 1e-290;

/** A range too narrow to hold distinct ticks: empty, within 1e-10 of its magnitude, or negligible. */
function degenerate(min: number, max: number): boolean {
  const width = max - min;
  return !(width > 1e-10 * Math.max(Math.abs(min), Math.abs(max)) && width > NEGLIGIBLE);
}

/** ±10% around a value, or ±1 around zero (and around a negligible or non-finite value). */
function padDegenerate(value: number): [number, number] {
  if (!(Math.abs(value) >= NEGLIGIBLE) || !Number.isFinite(value)) return [-1, 1];
  const pad = Math.abs(value) * 0.1;
  return [value - pad, value + pad];
}

/** The data extent widened outwards to the nearest ticks. */
function niceDomain(
  values: number[],
  fixed: readonly [number, number] | undefined,
  count: number,
): [number, number] {
  if (fixed && fixed[1] > fixed[0]) return [fixed[0], fixed[1]];
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!Number.isFinite(min)) [min, max] = [0, 0];
  if (degenerate(min, max)) [min, max] = padDegenerate(min / 2 + max / 2);
  const { step } = niceTicks(min, max, count);
  // Near ±1.8e308 the next tick out overflows; the largest double stands in for it.
  const clamp = (v: number) => Math.min(Math.max(v, -Number.MAX_VALUE), Number.MAX_VALUE);
  return [clamp(Math.floor(min / step + 1e-9) * step), clamp(Math.ceil(max / step - 1e-9) * step)];
}

/** (v − a)/(b − a), halved first so that a domain near ±1.8e308 does not overflow. */
function fraction(v: number, [a, b]: readonly [number, number]): number {
  return (v / 2 - a / 2) / (b / 2 - a / 2);
}

/** A tick label with as many decimals as the step needs, and no −0. */
export function formatTick(value: number, step: number): string {
  const v = Math.abs(value) < step * 1e-9 ? 0 : value;
  const magnitude = Math.max(Math.abs(v), step);
  if (magnitude >= 1e6 || step < 1e-4) return v.toExponential(2);
  return v.toFixed(Math.max(0, -Math.floor(Math.log10(step) + 1e-9)));
}

/** Coordinates rounded to 0.01 px keep files small; never NaN by construction of the callers. */
function px(v: number): string {
  return String(Math.round(v * 100) / 100);
}

/** Text and attribute values with XML's five special characters escaped. */
export function escapeXml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

// ---------------------------------------------------------------- the frame

const FONT = 'font-family="system-ui, -apple-system, \'Segoe UI\', Helvetica, Arial, sans-serif"';
const INK = '#222';
const MUTED = '#666';
const GRID = '#e6e6e6';
let chartCounter = 0;

interface LegendItem {
  label: string;
  swatch: (x: number, y: number) => string;
}

interface FrameSpec extends ChartOptions {
  xValues: number[];
  yValues: number[];
  legend: LegendItem[];
  /** Extra room on the right, e.g. for a colour bar. */
  rightExtra?: number;
  /** Category names placed at x = 0, 1, …, instead of numeric x ticks. */
  xCategories?: readonly string[];
}

/** Plot area, scales and the SVG around the marks. */
class Frame {
  readonly id = `chart${++chartCounter}`;
  readonly width: number;
  readonly height: number;
  readonly left: number;
  readonly top: number;
  readonly plotWidth: number;
  readonly plotHeight: number;
  readonly xDomain: [number, number];
  readonly yDomain: [number, number];
  private readonly legendRows: LegendItem[][];

  constructor(readonly spec: FrameSpec) {
    this.width = spec.width ?? 640;
    this.height = spec.height ?? 400;
    this.legendRows = layoutLegend(spec.legend, this.width - 80);
    const titleSpace = spec.title ? 30 : 10;
    this.top = titleSpace + this.legendRows.length * 20 + 10;
    this.left = spec.yLabel ? 68 : 52;
    const bottom = spec.xLabel ? 52 : 34;
    this.plotWidth = this.width - this.left - 20 - (spec.rightExtra ?? 0);
    this.plotHeight = this.height - this.top - bottom;
    this.xDomain = spec.xCategories
      ? [-0.5, spec.xCategories.length - 0.5]
      : niceDomain(spec.xValues, spec.xDomain, this.plotWidth / 90);
    this.yDomain = niceDomain(spec.yValues, spec.yDomain, this.plotHeight / 60);
  }

  x(v: number): number {
    return this.left + fraction(v, this.xDomain) * this.plotWidth;
  }

  y(v: number): number {
    return this.top + (1 - fraction(v, this.yDomain)) * this.plotHeight;
  }

  /** The whole SVG: background, grid, marks (clipped), axes, labels, legend. */
  render(marks: string, overlay = ''): string {
    const { spec, id, width, height, left, top, plotWidth, plotHeight } = this;
    const parts: string[] = [
      `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" ${FONT} font-size="12">`,
    ];
    // Every chart names itself for screen readers, titled or not.
    const name = spec.title ?? ([spec.yLabel, spec.xLabel].filter(Boolean).join(' against ') || 'chart');
    parts.push(`<title>${escapeXml(name)}</title>`);
    parts.push(
      `<defs><clipPath id="${id}-clip"><rect x="${px(left)}" y="${px(top)}" width="${px(plotWidth)}" height="${px(plotHeight)}"/></clipPath></defs>`,
      `<rect width="${width}" height="${height}" fill="#fff"/>`,
    );
    if (spec.title) {
      parts.push(
        `<text x="${px(left)}" y="20" font-size="15" font-weight="600" fill="${INK}">${escapeXml(spec.title)}</text>`,
      );
    }
    parts.push(this.axes(), `<g clip-path="url(#${id}-clip)">${marks}</g>`, overlay);
    parts.push(
      `<rect x="${px(left)}" y="${px(top)}" width="${px(plotWidth)}" height="${px(plotHeight)}" fill="none" stroke="${MUTED}"/>`,
    );
    parts.push(this.legend(), '</svg>');
    return parts.join('\n');
  }

  private axes(): string {
    const { spec, left, top, plotWidth, plotHeight } = this;
    const bottom = top + plotHeight;
    const out: string[] = [];
    const xTicks: [number, string][] = spec.xCategories
      ? spec.xCategories.map((name, i) => [i, name])
      : tickLabels(this.xDomain, plotWidth / 90);
    for (const [value, label] of xTicks) {
      const x = px(this.x(value));
      if (!spec.xCategories)
        out.push(`<line x1="${x}" y1="${px(top)}" x2="${x}" y2="${px(bottom)}" stroke="${GRID}"/>`);
      out.push(
        `<line x1="${x}" y1="${px(bottom)}" x2="${x}" y2="${px(bottom + 5)}" stroke="${MUTED}"/>`,
        `<text x="${x}" y="${px(bottom + 18)}" text-anchor="middle" fill="${INK}">${escapeXml(label)}</text>`,
      );
    }
    for (const [value, label] of tickLabels(this.yDomain, plotHeight / 60)) {
      const y = px(this.y(value));
      out.push(
        `<line x1="${px(left)}" y1="${y}" x2="${px(left + plotWidth)}" y2="${y}" stroke="${GRID}"/>`,
        `<line x1="${px(left - 5)}" y1="${y}" x2="${px(left)}" y2="${y}" stroke="${MUTED}"/>`,
        `<text x="${px(left - 8)}" y="${y}" dy="0.32em" text-anchor="end" fill="${INK}">${escapeXml(label)}</text>`,
      );
    }
    if (spec.xLabel) {
      out.push(
        `<text x="${px(left + plotWidth / 2)}" y="${px(bottom + 40)}" text-anchor="middle" font-size="13" fill="${INK}">${escapeXml(spec.xLabel)}</text>`,
      );
    }
    if (spec.yLabel) {
      const cy = px(top + plotHeight / 2);
      out.push(
        `<text x="16" y="${cy}" transform="rotate(-90 16 ${cy})" text-anchor="middle" font-size="13" fill="${INK}">${escapeXml(spec.yLabel)}</text>`,
      );
    }
    return out.join('\n');
  }

  private legend(): string {
    const out: string[] = [];
    let y = (this.spec.title ? 30 : 10) + 10;
    for (const row of this.legendRows) {
      let x = this.left;
      for (const item of row) {
        out.push(
          item.swatch(x, y),
          `<text x="${px(x + 24)}" y="${px(y)}" dy="0.32em" fill="${INK}">${escapeXml(item.label)}</text>`,
        );
        x += legendItemWidth(item);
      }
      y += 20;
    }
    return out.join('\n');
  }
}

function tickLabels(domain: [number, number], count: number): [number, string][] {
  const { ticks, step } = niceTicks(domain[0], domain[1], count);
  return ticks
    .filter((t) => t >= domain[0] - step * 1e-9 && t <= domain[1] + step * 1e-9)
    .map((t) => [t, formatTick(t, step)]);
}

// Text width is estimated (no font metrics in a string builder): 6.5 px per character at 12 px.
function legendItemWidth(item: LegendItem): number {
  return 24 + item.label.length * 6.5 + 18;
}

function layoutLegend(items: LegendItem[], available: number): LegendItem[][] {
  const rows: LegendItem[][] = [];
  let row: LegendItem[] = [];
  let used = 0;
  for (const item of items) {
    const w = legendItemWidth(item);
    if (row.length > 0 && used + w > available) {
      rows.push(row);
      row = [];
      used = 0;
    }
    row.push(item);
    used += w;
  }
  if (row.length > 0) rows.push(row);
  return rows;
}

// ---------------------------------------------------------------- marks

/** Relative luminance (ITU-R BT.709 weights, sRGB not linearised: enough to pick an outline). */
function luminance(color: string): number {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color);
  if (!m) return 0;
  const [r, g, b] = [m[1]!, m[2]!, m[3]!].map((h) => Number.parseInt(h, 16) / 255) as [
    number,
    number,
    number,
  ];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** A marker outlined in white, or in near-black when its fill is light, so it stands out on any background. */
function marker(shape: MarkerShape, x: number, y: number, r: number, color: string): string {
  const outline = luminance(color) > 0.7 ? INK : '#fff';
  const stroke = `fill="${color}" stroke="${outline}" stroke-width="0.9"`;
  switch (shape) {
    case 'circle':
      return `<circle cx="${px(x)}" cy="${px(y)}" r="${px(r)}" ${stroke}/>`;
    case 'square':
      return `<rect x="${px(x - r * 0.9)}" y="${px(y - r * 0.9)}" width="${px(1.8 * r)}" height="${px(1.8 * r)}" ${stroke}/>`;
    case 'triangle':
      return `<path d="M${px(x)},${px(y - 1.2 * r)}L${px(x + 1.1 * r)},${px(y + 0.8 * r)}L${px(x - 1.1 * r)},${px(y + 0.8 * r)}Z" ${stroke}/>`;
    case 'diamond':
      return `<path d="M${px(x)},${px(y - 1.3 * r)}L${px(x + 1.1 * r)},${px(y)}L${px(x)},${px(y + 1.3 * r)}L${px(x - 1.1 * r)},${px(y)}Z" ${stroke}/>`;
  }
}

/** Polyline path through finite points, broken where a value is not finite. */
function linePath(frame: Frame, x: ArrayLike<number>, y: ArrayLike<number>): string {
  let d = '';
  let pen = false;
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (!(Number.isFinite(x[i]!) && Number.isFinite(y[i]!))) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${px(frame.x(x[i]!))},${px(frame.y(y[i]!))}`;
    pen = true;
  }
  return d;
}

/** Closed polygons: upper edge left to right, lower edge back, one per run of finite slices. */
function bandPath(frame: Frame, band: BandSeries): string {
  let d = '';
  let run: number[] = [];
  const flush = () => {
    if (run.length > 1) {
      const upper = run.map((i) => `${px(frame.x(band.x[i]!))},${px(frame.y(band.upper[i]!))}`);
      const lower = run.reverse().map((i) => `${px(frame.x(band.x[i]!))},${px(frame.y(band.lower[i]!))}`);
      d += `M${upper.join('L')}L${lower.join('L')}Z`;
    }
    run = [];
  };
  for (let i = 0; i < band.x.length; i++) {
    if (Number.isFinite(band.x[i]!) && Number.isFinite(band.lower[i]!) && Number.isFinite(band.upper[i]!))
      run.push(i);
    else flush();
  }
  flush();
  return d;
}

function scatterMarks(frame: Frame, s: ScatterSeries, color: string, shape: MarkerShape): string {
  const r = s.radius ?? 3.5;
  const out: string[] = [];
  for (let i = 0; i < Math.min(s.x.length, s.y.length); i++) {
    if (Number.isFinite(s.x[i]!) && Number.isFinite(s.y[i]!)) {
      out.push(marker(shape, frame.x(s.x[i]!), frame.y(s.y[i]!), r, color));
    }
  }
  return out.join('');
}

function lineSwatch(color: string, dashed: boolean | undefined, width = 2): LegendItem['swatch'] {
  return (x, y) =>
    `<line x1="${px(x)}" y1="${px(y)}" x2="${px(x + 18)}" y2="${px(y)}" stroke="${color}" stroke-width="${width}"${dashed ? ' stroke-dasharray="5 3"' : ''}/>`;
}

function boxSwatch(color: string, opacity: number): LegendItem['swatch'] {
  return (x, y) =>
    `<rect x="${px(x)}" y="${px(y - 6)}" width="18" height="12" fill="${color}" fill-opacity="${opacity}"/>`;
}

function markerSwatch(shape: MarkerShape, color: string): LegendItem['swatch'] {
  return (x, y) => marker(shape, x + 9, y, 4, color);
}

function values(...arrays: ArrayLike<number>[]): number[] {
  return arrays.flatMap((a) => Array.from(a));
}

// ---------------------------------------------------------------- charts

export interface LinePlotOptions extends ChartOptions {
  lines?: LineSeries[];
  bands?: BandSeries[];
  points?: ScatterSeries[];
}

/**
 * Lines, shaded bands and scatter points on shared axes: drawn bands first,
 * then points, then lines, so a mean stays visible over its ±2σ band and data.
 * Colours follow the palette in the order lines, points unless given; band i
 * takes the colour of line i.
 */
export function linePlot({ lines = [], bands = [], points = [], ...options }: LinePlotOptions): string {
  let next = 0;
  const pick = (color: string | undefined) => color ?? PALETTE[next++ % PALETTE.length]!;
  const lineColors = lines.map((l) => pick(l.color));
  // A band defaults to the colour of the line with the same index: a mean and its ±2σ belong together.
  const bandColors = bands.map((b, i) => b.color ?? lineColors[i] ?? pick(undefined));
  const pointColors = points.map((p) => pick(p.color));
  const legend: LegendItem[] = [
    ...points.map((p, i) => ({ label: p.label, swatch: markerSwatch(p.shape ?? 'circle', pointColors[i]!) })),
    ...lines.map((l, i) => ({ label: l.label, swatch: lineSwatch(lineColors[i]!, l.dashed, l.strokeWidth) })),
    ...bands.map((b, i) => ({ label: b.label, swatch: boxSwatch(bandColors[i]!, b.opacity ?? 0.25) })),
  ];
  const frame = new Frame({
    ...options,
    legend,
    xValues: values(...lines.map((l) => l.x), ...bands.map((b) => b.x), ...points.map((p) => p.x)),
    yValues: values(
      ...lines.map((l) => l.y),
      ...bands.flatMap((b) => [b.lower, b.upper]),
      ...points.map((p) => p.y),
    ),
  });
  const marks = [
    ...bands.map(
      (b, i) =>
        `<path d="${bandPath(frame, b)}" fill="${bandColors[i]}" fill-opacity="${b.opacity ?? 0.25}" stroke="none"/>`,
    ),
    ...points.map((p, i) => scatterMarks(frame, p, pointColors[i]!, p.shape ?? 'circle')),
    ...lines.map(
      (l, i) =>
        `<path d="${linePath(frame, l.x, l.y)}" fill="none" stroke="${lineColors[i]}" stroke-width="${l.strokeWidth ?? 2}" stroke-linejoin="round"${l.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
    ),
  ];
  return frame.render(marks.join('\n'));
}

/** Viridis at nine evenly spaced stops (van der Walt & Smith, matplotlib). */
const VIRIDIS = [
  [68, 1, 84],
  [71, 44, 122],
  [59, 81, 139],
  [44, 113, 142],
  [33, 144, 141],
  [39, 173, 129],
  [92, 200, 99],
  [170, 220, 50],
  [253, 231, 37],
];

/** The viridis colour at t ∈ [0, 1] (clamped), interpolated linearly between stops. */
export function viridis(t: number): string {
  const s = Math.min(Math.max(Number.isFinite(t) ? t : 0, 0), 1) * (VIRIDIS.length - 1);
  const i = Math.min(Math.floor(s), VIRIDIS.length - 2);
  const f = s - i;
  const [a, b] = [VIRIDIS[i]!, VIRIDIS[i + 1]!];
  const hex = (k: number) =>
    Math.round(a[k]! + f * (b[k]! - a[k]!))
      .toString(16)
      .padStart(2, '0');
  return `#${hex(0)}${hex(1)}${hex(2)}`;
}

export interface HeatmapOptions extends ChartOptions {
  /** Cell centres along x (nx) and y (ny), increasing and evenly spaced, as `grid2d` makes them. */
  xs: readonly number[];
  ys: readonly number[];
  /** ny·nx values, row by row: the cell at (xs[c], ys[r]) is `values[r * nx + c]`. */
  values: ArrayLike<number>;
  /** Colour range; by default the values' extent. */
  valueDomain?: readonly [number, number];
  /** Label of the colour bar, e.g. "confidence". */
  valueLabel?: string;
  /** Points drawn over the map, e.g. training data by class. */
  points?: ScatterSeries[];
}

/**
 * A map of values on a regular grid with a colour bar, and points on top:
 * for a classifier's confidence maxₖ p(k | x) over the input plane with the
 * training data marked by class (each class its own colour and shape).
 */
export function heatmap({
  xs,
  ys,
  values: cells,
  valueDomain,
  valueLabel,
  points = [],
  ...options
}: HeatmapOptions): string {
  const nx = xs.length;
  const ny = ys.length;
  if (nx === 0 || ny === 0 || cells.length !== nx * ny) {
    throw new ShapeError(
      `heatmap: values has ${cells.length} entries but xs and ys make a ${ny} × ${nx} grid`,
    );
  }
  const half = (grid: readonly number[]) => (grid.length > 1 ? (grid[1]! - grid[0]!) / 2 : 0.5);
  const [hx, hy] = [half(xs), half(ys)];
  const finite = Array.from(cells).filter(Number.isFinite);
  const [lo, hi] = valueDomain ?? [Math.min(...finite), Math.max(...finite)];
  const span = hi > lo ? hi - lo : 1;
  // White and black first: they stand out on every part of viridis, and shapes tell classes apart too.
  const pointColors = points.map((p, i) => p.color ?? ['#ffffff', '#000000', '#E69F00', '#56B4E9'][i % 4]!);
  const pointShapes = points.map((p, i) => p.shape ?? SHAPES[i % SHAPES.length]!);
  const frame = new Frame({
    ...options,
    xDomain: options.xDomain ?? [xs[0]! - hx, xs[nx - 1]! + hx],
    yDomain: options.yDomain ?? [ys[0]! - hy, ys[ny - 1]! + hy],
    xValues: [],
    yValues: [],
    rightExtra: 70,
    legend: points.map((p, i) => ({
      label: p.label,
      swatch: (x: number, y: number) =>
        `<rect x="${px(x)}" y="${px(y - 7)}" width="18" height="14" fill="${viridis(0.15)}"/>${marker(pointShapes[i]!, x + 9, y, 4, pointColors[i]!)}`,
    })),
  });
  // Colours are quantised to 128 levels, below what the eye separates in viridis, and a run of
  // equal colours along a row is one rect: flat regions (confidence ≈ 1) then cost almost nothing.
  const levels = 128;
  const colorOf = (v: number) =>
    Number.isFinite(v) ? viridis(Math.round(((v - lo) / span) * levels) / levels) : '';
  const rects: string[] = [];
  for (let r = 0; r < ny; r++) {
    const y0 = frame.y(ys[r]! + hy);
    // Cells overlap by half a pixel to hide anti-aliasing seams.
    const height = px(frame.y(ys[r]! - hy) - y0 + 0.5);
    for (let c = 0; c < nx; ) {
      const color = colorOf(cells[r * nx + c]!);
      let end = c + 1;
      while (end < nx && colorOf(cells[r * nx + end]!) === color) end++;
      if (color !== '') {
        const x0 = frame.x(xs[c]! - hx);
        const width = px(frame.x(xs[end - 1]! + hx) - x0 + 0.5);
        rects.push(`<rect x="${px(x0)}" y="${px(y0)}" width="${width}" height="${height}" fill="${color}"/>`);
      }
      c = end;
    }
  }
  const marks = [
    rects.join(''),
    ...points.map((p, i) =>
      scatterMarks(frame, { ...p, radius: p.radius ?? 3.5 }, pointColors[i]!, pointShapes[i]!),
    ),
  ];
  return frame.render(marks.join('\n'), colorBar(frame, lo, hi, valueLabel));
}

function colorBar(frame: Frame, lo: number, hi: number, label: string | undefined): string {
  const x = frame.left + frame.plotWidth + 16;
  const { top, plotHeight } = frame;
  const stops = VIRIDIS.map(
    (_, i) =>
      `<stop offset="${px((100 * i) / (VIRIDIS.length - 1))}%" stop-color="${viridis(i / (VIRIDIS.length - 1))}"/>`,
  ).join('');
  const out = [
    `<defs><linearGradient id="${frame.id}-bar" x1="0" y1="1" x2="0" y2="0">${stops}</linearGradient></defs>`,
    `<rect x="${px(x)}" y="${px(top)}" width="14" height="${px(plotHeight)}" fill="url(#${frame.id}-bar)" stroke="${MUTED}"/>`,
  ];
  const safeHi = hi > lo ? hi : lo + 1;
  for (const [value, text] of tickLabels([lo, safeHi], plotHeight / 50)) {
    const y = px(top + (1 - (value - lo) / (safeHi - lo)) * plotHeight);
    out.push(
      `<line x1="${px(x + 14)}" y1="${y}" x2="${px(x + 18)}" y2="${y}" stroke="${MUTED}"/>`,
      `<text x="${px(x + 21)}" y="${y}" dy="0.32em" fill="${INK}">${escapeXml(text)}</text>`,
    );
  }
  if (label) {
    const cx = px(x + 56);
    const cy = px(top + plotHeight / 2);
    out.push(
      `<text x="${cx}" y="${cy}" transform="rotate(90 ${cx} ${cy})" text-anchor="middle" font-size="13" fill="${INK}">${escapeXml(label)}</text>`,
    );
  }
  return out.join('\n');
}

export interface ReliabilityPlotOptions extends ChartOptions {
  /** One or more models' reliability bins (see `reliabilityDiagram` in src/metrics). */
  series: { label: string; bins: readonly ReliabilityBin[]; color?: string }[];
}

/**
 * Reliability diagram: for each confidence bin (lower, upper], a bar up to the
 * accuracy of the inputs in it, with several models' bars side by side; the
 * diagonal accuracy = confidence is perfect calibration, and a bar below it
 * means overconfidence. Each bar carries a dot at the bin's mean confidence.
 */
export function reliabilityPlot({ series, ...options }: ReliabilityPlotOptions): string {
  const colors = series.map((s, i) => s.color ?? PALETTE[i % PALETTE.length]!);
  const frame = new Frame({
    xLabel: 'confidence',
    yLabel: 'accuracy',
    ...options,
    xDomain: options.xDomain ?? [0, 1],
    yDomain: options.yDomain ?? [0, 1],
    xValues: [],
    yValues: [],
    legend: [
      ...series.map((s, i) => ({ label: s.label, swatch: boxSwatch(colors[i]!, 0.75) })),
      { label: 'perfect calibration', swatch: lineSwatch(MUTED, true, 1.5) },
    ],
  });
  const marks: string[] = [];
  series.forEach((s, k) => {
    for (const bin of s.bins) {
      if (!(Number.isFinite(bin.accuracy) && Number.isFinite(bin.confidence))) continue;
      const slot = (bin.upper - bin.lower) / series.length;
      const x0 = frame.x(bin.lower + k * slot);
      const x1 = frame.x(bin.lower + (k + 1) * slot);
      const y = frame.y(bin.accuracy);
      marks.push(
        `<rect x="${px(x0 + 1)}" y="${px(y)}" width="${px(Math.max(x1 - x0 - 2, 0.5))}" height="${px(frame.y(0) - y)}" fill="${colors[k]}" fill-opacity="0.75"><title>${escapeXml(`${s.label}: confidence ${bin.confidence.toFixed(3)}, accuracy ${bin.accuracy.toFixed(3)}, ${bin.count} inputs`)}</title></rect>`,
        `<circle cx="${px((x0 + x1) / 2)}" cy="${px(frame.y(bin.confidence))}" r="2.5" fill="${INK}"/>`,
      );
    }
  });
  marks.push(
    `<line x1="${px(frame.x(0))}" y1="${px(frame.y(0))}" x2="${px(frame.x(1))}" y2="${px(frame.y(1))}" stroke="${MUTED}" stroke-width="1.5" stroke-dasharray="5 3"/>`,
  );
  return frame.render(marks.join('\n'));
}

export interface SeriesPanel {
  yLabel: string;
  series: { label: string; y: ArrayLike<number>; color?: string }[];
  /** Mark the best point of each series: the largest (e.g. evidence) or smallest (e.g. test NLL). */
  best?: 'max' | 'min';
  yDomain?: readonly [number, number];
}

export interface SeriesPlotOptions {
  title?: string;
  /** Shared x: numbers, or category names spaced evenly (e.g. "1×50", "5×50"). */
  x: readonly number[] | readonly string[];
  xLabel?: string;
  /** Side-by-side panels sharing x, e.g. log evidence and test NLL against depth. */
  panels: SeriesPanel[];
  width?: number;
  height?: number;
}

/**
 * Small multiples: one panel per quantity, side by side over the same x, each
 * with lines and markers; the best point of each series is ringed. The panels
 * are nested SVGs inside one SVG, so the result is a single figure.
 */
export function seriesPlot({
  title,
  x,
  xLabel,
  panels,
  width = 880,
  height = 360,
}: SeriesPlotOptions): string {
  const categorical = typeof x[0] === 'string';
  const xs = categorical ? x.map((_, i) => i) : (x as readonly number[]);
  const titleHeight = title ? 28 : 0;
  const panelWidth = Math.floor(width / Math.max(panels.length, 1));
  const inner = panels.map((panel, p) => {
    const marks: string[] = [];
    const colors = panel.series.map((s, i) => s.color ?? PALETTE[i % PALETTE.length]!);
    const frame = new Frame({
      yLabel: panel.yLabel,
      xLabel,
      width: panelWidth,
      height: height - titleHeight,
      xValues: [...xs],
      yValues: values(...panel.series.map((s) => s.y)),
      yDomain: panel.yDomain,
      xCategories: categorical ? (x as readonly string[]) : undefined,
      legend:
        panel.series.length > 1 || panel.best
          ? [
              ...panel.series.map((s, i) => ({ label: s.label, swatch: lineSwatch(colors[i]!, false) })),
              ...(panel.best
                ? [{ label: panel.best === 'max' ? 'highest' : 'lowest', swatch: ringSwatch }]
                : []),
            ]
          : [],
    });
    panel.series.forEach((s, i) => {
      marks.push(
        `<path d="${linePath(frame, xs, s.y)}" fill="none" stroke="${colors[i]}" stroke-width="2"/>`,
        scatterMarks(frame, { label: s.label, x: xs, y: s.y }, colors[i]!, SHAPES[i % SHAPES.length]!),
      );
      const bestIndex = panel.best ? extremeIndex(s.y, panel.best) : -1;
      if (bestIndex >= 0) {
        marks.push(
          `<circle cx="${px(frame.x(xs[bestIndex]!))}" cy="${px(frame.y(s.y[bestIndex]!))}" r="8" fill="none" stroke="${INK}" stroke-width="1.5"/>`,
        );
      }
    });
    // The panel is a complete chart, placed by x and y inside the figure.
    return frame.render(marks.join('\n')).replace('<svg ', `<svg x="${p * panelWidth}" y="${titleHeight}" `);
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" ${FONT} font-size="12">`,
    title ? `<title>${escapeXml(title)}</title>` : '',
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    title
      ? `<text x="16" y="20" font-size="15" font-weight="600" fill="${INK}">${escapeXml(title)}</text>`
      : '',
    ...inner,
    '</svg>',
  ]
    .filter((s) => s !== '')
    .join('\n');
}

function ringSwatch(x: number, y: number): string {
  return `<circle cx="${px(x + 9)}" cy="${px(y)}" r="6" fill="none" stroke="${INK}" stroke-width="1.5"/>`;
}

/** Index of the largest or smallest finite value (the first on ties), or −1 if none is finite. */
export function extremeIndex(y: ArrayLike<number>, which: 'max' | 'min'): number {
  let best = -1;
  for (let i = 0; i < y.length; i++) {
    const v = y[i]!;
    if (!Number.isFinite(v)) continue;
    if (best < 0 || (which === 'max' ? v > y[best]! : v < y[best]!)) best = i;
  }
  return best;
}

export interface BarChartOptions extends ChartOptions {
  /** Group names along x, e.g. methods or datasets. */
  categories: readonly string[];
  /** One bar per category from each series, grouped side by side. */
  series: { label: string; values: ArrayLike<number>; color?: string }[];
}

/** Grouped bars from a zero baseline (which is always on the y axis). */
export function barChart({ categories, series, ...options }: BarChartOptions): string {
  const colors = series.map((s, i) => s.color ?? PALETTE[i % PALETTE.length]!);
  const frame = new Frame({
    ...options,
    xCategories: categories,
    xValues: [],
    yValues: [0, ...values(...series.map((s) => s.values))],
    legend:
      series.length > 1
        ? series.map((s, i) => ({ label: s.label, swatch: boxSwatch(colors[i]!, 0.85) }))
        : [],
  });
  const groupWidth = 0.8;
  const slot = groupWidth / Math.max(series.length, 1);
  const marks: string[] = [];
  series.forEach((s, k) => {
    categories.forEach((name, c) => {
      const v = s.values[c];
      if (v === undefined || !Number.isFinite(v)) return;
      const x0 = frame.x(c - groupWidth / 2 + k * slot);
      const x1 = frame.x(c - groupWidth / 2 + (k + 1) * slot);
      const [yTop, yBottom] = [frame.y(Math.max(v, 0)), frame.y(Math.min(v, 0))];
      marks.push(
        `<rect x="${px(x0 + 1)}" y="${px(yTop)}" width="${px(Math.max(x1 - x0 - 2, 0.5))}" height="${px(yBottom - yTop)}" fill="${colors[k]}" fill-opacity="0.85"><title>${escapeXml(`${s.label}, ${name}: ${v}`)}</title></rect>`,
      );
    });
  });
  marks.push(
    `<line x1="${px(frame.left)}" y1="${px(frame.y(0))}" x2="${px(frame.left + frame.plotWidth)}" y2="${px(frame.y(0))}" stroke="${INK}"/>`,
  );
  return frame.render(marks.join('\n'));
}
