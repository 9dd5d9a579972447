/**
 * General matrix multiply, C ← α·op(A)·op(B) + β·C, on row-major Float64Arrays.
 *
 * PLACEHOLDER reference loop: the cache-blocked, register-tiled kernel replaces
 * the body; the signature is fixed and shared by src/autodiff and src/laplace.
 * No validation: callers check.
 */
export function gemmKernel(
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
      const idx = cOffset + i * ldc + j;
      c[idx] = beta === 0 ? alpha * s : alpha * s + beta * c[idx]!;
    }
  }
}
