/**
 * Drawing on the canvases: a plot area inside margins, an affine map from
 * the view (input units) to it, and the three pictures — predictive bands,
 * a confidence map with its decision boundary, and evidence against depth.
 *
 * A canvas' backing store has devicePixelRatio pixels per CSS pixel, so all
 * drawing is in CSS pixels under a scale transform and stays sharp.
 */
import type { ClassificationMap, DepthEvidence, Point, RegressionCurve, View } from './fit.js';

const COLORS = {
  classes: ['#2f6db5', '#e0742f'] as const,
  /** Darker shades for points drawn over the confidence map. */
  classPoints: ['#1d4f8f', '#b9541a'] as const,
  mean: '#173a6b',
  functionalBand: 'rgba(47, 109, 181, 0.30)',
  predictiveBand: 'rgba(47, 109, 181, 0.12)',
  grid: '#e6e9ef',
  axis: '#9aa3b2',
  text: '#5b6475',
  point: '#1b2230',
  boundary: 'rgba(27, 34, 48, 0.75)',
};

/** The rectangle, in CSS pixels, where data is drawn. */
export interface PlotArea {
  left: number;
  top: number;
  width: number;
  height: number;
}

const MARGIN = { left: 36, right: 10, top: 10, bottom: 26 };

function plotArea(cssWidth: number, cssHeight: number): PlotArea {
  return {
    left: MARGIN.left,
    top: MARGIN.top,
    width: Math.max(cssWidth - MARGIN.left - MARGIN.right, 1),
    height: Math.max(cssHeight - MARGIN.top - MARGIN.bottom, 1),
  };
}

/** x ↦ pixel and back; y grows upward in the view and downward on the canvas. */
export class Scale {
  constructor(
    readonly view: View,
    readonly area: PlotArea,
  ) {}

  px(x: number): number {
    return this.area.left + ((x - this.view.xMin) / (this.view.xMax - this.view.xMin)) * this.area.width;
  }

  py(y: number): number {
    return this.area.top + ((this.view.yMax - y) / (this.view.yMax - this.view.yMin)) * this.area.height;
  }

  /** The view point under a pixel, or null outside the plot area. */
  invert(px: number, py: number): { x: number; y: number } | null {
    const u = (px - this.area.left) / this.area.width;
    const v = (py - this.area.top) / this.area.height;
    if (u < 0 || u > 1 || v < 0 || v > 1) return null;
    const { xMin, xMax, yMin, yMax } = this.view;
    return { x: xMin + u * (xMax - xMin), y: yMax - v * (yMax - yMin) };
  }
}

/** Size the backing store to the element and return a context drawing in CSS pixels. */
function prepare(canvas: HTMLCanvasElement): {
  ctx: CanvasRenderingContext2D;
  width: number;
  height: number;
} {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const ctx = canvas.getContext('2d')!;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  return { ctx, width, height };
}

/** Ticks at every multiple of `step` inside [low, high]. */
function ticks(low: number, high: number, step: number): number[] {
  const out: number[] = [];
  for (let t = Math.ceil(low / step - 1e-9) * step; t <= high + 1e-9; t += step)
    out.push(Math.round(t * 1e6) / 1e6);
  return out;
}

function drawAxes(ctx: CanvasRenderingContext2D, scale: Scale, step: number): void {
  const { area, view } = scale;
  ctx.save();
  ctx.lineWidth = 1;
  ctx.strokeStyle = COLORS.grid;
  ctx.fillStyle = COLORS.text;
  ctx.font = '11px system-ui, -apple-system, "Segoe UI", sans-serif';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const t of ticks(view.xMin, view.xMax, step)) {
    const x = Math.round(scale.px(t)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(x, area.top);
    ctx.lineTo(x, area.top + area.height);
    ctx.stroke();
    ctx.fillText(String(t), x, area.top + area.height + 6);
  }
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const t of ticks(view.yMin, view.yMax, step)) {
    const y = Math.round(scale.py(t)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(area.left, y);
    ctx.lineTo(area.left + area.width, y);
    ctx.stroke();
    ctx.fillText(String(t), area.left - 6, y);
  }
  ctx.strokeStyle = COLORS.axis;
  ctx.strokeRect(area.left + 0.5, area.top + 0.5, area.width - 1, area.height - 1);
  ctx.restore();
}

function drawPoint(ctx: CanvasRenderingContext2D, x: number, y: number, fill: string): void {
  ctx.beginPath();
  ctx.arc(x, y, 4.5, 0, 2 * Math.PI);
  ctx.fillStyle = fill;
  ctx.fill();
  ctx.lineWidth = 1.5;
  ctx.strokeStyle = '#ffffff';
  ctx.stroke();
}

function clipToArea(ctx: CanvasRenderingContext2D, area: PlotArea): void {
  ctx.beginPath();
  ctx.rect(area.left, area.top, area.width, area.height);
  ctx.clip();
}

/** A band lo(x)..hi(x) as one closed path along the curve's xs. */
function fillBand(
  ctx: CanvasRenderingContext2D,
  scale: Scale,
  xs: number[],
  lo: number[],
  hi: number[],
): void {
  ctx.beginPath();
  for (const [i, x] of xs.entries()) ctx.lineTo(scale.px(x), scale.py(hi[i]!));
  for (let i = xs.length - 1; i >= 0; i--) ctx.lineTo(scale.px(xs[i]!), scale.py(lo[i]!));
  ctx.closePath();
  ctx.fill();
}

/** Data points, the predictive mean, and ±2 sd bands of f (dark) and of y (light). */
export function drawRegression(
  canvas: HTMLCanvasElement,
  view: View,
  points: readonly Point[],
  curve: RegressionCurve | null,
  stale: boolean,
): Scale {
  const { ctx, width, height } = prepare(canvas);
  const scale = new Scale(view, plotArea(width, height));
  drawAxes(ctx, scale, 1);
  if (curve) {
    ctx.save();
    clipToArea(ctx, scale.area);
    ctx.globalAlpha = stale ? 0.35 : 1;
    const { xs, mean, functionalStd, predictiveStd } = curve;
    ctx.fillStyle = COLORS.predictiveBand;
    fillBand(
      ctx,
      scale,
      xs,
      mean.map((m, i) => m - 2 * predictiveStd[i]!),
      mean.map((m, i) => m + 2 * predictiveStd[i]!),
    );
    ctx.fillStyle = COLORS.functionalBand;
    fillBand(
      ctx,
      scale,
      xs,
      mean.map((m, i) => m - 2 * functionalStd[i]!),
      mean.map((m, i) => m + 2 * functionalStd[i]!),
    );
    ctx.beginPath();
    for (const [i, x] of xs.entries()) ctx.lineTo(scale.px(x), scale.py(mean[i]!));
    ctx.strokeStyle = COLORS.mean;
    ctx.lineWidth = 2;
    ctx.stroke();
    ctx.restore();
  }
  for (const p of points) drawPoint(ctx, scale.px(p.x), scale.py(p.y), COLORS.point);
  return scale;
}

function hexToRgb(hex: string): [number, number, number] {
  const v = Number.parseInt(hex.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

/**
 * The colour of p = p(class 1): white at p = ½, towards a class' colour as
 * the confidence |2p − 1| grows.
 */
export function confidenceColor(p: number): [number, number, number] {
  const target = hexToRgb(COLORS.classes[p >= 0.5 ? 1 : 0]);
  const c = 0.7 * Math.min(Math.abs(2 * p - 1), 1);
  return [0, 1, 2].map((k) => Math.round(255 + (target[k]! - 255) * c)) as [number, number, number];
}

/**
 * The p = ½ contour by marching squares: on each grid cell, the points where
 * p − ½ changes sign along an edge (found by linear interpolation) are joined.
 */
export function decisionBoundary(map: ClassificationMap): [number, number, number, number][] {
  const { nx, ny, xs, ys, probs } = map;
  const segments: [number, number, number, number][] = [];
  const at = (r: number, c: number) => probs[r * nx + c]! - 0.5;
  for (let r = 0; r + 1 < ny; r++) {
    for (let c = 0; c + 1 < nx; c++) {
      // Corners counter-clockwise from bottom-left, each with its point in the view.
      const corners: [number, number, number][] = [
        [xs[c]!, ys[r]!, at(r, c)],
        [xs[c + 1]!, ys[r]!, at(r, c + 1)],
        [xs[c + 1]!, ys[r + 1]!, at(r + 1, c + 1)],
        [xs[c]!, ys[r + 1]!, at(r + 1, c)],
      ];
      const crossings: [number, number][] = [];
      for (let e = 0; e < 4; e++) {
        const [x0, y0, v0] = corners[e]!;
        const [x1, y1, v1] = corners[(e + 1) % 4]!;
        if (v0 < 0 !== v1 < 0) {
          const t = v0 / (v0 - v1);
          crossings.push([x0 + t * (x1 - x0), y0 + t * (y1 - y0)]);
        }
      }
      // Two crossings make one segment; four (a saddle) make two, paired in order.
      for (let k = 0; k + 1 < crossings.length; k += 2) {
        segments.push([...crossings[k]!, ...crossings[k + 1]!]);
      }
    }
  }
  return segments;
}

/** Confidence map of p(class 1), its decision boundary, and the labelled points. */
export function drawClassification(
  canvas: HTMLCanvasElement,
  view: View,
  points: readonly Point[],
  map: ClassificationMap | null,
  stale: boolean,
): Scale {
  const { ctx, width, height } = prepare(canvas);
  const scale = new Scale(view, plotArea(width, height));
  if (map) {
    const image = new ImageData(map.nx, map.ny);
    for (let r = 0; r < map.ny; r++) {
      for (let c = 0; c < map.nx; c++) {
        const [red, green, blue] = confidenceColor(map.probs[r * map.nx + c]!);
        const o = ((map.ny - 1 - r) * map.nx + c) * 4; // image rows run top-down, grid rows bottom-up
        image.data.set([red, green, blue, 255], o);
      }
    }
    const tile = document.createElement('canvas');
    tile.width = map.nx;
    tile.height = map.ny;
    tile.getContext('2d')!.putImageData(image, 0, 0);
    // Grid values sit on cell centres: stretch the image half a cell past the view on each side.
    const dx = (map.xs[map.nx - 1]! - map.xs[0]!) / (map.nx - 1);
    const dy = (map.ys[map.ny - 1]! - map.ys[0]!) / (map.ny - 1);
    const x0 = scale.px(map.xs[0]! - dx / 2);
    const y0 = scale.py(map.ys[map.ny - 1]! + dy / 2);
    ctx.save();
    clipToArea(ctx, scale.area);
    ctx.globalAlpha = stale ? 0.4 : 1;
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(
      tile,
      x0,
      y0,
      scale.px(map.xs[map.nx - 1]! + dx / 2) - x0,
      scale.py(map.ys[0]! - dy / 2) - y0,
    );
    ctx.beginPath();
    for (const [ax, ay, bx, by] of decisionBoundary(map)) {
      ctx.moveTo(scale.px(ax), scale.py(ay));
      ctx.lineTo(scale.px(bx), scale.py(by));
    }
    ctx.strokeStyle = COLORS.boundary;
    ctx.lineWidth = 1.5;
    ctx.stroke();
    ctx.restore();
  }
  drawAxes(ctx, scale, 0.5);
  for (const p of points)
    drawPoint(ctx, scale.px(p.x), scale.py(p.y), COLORS.classPoints[p.label === 1 ? 1 : 0]);
  return scale;
}

/** Log evidence against the number of hidden layers, the best marked. */
export function drawDepthEvidence(canvas: HTMLCanvasElement, results: readonly DepthEvidence[]): void {
  const { ctx, width, height } = prepare(canvas);
  const area = { left: 30, top: 8, width: width - 40, height: height - 40 };
  ctx.font = '11px system-ui, -apple-system, "Segoe UI", sans-serif';
  ctx.fillStyle = COLORS.text;
  if (results.length === 0) {
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText('Fits networks of 1–4 hidden layers and compares log p(y).', width / 2, height / 2);
    return;
  }
  const values = results.map((r) => r.logMarginalLikelihood);
  const low = Math.min(...values);
  const high = Math.max(...values);
  const range = Math.max(high - low, 1);
  const depths = results.map((r) => r.hiddenLayers);
  const view = {
    xMin: Math.min(...depths) - 0.5,
    xMax: Math.max(...depths) + 0.5,
    // Room above each point for its label.
    yMin: low - 0.15 * range,
    yMax: high + 0.4 * range,
  };
  const scale = new Scale(view, area);
  ctx.strokeStyle = COLORS.axis;
  ctx.strokeRect(area.left + 0.5, area.top + 0.5, area.width - 1, area.height - 1);
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const d of depths) ctx.fillText(String(d), scale.px(d), area.top + area.height + 5);
  ctx.fillText('hidden layers', area.left + area.width / 2, area.top + area.height + 17);
  ctx.save();
  ctx.translate(10, area.top + area.height / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textAlign = 'center';
  ctx.fillText('log evidence', 0, 0);
  ctx.restore();
  ctx.beginPath();
  for (const r of results) ctx.lineTo(scale.px(r.hiddenLayers), scale.py(r.logMarginalLikelihood));
  ctx.strokeStyle = COLORS.classes[0];
  ctx.lineWidth = 1.5;
  ctx.stroke();
  const best = results.reduce((a, b) => (b.logMarginalLikelihood > a.logMarginalLikelihood ? b : a));
  for (const r of results) {
    const x = scale.px(r.hiddenLayers);
    const y = scale.py(r.logMarginalLikelihood);
    drawPoint(ctx, x, y, r === best ? COLORS.classes[1] : COLORS.classes[0]);
    ctx.fillStyle = COLORS.text;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'bottom';
    // A white halo keeps the label legible where it crosses the line.
    ctx.lineWidth = 3;
    ctx.strokeStyle = '#ffffff';
    ctx.strokeText(r.logMarginalLikelihood.toFixed(1), x, y - 8);
    ctx.fillText(r.logMarginalLikelihood.toFixed(1), x, y - 8);
  }
}
