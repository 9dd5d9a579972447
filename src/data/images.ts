/**
 * Batches of images as flat Float64Arrays in NCHW layout (image n, channel c,
 * row i, column j at ((n·C + c)·H + i)·W + j), and the transformations the
 * image experiments need: resizing, padding, rotation, the UCI digits in the
 * geometry of MNIST, and a stratified subsample.
 *
 * Bilinear resizing follows PyTorch's `interpolate(mode='bilinear',
 * align_corners=False)`: pixels are unit squares, so output row i' samples the
 * input at the continuous row  s = (i' + ½)·H/H' − ½  (clamped below at 0), and
 * the value there is the bilinear blend of the four nearest pixels, with
 * indices past the last row or column clamped to it. A constant image stays
 * constant and a linear ramp stays a ramp.
 *
 * Rotation by θ (counter-clockwise as displayed, rows pointing down, about the
 * centre ((H−1)/2, (W−1)/2) of the pixel grid) fills output pixel (i, j) with
 * the input at the point that the rotation carries onto it: with y = c_r − i
 * and x = j − c_c measured upward and rightward from the centre,
 *
 *   x_s =  cos θ · x + sin θ · y,    y_s = −sin θ · x + cos θ · y,
 *
 * read bilinearly from the four pixels around (c_r − y_s, c_c + x_s), pixels
 * outside the image counting as 0. Multiples of 90° use exact cosines and
 * sines, so they only permute pixels: 90° is `rot90` (out[i][j] = in[j][W−1−i]).
 */
import { ShapeError, ValueError } from '../errors.js';
import { type RngLike, toRng } from '../random.js';

/** A batch of images: [N, C, H, W]. */
export type ImageShape = readonly [number, number, number, number];

/** Images with their shape. */
export interface ImageBatch {
  images: Float64Array;
  shape: [number, number, number, number];
}

function checkBatch(images: ArrayLike<number>, shape: ImageShape, fn: string): void {
  if (shape.length !== 4 || shape.some((s) => !Number.isInteger(s) || s < 0)) {
    throw new ShapeError(
      `${fn}: shape must be [N, C, H, W] with non-negative integer sizes, got [${shape.join(', ')}]`,
    );
  }
  const size = shape[0] * shape[1] * shape[2] * shape[3];
  if (images.length !== size) {
    throw new ShapeError(
      `${fn}: shape [${shape.join(', ')}] has ${size} values and images has ${images.length}`,
    );
  }
}

function checkSize(value: number, name: string, fn: string): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new ValueError(`${fn}: ${name} must be a positive integer, got ${value}`);
  }
}

/** The input position and blend weight for each output index of a bilinear resize along one axis. */
function resizeAxis(inSize: number, outSize: number): { lo: Int32Array; hi: Int32Array; t: Float64Array } {
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const t = new Float64Array(outSize);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    const s = Math.max((o + 0.5) * scale - 0.5, 0);
    const l = Math.min(Math.floor(s), inSize - 1);
    lo[o] = l;
    hi[o] = Math.min(l + 1, inSize - 1);
    t[o] = s - l;
  }
  return { lo, hi, t };
}

/** Bilinear resize of every channel of every image to outHeight × outWidth (PyTorch's align_corners=False). */
export function resizeBilinear(
  images: ArrayLike<number>,
  shape: ImageShape,
  outHeight: number,
  outWidth: number,
): ImageBatch {
  checkBatch(images, shape, 'resizeBilinear');
  checkSize(outHeight, 'outHeight', 'resizeBilinear');
  checkSize(outWidth, 'outWidth', 'resizeBilinear');
  const [n, c, h, w] = shape;
  if (h === 0 || w === 0)
    throw new ShapeError(`resizeBilinear: cannot resize empty images [${shape.join(', ')}]`);
  const rows = resizeAxis(h, outHeight);
  const cols = resizeAxis(w, outWidth);
  const out = new Float64Array(n * c * outHeight * outWidth);
  for (let p = 0; p < n * c; p++) {
    const src = p * h * w;
    const dst = p * outHeight * outWidth;
    for (let i = 0; i < outHeight; i++) {
      const r0 = src + rows.lo[i]! * w;
      const r1 = src + rows.hi[i]! * w;
      const ti = rows.t[i]!;
      for (let j = 0; j < outWidth; j++) {
        const c0 = cols.lo[j]!;
        const c1 = cols.hi[j]!;
        const tj = cols.t[j]!;
        const top = (1 - tj) * images[r0 + c0]! + tj * images[r0 + c1]!;
        const bottom = (1 - tj) * images[r1 + c0]! + tj * images[r1 + c1]!;
        out[dst + i * outWidth + j] = (1 - ti) * top + ti * bottom;
      }
    }
  }
  return { images: out, shape: [n, c, outHeight, outWidth] };
}

/** Surround every image with `top`, `left`, `bottom`, `right` rows and columns of `value` (default 0). */
export function padImages(
  images: ArrayLike<number>,
  shape: ImageShape,
  padding: { top: number; bottom: number; left: number; right: number },
  value = 0,
): ImageBatch {
  checkBatch(images, shape, 'padImages');
  const { top, bottom, left, right } = padding;
  for (const [name, p] of Object.entries(padding)) {
    if (!Number.isInteger(p) || p < 0)
      throw new ValueError(`padImages: ${name} must be a non-negative integer, got ${p}`);
  }
  const [n, c, h, w] = shape;
  const outH = h + top + bottom;
  const outW = w + left + right;
  const out = new Float64Array(n * c * outH * outW).fill(value);
  for (let p = 0; p < n * c; p++) {
    for (let i = 0; i < h; i++) {
      const from = (p * h + i) * w;
      const to = (p * outH + i + top) * outW + left;
      for (let j = 0; j < w; j++) out[to + j] = images[from + j]!;
    }
  }
  return { images: out, shape: [n, c, outH, outW] };
}

/** cos θ and sin θ for θ in degrees, exact at multiples of 90°. */
function cosSinDegrees(degrees: number): [number, number] {
  const reduced = ((degrees % 360) + 360) % 360;
  if (reduced === 0) return [1, 0];
  if (reduced === 90) return [0, 1];
  if (reduced === 180) return [-1, 0];
  if (reduced === 270) return [0, -1];
  const radians = (reduced * Math.PI) / 180;
  return [Math.cos(radians), Math.sin(radians)];
}

/**
 * Rotate every channel of every image by `degrees` counter-clockwise about
 * its centre, bilinearly, with zeros where the rotated image does not reach.
 */
export function rotateImages(images: ArrayLike<number>, shape: ImageShape, degrees: number): ImageBatch {
  checkBatch(images, shape, 'rotateImages');
  if (!Number.isFinite(degrees)) throw new ValueError(`rotateImages: degrees must be finite, got ${degrees}`);
  const [n, c, h, w] = shape;
  const [cos, sin] = cosSinDegrees(degrees);
  const centreRow = (h - 1) / 2;
  const centreCol = (w - 1) / 2;
  // Source position of every output pixel, the same for every image and channel.
  const pixels = h * w;
  const r0 = new Int32Array(pixels);
  const c0 = new Int32Array(pixels);
  const tr = new Float64Array(pixels);
  const tc = new Float64Array(pixels);
  for (let i = 0; i < h; i++) {
    const y = centreRow - i;
    for (let j = 0; j < w; j++) {
      const x = j - centreCol;
      const row = centreRow - (-sin * x + cos * y);
      const col = centreCol + (cos * x + sin * y);
      const fr = Math.floor(row);
      const fc = Math.floor(col);
      r0[i * w + j] = fr;
      c0[i * w + j] = fc;
      tr[i * w + j] = row - fr;
      tc[i * w + j] = col - fc;
    }
  }
  const out = new Float64Array(images.length);
  const at = (base: number, r: number, col: number): number =>
    r >= 0 && r < h && col >= 0 && col < w ? images[base + r * w + col]! : 0;
  for (let p = 0; p < n * c; p++) {
    const base = p * pixels;
    for (let q = 0; q < pixels; q++) {
      const r = r0[q]!;
      const col = c0[q]!;
      const a = tr[q]!;
      const b = tc[q]!;
      // Terms with weight 0 are skipped, so exact grid points read one pixel and never a neighbour past the edge.
      let v = 0;
      if (a !== 1 && b !== 1) v += (1 - a) * (1 - b) * at(base, r, col);
      if (a !== 1 && b !== 0) v += (1 - a) * b * at(base, r, col + 1);
      if (a !== 0 && b !== 1) v += a * (1 - b) * at(base, r + 1, col);
      if (a !== 0 && b !== 0) v += a * b * at(base, r + 1, col + 1);
      out[base + q] = v;
    }
  }
  return { images: out, shape: [n, c, h, w] };
}

/** How the UCI digits are placed in an MNIST-sized frame. */
export interface DigitsLayout {
  /** Side of the box the 8×8 digit is resized into (default 20, MNIST's digit box). */
  box?: number;
  /** Side of the output image (default 28); the box is centred, extra padding going right and down. */
  size?: number;
  /** The largest input value, mapped to intensity 1 (default 16, the UCI counts' maximum). */
  maxValue?: number;
}

/**
 * The UCI optical digits (8×8 counts 0–16, one image per 64 values, row-major)
 * as MNIST-like images [N, 1, 28, 28] in [0, 1].
 *
 * Each UCI count is the number of inked pixels in a 4×4 block of a 32×32
 * bitmap in which the digit was normalised to fill the frame; MNIST's digits
 * were normalised to fit a 20×20 box centred in 28×28. So the 8×8 image is
 * resized bilinearly to 20×20 (a factor 2.5: the geometry matters more than an
 * integer factor, and bilinear resizing has no favoured factor) and padded by
 * 4 on each side, and counts are divided by 16, giving grey levels as MNIST's
 * anti-aliased strokes have.
 */
export function digitsAsImages(pixels: ArrayLike<number>, layout: DigitsLayout = {}): ImageBatch {
  const { box = 20, size = 28, maxValue = 16 } = layout;
  checkSize(box, 'box', 'digitsAsImages');
  checkSize(size, 'size', 'digitsAsImages');
  if (box > size) throw new ValueError(`digitsAsImages: box (${box}) must not exceed size (${size})`);
  if (!(maxValue > 0 && Number.isFinite(maxValue))) {
    throw new ValueError(`digitsAsImages: maxValue must be positive and finite, got ${maxValue}`);
  }
  if (pixels.length % 64 !== 0) {
    throw new ShapeError(`digitsAsImages: expected 64 values (8×8) per digit, got ${pixels.length} values`);
  }
  const n = pixels.length / 64;
  for (let i = 0; i < pixels.length; i++) {
    const v = pixels[i]!;
    if (!(v >= 0 && v <= maxValue)) {
      throw new ValueError(
        `digitsAsImages: value ${i} (digit ${Math.floor(i / 64)}) is ${v}, outside [0, ${maxValue}]`,
      );
    }
  }
  const resized = resizeBilinear(pixels, [n, 1, 8, 8], box, box);
  const before = Math.floor((size - box) / 2);
  const after = size - box - before;
  const padded = padImages(resized.images, resized.shape, {
    top: before,
    bottom: after,
    left: before,
    right: after,
  });
  for (let i = 0; i < padded.images.length; i++) padded.images[i]! /= maxValue;
  return padded;
}

/**
 * Indices of a stratified sample: `perClass[k]` (or `perClass` for every
 * class) distinct indices i with labels[i] = k, drawn uniformly without
 * replacement with the seed, returned in increasing order.
 */
export function stratifiedIndices(
  labels: ArrayLike<number>,
  perClass: number | readonly number[],
  seed: RngLike,
): number[] {
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    if (!Number.isInteger(y) || y < 0)
      throw new ValueError(`stratifiedIndices: label ${i} is ${y}, not a class index`);
    const members = byClass.get(y);
    if (members === undefined) byClass.set(y, [i]);
    else members.push(i);
  }
  const nClasses = Math.max(-1, ...byClass.keys()) + 1;
  const counts = typeof perClass === 'number' ? new Array<number>(nClasses).fill(perClass) : [...perClass];
  if (counts.length !== nClasses) {
    throw new ShapeError(
      `stratifiedIndices: perClass has ${counts.length} counts and the labels ${nClasses} classes`,
    );
  }
  const rng = toRng(seed);
  const chosen: number[] = [];
  counts.forEach((count, k) => {
    const members = byClass.get(k) ?? [];
    if (!Number.isInteger(count) || count < 0 || count > members.length) {
      throw new ValueError(
        `stratifiedIndices: class ${k} has ${members.length} examples and ${count} were asked for`,
      );
    }
    // The first `count` steps of a Fisher–Yates shuffle: a uniform sample without replacement.
    for (let i = 0; i < count; i++) {
      const j = i + rng.int(members.length - i);
      [members[i], members[j]] = [members[j]!, members[i]!];
      chosen.push(members[i]!);
    }
  });
  return chosen.sort((a, b) => a - b);
}

/** The images at `indices`, in that order. */
export function selectImages(
  images: ArrayLike<number>,
  shape: ImageShape,
  indices: readonly number[],
): ImageBatch {
  checkBatch(images, shape, 'selectImages');
  const [n, c, h, w] = shape;
  const size = c * h * w;
  const out = new Float64Array(indices.length * size);
  indices.forEach((index, k) => {
    if (!Number.isInteger(index) || index < 0 || index >= n) {
      throw new ValueError(`selectImages: index ${k} is ${index}, outside [0, ${n})`);
    }
    for (let q = 0; q < size; q++) out[k * size + q] = images[index * size + q]!;
  });
  return { images: out, shape: [indices.length, c, h, w] };
}
