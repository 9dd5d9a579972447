/** gemmKernel, the packed TypeScript product, against the triple loop. */
import { fc, test as property } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { gemmKernel } from '../../src/kernels/index.js';
import { seededRng } from '../../src/random.js';
import { expectClose } from '../helpers.js';
import { naiveGemm, useTypeScriptKernels } from '../oracles.js';

useTypeScriptKernels();

/** Random array of `len` entries in [−1, 1) from a seed. */
function randomArray(len: number, seed: number): Float64Array {
  const rng = seededRng(seed);
  const out = new Float64Array(len);
  for (let i = 0; i < len; i++) out[i] = 2 * rng.uniform() - 1;
  return out;
}

/**
 * gemmKernel against the triple loop on raw arrays with offsets, padded leading
 * dimensions and all transpose combinations; everything outside the m × n block
 * of C must be left alone.
 */
function checkKernel(
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
  alpha: number,
  beta: number,
  seed: number,
) {
  const pad = seed % 3;
  const [aOffset, bOffset, cOffset] = [seed % 5, (seed >> 2) % 4, (seed >> 4) % 3];
  const lda = (transA ? m : k) + pad;
  const ldb = (transB ? k : n) + pad;
  const ldc = n + pad;
  const a = randomArray(aOffset + (transA ? k : m) * lda + 2, seed);
  const b = randomArray(bOffset + (transB ? n : k) * ldb + 2, seed + 1);
  const c = randomArray(cOffset + m * ldc + 2, seed + 2);
  const expected = c.slice();
  naiveGemm(m, n, k, alpha, a, aOffset, lda, transA, b, bOffset, ldb, transB, beta, expected, cOffset, ldc);
  gemmKernel(m, n, k, alpha, a, aOffset, lda, transA, b, bOffset, ldb, transB, beta, c, cOffset, ldc);
  // Each entry is a k-term dot product of numbers below 1.
  expectClose(c, expected, { rtol: 1e-12, atol: 8 * (k + 2) * 2 ** -52 });
}

describe('gemmKernel', () => {
  property.prop([
    fc.integer({ min: 0, max: 40 }),
    fc.integer({ min: 0, max: 40 }),
    fc.integer({ min: 0, max: 40 }),
    fc.boolean(),
    fc.boolean(),
    fc.constantFrom(1, -1, 0.5, 0),
    fc.constantFrom(0, 1, -2),
    fc.nat(1000),
  ])('small shapes match the triple loop', checkKernel);

  property.prop(
    [
      fc.integer({ min: 1, max: 150 }),
      fc.integer({ min: 1, max: 150 }),
      fc.integer({ min: 1, max: 300 }),
      fc.boolean(),
      fc.boolean(),
      fc.constantFrom(1, -0.75),
      fc.constantFrom(0, 1, 0.5),
      fc.nat(1000),
    ],
    { numRuns: 15 },
  )('blocked shapes (odd sizes across block edges) match the triple loop', checkKernel);

  test('sizes that straddle the packing blocks (k > 256, m > 128, edge tiles)', () => {
    checkKernel(131, 67, 259, false, false, 1, 0, 3);
    checkKernel(129, 5, 513, true, true, -1, 1, 7);
    checkKernel(9, 2050, 9, false, true, 2, 0.5, 11);
  });

  test('skinny shapes the AD engine uses', () => {
    checkKernel(1000, 50, 1, false, false, 1, 0, 1);
    checkKernel(1000, 1, 50, false, false, 1, 1, 2);
    checkKernel(1, 64, 50, false, true, 1, 0, 3);
    checkKernel(50, 50, 1000, true, false, 1, 0, 4);
    checkKernel(1000, 50, 50, false, true, 1, 0, 5);
  });

  test('beta = 0 overwrites NaN already in C; alpha = 0 or k = 0 only scales C', () => {
    const c = new Float64Array([Number.NaN, Number.NaN, Number.NaN, Number.NaN]);
    gemmKernel(
      2,
      2,
      3,
      1,
      new Float64Array(6).fill(1),
      0,
      3,
      false,
      new Float64Array(6).fill(1),
      0,
      2,
      false,
      0,
      c,
      0,
      2,
    );
    expect([...c]).toEqual([3, 3, 3, 3]);
    const d = new Float64Array([1, 2, 3, 4]);
    gemmKernel(2, 2, 0, 1, new Float64Array(0), 0, 0, false, new Float64Array(0), 0, 2, false, 2, d, 0, 2);
    expect([...d]).toEqual([2, 4, 6, 8]);
  });
});
