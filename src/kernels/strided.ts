/**
 * Strided loops shared by the primitives' forward kernels.
 *
 * An n-d view of a Float64Array is an offset and one stride per axis: element
 * (i₀, …, iₙ₋₁) lives at offset + Σₖ iₖ·strideₖ. Broadcasting is a stride of 0,
 * a transpose permutes strides, a slice moves the offset. Every loop here first
 * *coalesces* the index space (merges neighbouring axes that every operand
 * walks contiguously, drops axes of length 1), then runs an odometer over all
 * axes but the last and a tight inner loop over the last.
 *
 * These are kernels in the BLAS sense: sizes, arrays, offsets and strides in,
 * results written into `out`, no validation.
 */

/**
 * Merge axes i and i+1 when every operand has strideᵢ = strideᵢ₊₁·shapeᵢ₊₁, and
 * drop axes of length 1. Returns the reduced shape and strides (rank ≥ 1).
 */
function coalesce(shape: readonly number[], strides: readonly (readonly number[])[]): [number[], number[][]] {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let axis = 0; axis < shape.length; axis++) {
    const n = shape[axis]!;
    if (n === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, k) => outStrides[k]![last] === s[axis]! * n)) {
      outShape[last]! *= n;
      for (let k = 0; k < strides.length; k++) outStrides[k]![last] = strides[k]![axis]!;
      continue;
    }
    outShape.push(n);
    for (let k = 0; k < strides.length; k++) outStrides[k]!.push(strides[k]![axis]!);
  }
  if (outShape.length === 0) {
    outShape.push(1);
    for (const s of outStrides) s.push(0);
  }
  return [outShape, outStrides];
}

/**
 * Visit every row (all axes but the last, after coalescing) of the index space
 * `shape`, calling `row(length, offsets, inner)` with each operand's offset of
 * the row's first element and its stride along the row. `offsets` is reused.
 */
function forEachRow(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
  offsets: number[],
  row: (length: number, offsets: readonly number[], inner: readonly number[]) => void,
): void {
  const [dims, steps] = coalesce(shape, strides);
  const rank = dims.length;
  const length = dims[rank - 1]!;
  const inner = steps.map((s) => s[rank - 1]!);
  let rows = 1;
  for (let d = 0; d < rank - 1; d++) rows *= dims[d]!;
  if (length === 0 || rows === 0) return;
  const index = new Array<number>(rank).fill(0);
  const operands = offsets.length;
  for (let r = 0; r < rows; r++) {
    row(length, offsets, inner);
    for (let d = rank - 2; d >= 0; d--) {
      index[d]!++;
      for (let k = 0; k < operands; k++) offsets[k]! += steps[k]![d]!;
      if (index[d]! < dims[d]!) break;
      for (let k = 0; k < operands; k++) offsets[k]! -= steps[k]![d]! * dims[d]!;
      index[d] = 0;
    }
  }
}

/** dst[dOff + Σ iₖ·dStrideₖ] = src[sOff + Σ iₖ·sStrideₖ] over the index space `shape`. */
export function copyStrided(
  shape: readonly number[],
  src: Float64Array,
  srcOffset: number,
  srcStrides: readonly number[],
  dst: Float64Array,
  dstOffset: number,
  dstStrides: readonly number[],
): void {
  forEachRow(shape, [srcStrides, dstStrides], [srcOffset, dstOffset], (n, offsets, inner) => {
    let i = offsets[0]!;
    let j = offsets[1]!;
    const si = inner[0]!;
    const dj = inner[1]!;
    if (si === 1 && dj === 1) {
      dst.set(src.subarray(i, i + n), j);
      return;
    }
    for (let k = 0; k < n; k++, i += si, j += dj) dst[j] = src[i]!;
  });
}

/** Row-major strides of `shape` with the axes where `from` is broadcast (absent or 1) set to 0. */
export function broadcastStrides(from: readonly number[], to: readonly number[]): number[] {
  const strides = new Array<number>(to.length).fill(0);
  let s = 1;
  for (let i = from.length - 1; i >= 0; i--) {
    const axis = to.length - from.length + i;
    strides[axis] = from[i] === 1 && to[axis] !== 1 ? 0 : s;
    s *= from[i]!;
  }
  return strides;
}

/** Strided inner loop of a binary elementwise op: out[io + k] = f(a[ia + k·sa], b[ib + k·sb]). */
export type BinaryKernel = (
  n: number,
  a: Float64Array,
  ia: number,
  sa: number,
  b: Float64Array,
  ib: number,
  sb: number,
  out: Float64Array,
  io: number,
) => void;

/** out = f(a, b) with NumPy broadcasting of `aShape` and `bShape` to `outShape`. */
export function broadcastBinary(
  kernel: BinaryKernel,
  a: Float64Array,
  aShape: readonly number[],
  b: Float64Array,
  bShape: readonly number[],
  outShape: readonly number[],
  out: Float64Array,
): void {
  const n = out.length;
  if (a.length === n && (b.length === n || b.length === 1)) {
    kernel(n, a, 0, 1, b, 0, b.length === n ? 1 : 0, out, 0);
    return;
  }
  if (a.length === 1 && b.length === n) {
    kernel(n, a, 0, 0, b, 0, 1, out, 0);
    return;
  }
  const sa = broadcastStrides(aShape, outShape);
  const sb = broadcastStrides(bShape, outShape);
  const so = broadcastStrides(outShape, outShape);
  const [dims, [da, db, dout]] = coalesce(outShape, [sa, sb, so]);
  const rank = dims.length;
  if (rank <= 3) {
    // The common case, as two explicit loops around the row kernel.
    const n = dims[rank - 1]!;
    const [n0, a0, b0, o0] = rank === 3 ? [dims[0]!, da![0]!, db![0]!, dout![0]!] : [1, 0, 0, 0];
    const [n1, a1, b1, o1] =
      rank >= 2 ? [dims[rank - 2]!, da![rank - 2]!, db![rank - 2]!, dout![rank - 2]!] : [1, 0, 0, 0];
    const ka = da![rank - 1]!;
    const kb = db![rank - 1]!;
    for (let i = 0; i < n0; i++) {
      for (let j = 0; j < n1; j++)
        kernel(n, a, i * a0 + j * a1, ka, b, i * b0 + j * b1, kb, out, i * o0 + j * o1);
    }
    return;
  }
  forEachRow(outShape, [sa, sb, so], [0, 0, 0], (len, offsets, inner) => {
    kernel(len, a, offsets[0]!, inner[0]!, b, offsets[1]!, inner[1]!, out, offsets[2]!);
  });
}

/**
 * Sum (or max) of `x` with shape `shape` over the axes where `reduced[i]`,
 * accumulated into `out` (shape with reduced axes dropped, row-major), which the
 * caller fills with 0 (or −∞) first. NaN propagates through max.
 */
export function reduceInto(
  op: 'sum' | 'max',
  x: Float64Array,
  shape: readonly number[],
  reduced: readonly boolean[],
  out: Float64Array,
): void {
  if (out.length === 1) {
    out[0] = op === 'sum' ? sumRange(x, 0, x.length, 1) : maxRange(x, 0, x.length, 1, out[0]!);
    return;
  }
  const xs = broadcastStrides(shape, shape);
  // Output strides over the input's index space: 0 along reduced axes.
  const os = new Array<number>(shape.length).fill(0);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (reduced[i]) continue;
    os[i] = s;
    s *= shape[i]!;
  }
  const [dims, [, outSteps]] = coalesce(shape, [xs, os]);
  if (op === 'sum' && dims.length === 2 && outSteps![0] === 0) {
    // [rows, cols] summed over rows (a bias gradient): add each row into out.
    const cols = dims[1]!;
    for (let r = 0, i = 0; r < dims[0]!; r++) for (let k = 0; k < cols; k++, i++) out[k]! += x[i]!;
    return;
  }
  forEachRow(shape, [xs, os], [0, 0], (n, offsets, inner) => {
    const i = offsets[0]!;
    const o = offsets[1]!;
    if (inner[1] === 0) {
      out[o] = op === 'sum' ? out[o]! + sumRange(x, i, n, 1) : maxRange(x, i, n, 1, out[o]!);
    } else if (op === 'sum') {
      for (let k = 0; k < n; k++) out[o + k]! += x[i + k]!;
    } else {
      for (let k = 0; k < n; k++) {
        const v = x[i + k]!;
        if (v > out[o + k]! || Number.isNaN(v)) out[o + k] = v;
      }
    }
  });
}

function sumRange(x: Float64Array, start: number, n: number, step: number): number {
  let s = 0;
  for (let k = 0, i = start; k < n; k++, i += step) s += x[i]!;
  return s;
}

function maxRange(x: Float64Array, start: number, n: number, step: number, init: number): number {
  let m = init;
  for (let k = 0, i = start; k < n; k++, i += step) {
    const v = x[i]!;
    if (v > m || Number.isNaN(v)) m = v;
  }
  return m;
}
