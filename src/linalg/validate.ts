/**
 * Argument checks shared by the public linear-algebra functions. Each names the
 * function and the argument, so that a mistake is reported where it was made.
 */

import { assertFinite, ShapeError, ValueError } from '../errors.js';
import { asTensor, shapeString, type Tensor, type TensorLike } from '../tensor.js';

/** A 2-D tensor, with its row and column counts; entries not yet checked. */
function matrixShape(x: TensorLike, fn: string, arg: string): { t: Tensor; rows: number; cols: number } {
  const t = asTensor(x);
  if (t.ndim !== 2) {
    throw new ShapeError(`${fn}: ${arg} must be a matrix (2-D), got shape ${shapeString(t.shape)}`);
  }
  return { t, rows: t.shape[0]!, cols: t.shape[1]! };
}

/** A square 2-D tensor and its size; entries not yet checked. */
function squareShape(x: TensorLike, fn: string, arg: string): { t: Tensor; n: number } {
  const { t, rows, cols } = matrixShape(x, fn, arg);
  if (rows !== cols) throw new ShapeError(`${fn}: ${arg} must be square, got shape ${shapeString(t.shape)}`);
  return { t, n: rows };
}

/** A 2-D tensor with finite entries, with its row and column counts. */
export function matrixArg(x: TensorLike, fn: string, arg: string): { t: Tensor; rows: number; cols: number } {
  const matrix = matrixShape(x, fn, arg);
  assertFinite(matrix.t.data, `${fn}: ${arg}`);
  return matrix;
}

/** A square 2-D tensor with finite entries, and its size. */
export function squareArg(x: TensorLike, fn: string, arg: string): { t: Tensor; n: number } {
  const square = squareShape(x, fn, arg);
  assertFinite(square.t.data, `${fn}: ${arg}`);
  return square;
}

/** A symmetric 2-D tensor with finite entries, and its size (one pass: see requireSymmetric). */
export function symmetricArg(x: TensorLike, fn: string, arg: string): { t: Tensor; n: number } {
  const square = squareShape(x, fn, arg);
  requireSymmetric(square.t.data, square.n, fn, arg);
  return square;
}

/** A 1-D tensor (or Float64Array), as its data. */
export function vectorArg(x: TensorLike, fn: string, arg: string): Float64Array {
  if (x instanceof Float64Array) {
    assertFinite(x, `${fn}: ${arg}`);
    return x;
  }
  const t = asTensor(x);
  if (t.ndim !== 1)
    throw new ShapeError(`${fn}: ${arg} must be a vector (1-D), got shape ${shapeString(t.shape)}`);
  assertFinite(t.data, `${fn}: ${arg}`);
  return t.data;
}

/** A finite number option. */
export function finiteOption(value: number, fn: string, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new ValueError(`${fn}: option ${name} must be a finite number, got ${value}`);
  }
  return value;
}

/** A non-negative integer option. */
export function countOption(value: number, fn: string, name: string, min = 0): number {
  if (!Number.isInteger(value) || value < min) {
    throw new ValueError(`${fn}: option ${name} must be an integer ≥ ${min}, got ${value}`);
  }
  return value;
}

/**
 * Every entry finite and |A[i, j] − A[j, i]| ≤ tol·max|A| for all i < j, else a
 * ValueError naming the first non-finite entry or the worst pair. The default
 * tolerance forgives rounding in a product computed without symmetry (say
 * Jᵀ·(H·J)), not a genuinely non-symmetric matrix. One pass in 32 × 32 tiles,
 * so that the column reads of A[j, i] stay in cache; Math.max carries a NaN or
 * an infinity through to the end, where it sends us to requireFinite for the
 * message, and the worst pair is searched for only once we know it fails.
 */
function requireSymmetric(a: Float64Array, n: number, fn: string, arg: string, tol = 1e-10): void {
  let scale = 0;
  let worst = 0;
  const B = 32;
  for (let i0 = 0; i0 < n; i0 += B) {
    const iEnd = Math.min(i0 + B, n);
    for (let j0 = i0; j0 < n; j0 += B) {
      const jEnd = Math.min(j0 + B, n);
      for (let i = i0; i < iEnd; i++) {
        for (let j = Math.max(j0, i); j < jEnd; j++) {
          const upper = a[i * n + j]!;
          const lower = a[j * n + i]!;
          scale = Math.max(scale, Math.abs(upper), Math.abs(lower));
          worst = Math.max(worst, Math.abs(upper - lower));
        }
      }
    }
  }
  if (!(scale < Number.POSITIVE_INFINITY)) assertFinite(a, `${fn}: ${arg}`);
  if (!(worst > tol * scale)) return;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (Math.abs(a[i * n + j]! - a[j * n + i]!) !== worst) continue;
      throw new ValueError(
        `${fn}: ${arg} must be symmetric, but ${arg}[${i}, ${j}] = ${a[i * n + j]} and ${arg}[${j}, ${i}] = ${a[j * n + i]}`,
      );
    }
  }
}
