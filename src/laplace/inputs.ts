/**
 * Validation at the boundary of the Laplace API: design matrices and scalar
 * options. Everything past these functions may assume finite numbers of the
 * right shape.
 */
import { ShapeError, ValueError } from '../errors.js';
import { Tensor } from '../tensor.js';

/** Validate a design matrix: number[][], Tensor [n, d], or a flat Float64Array with d columns. */
export function toMatrix(X: unknown, d: number, what: string): { data: Float64Array; rows: number } {
  let data: Float64Array;
  let rows: number;
  if (X instanceof Tensor) {
    const shape = X.shape;
    if (shape.length === 1 && d === 1) rows = shape[0]!;
    else if (shape.length !== 2 || shape[1] !== d) {
      throw new ShapeError(`${what} has shape [${shape.join(', ')}], expected [n, ${d}]`);
    } else rows = shape[0]!;
    data = X.data;
  } else if (X instanceof Float64Array) {
    if (X.length % d !== 0)
      throw new ShapeError(`${what} has ${X.length} values, not a multiple of ${d} features`);
    data = X;
    rows = X.length / d;
  } else if (Array.isArray(X)) {
    rows = X.length;
    data = new Float64Array(rows * d);
    for (let i = 0; i < rows; i++) {
      const row = X[i] as unknown;
      if (typeof row === 'number' && d === 1) {
        data[i] = row;
        continue;
      }
      if (!Array.isArray(row) || row.length !== d) {
        throw new ShapeError(
          `${what}: row ${i} has ${Array.isArray(row) ? row.length : 'no'} features, expected ${d}`,
        );
      }
      for (let j = 0; j < d; j++) data[i * d + j] = row[j] as number;
    }
  } else {
    throw new ValueError(`${what} must be a number[][], a Tensor or a Float64Array`);
  }
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) {
      throw new ValueError(`${what} has a non-finite value at row ${Math.floor(i / d)}, column ${i % d}`);
    }
  }
  return { data, rows };
}

/** A positive finite number, or a ValueError naming `what`. */
export function positive(value: number, what: string): number {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    throw new ValueError(`laplace: ${what} must be a positive finite number, got ${value}`);
  }
  return value;
}
