import { fc, test as property } from '@fast-check/vitest';
import { EigenvalueDecomposition } from 'ml-matrix';
import { describe, expect, test } from 'vitest';
import { ShapeError, ValueError } from '../../src/errors.js';
import { eigh, eigvalsh } from '../../src/linalg/index.js';
import { eye, randn, Tensor, tensor } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';
import {
  EPS,
  expectEigenpairs,
  fromSpectrum,
  maxAbs,
  mlProduct,
  randomGram,
  randomOrthogonal,
  randomSymmetric,
  toMl,
  transpose,
  useTypeScriptKernels,
} from '../oracles.js';

useTypeScriptKernels();

describe('eigh', () => {
  property.prop([fc.integer({ min: 0, max: 60 }), fc.nat(1000)])(
    'A·V = V·Λ, Vᵀ·V = I, values as ml-matrix',
    (n, seed) => {
      const a = randomSymmetric(n, seed);
      const { values, vectors } = eigh(a);
      expectEigenpairs(a, values, vectors);
      if (n > 0) {
        const oracle = new EigenvalueDecomposition(toMl(a), { assumeSymmetric: true }).realEigenvalues;
        expectClose(values, oracle, { rtol: 0, atol: 64 * n * EPS * maxAbs(a.data) });
      }
      expectClose(eigvalsh(a), values, { rtol: 0, atol: 16 * (n + 1) * EPS * maxAbs(a.data) });
    },
  );

  property.prop([fc.integer({ min: 100, max: 300 }), fc.nat(1000)], { numRuns: 2 })(
    'larger, odd sizes',
    (n, seed) => {
      const a = randomSymmetric(n, seed);
      const { values, vectors } = eigh(a);
      expectEigenpairs(a, values, vectors);
    },
  );

  test('known spectra: repeated, zero and widely spread eigenvalues', () => {
    const n = 40;
    const q = randomOrthogonal(n, 3);
    const spectra = [
      Array.from({ length: n }, (_, i) => (i < 20 ? 0 : 1)), // rank-deficient, two clusters
      Array.from({ length: n }, (_, i) => 10 ** (i / 3 - 6)), // condition 1e13
      Array.from({ length: n }, (_, i) => (i % 2 ? -5 : 5)), // indefinite, repeated
    ];
    for (const spectrum of spectra) {
      const a = fromSpectrum(q, spectrum);
      const { values, vectors } = eigh(a);
      const sorted = [...spectrum].sort((x, y) => x - y);
      expectClose(values, sorted, { rtol: 0, atol: 64 * n * EPS * maxAbs(sorted) });
      expectEigenpairs(a, values, vectors);
    }
  });

  test('diagonal, identity, rank-one and tiny matrices', () => {
    const d = eigh(
      tensor([
        [3, 0, 0],
        [0, -1, 0],
        [0, 0, 2],
      ]),
    );
    expect([...d.values]).toEqual([-1, 2, 3]);
    expectEigenpairs(eye(5), eigh(eye(5)).values, eigh(eye(5)).vectors);
    const g = randomGram(30, 1, 2);
    const r1 = eigh(g);
    expectEigenpairs(g, r1.values, r1.vectors);
    expect([...eigh(tensor([[7]])).values]).toEqual([7]);
    expect(eigh(new Tensor(new Float64Array(0), [0, 0])).vectors.shape).toEqual([0, 0]);
    const two = tensor([
      [2, 1],
      [1, 2],
    ]);
    expectClose(eigvalsh(two), [1, 3], { rtol: 0, atol: 1e-15 });
  });

  test('tiny and huge scales: eigenvalues scale exactly, vectors stay orthonormal', () => {
    const n = 150;
    const a = randomSymmetric(n, 4);
    const base = eigh(a);
    for (const scale of [2 ** -1000, 1e-200, 1e200, 2 ** 1000]) {
      const scaled = new Tensor(
        a.data.map((v) => v * scale),
        [n, n],
      );
      const { values, vectors } = eigh(scaled);
      expectClose(
        values.map((v) => v / scale),
        base.values,
        { rtol: 0, atol: 64 * n * EPS * maxAbs(base.values) },
      );
      expectClose(mlProduct(transpose(vectors), vectors), eye(n), { rtol: 0, atol: 32 * (n + 1) * EPS });
      expectClose(
        eigvalsh(scaled).map((v) => v / scale),
        base.values,
        { rtol: 0, atol: 64 * n * EPS * maxAbs(base.values) },
      );
    }
  });

  test('bad input is a typed error', () => {
    expect(() => eigh(randn([2, 3], 1))).toThrow(ShapeError);
    expect(() =>
      eigh(
        tensor([
          [1, 2],
          [3, 1],
        ]),
      ),
    ).toThrow(/eigh: a must be symmetric/);
    expect(() =>
      eigvalsh(
        tensor([
          [1, Number.NaN],
          [Number.NaN, 1],
        ]),
      ),
    ).toThrow(ValueError);
  });
});
