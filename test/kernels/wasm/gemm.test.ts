/**
 * The packed product in WebAssembly against a bitwise oracle, the textbook
 * loop with the same kc-deep slicing (each slice summed from zero in order of
 * p, then added to β·C), on awkward sizes, offsets, padded leading dimensions,
 * transposes, α, β; and the backend switch it obeys.
 */
import v8 from 'node:v8';
import { fc, test } from '@fast-check/vitest';
import { beforeEach, describe, expect, it } from 'vitest';
import { gemmKernel } from '../../../src/kernels/index.js';
import { gemmWasm } from '../../../src/kernels/wasm/gemm.js';
import { availableBackends, type Backend, backend, setBackend } from '../../../src/linalg/index.js';
import { seededRng } from '../../../src/random.js';
import { EPS } from '../../oracles.js';

// Node 20 ships relaxed SIMD behind a flag; turning it on before the first
// product lets the relaxed kernel be tested too (where it already ships, this is a no-op).
v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

const KC = 256;

function randomArray(len: number, seed: number): Float64Array {
  const rng = seededRng(seed);
  const out = new Float64Array(len);
  for (let i = 0; i < len; i++) out[i] = 2 * rng.uniform() - 1;
  return out;
}

/** The same slicing as the packed kernels, element by element: C ← β·C, then per slice C += Σₚ (α·a)·b. */
function slicedReference(
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
      const x = cOffset + i * ldc + j;
      let cij = beta === 0 ? 0 : beta === 1 ? c[x]! : beta * c[x]!;
      for (let pc = 0; pc < k; pc += KC) {
        let acc = 0;
        for (let p = pc; p < Math.min(k, pc + KC); p++) {
          const aip = transA ? a[aOffset + p * lda + i]! : a[aOffset + i * lda + p]!;
          const bpj = transB ? b[bOffset + j * ldb + p]! : b[bOffset + p * ldb + j]!;
          acc += alpha * aip * bpj;
        }
        cij = cij + acc;
      }
      c[x] = cij;
    }
  }
}

interface Problem {
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  alpha: number;
  beta: number;
  seed: number;
}

/** Random operands with offsets and padded leading dimensions; returns the arguments of a gemm call. */
function setUp({ m, n, k, transA, transB, seed }: Problem) {
  const pad = seed % 3;
  const [aOffset, bOffset, cOffset] = [seed % 5, (seed >> 2) % 4, (seed >> 4) % 3];
  const lda = (transA ? m : k) + pad;
  const ldb = (transB ? k : n) + pad;
  const ldc = n + pad;
  return {
    a: randomArray(aOffset + (transA ? k : m) * lda + 2, seed),
    b: randomArray(bOffset + (transB ? n : k) * ldb + 2, seed + 1),
    c: randomArray(cOffset + m * ldc + 2, seed + 2),
    aOffset,
    bOffset,
    cOffset,
    lda,
    ldb,
    ldc,
  };
}

/** Run `product` and the sliced reference on the same problem; return both outputs. */
function both(
  problem: Problem,
  product: typeof gemmKernel,
): { actual: Float64Array; expected: Float64Array } {
  const { m, n, k, transA, transB, alpha, beta } = problem;
  const { a, b, c, aOffset, bOffset, cOffset, lda, ldb, ldc } = setUp(problem);
  const expected = c.slice();
  slicedReference(
    m,
    n,
    k,
    alpha,
    a,
    aOffset,
    lda,
    transA,
    b,
    bOffset,
    ldb,
    transB,
    beta,
    expected,
    cOffset,
    ldc,
  );
  product(m, n, k, alpha, a, aOffset, lda, transA, b, bOffset, ldb, transB, beta, c, cOffset, ldc);
  return { actual: c, expected };
}

function expectSameBits(actual: Float64Array, expected: Float64Array): void {
  const differing: number[] = [];
  for (let i = 0; i < actual.length; i++) if (!Object.is(actual[i], expected[i])) differing.push(i);
  expect(differing.slice(0, 5).map((i) => [i, actual[i], expected[i]])).toEqual([]);
}

/** Calls gemmWasm directly (below gemmKernel's size threshold too); fails if it declines. */
const wasmProduct: typeof gemmKernel = (...args) => {
  expect(gemmWasm(...args)).toBe(true);
};

const awkward = fc.constantFrom(1, 2, 3, 4, 5, 7, 17, 65);
const problem = (size: fc.Arbitrary<number>, depth: fc.Arbitrary<number>) =>
  fc.record({
    m: size,
    n: size,
    k: depth,
    transA: fc.boolean(),
    transB: fc.boolean(),
    alpha: fc.constantFrom(1, -0.5, 2.25, 0),
    beta: fc.constantFrom(0, 1, -1.5),
    seed: fc.nat(1000),
  });

// Every test starts on the WebAssembly backend, even under LAPLACE_TS_BACKEND=js: this file tests that path.
beforeEach(() => setBackend('wasm-simd'));

describe('backend switch', () => {
  it('reports what it runs and refuses what it cannot', () => {
    const available = availableBackends();
    expect(available.slice(0, 2)).toEqual(['js', 'wasm-simd']);
    expect(backend()).toBe('wasm-simd');
    setBackend('js');
    expect(backend()).toBe('js');
    expect(() => setBackend('fast' as Backend)).toThrow(/setBackend: unknown backend "fast"/);
  });

  it("under 'js' the WebAssembly path declines", () => {
    setBackend('js');
    const x = new Float64Array(1);
    expect(gemmWasm(1, 1, 1, 1, x, 0, 1, false, x, 0, 1, false, 0, new Float64Array(1), 0, 1)).toBe(false);
  });
});

describe('packed product in WebAssembly SIMD', () => {
  test.prop([problem(awkward, awkward)])('bitwise equal to the sliced loop on awkward sizes', (p) => {
    const { actual, expected } = both(p, wasmProduct);
    expectSameBits(actual, expected);
  });

  test.prop([problem(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 600 }))])(
    'bitwise equal to the sliced loop over several kc slices',
    (p) => {
      const { actual, expected } = both(p, wasmProduct);
      expectSameBits(actual, expected);
    },
  );

  it('operands and C whose rows lie end to end (copied whole): whole strips, no padding', () => {
    // seed 0: no offsets, no padding of the leading dimensions; m, n multiples of 4, k even and odd.
    for (const k of [10, 7])
      for (const transA of [false, true])
        for (const transB of [false, true])
          for (const beta of [0, 1, -1.5]) {
            const p = { m: 8, n: 12, k, transA, transB, alpha: 1, beta, seed: 0 };
            const { actual, expected } = both(p, wasmProduct);
            expectSameBits(actual, expected);
          }
  });

  it('several NC column slices and C blocks: n = 2050, m = 520', () => {
    const p = { m: 520, n: 2050, k: 9, transA: false, transB: true, alpha: 0.5, beta: -1.5, seed: 7 };
    const { actual, expected } = both(p, wasmProduct);
    expectSameBits(actual, expected);
  });

  test.prop([problem(fc.integer({ min: 20, max: 90 }), fc.integer({ min: 200, max: 530 }))])(
    "gemmKernel gives the same bits under 'wasm-simd' as under 'js'",
    (p) => {
      setBackend('js');
      const { actual: js } = both(p, gemmKernel);
      setBackend('wasm-simd');
      const { actual: wasm } = both(p, gemmKernel);
      expectSameBits(wasm, js);
    },
  );

  it('NaN and infinities propagate as in the reference; β = 0 clears NaN in C', () => {
    const p = { m: 9, n: 10, k: 300, transA: false, transB: false, alpha: 1, beta: 0, seed: 3 };
    const { a, b, c, aOffset, bOffset, cOffset, lda, ldb, ldc } = setUp(p);
    a[aOffset + 2 * lda + 5] = Number.NaN;
    b[bOffset + 7 * ldb + 3] = Number.POSITIVE_INFINITY;
    c.fill(Number.NaN);
    const expected = c.slice();
    const args = [a, aOffset, lda, false, b, bOffset, ldb, false] as const;
    slicedReference(9, 10, 300, 1, ...args, 0, expected, cOffset, ldc);
    wasmProduct(9, 10, 300, 1, ...args, 0, c, cOffset, ldc);
    expectSameBits(c, expected);
  });
});

describe.runIf(availableBackends().includes('wasm-relaxed'))('packed product with relaxed-SIMD FMA', () => {
  test.prop([problem(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 600 }))])(
    'within the rounding error bound of the reference',
    (p) => {
      setBackend('wasm-relaxed');
      const { actual, expected } = both(p, wasmProduct);
      // Both are k-term sums: |error| ≤ (k + 2)·ε·(Σₚ|α·a·b| + |β·c|) each, and every
      // operand is below 1 in magnitude, so Σₚ|α·a·b| ≤ |α|·k.
      const bound = 2 * (p.k + 2) * EPS * (Math.abs(p.alpha) * p.k + Math.abs(p.beta));
      for (let i = 0; i < actual.length; i++) {
        expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThanOrEqual(bound);
      }
    },
  );
});
