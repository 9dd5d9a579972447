/**
 * The functional operations: what user code (and every primitive's rules) calls.
 *
 * Each op accepts TensorLike arguments (Tensors, tracers, numbers, nested
 * arrays), validates them in the shapes the caller sees, resolves negative and
 * default axes to canonical parameters, and binds a primitive. Composite ops
 * (mean, logsumexp, softmax, stack, …) are written with primitives here, in
 * numerically stable forms; they are differentiated through their parts.
 *
 * Names follow NumPy/JAX: axis arguments may be negative, reductions take
 * `keepdims`, matmul has NumPy semantics (vectors promoted and squeezed,
 * batch axes broadcast).
 */
import { ShapeError, ValueError } from '../errors.js';
import {
  asTensor,
  normalizeAxis,
  ones,
  type Shape,
  shapeString,
  shapesEqual,
  sizeOf,
  type Tensor,
  type TensorLike,
  tensor,
  zeros,
} from '../tensor.js';
import { bind } from './core.js';
import { conv2dRaw } from './primitives/conv.js';
import { abs, add, exp, lessEqual, log, mul, neg, stopGradient, sub, where } from './primitives/math.js';
import { matmulFlagged } from './primitives/matmul.js';
import { avgPool2dRaw, maxPool2dRaw } from './primitives/pool.js';
import { maxP, sumP } from './primitives/reduce.js';
import {
  broadcastToP,
  concatP,
  padP,
  reshapeP,
  scatterAddP,
  sliceP,
  takeP,
  transposeP,
} from './primitives/shape.js';

// Elementwise maths (NumPy broadcasting): each op is defined with its primitive.
export * from './primitives/math.js';

// ---------------------------------------------------------------------------
// Axes

/** Canonical axes: sorted, non-negative, distinct; undefined means all. */
function resolveAxes(axis: number | readonly number[] | undefined, ndim: number, what: string): number[] {
  if (axis === undefined) return Array.from({ length: ndim }, (_, i) => i);
  const list = typeof axis === 'number' ? [axis] : axis;
  const axes = list.map((a) => normalizeAxis(a, ndim, what));
  if (new Set(axes).size !== axes.length)
    throw new ShapeError(`${what}: repeated axis in [${list.join(', ')}]`);
  return axes.sort((a, b) => a - b);
}

// ---------------------------------------------------------------------------
// Reductions

/** Σ over `axis` (all axes by default). */
export function sum(x: TensorLike, axis?: number | readonly number[], keepdims = false): Tensor {
  const t = asTensor(x);
  return sumAxes(t, resolveAxes(axis, t.ndim, 'sum'), keepdims);
}

/** Sum over canonical axes; summing only axes of length 1 is a reshape. */
function sumAxes(t: Tensor, axes: readonly number[], keepdims: boolean): Tensor {
  if (axes.every((a) => t.shape[a] === 1)) {
    return reshape(t, keepdims ? t.shape : t.shape.filter((_, i) => !axes.includes(i)));
  }
  return bind(sumP, [t], { axes, keepdims });
}

/** Arithmetic mean over `axis` (all axes by default). */
export function mean(x: TensorLike, axis?: number | readonly number[], keepdims = false): Tensor {
  const t = asTensor(x);
  const axes = resolveAxes(axis, t.ndim, 'mean');
  let count = 1;
  for (const a of axes) count *= t.shape[a]!;
  return mul(sumAxes(t, axes, keepdims), 1 / count);
}

/** Maximum over `axis` (all axes by default); ties share the derivative equally. */
export function max(x: TensorLike, axis?: number | readonly number[], keepdims = false): Tensor {
  const t = asTensor(x);
  if (t.size === 0) throw new ShapeError(`max: empty tensor of shape ${shapeString(t.shape)} has no maximum`);
  return bind(maxP, [t], { axes: resolveAxes(axis, t.ndim, 'max'), keepdims });
}

/** Minimum over `axis`: −max(−x). */
export function min(x: TensorLike, axis?: number | readonly number[], keepdims = false): Tensor {
  return neg(max(neg(x), axis, keepdims));
}

/**
 * log Σ exp x over `axis`, computed as m + log Σ exp(x − m) with m the
 * (derivative-free) maximum, so it neither overflows nor underflows. Infinite
 * maxima are replaced by 0 in the shift so that −∞ inputs give −∞, not NaN.
 */
export function logsumexp(x: TensorLike, axis?: number | readonly number[], keepdims = false): Tensor {
  const t = asTensor(x);
  const axes = resolveAxes(axis, t.ndim, 'logsumexp');
  const m = bind(maxP, [t], { axes, keepdims: true });
  const shift = stopGradient(where(lessEqual(abs(m), Number.MAX_VALUE), m, 0));
  const lse = add(log(bind(sumP, [exp(sub(t, shift))], { axes, keepdims: true })), shift);
  return keepdims
    ? lse
    : reshape(
        lse,
        t.shape.filter((_, i) => !axes.includes(i)),
      );
}

/** exp(x − logsumexp x) along `axis` (default last). */
export function softmax(x: TensorLike, axis = -1): Tensor {
  const t = asTensor(x);
  return exp(sub(t, logsumexp(t, axis, true)));
}

/** x − logsumexp x along `axis` (default last). */
export function logSoftmax(x: TensorLike, axis = -1): Tensor {
  const t = asTensor(x);
  return sub(t, logsumexp(t, axis, true));
}

// ---------------------------------------------------------------------------
// Products

/**
 * Matrix product with NumPy semantics: 2-D × 2-D is the matrix product; a 1-D
 * first (second) operand is a row (column) vector whose axis is dropped from
 * the result; axes before the last two are batch axes and broadcast.
 */
export function matmul(a: TensorLike, b: TensorLike): Tensor {
  const x = asTensor(a);
  const y = asTensor(b);
  if (x.ndim === 0 || y.ndim === 0) {
    throw new ShapeError(
      `matmul: operands must have at least one axis, a is ${shapeString(x.shape)} and b is ${shapeString(y.shape)} (use mul for scalars)`,
    );
  }
  const k = x.shape[x.ndim - 1]!;
  const k2 = y.ndim === 1 ? y.shape[0]! : y.shape[y.ndim - 2]!;
  if (k !== k2) {
    throw new ShapeError(
      `matmul: inner dimensions differ, a is ${shapeString(x.shape)} and b is ${shapeString(y.shape)}`,
    );
  }
  const xm = x.ndim === 1 ? reshape(x, [1, k]) : x;
  const ym = y.ndim === 1 ? reshape(y, [k, 1]) : y;
  const c = matmulFlagged(xm, ym, false, false);
  if (x.ndim > 1 && y.ndim > 1) return c;
  const shape = c.shape.slice(0, -2);
  if (x.ndim > 1) shape.push(c.shape[c.ndim - 2]!);
  if (y.ndim > 1) shape.push(c.shape[c.ndim - 1]!);
  return reshape(c, shape);
}

/**
 * The affine map of a linear layer, x·Wᵀ + b with PyTorch's weight layout:
 * x is [..., in], weight [out, in], bias [out]. One gemm: the
 * transpose is a flag of the product, never a copy, and the bias is its addend.
 */
export function linear(x: TensorLike, weight: TensorLike, bias?: TensorLike | null): Tensor {
  const xt = asTensor(x);
  const w = asTensor(weight);
  if (w.ndim !== 2 || xt.ndim === 0 || xt.shape[xt.ndim - 1] !== w.shape[1]) {
    throw new ShapeError(
      `linear: x is ${shapeString(xt.shape)} and weight is ${shapeString(w.shape)}; expected x [..., in] and weight [out, in]`,
    );
  }
  const b = bias === undefined || bias === null ? undefined : asTensor(bias);
  if (b !== undefined && (b.ndim !== 1 || b.shape[0] !== w.shape[0])) {
    throw new ShapeError(
      `linear: bias is ${shapeString(b.shape)}, expected [${w.shape[0]}] for weight ${shapeString(w.shape)}`,
    );
  }
  const rows = xt.ndim === 1 ? reshape(xt, [1, xt.shape[0]!]) : xt;
  const y = matmulFlagged(rows, w, false, true, b);
  return xt.ndim === 1 ? reshape(y, [w.shape[0]!]) : y;
}

// ---------------------------------------------------------------------------
// Shapes

/** Same values in a new shape; at most one entry may be −1 (inferred). */
export function reshape(x: TensorLike, shape: Shape | number): Tensor {
  const t = asTensor(x);
  const target = typeof shape === 'number' ? [shape] : [...shape];
  const unknown = target.indexOf(-1);
  if (unknown >= 0) {
    if (target.indexOf(-1, unknown + 1) >= 0)
      throw new ShapeError(`reshape: more than one −1 in ${shapeString(target)}`);
    const known = -sizeOf(target);
    if (known === 0 || t.size % known !== 0) {
      throw new ShapeError(`reshape: cannot reshape ${shapeString(t.shape)} to ${shapeString(target)}`);
    }
    target[unknown] = t.size / known;
  }
  for (const d of target) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(`reshape: invalid shape ${shapeString(target)}`);
  }
  if (shapesEqual(target, t.shape)) return t;
  return bind(reshapeP, [t], { shape: target });
}

/** Permute axes: axis k of the result is axis perm[k] of x (default: reversed). */
export function transpose(x: TensorLike, perm?: readonly number[]): Tensor {
  const t = asTensor(x);
  const p =
    perm === undefined
      ? t.shape.map((_, i) => t.ndim - 1 - i)
      : perm.map((a) => normalizeAxis(a, t.ndim, 'transpose'));
  if (p.every((a, i) => a === i)) return t;
  return bind(transposeP, [t], { perm: p });
}

/** Move axis `from` to position `to`, keeping the others in order. */
export function moveAxis(x: TensorLike, from: number, to: number): Tensor {
  const t = asTensor(x);
  const f = normalizeAxis(from, t.ndim, 'moveAxis');
  const d = normalizeAxis(to, t.ndim, 'moveAxis');
  const perm = t.shape.map((_, i) => i).filter((i) => i !== f);
  perm.splice(d, 0, f);
  return transpose(t, perm);
}

/** Broadcast to `shape` with NumPy rules (copies). */
export function broadcastTo(x: TensorLike, shape: Shape): Tensor {
  const t = asTensor(x);
  if (shapesEqual(t.shape, shape)) return t;
  return bind(broadcastToP, [t], { shape: [...shape] });
}

/**
 * Sum x down to `shape`, undoing a broadcast from `shape` to x's shape: sum the
 * leading axes x has in excess and the axes where `shape` has 1.
 */
export function sumTo(x: TensorLike, shape: Shape): Tensor {
  const t = asTensor(x);
  if (shapesEqual(t.shape, shape)) return t;
  const lead = t.ndim - shape.length;
  if (lead < 0)
    throw new ShapeError(`sumTo: cannot sum ${shapeString(t.shape)} to more axes ${shapeString(shape)}`);
  const axes: number[] = [];
  for (let i = 0; i < t.ndim; i++) {
    if (i < lead || (shape[i - lead] === 1 && t.shape[i] !== 1)) axes.push(i);
    else if (shape[i - lead] !== t.shape[i]) {
      throw new ShapeError(`sumTo: ${shapeString(t.shape)} is not a broadcast of ${shapeString(shape)}`);
    }
  }
  return reshape(sumAxes(t, axes, false), shape);
}

/** Insert an axis of length 1 at `axis`. */
export function expandDims(x: TensorLike, axis: number): Tensor {
  const t = asTensor(x);
  const a = normalizeAxis(axis, t.ndim + 1, 'expandDims');
  const shape = [...t.shape];
  shape.splice(a, 0, 1);
  return reshape(t, shape);
}

/** Remove axes of length 1 (all of them, or those in `axis`). */
export function squeeze(x: TensorLike, axis?: number | readonly number[]): Tensor {
  const t = asTensor(x);
  const axes =
    axis === undefined
      ? t.shape.flatMap((d, i) => (d === 1 ? [i] : []))
      : resolveAxes(axis, t.ndim, 'squeeze');
  for (const a of axes) {
    if (t.shape[a] !== 1)
      throw new ShapeError(`squeeze: axis ${a} of ${shapeString(t.shape)} has length ${t.shape[a]}, not 1`);
  }
  return reshape(
    t,
    t.shape.filter((_, i) => !axes.includes(i)),
  );
}

/** Join tensors along an existing axis. */
export function concat(xs: readonly TensorLike[], axis = 0): Tensor {
  if (xs.length === 0) throw new ValueError('concat: needs at least one tensor');
  const ts = xs.map(asTensor);
  const a = normalizeAxis(axis, ts[0]!.ndim, 'concat');
  if (ts.length === 1) return ts[0]!;
  return bind(concatP, ts, { axis: a });
}

/** Join tensors of equal shape along a new axis. */
export function stack(xs: readonly TensorLike[], axis = 0): Tensor {
  if (xs.length === 0) throw new ValueError('stack: needs at least one tensor');
  const ts = xs.map(asTensor);
  const a = normalizeAxis(axis, ts[0]!.ndim + 1, 'stack');
  ts.forEach((t, i) => {
    if (!shapesEqual(t.shape, ts[0]!.shape)) {
      throw new ShapeError(
        `stack: tensor ${i} has shape ${shapeString(t.shape)}, tensor 0 has ${shapeString(ts[0]!.shape)}`,
      );
    }
  });
  return concat(
    ts.map((t) => expandDims(t, a)),
    a,
  );
}

/**
 * The box starts[k] ≤ i < ends[k] on each axis (`ends` exclusive, like
 * x[a:b]); missing entries mean the whole axis, negative ones count from the end.
 */
export function slice(x: TensorLike, starts: readonly number[], ends?: readonly number[]): Tensor {
  const t = asTensor(x);
  if (starts.length > t.ndim || (ends !== undefined && ends.length > t.ndim)) {
    throw new ShapeError(`slice: more starts/ends than the ${t.ndim} axes of ${shapeString(t.shape)}`);
  }
  const resolve = (v: number | undefined, d: number, fallback: number) =>
    v === undefined ? fallback : v < 0 ? v + d : v;
  const s = t.shape.map((d, k) => resolve(starts[k], d, 0));
  const e = t.shape.map((d, k) => resolve(ends?.[k], d, d));
  if (s.every((v) => v === 0) && e.every((v, k) => v === t.shape[k])) return t;
  return bind(sliceP, [t], { starts: s, ends: e });
}

/** Zeros added before[k] and after[k] around each axis. */
export function pad(x: TensorLike, before: readonly number[], after: readonly number[]): Tensor {
  const t = asTensor(x);
  if (before.every((v) => v === 0) && after.every((v) => v === 0) && before.length === t.ndim) return t;
  return bind(padP, [t], { before: [...before], after: [...after] });
}

/** Integer indices as a Tensor. */
function indexTensor(indices: readonly number[] | Int32Array | TensorLike): Tensor {
  return indices instanceof Int32Array ? tensor(Float64Array.from(indices)) : asTensor(indices as TensorLike);
}

/**
 * Gather along `axis`, as numpy.take: out[…, i, …] = x[…, indices[i], …] with
 * the shape of `indices` in place of the axis. Indices are integers in
 * [0, n); they carry no derivative.
 */
export function take(x: TensorLike, indices: readonly number[] | Int32Array | TensorLike, axis = 0): Tensor {
  const t = asTensor(x);
  const a = normalizeAxis(axis, t.ndim, 'take');
  return bind(takeP, [t, indexTensor(indices)], { axis: a });
}

/**
 * The transpose of take: zeros of length `size` along `axis` into which each
 * slice of `updates` is added at its index (repeated indices accumulate).
 */
export function scatterAdd(
  updates: TensorLike,
  indices: readonly number[] | Int32Array | TensorLike,
  axis: number,
  size: number,
): Tensor {
  const u = asTensor(updates);
  const idx = indexTensor(indices);
  const a = normalizeAxis(axis, u.ndim - idx.ndim + 1, 'scatterAdd');
  if (!Number.isInteger(size) || size < 0)
    throw new ValueError(`scatterAdd: size must be a non-negative integer, got ${size}`);
  return bind(scatterAddP, [u, idx], { axis: a, size });
}

/** Concrete zeros with the (apparent) shape of x. */
export function zerosLike(x: TensorLike): Tensor {
  return zeros(asTensor(x).shape);
}

/** Concrete ones with the (apparent) shape of x. */
export function onesLike(x: TensorLike): Tensor {
  return ones(asTensor(x).shape);
}

// ---------------------------------------------------------------------------
// Convolution and pooling (NCHW, PyTorch's definitions)

/** A size given once for both spatial axes, or as [height, width]. */
export type Pair = number | readonly [number, number];

export interface Conv2dOptions {
  /** Step between windows (default 1). */
  stride?: Pair;
  /** Zeros added on each side (default 0). */
  padding?: Pair;
  /** Spacing between a kernel's taps (default 1). */
  dilation?: Pair;
  /** Channel groups: input and output channels split into this many independent blocks (default 1). */
  groups?: number;
}

export interface MaxPool2dOptions {
  kernelSize: Pair;
  /** Default: the kernel size (non-overlapping windows). */
  stride?: Pair;
  /** Implicit −∞ on each side, at most half the kernel size (default 0). */
  padding?: Pair;
  dilation?: Pair;
}

export interface AvgPool2dOptions {
  kernelSize: Pair;
  /** Default: the kernel size. */
  stride?: Pair;
  /** Zeros on each side, counted in the mean (count_include_pad); at most half the kernel size (default 0). */
  padding?: Pair;
}

/** A pair of integers ≥ `min` from a scalar or a pair, or a ValueError naming the option. */
function pair(
  value: Pair | undefined,
  fallback: readonly [number, number],
  min: number,
  what: string,
): [number, number] {
  if (value === undefined) return [fallback[0], fallback[1]];
  const both: readonly unknown[] =
    typeof value === 'number' ? [value, value] : Array.isArray(value) ? value : [];
  if (both.length !== 2 || !both.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= min)) {
    throw new ValueError(
      `${what} must be an integer ≥ ${min} or a pair [h, w] of them, got ${JSON.stringify(value)}`,
    );
  }
  return [both[0] as number, both[1] as number];
}

/** An [N, C, H, W] view of x ([C, H, W] gains N = 1), or a ShapeError naming the op. */
function asImages(x: Tensor, what: string): Tensor {
  if (x.ndim === 3) return reshape(x, [1, ...x.shape]);
  if (x.ndim !== 4) {
    throw new ShapeError(`${what}: input must be [N, C, H, W] or [C, H, W], got ${shapeString(x.shape)}`);
  }
  return x;
}

/**
 * PyTorch's conv2d: x [N, C, H, W] (or [C, H, W]) cross-correlated with
 * weight [O, C/groups, kh, kw], plus bias [O] per output channel, giving
 * [N, O, H', W'] with H' = ⌊(H + 2p − d(kh − 1) − 1)/s⌋ + 1.
 */
export function conv2d(
  x: TensorLike,
  weight: TensorLike,
  bias: TensorLike | null = null,
  options: Conv2dOptions = {},
): Tensor {
  const xt = asTensor(x);
  const w = asTensor(weight);
  const stride = pair(options.stride, [1, 1], 1, 'conv2d: stride');
  const padding = pair(options.padding, [0, 0], 0, 'conv2d: padding');
  const dilation = pair(options.dilation, [1, 1], 1, 'conv2d: dilation');
  const groups = options.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1)
    throw new ValueError(`conv2d: groups must be a positive integer, got ${groups}`);
  const images = asImages(xt, 'conv2d');
  if (w.ndim !== 4 || w.size === 0) {
    throw new ShapeError(
      `conv2d: weight must be [out, in/groups, kh, kw] and non-empty, got ${shapeString(w.shape)}`,
    );
  }
  const [out, perGroup] = w.shape as [number, number];
  const channels = images.shape[1]!;
  if (out % groups !== 0 || perGroup * groups !== channels) {
    throw new ShapeError(
      `conv2d: weight ${shapeString(w.shape)} in ${groups} group(s) needs ${perGroup * groups} input channels and out channels divisible by ${groups}; input is ${shapeString(xt.shape)}`,
    );
  }
  const b = bias === null ? null : asTensor(bias);
  if (b !== null && (b.ndim !== 1 || b.shape[0] !== out)) {
    throw new ShapeError(
      `conv2d: bias is ${shapeString(b.shape)}, expected [${out}] for weight ${shapeString(w.shape)}`,
    );
  }
  const y = conv2dRaw(images, w, { stride, padding, dilation, groups }, b ?? undefined);
  return xt.ndim === 3 ? reshape(y, y.shape.slice(1)) : y;
}

/** PyTorch's padding check for pools: at most half the kernel on each axis. */
function checkPoolPadding(padding: [number, number], kernel: [number, number], what: string): void {
  if (padding[0] > Math.floor(kernel[0] / 2) || padding[1] > Math.floor(kernel[1] / 2)) {
    throw new ValueError(
      `${what}: padding [${padding.join(', ')}] must be at most half the kernel size [${kernel.join(', ')}]`,
    );
  }
}

/**
 * PyTorch's max_pool2d (floor mode): the maximum of each window of x
 * [N, C, H, W] (or [C, H, W]); the gradient goes to the window's first maximum
 * in row-major order and accumulates where windows overlap.
 */
export function maxPool2d(x: TensorLike, options: MaxPool2dOptions): Tensor {
  const xt = asTensor(x);
  if (options?.kernelSize === undefined) throw new ValueError('maxPool2d: kernelSize is required');
  const kernelSize = pair(options.kernelSize, [0, 0], 1, 'maxPool2d: kernelSize');
  const stride = pair(options.stride, kernelSize, 1, 'maxPool2d: stride');
  const padding = pair(options.padding, [0, 0], 0, 'maxPool2d: padding');
  const dilation = pair(options.dilation, [1, 1], 1, 'maxPool2d: dilation');
  checkPoolPadding(padding, kernelSize, 'maxPool2d');
  asImages(xt, 'maxPool2d');
  return maxPool2dRaw(xt, { kernelSize, stride, padding, dilation });
}

/**
 * PyTorch's avg_pool2d (floor mode, count_include_pad): the mean of each
 * kh × kw window of x [N, C, H, W] (or [C, H, W]), padding counted as zeros.
 */
export function avgPool2d(x: TensorLike, options: AvgPool2dOptions): Tensor {
  const xt = asTensor(x);
  if (options?.kernelSize === undefined) throw new ValueError('avgPool2d: kernelSize is required');
  const kernelSize = pair(options.kernelSize, [0, 0], 1, 'avgPool2d: kernelSize');
  const stride = pair(options.stride, kernelSize, 1, 'avgPool2d: stride');
  const padding = pair(options.padding, [0, 0], 0, 'avgPool2d: padding');
  checkPoolPadding(padding, kernelSize, 'avgPool2d');
  asImages(xt, 'avgPool2d');
  return avgPool2dRaw(xt, { kernelSize, stride, padding, dilation: [1, 1] });
}
