/**
 * Matrix-free linear operators.
 *
 * Many matrices in Laplace are never formed: a GGN JᵀHJ is applied as
 * v ↦ Jᵀ(H(Jv)), a posterior precision is a sum of such a term and a prior.
 * A `LinearOperator` is a symmetric n × n matrix known only through v ↦ A·v;
 * Lanczos, conjugate gradients and the stochastic estimators need nothing else.
 *
 * A low-rank-plus-diagonal matrix U·diag(s)·Uᵀ + D (s ≥ 0, D > 0) is also
 * solved and its determinant taken in O(n·r²) through the Woodbury identity
 * and the matrix determinant lemma, with the symmetric capacitance matrix
 *
 *     C = I + S½·Uᵀ·D⁻¹·U·S½                        (r × r, positive definite)
 *     (D + U·S·Uᵀ)⁻¹ = D⁻¹ − D⁻¹·U·S½·C⁻¹·S½·Uᵀ·D⁻¹
 *     log det(D + U·S·Uᵀ) = Σ log dᵢ + log det C.
 */

import { ShapeError, ValueError } from '../errors.js';
import { gemvKernel, syrkKernel } from '../kernels/blas.js';
import { choleskyKernel } from '../kernels/cholesky.js';
import { gemmKernel } from '../kernels/gemm.js';
import { trsmKernel } from '../kernels/triangular.js';
import { shapeString, Tensor, type TensorLike } from '../tensor.js';
import { finiteOption, matrixArg, squareArg, vectorArg } from './validate.js';

/** A symmetric n × n matrix known through its products with vectors. */
export interface LinearOperator {
  /** The dimension n. */
  readonly size: number;
  /** out ← A·v, for v and out of length n (out must not alias v). */
  matvec(v: Float64Array, out: Float64Array): void;
  /** out ← A·V for V an n × k row-major block of k columns (out must not alias v). */
  matmat?(v: Float64Array, k: number, out: Float64Array): void;
}

/** out ← A·V column by column, for operators without `matmat`. */
export function applyToColumns(op: LinearOperator, v: Float64Array, k: number, out: Float64Array): void {
  if (op.matmat) {
    op.matmat(v, k, out);
    return;
  }
  const n = op.size;
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  for (let c = 0; c < k; c++) {
    for (let i = 0; i < n; i++) x[i] = v[i * k + c]!;
    op.matvec(x, y);
    for (let i = 0; i < n; i++) out[i * k + c] = y[i]!;
  }
}

/** The n × n matrix of an operator, one column (hence one matvec) at a time. */
export function operatorToDense(op: LinearOperator): Tensor {
  const n = op.size;
  const eye = new Float64Array(n * n);
  for (let i = 0; i < n; i++) eye[i * n + i] = 1;
  const out = new Float64Array(n * n);
  applyToColumns(op, eye, n, out);
  return new Tensor(out, [n, n]);
}

/** A dense symmetric matrix as an operator (symmetry is the caller's promise, not checked). */
export function denseOperator(a: TensorLike): LinearOperator {
  const { t, n } = squareArg(a, 'denseOperator', 'a');
  const data = t.data;
  return {
    size: n,
    matvec(v, out) {
      gemvKernel(n, n, 1, data, 0, n, false, v, 0, 1, 0, out, 0, 1);
    },
    matmat(v, k, out) {
      gemmKernel(n, k, n, 1, data, 0, n, false, v, 0, k, false, 0, out, 0, k);
    },
  };
}

/** diag(d) as an operator. */
export function diagonalOperator(d: TensorLike): LinearOperator {
  const diag = Float64Array.from(vectorArg(d, 'diagonalOperator', 'd'));
  const n = diag.length;
  return {
    size: n,
    matvec(v, out) {
      for (let i = 0; i < n; i++) out[i] = diag[i]! * v[i]!;
    },
    matmat(v, k, out) {
      for (let i = 0; i < n; i++) {
        const di = diag[i]!;
        for (let c = 0; c < k; c++) out[i * k + c] = di * v[i * k + c]!;
      }
    },
  };
}

/** c·A. */
export function scaledOperator(op: LinearOperator, c: number): LinearOperator {
  finiteOption(c, 'scaledOperator', 'c');
  const n = op.size;
  return {
    size: n,
    matvec(v, out) {
      op.matvec(v, out);
      for (let i = 0; i < n; i++) out[i] = c * out[i]!;
    },
    matmat(v, k, out) {
      applyToColumns(op, v, k, out);
      for (let i = 0; i < n * k; i++) out[i] = c * out[i]!;
    },
  };
}

/** A₁ + A₂ + … of operators of one size. */
export function sumOperator(...ops: LinearOperator[]): LinearOperator {
  if (ops.length === 0) throw new ValueError('sumOperator: needs at least one operator');
  const n = ops[0]!.size;
  ops.forEach((op, i) => {
    if (op.size !== n) {
      throw new ShapeError(`sumOperator: operator ${i} has size ${op.size} but operator 0 has size ${n}`);
    }
  });
  let scratch = new Float64Array(n);
  return {
    size: n,
    matvec(v, out) {
      ops[0]!.matvec(v, out);
      for (let j = 1; j < ops.length; j++) {
        ops[j]!.matvec(v, scratch);
        for (let i = 0; i < n; i++) out[i] = out[i]! + scratch[i]!;
      }
    },
    matmat(v, k, out) {
      applyToColumns(ops[0]!, v, k, out);
      if (scratch.length < n * k) scratch = new Float64Array(n * k);
      for (let j = 1; j < ops.length; j++) {
        applyToColumns(ops[j]!, v, k, scratch);
        for (let i = 0; i < n * k; i++) out[i] = out[i]! + scratch[i]!;
      }
    },
  };
}

/** U·diag(s)·Uᵀ + diag(d) as an operator that can also be solved and log-determined. */
export interface LowRankPlusDiagonal extends LinearOperator {
  /** This object, as a plain operator. */
  readonly operator: LinearOperator;
  /** x with (U·S·Uᵀ + D)·x = b, in O(n·r). */
  solve(b: Float64Array): Float64Array;
  /** log det(U·S·Uᵀ + D). */
  logdet(): number;
}

/**
 * U·diag(s)·Uᵀ + diag(d) for U n × r, s ≥ 0 (r entries) and d > 0 (n entries).
 * The r × r capacitance matrix is factored once, in O(n·r² + r³).
 */
export function lowRankPlusDiagonal(u: TensorLike, s: TensorLike, d: TensorLike): LowRankPlusDiagonal {
  const fn = 'lowRankPlusDiagonal';
  const U = matrixArg(u, fn, 'u');
  const sv = Float64Array.from(vectorArg(s, fn, 's'));
  const dv = Float64Array.from(vectorArg(d, fn, 'd'));
  const n = U.rows;
  const r = U.cols;
  if (sv.length !== r) {
    throw new ShapeError(
      `${fn}: s must have one entry per column of u (${r}), got ${sv.length}; u is ${shapeString(U.t.shape)}`,
    );
  }
  if (dv.length !== n) {
    throw new ShapeError(
      `${fn}: d must have one entry per row of u (${n}), got ${dv.length}; u is ${shapeString(U.t.shape)}`,
    );
  }
  sv.forEach((x, i) => {
    if (x < 0) throw new ValueError(`${fn}: s must be non-negative, s[${i}] is ${x}`);
  });
  dv.forEach((x, i) => {
    if (!(x > 0)) throw new ValueError(`${fn}: d must be positive, d[${i}] is ${x}`);
  });
  const ud = U.t.data;
  // W = D^{-1/2}·U·S½ (n × r); C = I + Wᵀ·W.
  const w = new Float64Array(n * r);
  for (let i = 0; i < n; i++) {
    const si = 1 / Math.sqrt(dv[i]!);
    for (let j = 0; j < r; j++) w[i * r + j] = ud[i * r + j]! * si * Math.sqrt(sv[j]!);
  }
  const cap = new Float64Array(r * r);
  syrkKernel(r, n, 1, w, 0, r, true, 0, cap, 0, r);
  for (let j = 0; j < r; j++) cap[j * r + j] = cap[j * r + j]! + 1;
  if (choleskyKernel(r, cap, 0, r) >= 0) {
    // C ⪰ I in exact arithmetic: failure means the inputs overflowed.
    throw new ValueError(`${fn}: the capacitance matrix I + S½UᵀD⁻¹US½ could not be factored (overflow?)`);
  }
  let logdetD = 0;
  for (let i = 0; i < n; i++) logdetD += Math.log(dv[i]!);
  let logdetC = 0;
  for (let j = 0; j < r; j++) logdetC += 2 * Math.log(cap[j * r + j]!);
  const coeff = new Float64Array(r);
  const self: LowRankPlusDiagonal = {
    size: n,
    get operator() {
      return self;
    },
    matvec(v, out) {
      // out = d∘v + U·(s∘(Uᵀv)).
      gemvKernel(n, r, 1, ud, 0, r, true, v, 0, 1, 0, coeff, 0, 1);
      for (let j = 0; j < r; j++) coeff[j] = coeff[j]! * sv[j]!;
      for (let i = 0; i < n; i++) out[i] = dv[i]! * v[i]!;
      gemvKernel(n, r, 1, ud, 0, r, false, coeff, 0, 1, 1, out, 0, 1);
    },
    matmat(v, k, out) {
      const t = new Float64Array(r * k);
      gemmKernel(r, k, n, 1, ud, 0, r, true, v, 0, k, false, 0, t, 0, k);
      for (let j = 0; j < r; j++) for (let c = 0; c < k; c++) t[j * k + c] = t[j * k + c]! * sv[j]!;
      for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) out[i * k + c] = dv[i]! * v[i * k + c]!;
      gemmKernel(n, k, r, 1, ud, 0, r, false, t, 0, k, false, 1, out, 0, k);
    },
    solve(b) {
      const bv = vectorArg(b, `${fn}.solve`, 'b');
      if (bv.length !== n) throw new ShapeError(`${fn}.solve: b must have ${n} entries, got ${bv.length}`);
      // y = D^{-1/2}·b; x = D^{-1/2}·(y − W·C⁻¹·Wᵀ·y).
      const y = new Float64Array(n);
      for (let i = 0; i < n; i++) y[i] = bv[i]! / Math.sqrt(dv[i]!);
      const t = new Float64Array(r);
      gemvKernel(n, r, 1, w, 0, r, true, y, 0, 1, 0, t, 0, 1);
      trsmKernel(true, true, false, r, 1, cap, 0, r, t, 0, 1);
      trsmKernel(true, true, true, r, 1, cap, 0, r, t, 0, 1);
      gemvKernel(n, r, -1, w, 0, r, false, t, 0, 1, 1, y, 0, 1);
      for (let i = 0; i < n; i++) y[i] = y[i]! / Math.sqrt(dv[i]!);
      return y;
    },
    logdet() {
      return logdetD + logdetC;
    },
  };
  return self;
}

/** Check that a vector fits an operator, naming the function. */
export function operatorVector(op: LinearOperator, b: TensorLike, fn: string, arg: string): Float64Array {
  const v = vectorArg(b, fn, arg);
  if (v.length !== op.size) {
    throw new ShapeError(`${fn}: ${arg} has ${v.length} entries but the operator has size ${op.size}`);
  }
  return v;
}

/** Check the operator itself: a non-negative integer size and a matvec. */
export function operatorArg(op: LinearOperator, fn: string): number {
  if (op === null || typeof op !== 'object' || typeof op.matvec !== 'function') {
    throw new ValueError(`${fn}: op must be a LinearOperator with a matvec(v, out) method`);
  }
  if (!Number.isInteger(op.size) || op.size < 0) {
    throw new ValueError(`${fn}: op.size must be a non-negative integer, got ${op.size}`);
  }
  return op.size;
}
