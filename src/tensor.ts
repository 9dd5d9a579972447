/**
 * Tensors.
 *
 * A Tensor is a shape and a contiguous row-major `Float64Array`: element
 * (i₀, …, iₙ₋₁) lives at Σₖ iₖ·strideₖ with strideₖ = Πⱼ₍ⱼ₎₍>₎ₖ shapeⱼ. Tensors are
 * values: nothing in the library mutates one after it is made.
 *
 * This module knows nothing of differentiation, so src/linalg can share it. The
 * AD machinery subclasses Tensor with tracers, which have a shape but no data.
 */
import { ShapeError, TracerError, ValueError } from './errors.js';
import { type RngLike, toRng } from './random.js';

/** A number or an arbitrarily nested array of numbers, as `toArray` returns. */
export type NestedArray = number | readonly NestedArray[];

/** Anything accepted where a Tensor is: a Tensor, a number, or a nested array. */
export type TensorLike = Tensor | NestedArray | Float64Array;

export type Shape = readonly number[];

export class Tensor {
  readonly shape: Shape;
  /** Backing storage; `undefined` only for tracers (see `data`). */
  protected readonly storage: Float64Array | undefined;

  /**
   * Wrap `data` (not copied) with `shape`. Prefer `tensor(...)` in user code;
   * this constructor checks only that the sizes agree.
   */
  constructor(data: Float64Array | undefined, shape: Shape) {
    if (data !== undefined && data.length !== sizeOf(shape)) {
      throw new ShapeError(
        `Tensor: data has ${data.length} elements but shape ${shapeString(shape)} needs ${sizeOf(shape)}`,
      );
    }
    this.storage = data;
    this.shape = shape;
  }

  /** The row-major values. Throws `TracerError` on a traced value. */
  get data(): Float64Array {
    if (this.storage === undefined) {
      throw new TracerError(
        `a traced value of shape ${shapeString(this.shape)} has no concrete data: inside grad, jvp or vmap use primitives only`,
      );
    }
    return this.storage;
  }

  get ndim(): number {
    return this.shape.length;
  }

  get size(): number {
    return sizeOf(this.shape);
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1)
      throw new ShapeError(`item: tensor has shape ${shapeString(this.shape)}, not one element`);
    return this.data[0]!;
  }

  /** Nested JavaScript arrays (a number for a 0-d tensor). */
  toArray(): NestedArray {
    const data = this.data;
    const shape = this.shape;
    if (shape.length === 0) return data[0]!;
    const build = (axis: number, offset: number, stride: number): NestedArray => {
      const n = shape[axis]!;
      const inner = stride / n;
      const out: NestedArray[] = new Array(n);
      for (let i = 0; i < n; i++) {
        out[i] = axis === shape.length - 1 ? data[offset + i]! : build(axis + 1, offset + i * inner, inner);
      }
      return out;
    };
    return build(0, 0, data.length);
  }

  toString(): string {
    return this.storage === undefined
      ? `Tracer(${shapeString(this.shape)})`
      : `Tensor(${shapeString(this.shape)}, ${JSON.stringify(this.toArray())})`;
  }
}

// ---------------------------------------------------------------------------
// Shapes

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeString(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Row-major strides of a contiguous array. */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

/**
 * NumPy broadcasting: align shapes on the right; each pair of dimensions must be
 * equal or one of them 1. `what` names the operation in the error.
 */
export function broadcastShapes(a: Shape, b: Shape, what = 'broadcast'): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(`${what}: shapes ${shapeString(a)} and ${shapeString(b)} do not broadcast`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Resolve a possibly negative axis against `ndim`, naming `what` in the error. */
export function normalizeAxis(axis: number, ndim: number, what: string): number {
  if (!Number.isInteger(axis) || axis < -ndim || axis >= Math.max(ndim, 1)) {
    throw new ShapeError(`${what}: axis ${axis} is out of range for a tensor of rank ${ndim}`);
  }
  return axis < 0 ? axis + ndim : axis;
}

// ---------------------------------------------------------------------------
// Construction

function inferShape(value: NestedArray, what: string): number[] {
  const shape: number[] = [];
  let v: NestedArray = value;
  while (Array.isArray(v)) {
    shape.push(v.length);
    if (v.length === 0) break;
    v = v[0] as NestedArray;
  }
  if (!Array.isArray(v) && typeof v !== 'number') {
    throw new ValueError(`${what}: expected numbers, found ${typeof v}`);
  }
  return shape;
}

function flattenInto(
  value: NestedArray,
  shape: Shape,
  axis: number,
  out: Float64Array,
  offset: number,
  what: string,
): number {
  if (axis === shape.length) {
    if (typeof value !== 'number')
      throw new ShapeError(`${what}: ragged nested array (too deep at offset ${offset})`);
    out[offset] = value;
    return offset + 1;
  }
  if (!Array.isArray(value) || value.length !== shape[axis]) {
    throw new ShapeError(
      `${what}: ragged nested array: expected length ${shape[axis]} at depth ${axis}, found ${Array.isArray(value) ? value.length : typeof value}`,
    );
  }
  for (const v of value as readonly NestedArray[])
    offset = flattenInto(v, shape, axis + 1, out, offset, what);
  return offset;
}

/**
 * Make a Tensor from a number, a nested array, or a `Float64Array` (copied) with
 * an optional shape (required to reshape flat data; defaults to 1-D).
 */
export function tensor(value: TensorLike, shape?: Shape): Tensor {
  if (value instanceof Tensor) {
    if (shape === undefined || shapesEqual(shape, value.shape)) return value;
    return new Tensor(value.data, checkShape(shape, value.size, 'tensor'));
  }
  if (value instanceof Float64Array) {
    const s = shape ?? [value.length];
    return new Tensor(Float64Array.from(value), checkShape(s, value.length, 'tensor'));
  }
  if (typeof value === 'number') {
    return new Tensor(Float64Array.of(value), checkShape(shape ?? [], 1, 'tensor'));
  }
  const inferred = inferShape(value, 'tensor');
  const data = new Float64Array(sizeOf(inferred));
  flattenInto(value, inferred, 0, data, 0, 'tensor');
  return new Tensor(data, shape === undefined ? inferred : checkShape(shape, data.length, 'tensor'));
}

function checkShape(shape: Shape, size: number, what: string): number[] {
  const s = validShape(shape, what);
  if (sizeOf(s) !== size) throw new ShapeError(`${what}: ${size} values do not fill shape ${shapeString(s)}`);
  return s;
}

/** Convert a TensorLike to a Tensor, leaving Tensors (and tracers) untouched. */
export function asTensor(value: TensorLike): Tensor {
  return value instanceof Tensor ? value : tensor(value);
}

function validShape(shape: Shape | number, what: string): number[] {
  const s = typeof shape === 'number' ? [shape] : [...shape];
  for (const d of s)
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(`${what}: invalid shape ${shapeString(s)}`);
  return s;
}

export function full(shape: Shape | number, value: number): Tensor {
  const s = validShape(shape, 'full');
  return new Tensor(new Float64Array(sizeOf(s)).fill(value), s);
}

export function zeros(shape: Shape | number): Tensor {
  const s = validShape(shape, 'zeros');
  return new Tensor(new Float64Array(sizeOf(s)), s);
}

export function ones(shape: Shape | number): Tensor {
  return full(shape, 1);
}

/** The n × m identity (m defaults to n). */
export function eye(n: number, m = n): Tensor {
  const s = validShape([n, m], 'eye');
  const out = new Float64Array(n * m);
  for (let i = 0; i < Math.min(n, m); i++) out[i * m + i] = 1;
  return new Tensor(out, s);
}

/** start, start + step, … up to but excluding stop (`arange(n)` is 0 … n − 1). */
export function arange(start: number, stop?: number, step = 1): Tensor {
  if (stop === undefined) {
    stop = start;
    start = 0;
  }
  if (step === 0 || !Number.isFinite(step))
    throw new ValueError(`arange: step must be finite and non-zero, got ${step}`);
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = start + i * step;
  return new Tensor(out, [n]);
}

/** n evenly spaced points from start to stop inclusive. */
export function linspace(start: number, stop: number, n: number): Tensor {
  validShape([n], 'linspace');
  const out = new Float64Array(n);
  const step = n > 1 ? (stop - start) / (n - 1) : 0;
  for (let i = 0; i < n; i++) out[i] = start + i * step;
  if (n > 1) out[n - 1] = stop;
  return new Tensor(out, [n]);
}

/** Standard normal entries from a seed or generator. */
export function randn(shape: Shape | number, seed: RngLike): Tensor {
  const s = validShape(shape, 'randn');
  const rng = toRng(seed);
  const out = new Float64Array(sizeOf(s));
  for (let i = 0; i < out.length; i++) out[i] = rng.normal();
  return new Tensor(out, s);
}

/** Uniform entries on [low, high) from a seed or generator. */
export function rand(shape: Shape | number, seed: RngLike, low = 0, high = 1): Tensor {
  const s = validShape(shape, 'rand');
  const rng = toRng(seed);
  const out = new Float64Array(sizeOf(s));
  for (let i = 0; i < out.length; i++) out[i] = low + (high - low) * rng.uniform();
  return new Tensor(out, s);
}
