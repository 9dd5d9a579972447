/**
 * Linear algebra against ml-matrix (float64, the usual JavaScript choice) and
 * tfjs's cpu backend (float32), in the same process. Ratios are baseline time
 * over ours. "laplace-ts" rows run the pure TypeScript kernels (backend 'js');
 * rows marked "wasm-simd" run the library default, whose gemm macro-kernel is
 * WebAssembly (src/kernels/wasm, see the WebAssembly section of RESULTS.md; the
 * rows are left out where WebAssembly SIMD is unavailable).
 * `LINALG_BENCH=quick` skips the slowest baselines;
 * `LINALG_BENCH_ONLY=gemm,eigvalsh` runs only the named parts.
 */
import * as tf from '@tensorflow/tfjs';
import { CholeskyDecomposition, EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { gemmKernel } from '../src/kernels/index.js';
import {
  availableBackends,
  backend,
  cholesky,
  eigh,
  eigvalsh,
  gemm,
  lanczos,
  lowRankPlusDiagonal,
  setBackend,
  solveTriangular,
  syrk,
} from '../src/linalg/index.js';
import { randn, type Tensor } from '../src/tensor.js';
import { type Case, measure } from './harness.js';

const quick = process.env['LINALG_BENCH'] === 'quick';

/** A case run under the WebAssembly backend, or none if this runtime has no WebAssembly SIMD. */
function wasmCase(name: string, f: () => unknown, flops?: number): Case[] {
  if (!availableBackends().includes('wasm-simd')) return [];
  const fn = () => {
    setBackend('wasm-simd');
    try {
      return f();
    } finally {
      setBackend('js');
    }
  };
  return [{ name: `${name} (wasm-simd)`, fn, ...(flops === undefined ? {} : { flops }) }];
}

function toMl(t: Tensor): Matrix {
  const [r, c] = t.shape as [number, number];
  return new Matrix(Array.from({ length: r }, (_, i) => Array.from(t.data.subarray(i * c, (i + 1) * c))));
}

/** A well-conditioned symmetric positive definite matrix: X·Xᵀ/n + I. */
function spd(n: number, seed: number): Tensor {
  const x = randn([n, n], seed);
  const a = syrk(x, { alpha: 1 / n });
  for (let i = 0; i < n; i++) a.data[i * n + i] = a.data[i * n + i]! + 1;
  return a;
}

async function gemmBench(): Promise<void> {
  await tf.setBackend('cpu');
  for (const n of [256, 512, 1024]) {
    const a = randn([n, n], 1);
    const b = randn([n, n], 2);
    const [ma, mb] = [toMl(a), toMl(b)];
    const [ta, tb] = [
      tf.tensor2d(Float32Array.from(a.data), [n, n]),
      tf.tensor2d(Float32Array.from(b.data), [n, n]),
    ];
    const flops = 2 * n ** 3;
    const slow = n === 1024;
    await measure(
      `gemm ${n}×${n}·${n}×${n}`,
      [
        { name: 'ml-matrix mmul', fn: () => ma.mmul(mb), flops },
        ...(quick && slow
          ? []
          : [
              {
                name: 'tfjs-cpu matMul (float32)',
                fn: () => tf.tidy(() => tf.matMul(ta, tb).dataSync()),
                flops,
              },
            ]),
        { name: 'laplace-ts gemm', fn: () => gemm(a, b), flops },
        { name: 'laplace-ts gemm, Aᵀ·B', fn: () => gemm(a, b, { transA: true }), flops },
        ...wasmCase('laplace-ts gemm', () => gemm(a, b), flops),
      ],
      { baseline: 'ml-matrix mmul', time: slow ? 100 : 400, iterations: slow ? 3 : 5 },
    );
    ta.dispose();
    tb.dispose();
  }
}

async function skinnyBench(): Promise<void> {
  // Shapes the AD engine and the Laplace code hand to gemmKernel.
  const shapes: [string, number, number, number, boolean, boolean][] = [
    ['[1000×1]·[1×50] (outer product)', 1000, 50, 1, false, false],
    ['[1000×50]·[50×50]', 1000, 50, 50, false, false],
    ['[1000×50]ᵀ·[1000×50] (weight gradient)', 50, 50, 1000, true, false],
    ['[10×50]·[50×64]', 10, 64, 50, false, false],
    ['[1000×500]·[500×1] (matrix-vector)', 1000, 1, 500, false, false],
  ];
  const cases = [];
  for (const [name, m, n, k, transA, transB] of shapes) {
    const a = randn(transA ? [k, m] : [m, k], 3).data;
    const b = randn(transB ? [n, k] : [k, n], 4).data;
    const c = new Float64Array(m * n);
    const ml = [new Matrix(m, k).add(1), new Matrix(k, n).add(1)] as const;
    cases.push({
      name: `${name} laplace-ts`,
      fn: () =>
        gemmKernel(m, n, k, 1, a, 0, transA ? m : k, transA, b, 0, transB ? k : n, transB, 0, c, 0, n),
      flops: 2 * m * n * k,
    });
    cases.push({ name: `${name} ml-matrix`, fn: () => ml[0].mmul(ml[1]), flops: 2 * m * n * k });
  }
  await measure('gemm, small and skinny shapes', cases, { time: 300 });
}

async function choleskyBench(): Promise<void> {
  const n = 1024;
  const a = spd(n, 5);
  const ma = toMl(a);
  await measure(
    `cholesky ${n}×${n}`,
    [
      ...(quick
        ? []
        : [
            {
              name: 'ml-matrix CholeskyDecomposition',
              fn: () => new CholeskyDecomposition(ma),
              flops: n ** 3 / 3,
            },
          ]),
      { name: 'laplace-ts cholesky', fn: () => cholesky(a), flops: n ** 3 / 3 },
      ...wasmCase('laplace-ts cholesky', () => cholesky(a), n ** 3 / 3),
    ],
    { baseline: 'ml-matrix CholeskyDecomposition', time: 300, iterations: 3 },
  );
  const l = cholesky(a);
  const r = 16;
  const b = randn([n, r], 6);
  // Textbook forward substitution, one right-hand side column at a time.
  const textbook = () => {
    const x = Float64Array.from(b.data);
    for (let c = 0; c < r; c++) {
      for (let i = 0; i < n; i++) {
        let s = x[i * r + c]!;
        for (let p = 0; p < i; p++) s -= l.data[i * n + p]! * x[p * r + c]!;
        x[i * r + c] = s / l.data[i * n + i]!;
      }
    }
    return x;
  };
  await measure(
    `solveTriangular ${n}×${n}, ${r} right-hand sides`,
    [
      { name: 'textbook substitution', fn: textbook, flops: n * n * r },
      { name: 'laplace-ts solveTriangular', fn: () => solveTriangular(l, b), flops: n * n * r },
      {
        name: 'laplace-ts solveTriangular, Lᵀ',
        fn: () => solveTriangular(l, b, { transpose: true }),
        flops: n * n * r,
      },
      ...wasmCase('laplace-ts solveTriangular', () => solveTriangular(l, b), n * n * r),
    ],
    { baseline: 'textbook substitution', time: 300 },
  );
  // The Laplace GGN: Jᵀ·J for a tall Jacobian, through syrk and through gemm.
  const [rows, cols] = [2000, 1000];
  const j = randn([rows, cols], 7);
  await measure(
    `Jᵀ·J for J ${rows}×${cols} (GFLOP/s counts the full 2·rows·cols² of gemm)`,
    [
      {
        name: 'laplace-ts gemm(Jᵀ, J)',
        fn: () => gemm(j, j, { transA: true }),
        flops: 2 * rows * cols * cols,
      },
      { name: 'laplace-ts syrk', fn: () => syrk(j, { trans: true }), flops: 2 * rows * cols * cols },
      ...wasmCase('laplace-ts syrk', () => syrk(j, { trans: true }), 2 * rows * cols * cols),
    ],
    { baseline: 'laplace-ts gemm(Jᵀ, J)', time: 300, iterations: 3 },
  );
}

async function eighBench(): Promise<void> {
  const n = 512;
  const x = randn([n, n], 8);
  const a = syrk(x, { alpha: 1 / n });
  const ma = toMl(a);
  await measure(
    `eigh ${n}×${n}`,
    [
      ...(quick
        ? []
        : [
            {
              name: 'ml-matrix EigenvalueDecomposition',
              fn: () => new EigenvalueDecomposition(ma, { assumeSymmetric: true }),
            },
          ]),
      { name: 'laplace-ts eigh', fn: () => eigh(a) },
      { name: 'laplace-ts eigvalsh', fn: () => eigvalsh(a) },
      ...wasmCase('laplace-ts eigh', () => eigh(a)),
    ],
    { baseline: 'ml-matrix EigenvalueDecomposition', time: 300, iterations: 3 },
  );
}

/**
 * eigvalsh at the sizes of a Laplace posterior: the blocked Householder
 * reduction, half of whose flops (4n³/3 in all) are the symmetric product with
 * the trailing block at every step (wasm/symv.ts under wasm-simd), half the
 * rank-2b updates (gemm).
 */
async function eigvalshBench(): Promise<void> {
  for (const n of [1000, 2000]) {
    const a = spd(n, 10);
    const flops = (4 * n ** 3) / 3;
    await measure(
      `eigvalsh ${n}×${n} (GFLOP/s counts the reduction's 4n³/3)`,
      [
        { name: 'laplace-ts eigvalsh', fn: () => eigvalsh(a), flops },
        ...wasmCase('laplace-ts eigvalsh', () => eigvalsh(a), flops),
      ],
      { baseline: 'laplace-ts eigvalsh', time: 300, iterations: 3 },
    );
  }
}

async function lanczosBench(): Promise<void> {
  // A GGN-like operator of size 4000: rank-200 term with decaying weights plus a prior.
  const n = 4000;
  const r = 200;
  const s = Array.from({ length: r }, (_, i) => 1000 * 0.95 ** i);
  const op = lowRankPlusDiagonal(randn([n, r], 9), s, new Float64Array(n).fill(1));
  let matvecs = 0;
  let converged = false;
  await measure(
    `lanczos top 20 of a ${n}-dimensional operator (rank ${r} + diagonal)`,
    [
      {
        name: 'laplace-ts lanczos',
        fn: () => {
          const result = lanczos(op, 20, { seed: 1 });
          matvecs = result.matvecs;
          converged = result.converged;
        },
      },
    ],
    { time: 300, iterations: 3 },
  );
  console.log(`matvecs: ${matvecs}, converged: ${converged}`);
}

export async function run(): Promise<void> {
  const only = process.env['LINALG_BENCH_ONLY']?.split(',');
  const parts: [string, () => Promise<void>][] = [
    ['gemm', gemmBench],
    ['skinny', skinnyBench],
    ['cholesky', choleskyBench],
    ['eigh', eighBench],
    ['eigvalsh', eigvalshBench],
    ['lanczos', lanczosBench],
  ];
  const previous = backend();
  setBackend('js');
  try {
    for (const [name, part] of parts) if (!only || only.includes(name)) await part();
  } finally {
    setBackend(previous);
  }
}
