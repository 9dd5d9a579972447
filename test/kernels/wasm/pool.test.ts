/**
 * The worker pool: products large enough to be split between threads give the
 * same bits as the TypeScript kernel (rows of C are disjoint and each entry is
 * computed as on one thread), including several blocks of C, transposes, α, β
 * and rows that do not split evenly; and the pool starts and stops cleanly.
 */
import v8 from 'node:v8';
import { fc, test } from '@fast-check/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gemmKernel } from '../../../src/kernels/index.js';
import { PAGE } from '../../../src/kernels/wasm/backend.js';
import { team } from '../../../src/kernels/wasm/pool.js';
import {
  availableBackends,
  cholesky,
  setBackend,
  startWorkers,
  stopWorkers,
  syrk,
  workerCount,
} from '../../../src/linalg/index.js';
import { seededRng } from '../../../src/random.js';
import { randn } from '../../../src/tensor.js';

v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

function randomArray(len: number, seed: number): Float64Array {
  const rng = seededRng(seed);
  const out = new Float64Array(len);
  for (let i = 0; i < len; i++) out[i] = 2 * rng.uniform() - 1;
  return out;
}

interface Problem {
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  alpha: number;
  beta: number;
}

function product(p: Problem, which: 'js' | 'wasm-simd' | 'wasm-relaxed'): Float64Array {
  const { m, n, k, transA, transB, alpha, beta } = p;
  const a = randomArray(m * k, 1);
  const b = randomArray(k * n, 2);
  const c = randomArray(m * n, 3);
  setBackend(which);
  gemmKernel(m, n, k, alpha, a, 0, transA ? m : k, transA, b, 0, transB ? k : n, transB, beta, c, 0, n);
  return c;
}

function sameBits(x: Float64Array, y: Float64Array): boolean {
  return x.length === y.length && x.every((v, i) => Object.is(v, y[i]));
}

beforeAll(async () => {
  expect(await startWorkers(1)).toBe(1);
});
afterAll(async () => {
  await stopWorkers();
  setBackend('wasm-simd');
});

describe('worker pool', () => {
  it('reports its threads', () => {
    expect(workerCount()).toBe(1);
  });

  test.prop(
    [
      fc.record({
        m: fc.integer({ min: 130, max: 300 }),
        n: fc.integer({ min: 150, max: 300 }),
        k: fc.integer({ min: 200, max: 600 }),
        transA: fc.boolean(),
        transB: fc.boolean(),
        alpha: fc.constantFrom(1, -0.5),
        beta: fc.constantFrom(0, 1, 2.5),
      }),
    ],
    { numRuns: 8 },
  )("split products give the same bits as 'js'", (p) => {
    expect(sameBits(product(p, 'wasm-simd'), product(p, 'js'))).toBe(true);
  });

  it('several blocks of C (m = 2101 rows)', () => {
    const p = { m: 2101, n: 64, k: 70, transA: true, transB: false, alpha: 0.75, beta: -1 };
    expect(sameBits(product(p, 'wasm-simd'), product(p, 'js'))).toBe(true);
  });

  it.runIf(availableBackends().includes('wasm-relaxed'))(
    'relaxed SIMD gives the same bits with and without the pool',
    async () => {
      const p = { m: 257, n: 260, k: 300, transA: false, transB: true, alpha: 1, beta: 0 };
      const pooled = product(p, 'wasm-relaxed');
      await stopWorkers();
      const single = product(p, 'wasm-relaxed');
      expect(await startWorkers(1)).toBe(1);
      expect(sameBits(pooled, single)).toBe(true);
    },
  );

  it("cholesky of a 600 × 600 matrix: the same bits as 'js'", () => {
    const x = randn([600, 600], 4);
    const a = syrk(x, { alpha: 1 / 600 });
    for (let i = 0; i < 600; i++) a.data[i * 600 + i] = a.data[i * 600 + i]! + 1;
    setBackend('js');
    const expected = cholesky(a).data;
    setBackend('wasm-simd');
    expect(sameBits(cholesky(a).data, expected)).toBe(true);
  });

  it('a task that traps in a worker is redone by the caller, whose trap is thrown, not waited on forever', () => {
    setBackend('wasm-simd');
    const crew = team()!;
    expect(crew.size).toBe(1);
    // A packed panel of A far past the end of linear memory: gebp traps on its first load.
    crew.post(0, 0, 4, 4, 1, 8, 2 ** 31 - 2 ** 20, PAGE, PAGE, 32);
    expect(() => crew.join()).toThrow(WebAssembly.RuntimeError);
    const p = { m: 300, n: 300, k: 300, transA: false, transB: false, alpha: 1, beta: 0 };
    expect(sameBits(product(p, 'wasm-simd'), product(p, 'js'))).toBe(true);
  });

  it('stops, and products go on without it', async () => {
    await stopWorkers();
    expect(workerCount()).toBe(0);
    const p = { m: 300, n: 300, k: 300, transA: false, transB: false, alpha: 1, beta: 0 };
    expect(sameBits(product(p, 'wasm-simd'), product(p, 'js'))).toBe(true);
    expect(await startWorkers(1)).toBe(1);
  });
});
