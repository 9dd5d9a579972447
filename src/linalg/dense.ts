/**
 * BLAS over Tensors: the validating public face of the kernels.
 *
 *     gemm  α·op(A)·op(B) + β·C        gemv  α·op(A)·x + β·y
 *     syrk  α·A·Aᵀ or α·Aᵀ·A (full symmetric result)
 *     dot   xᵀy      axpy  αx + y      nrm2  ‖x‖₂
 *
 * Tensors are values: every function returns a new Tensor and leaves its
 * arguments alone (`c` and `y` are read, not overwritten). Non-finite entries
 * are rejected with a ValueError rather than propagated.
 */

import { ShapeError } from '../errors.js';
import { axpyKernel, dotKernel, gemvKernel, mirrorLower, nrm2Kernel, syrkKernel } from '../kernels/blas.js';
import { gemmKernel } from '../kernels/gemm.js';
import { shapeString, Tensor, type TensorLike } from '../tensor.js';
import { finiteOption, matrixArg, vectorArg } from './validate.js';

export interface GemmOptions {
  /** Use Aᵀ in place of A. */
  transA?: boolean;
  /** Use Bᵀ in place of B. */
  transB?: boolean;
  /** Scale of the product (default 1). */
  alpha?: number;
  /** Scale of `c` (default 0; `c` is required when it is not 0). */
  beta?: number;
  /** Matrix added as β·C; not modified. */
  c?: TensorLike;
}

/** α·op(A)·op(B) + β·C as a new m × n Tensor. */
export function gemm(a: TensorLike, b: TensorLike, options: GemmOptions = {}): Tensor {
  const { transA = false, transB = false } = options;
  const alpha = finiteOption(options.alpha ?? 1, 'gemm', 'alpha');
  const beta = finiteOption(options.beta ?? 0, 'gemm', 'beta');
  const A = matrixArg(a, 'gemm', 'a');
  const B = matrixArg(b, 'gemm', 'b');
  const [m, k] = transA ? [A.cols, A.rows] : [A.rows, A.cols];
  const [kb, n] = transB ? [B.cols, B.rows] : [B.rows, B.cols];
  if (k !== kb) {
    throw new ShapeError(
      `gemm: inner dimensions differ, op(a) is [${m}, ${k}] and op(b) is [${kb}, ${n}] (a is ${shapeString(A.t.shape)}${transA ? ' transposed' : ''}, b is ${shapeString(B.t.shape)}${transB ? ' transposed' : ''})`,
    );
  }
  const out = new Float64Array(m * n);
  if (options.c !== undefined) {
    const C = matrixArg(options.c, 'gemm', 'c');
    if (C.rows !== m || C.cols !== n) {
      throw new ShapeError(
        `gemm: c must be [${m}, ${n}] to match op(a)·op(b), got ${shapeString(C.t.shape)}`,
      );
    }
    out.set(C.t.data);
  } else if (beta !== 0) {
    throw new ShapeError(`gemm: beta is ${beta} but no c was given`);
  }
  gemmKernel(m, n, k, alpha, A.t.data, 0, A.cols, transA, B.t.data, 0, B.cols, transB, beta, out, 0, n);
  return new Tensor(out, [m, n]);
}

export interface GemvOptions {
  /** Use Aᵀ in place of A. */
  trans?: boolean;
  alpha?: number;
  beta?: number;
  /** Vector added as β·y; not modified. */
  y?: TensorLike;
}

/** α·op(A)·x + β·y as a new 1-D Tensor. */
export function gemv(a: TensorLike, x: TensorLike, options: GemvOptions = {}): Tensor {
  const trans = options.trans ?? false;
  const alpha = finiteOption(options.alpha ?? 1, 'gemv', 'alpha');
  const beta = finiteOption(options.beta ?? 0, 'gemv', 'beta');
  const A = matrixArg(a, 'gemv', 'a');
  const xs = vectorArg(x, 'gemv', 'x');
  const [rows, cols] = trans ? [A.cols, A.rows] : [A.rows, A.cols];
  if (xs.length !== cols) {
    throw new ShapeError(
      `gemv: op(a) is [${rows}, ${cols}] but x has ${xs.length} entries (a is ${shapeString(A.t.shape)}${trans ? ' transposed' : ''})`,
    );
  }
  const out = new Float64Array(rows);
  if (options.y !== undefined) {
    const ys = vectorArg(options.y, 'gemv', 'y');
    if (ys.length !== rows) throw new ShapeError(`gemv: y must have ${rows} entries, got ${ys.length}`);
    out.set(ys);
  } else if (beta !== 0) {
    throw new ShapeError(`gemv: beta is ${beta} but no y was given`);
  }
  gemvKernel(A.rows, A.cols, alpha, A.t.data, 0, A.cols, trans, xs, 0, 1, beta, out, 0, 1);
  return new Tensor(out, [rows]);
}

export interface SyrkOptions {
  /** false: α·A·Aᵀ (rows of A are the vectors); true: α·Aᵀ·A (columns). */
  trans?: boolean;
  alpha?: number;
}

/** The symmetric α·A·Aᵀ (or α·Aᵀ·A) at half the cost of gemm, both triangles filled. */
export function syrk(a: TensorLike, options: SyrkOptions = {}): Tensor {
  const trans = options.trans ?? false;
  const alpha = finiteOption(options.alpha ?? 1, 'syrk', 'alpha');
  const A = matrixArg(a, 'syrk', 'a');
  const [n, k] = trans ? [A.cols, A.rows] : [A.rows, A.cols];
  const out = new Float64Array(n * n);
  syrkKernel(n, k, alpha, A.t.data, 0, A.cols, trans, 0, out, 0, n);
  mirrorLower(n, out, 0, n);
  return new Tensor(out, [n, n]);
}

function sameLength(fn: string, x: Float64Array, y: Float64Array): void {
  if (x.length !== y.length) {
    throw new ShapeError(`${fn}: x and y differ in length, x has ${x.length} entries and y has ${y.length}`);
  }
}

/** xᵀy of two vectors. */
export function dot(x: TensorLike, y: TensorLike): number {
  const xs = vectorArg(x, 'dot', 'x');
  const ys = vectorArg(y, 'dot', 'y');
  sameLength('dot', xs, ys);
  return dotKernel(xs.length, xs, 0, 1, ys, 0, 1);
}

/** αx + y as a new vector. */
export function axpy(alpha: number, x: TensorLike, y: TensorLike): Tensor {
  finiteOption(alpha, 'axpy', 'alpha');
  const xs = vectorArg(x, 'axpy', 'x');
  const ys = vectorArg(y, 'axpy', 'y');
  sameLength('axpy', xs, ys);
  const out = Float64Array.from(ys);
  axpyKernel(xs.length, alpha, xs, 0, 1, out, 0, 1);
  return new Tensor(out, [out.length]);
}

/** Euclidean norm of a vector, safe from overflow and underflow. */
export function nrm2(x: TensorLike): number {
  const xs = vectorArg(x, 'nrm2', 'x');
  return nrm2Kernel(xs.length, xs, 0, 1);
}
