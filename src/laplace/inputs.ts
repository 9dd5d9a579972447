/**
 * Validation at the boundary of the Laplace API: design matrices and targets
 * (numbers only, of the right shape), option objects (known names, values in
 * range) and the finiteness of what the network computes from them. Everything
 * past these functions may assume finite numbers of the right shape, and every
 * error names the argument, the entry and what was expected, so that no raw
 * TypeError or RangeError, and no NaN, reaches the caller.
 */
import { ShapeError, ValueError } from '../errors.js';
import { Tensor } from '../tensor.js';

/**
 * Validate a design matrix of examples of shape `example` (a number d is [d]):
 * number[][] of rows of d = ∏ example numbers (rows may be Float64Arrays),
 * nested arrays [n][...example] (images [n][C][H][W], say), a Tensor
 * [n, ...example] or [n, d], or a flat Float64Array of rows. Returned as rows.
 */
export function toMatrix(
  X: unknown,
  example: number | readonly number[],
  what: string,
): { data: Float64Array; rows: number } {
  const exampleShape = typeof example === 'number' ? [example] : example;
  const d = exampleShape.reduce((a, b) => a * b, 1);
  const expected = exampleShape.length > 1 ? `[n, ${exampleShape.join(', ')}] or [n, ${d}]` : `[n, ${d}]`;
  let data: Float64Array;
  let rows: number;
  if (X instanceof Tensor) {
    const shape = X.shape;
    const asExamples =
      shape.length === exampleShape.length + 1 && exampleShape.every((v, i) => shape[i + 1] === v);
    if (shape.length === 1 && d === 1) rows = shape[0]!;
    else if (!asExamples && (shape.length !== 2 || shape[1] !== d)) {
      throw new ShapeError(`${what} has shape [${shape.join(', ')}], expected ${expected}`);
    } else rows = shape[0]!;
    data = X.data;
  } else if (Array.isArray(X) && exampleShape.length > 1 && Array.isArray(X[0]) && Array.isArray(X[0][0])) {
    rows = X.length;
    data = new Float64Array(rows * d);
    X.forEach((x, i) => {
      flattenNested(x, exampleShape, `${what}[${i}]`, data, i * d);
    });
  } else if (X instanceof Float64Array) {
    if (X.length % d !== 0)
      throw new ShapeError(`${what} has ${X.length} values, not a multiple of ${d} features`);
    data = X;
    rows = X.length / d;
  } else if (Array.isArray(X)) {
    rows = X.length;
    data = new Float64Array(rows * d);
    for (let i = 0; i < rows; i++) readRow(X[i], i, d, what, data);
  } else {
    throw new ValueError(`${what} must be a number[][], a Tensor or a Float64Array, got ${describe(X)}`);
  }
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) {
      throw new ValueError(`${what} has a non-finite value at row ${Math.floor(i / d)}, column ${i % d}`);
    }
  }
  return { data, rows };
}

/** Nested arrays of the given shape, written row-major into out[offset…]. */
function flattenNested(
  x: unknown,
  shape: readonly number[],
  what: string,
  out: Float64Array,
  offset: number,
): number {
  if (shape.length === 0) {
    out[offset] = number(x, what);
    return offset + 1;
  }
  if (!Array.isArray(x) || x.length !== shape[0]) {
    throw new ShapeError(
      `${what} must be an array of ${shape[0]} (each example is [${shape.join(', ')}]), got ${describe(x)}`,
    );
  }
  let at = offset;
  x.forEach((v, i) => {
    at = flattenNested(v, shape.slice(1), `${what}[${i}]`, out, at);
  });
  return at;
}

/**
 * Validate targets with `k` columns for `n` examples and flatten them row-major:
 * a Tensor [n, k], number[][] of n rows of k (rows may be typed arrays), or a
 * flat typed array of n·k values; with one column also [n]. Values must be
 * numbers; finiteness and range are the likelihood's to check.
 */
export function toTargetRows(y: unknown, n: number, k: number, what: string): Float64Array {
  const expected = k === 1 ? `[${n}] or [${n}, 1]` : `[${n}, ${k}]`;
  if (isTensorLike(y)) {
    const shape = Array.from(y.shape);
    const fits =
      (shape.length === 2 && shape[0] === n && shape[1] === k) ||
      (k === 1 && shape.length === 1 && shape[0] === n);
    if (!fits) throw new ShapeError(`${what} has shape [${shape.join(', ')}], expected ${expected}`);
    return Float64Array.from(y.data);
  }
  if (isNumericArray(y)) {
    if (y.length !== n * k) {
      throw new ShapeError(
        `${what} has ${y.length} values, expected ${n * k} (${expected}, X has ${n} rows)`,
      );
    }
    return Float64Array.from(y as ArrayLike<number>);
  }
  if (!Array.isArray(y)) {
    throw new ValueError(`${what} must be an array, a typed array or a Tensor, got ${describe(y)}`);
  }
  if (y.length !== n) {
    throw new ShapeError(`${what} has ${y.length} rows but X has ${n} (expected ${expected})`);
  }
  const out = new Float64Array(n * k);
  for (let i = 0; i < n; i++) readRow(y[i], i, k, what, out);
  return out;
}

/** Row i of a matrix with `width` columns into out[i·width…]: an array or typed array of numbers (a bare number when width = 1). */
function readRow(row: unknown, i: number, width: number, what: string, out: Float64Array): void {
  if (width === 1 && !Array.isArray(row) && !isNumericArray(row)) {
    out[i] = number(row, `${what}[${i}]`);
    return;
  }
  if (!Array.isArray(row) && !isNumericArray(row)) {
    throw new ShapeError(`${what}: row ${i} is ${describe(row)}, expected ${width} numbers`);
  }
  if (row.length !== width) {
    throw new ShapeError(`${what}: row ${i} has ${row.length} values, expected ${width}`);
  }
  for (let j = 0; j < width; j++) out[i * width + j] = number(row[j], `${what}[${i}][${j}]`);
}

function number(value: unknown, what: string): number {
  if (typeof value !== 'number') throw new ValueError(`${what} is ${describe(value)}, not a number`);
  return value;
}

/** A value as an error message shows it: its type and, when short, itself. */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'string')
    return `the string '${value.length > 20 ? `${value.slice(0, 20)}…` : value}'`;
  if (typeof value === 'boolean' || typeof value === 'bigint') return `the ${typeof value} ${value}`;
  if (typeof value === 'number' || typeof value === 'symbol') return String(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return `a ${(value as object).constructor?.name ?? typeof value}`;
}

function isTensorLike(y: unknown): y is { shape: readonly number[]; data: Float64Array } {
  if (y instanceof Tensor) return true;
  return (
    typeof y === 'object' &&
    y !== null &&
    'shape' in y &&
    'data' in y &&
    isNumericArray((y as { data: unknown }).data)
  );
}

/** A typed array of numbers (not BigInt64Array, not a DataView). */
function isNumericArray(y: unknown): y is ArrayLike<number> {
  return (
    ArrayBuffer.isView(y) &&
    !(y instanceof DataView) &&
    !(y instanceof BigInt64Array) &&
    !(y instanceof BigUint64Array)
  );
}

/** A positive finite number, or a ValueError naming `what`. */
export function positive(value: number, what: string): number {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    throw new ValueError(`laplace: ${what} must be a positive finite number, got ${describe(value)}`);
  }
  return value;
}

/** Reject option names outside `known` (a misspelt option is otherwise silently ignored). */
export function checkOptionNames(options: unknown, known: readonly string[], what: string): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ValueError(`${what}: options must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new ValueError(`${what}: unknown option '${key}'; expected one of ${known.join(', ')}`);
    }
  }
}

/** `value` if it is one of `allowed`, else a ValueError naming the option. */
export function oneOf<T extends string>(value: unknown, allowed: readonly T[], what: string): T {
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw new ValueError(
      `${what} must be ${allowed.map((a) => `'${a}'`).join(', ')}; got ${typeof value === 'string' ? `'${value}'` : describe(value)}`,
    );
  }
  return value as T;
}

/** An integer ≥ min, else a ValueError naming the option. */
export function integerAtLeast(value: unknown, min: number, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new ValueError(`${what} must be an integer ≥ ${min}, got ${describe(value)}`);
  }
  return value;
}

/** A finite number, else a ValueError naming the option. */
export function finite(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new ValueError(`${what} must be a finite number, got ${describe(value)}`);
  }
  return value;
}

/** The index and value of the first non-finite entry of `values`, or null. */
export function firstNonFinite(values: ArrayLike<number>): { index: number; value: number } | null {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) return { index: i, value: values[i]! };
  }
  return null;
}

/** The most numbers one Float64Array may hold here (16 GiB), so that a huge count is a ValueError, not a RangeError. */
const MAX_ARRAY = 2 ** 31;

/** Refuse an allocation of `count` numbers beyond MAX_ARRAY, naming what it is for. */
export function checkAllocation(count: number, what: string): void {
  if (!(count <= MAX_ARRAY)) {
    throw new ValueError(
      `${what} needs ${count.toExponential(3)} numbers, more than one array may hold (${MAX_ARRAY})`,
    );
  }
}
