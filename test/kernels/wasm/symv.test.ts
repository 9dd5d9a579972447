/**
 * The symmetric product of the tridiagonal reduction in WebAssembly
 * (wasm/symv.ts over a panel copied by wasm/panel.ts) against the TypeScript
 * product it stands in for: bit for bit under 'wasm-simd', within the rounding
 * error bound under 'wasm-relaxed'; on awkward orders, offsets, row strides and
 * every starting row. Then eigvalsh and eigh, whose blocked reduction (n > 128)
 * takes these products, under every backend: against each other (the same bits
 * for 'js' and 'wasm-simd') and against ml-matrix.
 */
import v8 from 'node:v8';
import { fc, test } from '@fast-check/vitest';
import { EigenvalueDecomposition } from 'ml-matrix';
import { afterAll, describe, expect, it } from 'vitest';
import { subtractDeferred, symmetricProduct, updateRow } from '../../../src/kernels/eigen.js';
import { activeEngine, memoryView, PAGE } from '../../../src/kernels/wasm/backend.js';
import { copyPanel, panelAppend, panelProduct, panelUpdateRow } from '../../../src/kernels/wasm/panel.js';
import {
  availableBackends,
  type Backend,
  backend,
  eigh,
  eigvalsh,
  setBackend,
} from '../../../src/linalg/index.js';
import { seededRng } from '../../../src/random.js';
import { Tensor } from '../../../src/tensor.js';
import { expectClose } from '../../helpers.js';
import { EPS, maxAbs, randomSymmetric, toMl } from '../../oracles.js';

v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

const initial = backend();
afterAll(() => setBackend(initial));

function randomArray(length: number, seed: number): Float64Array {
  const rng = seededRng(seed);
  return Float64Array.from({ length }, () => 2 * rng.uniform() - 1);
}

/** Entries that differ, Object.is-wise (so −0 ≠ +0, and NaN matches NaN). */
function differing(actual: Float64Array, expected: Float64Array): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) out.push([i, actual[i]!, expected[i]!]);
  }
  return out.slice(0, 5);
}

interface Problem {
  m: number;
  /** Padding of the row stride beyond m, and the block's offset in its array. */
  pad: number;
  offset: number;
  /** Starting rows of the products, ascending (as the steps of a panel, some skipped). */
  starts: number[];
  seed: number;
}

const order = fc.oneof(fc.constantFrom(1, 2, 3, 4, 5, 6, 7, 8, 9, 17, 65), fc.integer({ min: 1, max: 90 }));
const problem: fc.Arbitrary<Problem> = order.chain((m) =>
  fc.record({
    m: fc.constant(m),
    pad: fc.nat(5),
    offset: fc.nat(7),
    starts: fc
      .uniqueArray(fc.nat(m - 1), { minLength: 1, maxLength: Math.min(m, 12) })
      .map((s) => s.sort((a, b) => a - b)),
    seed: fc.nat(10_000),
  }),
);

/**
 * For each start r: the WebAssembly product with the panel (copied once, then
 * the array scribbled over, as the reduction does to rows it has finished) and
 * the TypeScript product with the block from row and column r of the original.
 */
function products({ m, pad, offset, starts, seed }: Problem, special = false) {
  const lda = m + pad;
  const a = randomArray(offset + m * lda, seed);
  const x = randomArray(m + 3, seed + 1);
  if (special) {
    // Zeros of both signs, infinities and NaN, in the block and in v.
    const values = [0, -0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN];
    const rng = seededRng(seed + 2);
    for (let q = 0; q < 3; q++) a[offset + rng.int(m) * lda + rng.int(m)] = values[rng.int(values.length)]!;
    for (let q = 0; q < 2; q++) x[rng.int(x.length)] = values[rng.int(2)]!;
  }
  const original = a.slice();
  const panel = copyPanel(m, m, a, offset, lda);
  expect(panel).toBeDefined();
  a.fill(Number.NaN);
  return starts.map((r) => {
    const xOffset = r % 3;
    const expected = new Float64Array(m - r);
    symmetricProduct(m - r, original, offset + r * lda + r, lda, x, xOffset, expected);
    const actual = new Float64Array(m - r).fill(7);
    panelProduct(panel!, r, x, xOffset, actual);
    // Σ|S||v| per entry, for the error bound of the relaxed variant.
    const scale = new Float64Array(m - r);
    symmetricProduct(
      m - r,
      original.map(Math.abs),
      offset + r * lda + r,
      lda,
      x.map(Math.abs),
      xOffset,
      scale,
    );
    return { r, actual, expected, scale };
  });
}

describe.runIf(availableBackends().includes('wasm-simd'))('symmetric product in WebAssembly SIMD', () => {
  test.prop([problem])('bitwise equal to the TypeScript product from every starting row', (p) => {
    setBackend('wasm-simd');
    for (const { actual, expected } of products(p)) expect(differing(actual, expected)).toEqual([]);
  });

  test.prop([problem], { numRuns: 40 })('zeros of both signs, infinities and NaN: the same bits', (p) => {
    setBackend('wasm-simd');
    for (const { actual, expected } of products(p, true)) expect(differing(actual, expected)).toEqual([]);
  });

  it('every start of orders 1 … 12, one panel each', () => {
    setBackend('wasm-simd');
    for (let m = 1; m <= 12; m++) {
      const starts = Array.from({ length: m }, (_, r) => r);
      for (const { actual, expected } of products({ m, pad: 1, offset: 3, starts, seed: m })) {
        expect(differing(actual, expected)).toEqual([]);
      }
    }
  });

  const panelRun = fc.integer({ min: 3, max: 70 }).chain((n) =>
    fc.record({
      n: fc.constant(n),
      pad: fc.nat(3),
      offset: fc.nat(5),
      seed: fc.nat(10_000),
      // Which of the first steps reflect nothing (their deferred rows stay zero).
      skipped: fc.array(fc.boolean(), { minLength: Math.min(n - 2, 9), maxLength: Math.min(n - 2, 9) }),
    }),
  );

  test.prop([panelRun])(
    'the steps of a panel: rows brought up to date, products less the deferred terms, as in TypeScript',
    ({ n, pad, offset, seed, skipped }) => {
      setBackend('wasm-simd');
      const lda = n + pad;
      const steps = skipped.length;
      const ts = randomArray(offset + n * lda, seed);
      const wasm = ts.slice();
      // Deferred rows of the TypeScript path, row i at global columns.
      const vt = new Float64Array(steps * n);
      const wt = new Float64Array(steps * n);
      const panel = copyPanel(n - 1, steps, wasm, offset + lda + 1, lda)!;
      for (let j = 0; j < steps; j++) {
        const k = j;
        const rk = offset + k * lda;
        const m = n - k - 1;
        if (j > 0) {
          updateRow(j, k, n, vt, wt, ts, rk);
          panelUpdateRow(panel, j, wasm, rk + k);
          expect(differing(wasm.subarray(rk + k, rk + n), ts.subarray(rk + k, rk + n))).toEqual([]);
        }
        if (skipped[j]) continue;
        const v = rk + k + 1;
        const expected = new Float64Array(m);
        symmetricProduct(m, ts, v + lda, lda, ts, v, expected);
        subtractDeferred(j, k, n, vt, wt, ts, v, expected);
        const actual = new Float64Array(m);
        panelProduct(panel, j, wasm, v, actual);
        expect(differing(actual, expected)).toEqual([]);
        // This step's rows: v as it lies in row k, and for w any vector (the product).
        vt.set(ts.subarray(v, v + m), j * n + k + 1);
        wt.set(expected, j * n + k + 1);
        panelAppend(panel, j, wasm, v, expected);
      }
    },
  );

  it('survives linear memory growing between copy and product', () => {
    setBackend('wasm-simd');
    const m = 37;
    const a = randomArray(m * m, 5);
    const x = randomArray(m, 6);
    const panel = copyPanel(m, 1, a, 0, m)!;
    const engine = activeEngine()!;
    memoryView(engine.memory, engine.memory.buffer.byteLength + PAGE); // grows, detaching old views
    const expected = new Float64Array(m);
    symmetricProduct(m, a, 0, m, x, 0, expected);
    const actual = new Float64Array(m);
    panelProduct(panel, 0, x, 0, actual);
    expect(differing(actual, expected)).toEqual([]);
  });

  it("declines under 'js' (the reduction then runs the TypeScript product)", () => {
    setBackend('js');
    expect(copyPanel(8, 4, new Float64Array(64), 0, 8)).toBeUndefined();
  });
});

describe.runIf(availableBackends().includes('wasm-relaxed'))(
  'symmetric product with relaxed-SIMD FMA',
  () => {
    test.prop([problem])('within the rounding error bound of the reference', (p) => {
      setBackend('wasm-relaxed');
      for (const { r, actual, expected, scale } of products(p)) {
        // Both are sums of at most m − r + 1 products: |error| ≤ (m − r + 2)·ε·Σ|S||v| each.
        for (let i = 0; i < expected.length; i++) {
          expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThanOrEqual(
            2 * (p.m - r + 2) * EPS * scale[i]!,
          );
        }
      }
    });
  },
);

/** A symmetric matrix that falls apart into two blocks: the reduction meets steps with nothing to reflect. */
function twoBlocks(n: number, split: number, seed: number): Tensor {
  const a = randomSymmetric(n, seed).data.slice();
  for (let i = 0; i < split; i++) {
    for (let j = split; j < n; j++) {
      a[i * n + j] = 0;
      a[j * n + i] = 0;
    }
  }
  return new Tensor(a, [n, n]);
}

describe('eigvalsh and eigh through the blocked reduction, every backend', () => {
  const matrices: [string, Tensor][] = [
    ['random, n = 150', randomSymmetric(150, 1)],
    ['random, n = 260', randomSymmetric(260, 2)],
    // Steps 49 and 50 (rows 17 and 18 of the second panel) reflect nothing.
    ['two blocks (51 + 149), n = 200', twoBlocks(200, 51, 3)],
  ];
  const run = (which: Backend, a: Tensor) => {
    setBackend(which);
    return { values: eigvalsh(a), pairs: eigh(a) };
  };

  it.each(matrices)('%s: wasm-simd gives the bits of js; every backend matches ml-matrix', (_, a) => {
    const n = a.shape[0]!;
    const js = run('js', a);
    const oracle = Float64Array.from(
      new EigenvalueDecomposition(toMl(a), { assumeSymmetric: true }).realEigenvalues,
    ).sort();
    const tolerance = { rtol: 0, atol: 64 * n * EPS * maxAbs(a.data) };
    for (const which of availableBackends()) {
      const ours = run(which, a);
      expectClose(ours.values, oracle, tolerance);
      expectClose(ours.pairs.values, oracle, tolerance);
      if (which === 'wasm-simd') {
        expect(differing(ours.values, js.values)).toEqual([]);
        expect(differing(ours.pairs.values, js.pairs.values)).toEqual([]);
        expect(differing(ours.pairs.vectors.data, js.pairs.vectors.data)).toEqual([]);
      }
    }
  });
});
