/**
 * Cholesky factors and what they are for.
 *
 * A symmetric positive definite A factors as A = L·Lᵀ with L lower triangular
 * and a positive diagonal. Then
 *
 *     A⁻¹·B = L⁻ᵀ·(L⁻¹·B)          two triangular solves,
 *     log det A = 2·Σᵢ log Lᵢᵢ,
 *     A⁻¹ = L⁻ᵀ·L⁻¹.
 *
 * A matrix that is positive semi-definite in exact arithmetic (a Gram matrix of
 * rank-deficient features, a GGN) can fail by rounding; `choleskyWithJitter`
 * retries with a growing multiple of the identity added and reports it.
 */

import { assertFinite, NotPositiveDefiniteError, ShapeError, ValueError } from '../errors.js';
import { choleskyInverseKernel, choleskyKernel } from '../kernels/cholesky.js';
import { trsmKernel } from '../kernels/triangular.js';
import { asTensor, shapeString, Tensor, type TensorLike } from '../tensor.js';
import { countOption, finiteOption, symmetricArg } from './validate.js';

/**
 * work ← the lower triangle of the n × n matrix `a`, `shift` added to the
 * diagonal. The strict upper triangle of `work` is left as it is (zero when new):
 * the kernel never writes it, so the factor comes out with zeros above.
 */
function copyLower(a: Float64Array, n: number, work: Float64Array, shift = 0): void {
  for (let i = 0; i < n; i++) {
    work.set(a.subarray(i * n, i * n + i + 1), i * n);
    work[i * n + i] = work[i * n + i]! + shift;
  }
}

/**
 * The lower-triangular Cholesky factor L of a symmetric positive definite A
 * (A = L·Lᵀ). Throws NotPositiveDefiniteError naming the first pivot that is
 * not positive.
 */
export function cholesky(a: TensorLike): Tensor {
  const { t, n } = symmetricArg(a, 'cholesky', 'a');
  const work = new Float64Array(n * n);
  copyLower(t.data, n, work);
  const failed = choleskyKernel(n, work, 0, n);
  if (failed >= 0) {
    throw new NotPositiveDefiniteError(
      `cholesky: a is not positive definite: pivot ${failed} is ${work[failed * n + failed]} (try choleskyWithJitter)`,
      { pivot: failed },
    );
  }
  return new Tensor(work, [n, n]);
}

export interface JitterOptions {
  /** First jitter tried after plain Cholesky fails, relative to the mean |diagonal| (default 1e-10). */
  initialJitter?: number;
  /** Factor by which the jitter grows between tries (default 10). */
  growth?: number;
  /** Number of jittered attempts after the plain one (default 10). */
  maxTries?: number;
}

/**
 * Cholesky of A + jitter·I with the smallest jitter of the sequence
 * 0, j₀·s, j₀·s·g, j₀·s·g², … (s the mean |Aᵢᵢ|) that succeeds. Returns the
 * factor and the absolute jitter added; throws NotPositiveDefiniteError if
 * `maxTries` jitters all fail.
 */
export function choleskyWithJitter(
  a: TensorLike,
  options: JitterOptions = {},
): { factor: Tensor; jitter: number } {
  const fn = 'choleskyWithJitter';
  const initial = finiteOption(options.initialJitter ?? 1e-10, fn, 'initialJitter');
  const growth = finiteOption(options.growth ?? 10, fn, 'growth');
  const maxTries = countOption(options.maxTries ?? 10, fn, 'maxTries');
  if (!(initial > 0)) throw new ValueError(`${fn}: option initialJitter must be positive, got ${initial}`);
  if (!(growth > 1)) throw new ValueError(`${fn}: option growth must exceed 1, got ${growth}`);
  const { t, n } = symmetricArg(a, fn, 'a');
  let scale = 0;
  for (let i = 0; i < n; i++) scale += Math.abs(t.data[i * n + i]!);
  scale = n > 0 && scale > 0 ? scale / n : 1;
  const work = new Float64Array(n * n);
  let jitter = 0;
  let failed = -1;
  for (let attempt = 0; attempt <= maxTries; attempt++) {
    jitter = attempt === 0 ? 0 : initial * scale * growth ** (attempt - 1);
    copyLower(t.data, n, work, jitter);
    failed = choleskyKernel(n, work, 0, n);
    if (failed < 0) return { factor: new Tensor(work, [n, n]), jitter };
  }
  throw new NotPositiveDefiniteError(
    `${fn}: a is not positive definite even with jitter ${jitter} on the diagonal (pivot ${failed} failed); check the matrix or raise maxTries`,
    { pivot: failed },
  );
}

/** A right-hand side: a vector of n entries or an n × r matrix, copied to be solved in place. */
function rhsArg(b: TensorLike, n: number, fn: string): { data: Float64Array; cols: number; shape: number[] } {
  const t = asTensor(b);
  if (t.ndim !== 1 && t.ndim !== 2) {
    throw new ShapeError(`${fn}: b must be a vector or a matrix, got shape ${shapeString(t.shape)}`);
  }
  if (t.shape[0] !== n) {
    throw new ShapeError(
      `${fn}: b must have ${n} rows to match the ${n} × ${n} factor, got shape ${shapeString(t.shape)}`,
    );
  }
  assertFinite(t.data, `${fn}: b`);
  return { data: Float64Array.from(t.data), cols: t.ndim === 1 ? 1 : t.shape[1]!, shape: [...t.shape] };
}

/**
 * A triangular factor: square, with a diagonal that is non-zero, or positive for a
 * Cholesky factor, and (if `scan`) a finite referenced triangle; the other
 * triangle is never read, so it may hold anything. Solves skip the O(n²) scan and
 * check their O(n·r) result instead (`requireFiniteSolution`).
 */
function triangularArg(
  l: TensorLike,
  fn: string,
  arg: string,
  lower: boolean,
  positive: boolean,
  scan = true,
): { t: Tensor; n: number } {
  const t = asTensor(l);
  if (t.ndim !== 2 || t.shape[0] !== t.shape[1]) {
    throw new ShapeError(`${fn}: ${arg} must be a square matrix, got shape ${shapeString(t.shape)}`);
  }
  const n = t.shape[0]!;
  const data = t.data;
  for (let i = 0; i < n; i++) {
    if (scan) {
      const [from, to] = lower ? [i * n, i * n + i + 1] : [i * n + i, (i + 1) * n];
      for (let x = from; x < to; x++) {
        if (!Number.isFinite(data[x]!)) {
          throw new ValueError(`${fn}: ${arg}[${i}, ${x - i * n}] is ${data[x]}; entries must be finite`);
        }
      }
    }
    const d = data[i * n + i]!;
    if (positive ? !(d > 0) : !(d !== 0 && Number.isFinite(d))) {
      throw new ValueError(
        `${fn}: ${arg}[${i}, ${i}] is ${d}; a ${positive ? 'Cholesky factor needs a positive' : 'triangular solve needs a non-zero'} diagonal`,
      );
    }
  }
  return { t, n };
}

/**
 * A solution with a non-finite entry came from a non-finite entry of the factor
 * (named by a full scan) or from overflow in an ill-conditioned solve.
 */
function requireFiniteSolution(x: Float64Array, l: Tensor, fn: string, lower: boolean): void {
  for (let i = 0; i < x.length; i++) {
    if (Number.isFinite(x[i]!)) continue;
    triangularArg(l, fn, 'l', lower, false, true);
    throw new ValueError(
      `${fn}: the solution overflowed (entry ${i} is ${x[i]}); l is too ill-conditioned for b`,
    );
  }
}

export interface SolveTriangularOptions {
  /** L is lower triangular (default true); otherwise upper. Only that triangle is read. */
  lower?: boolean;
  /** Solve Lᵀ·X = B instead of L·X = B (default false). */
  transpose?: boolean;
}

/** X with op(L)·X = B, for B a vector or a matrix of right-hand sides. */
export function solveTriangular(l: TensorLike, b: TensorLike, options: SolveTriangularOptions = {}): Tensor {
  const { lower = true, transpose = false } = options;
  const { t, n } = triangularArg(l, 'solveTriangular', 'l', lower, false, false);
  const rhs = rhsArg(b, n, 'solveTriangular');
  trsmKernel(true, lower, transpose, n, rhs.cols, t.data, 0, n, rhs.data, 0, rhs.cols);
  requireFiniteSolution(rhs.data, t, 'solveTriangular', lower);
  return new Tensor(rhs.data, rhs.shape);
}

/** X with A·X = B where A = L·Lᵀ (L from `cholesky`). */
export function choleskySolve(l: TensorLike, b: TensorLike): Tensor {
  const { t, n } = triangularArg(l, 'choleskySolve', 'l', true, true, false);
  const rhs = rhsArg(b, n, 'choleskySolve');
  trsmKernel(true, true, false, n, rhs.cols, t.data, 0, n, rhs.data, 0, rhs.cols);
  trsmKernel(true, true, true, n, rhs.cols, t.data, 0, n, rhs.data, 0, rhs.cols);
  requireFiniteSolution(rhs.data, t, 'choleskySolve', true);
  return new Tensor(rhs.data, rhs.shape);
}

/** A⁻¹ = L⁻ᵀ·L⁻¹ where A = L·Lᵀ, as a full symmetric matrix, in about 2n³/3 flops. */
export function choleskyInverse(l: TensorLike): Tensor {
  const { t, n } = triangularArg(l, 'choleskyInverse', 'l', true, true);
  const out = new Float64Array(n * n);
  choleskyInverseKernel(n, t.data, 0, n, out, 0, n);
  return new Tensor(out, [n, n]);
}

/** log det A = 2·Σ log Lᵢᵢ for A = L·Lᵀ. */
export function logdetFromCholesky(l: TensorLike): number {
  const { t, n } = triangularArg(l, 'logdetFromCholesky', 'l', true, true);
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.log(t.data[i * n + i]!);
  return 2 * s;
}
