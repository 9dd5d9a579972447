/**
 * The library under every backend this runtime offers ('js', 'wasm-simd' and,
 * where relaxed SIMD runs, 'wasm-relaxed'): products, factorisations, solves and
 * gradients against independent oracles, at sizes that take the packed path;
 * and the whole of an MLP gradient, bit for bit, between 'js' and 'wasm-simd'.
 */
import v8 from 'node:v8';
import { fc, test } from '@fast-check/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linear, square, sum, tanh } from '../../../src/autodiff/ops.js';
import { grad } from '../../../src/autodiff/transforms.js';
import {
  availableBackends,
  type Backend,
  backend,
  cholesky,
  eigh,
  gemm,
  setBackend,
  solveTriangular,
  syrk,
} from '../../../src/linalg/index.js';
import { randn, type Tensor } from '../../../src/tensor.js';
import { expectClose } from '../../helpers.js';
import { EPS, fromMl, toMl, transpose } from '../../oracles.js';

v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

/** A well-conditioned symmetric positive definite matrix X·Xᵀ/n + I. */
function spd(n: number, seed: number): Tensor {
  const x = randn([n, n], seed);
  const a = syrk(x, { alpha: 1 / n });
  for (let i = 0; i < n; i++) a.data[i * n + i] = a.data[i * n + i]! + 1;
  return a;
}

function maxAbs(t: Tensor): number {
  return t.data.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
}

const initial = backend();
afterAll(() => setBackend(initial));

describe.each(availableBackends())("backend '%s'", (which: Backend) => {
  beforeAll(() => setBackend(which));

  test.prop([
    fc.integer({ min: 30, max: 90 }),
    fc.integer({ min: 30, max: 90 }),
    fc.integer({ min: 30, max: 300 }),
    fc.boolean(),
    fc.boolean(),
    fc.nat(1000),
  ])('gemm agrees with ml-matrix, transposes and α, β included', (m, n, k, transA, transB, seed) => {
    expect(backend()).toBe(which);
    const a = randn(transA ? [k, m] : [m, k], seed);
    const b = randn(transB ? [n, k] : [k, n], seed + 1);
    const c = randn([m, n], seed + 2);
    const ml = toMl(transA ? transpose(a) : a)
      .mmul(toMl(transB ? transpose(b) : b))
      .mul(0.75)
      .add(toMl(c).mul(-2));
    const ours = gemm(a, b, { transA, transB, alpha: 0.75, beta: -2, c });
    // Entries are sums of k products of standard normals: error ≲ k·ε·(Σ|a·b|) ≈ k·ε·k.
    expectClose(ours, fromMl(ml), { rtol: 1e-12, atol: 4 * k * k * EPS });
  });

  it('syrk is the symmetric gemm', () => {
    const x = randn([150, 270], 5);
    expectClose(syrk(x, { alpha: 0.5 }), gemm(x, x, { transB: true, alpha: 0.5 }), { atol: 1e-11 });
  });

  it('cholesky: L·Lᵀ = A, n = 300', () => {
    const a = spd(300, 11);
    const l = cholesky(a);
    expectClose(gemm(l, l, { transB: true }), a, { rtol: 0, atol: 300 * EPS * maxAbs(a) * 4 });
  });

  it('solveTriangular: L·X = B to working precision, 64 right-hand sides', () => {
    const l = cholesky(spd(257, 12));
    const b = randn([257, 64], 13);
    const x = solveTriangular(l, b);
    const residual = gemm(l, x, { beta: -1, c: b });
    expect(maxAbs(residual)).toBeLessThan(257 * EPS * maxAbs(l) * maxAbs(x) * 4);
    const xt = solveTriangular(l, b, { transpose: true });
    const residualT = gemm(l, xt, { transA: true, beta: -1, c: b });
    expect(maxAbs(residualT)).toBeLessThan(257 * EPS * maxAbs(l) * maxAbs(xt) * 4);
  });

  it('eigh: A·V = V·Λ and Vᵀ·V = I, n = 160', () => {
    const n = 160;
    const a = spd(n, 14);
    const { values, vectors } = eigh(a);
    const av = gemm(a, vectors);
    const vl = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) vl[i * n + j] = vectors.data[i * n + j]! * values[j]!;
    }
    expectClose(av.data, vl, { rtol: 0, atol: 1e3 * EPS * maxAbs(a) });
    const gram = gemm(vectors, vectors, { transA: true });
    for (let i = 0; i < n; i++) gram.data[i * n + i] = gram.data[i * n + i]! - 1;
    expect(maxAbs(gram)).toBeLessThan(1e3 * EPS);
  });
});

describe('the same bits under js and wasm-simd', () => {
  it('gradient of an MLP 1→50→tanh→50→tanh→1 over 1,000 inputs', () => {
    const sizes = [1, 50, 50, 1];
    const params = sizes.slice(1).map((out, i) => ({
      weight: randn([out, sizes[i]!], 20 + i),
      bias: randn([out], 30 + i),
    }));
    const x = randn([1000, 1], 40);
    const loss = (ps: typeof params) => {
      let h = x;
      ps.forEach((p, i) => {
        h = linear(h, p.weight, p.bias);
        if (i < ps.length - 1) h = tanh(h);
      });
      return sum(square(h));
    };
    const gradients = (b: Backend) => {
      setBackend(b);
      return grad(loss)(params).flatMap((g) => [...g.weight.data, ...g.bias.data]);
    };
    const js = gradients('js');
    const wasm = gradients('wasm-simd');
    expect(wasm.length).toBe(js.length);
    expect(wasm.every((g, i) => Object.is(g, js[i]))).toBe(true);
  });
});
