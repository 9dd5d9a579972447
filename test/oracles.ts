/** Independent oracles and random matrices for the linear-algebra tests. */
import { Matrix } from 'ml-matrix';
import { afterAll, beforeAll, expect } from 'vitest';
import { type Backend, backend, setBackend } from '../src/linalg/index.js';
import { eye, randn, Tensor } from '../src/tensor.js';
import { expectClose } from './helpers.js';

export const EPS = 2 ** -52;

/**
 * Run the enclosing file (or describe block) on the pure TypeScript kernels:
 * these tests are about them; the WebAssembly backend is tested against them in
 * test/kernels/wasm/.
 */
export function useTypeScriptKernels(): void {
  let previous: Backend = 'js';
  beforeAll(() => {
    previous = backend();
    setBackend('js');
  });
  afterAll(() => setBackend(previous));
}

/** Textbook triple loop: C ← α·op(A)·op(B) + β·C on raw arrays with offsets and leading dimensions. */
export function naiveGemm(
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float64Array,
  aOffset: number,
  lda: number,
  transA: boolean,
  b: Float64Array,
  bOffset: number,
  ldb: number,
  transB: boolean,
  beta: number,
  c: Float64Array,
  cOffset: number,
  ldc: number,
): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        const aip = transA ? a[aOffset + p * lda + i]! : a[aOffset + i * lda + p]!;
        const bpj = transB ? b[bOffset + j * ldb + p]! : b[bOffset + p * ldb + j]!;
        s += aip * bpj;
      }
      const x = cOffset + i * ldc + j;
      c[x] = alpha * s + (beta === 0 ? 0 : beta * c[x]!);
    }
  }
}

export function toMl(t: Tensor): Matrix {
  const [r, c] = t.shape as [number, number];
  const m = new Matrix(r, c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) m.set(i, j, t.data[i * c + j]!);
  return m;
}

export function fromMl(m: Matrix): Tensor {
  return new Tensor(Float64Array.from(m.to1DArray()), [m.rows, m.columns]);
}

export function maxAbs(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s = Math.max(s, Math.abs(x[i]!));
  return s;
}

export function maxAbsDiff(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s = Math.max(s, Math.abs(x[i]! - y[i]!));
  return s;
}

/** Plain matrix product through ml-matrix (the oracle for products used inside other checks). */
export function mlProduct(a: Tensor, b: Tensor): Tensor {
  return fromMl(toMl(a).mmul(toMl(b)));
}

export function transpose(a: Tensor): Tensor {
  const [r, c] = a.shape as [number, number];
  const out = new Float64Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = a.data[i * c + j]!;
  return new Tensor(out, [c, r]);
}

/**
 * A symmetric positive definite n × n matrix Q·diag(λ)·Qᵀ with eigenvalues
 * spread log-uniformly over [1, condition], Q orthogonal by Gram–Schmidt (twice)
 * on a Gaussian matrix: built without the library under test.
 */
export function randomSpd(
  n: number,
  seed: number,
  condition = 100,
): { a: Tensor; eigenvalues: Float64Array } {
  const eigenvalues = new Float64Array(n);
  for (let i = 0; i < n; i++) eigenvalues[i] = condition ** (n === 1 ? 0 : i / (n - 1));
  return { a: fromSpectrum(randomOrthogonal(n, seed), eigenvalues), eigenvalues };
}

/** Q·diag(λ)·Qᵀ with the columns of the row-major n × n array q as eigenvectors. */
export function fromSpectrum(q: Float64Array, eigenvalues: ArrayLike<number>): Tensor {
  const n = eigenvalues.length;
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let p = 0; p < n; p++) s += q[i * n + p]! * eigenvalues[p]! * q[j * n + p]!;
      a[i * n + j] = s;
      a[j * n + i] = s;
    }
  }
  return new Tensor(a, [n, n]);
}

/** A random orthogonal n × n matrix (row-major), columns orthonormalised twice. */
export function randomOrthogonal(n: number, seed: number): Float64Array {
  // Work on the transpose so that columns are contiguous rows.
  const qt = Float64Array.from(randn([n, n], seed).data);
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    for (let pass = 0; pass < 2; pass++) {
      for (let p = 0; p < j; p++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += qt[p * n + i]! * qt[rj + i]!;
        for (let i = 0; i < n; i++) qt[rj + i] = qt[rj + i]! - s * qt[p * n + i]!;
      }
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += qt[rj + i]! ** 2;
    norm = Math.sqrt(norm);
    for (let i = 0; i < n; i++) qt[rj + i] = qt[rj + i]! / norm;
  }
  const q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) q[i * n + j] = qt[j * n + i]!;
  return q;
}

/** X·Xᵀ for a random n × r X: symmetric, positive semi-definite, rank min(n, r). */
export function randomGram(n: number, r: number, seed: number): Tensor {
  const x = randn([n, r], seed);
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let p = 0; p < r; p++) s += x.data[i * r + p]! * x.data[j * r + p]!;
      out[i * n + j] = s;
      out[j * n + i] = s;
    }
  }
  return new Tensor(out, [n, n]);
}

/** A random symmetric matrix with normal entries. */
export function randomSymmetric(n: number, seed: number): Tensor {
  const x = randn([n, n], seed);
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const v = (x.data[i * n + j]! + x.data[j * n + i]!) / 2;
      out[i * n + j] = v;
      out[j * n + i] = v;
    }
  }
  return new Tensor(out, [n, n]);
}

/** ‖A·V − V·Λ‖max and ‖Vᵀ·V − I‖max within c·n·ε (times ‖A‖ for the first). */
export function expectEigenpairs(a: Tensor, values: Float64Array, vectors: Tensor): void {
  const n = a.shape[0]!;
  const norm = Math.max(maxAbs(a.data), Number.MIN_VALUE);
  const av = mlProduct(a, vectors);
  let residual = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      residual = Math.max(residual, Math.abs(av.data[i * n + j]! - vectors.data[i * n + j]! * values[j]!));
    }
  }
  expect(residual).toBeLessThanOrEqual(32 * (n + 1) * EPS * norm * Math.sqrt(n + 1));
  expectClose(mlProduct(transpose(vectors), vectors), eye(n), { rtol: 0, atol: 32 * (n + 1) * EPS });
  for (let i = 1; i < n; i++) expect(values[i]).toBeGreaterThanOrEqual(values[i - 1]!);
}
