/**
 * The backends side by side: gemm at n = 256, 512, 1024, cholesky at
 * n = 1024 and the gradient of an MLP 1→50→tanh→50→tanh→1 over 1,000 inputs,
 * each under 'js', 'wasm-simd' and (where relaxed SIMD runs) 'wasm-relaxed';
 * gemm and cholesky also with the worker pool (one worker beside the caller).
 *
 * Cases are interleaved: every round times each backend once, so load from
 * other processes on a shared machine falls on all of them alike and the
 * same-process ratios (against 'js') stay meaningful. Node 20 ships relaxed
 * SIMD behind a flag, which this file turns on before the first product when it
 * runs alone (`npm run bench -- wasm`); after other benchmarks the kernels are
 * already compiled and 'wasm-relaxed' is skipped.
 */
import v8 from 'node:v8';
import { linear, mul, square, sum, tanh } from '../src/autodiff/ops.js';
import { grad } from '../src/autodiff/transforms.js';
import { gemmKernel } from '../src/kernels/index.js';
import { pauseWorkers } from '../src/kernels/wasm/pool.js';
import {
  availableBackends,
  type Backend,
  backend,
  cholesky,
  setBackend,
  startWorkers,
  stopWorkers,
  syrk,
  workerCount,
} from '../src/linalg/index.js';
import { randn, type Tensor } from '../src/tensor.js';
import { printTable, type Row } from './harness.js';

v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

interface BackendCase {
  name: string;
  backend: Backend;
  /** Run with the worker pool started. */
  workers: boolean;
  fn: () => unknown;
}

/**
 * Medians over `rounds` interleaved rounds after a warm-up, with GFLOP/s and
 * ratios against 'js', of wall time and of this process's CPU time (which on
 * a machine shared with other work is closer to what an idle core would do;
 * for the pool it is the sum over threads, so only its wall time counts).
 */
async function compare(
  title: string,
  make: () => () => unknown,
  flops: number | undefined,
  rounds: number,
  { pool = false } = {},
): Promise<void> {
  const cases: BackendCase[] = availableBackends().map((b) => ({
    name: b,
    backend: b,
    workers: false,
    fn: make(),
  }));
  if (pool) {
    for (const b of availableBackends().filter((x) => x !== 'js')) {
      cases.push({ name: `${b}, 1 worker + caller`, backend: b, workers: true, fn: make() });
    }
  }
  const run = async (c: BackendCase): Promise<[wall: number, cpu: number]> => {
    setBackend(c.backend);
    if (c.workers && workerCount() === 0) await startWorkers(1);
    pauseWorkers(!c.workers);
    const cpu = process.cpuUsage();
    const start = performance.now();
    c.fn();
    const wall = performance.now() - start;
    const used = process.cpuUsage(cpu);
    return [wall, (used.user + used.system) / 1000];
  };
  for (const c of cases) for (let i = 0; i < 2; i++) await run(c);
  const times = cases.map(() => ({ wall: [] as number[], cpu: [] as number[] }));
  for (let r = 0; r < rounds; r++) {
    for (const [i, c] of cases.entries()) {
      const [wall, cpu] = await run(c);
      times[i]!.wall.push(wall);
      times[i]!.cpu.push(cpu);
    }
  }
  pauseWorkers(false);
  const median = (xs: number[]) => xs.sort((x, y) => x - y)[xs.length >> 1]!;
  for (const clock of ['wall', 'cpu'] as const) {
    const rows: Row[] = cases.map((c, i) => {
      const medianMs = median(times[i]![clock]);
      return { name: c.name, medianMs, ...(flops ? { gflops: flops / (medianMs * 1e6) } : {}) };
    });
    for (const r of rows) r.ratio = rows[0]!.medianMs / r.medianMs;
    printTable(
      `${title}, ${clock === 'wall' ? 'wall' : 'CPU'} time (medians of ${rounds} interleaved rounds, ratio vs js)`,
      rows,
    );
  }
}

/** A well-conditioned symmetric positive definite matrix X·Xᵀ/n + I. */
function spd(n: number, seed: number): Tensor {
  const x = randn([n, n], seed);
  const a = syrk(x, { alpha: 1 / n });
  for (let i = 0; i < n; i++) a.data[i * n + i] = a.data[i * n + i]! + 1;
  return a;
}

export async function run(): Promise<void> {
  const initial = backend();
  console.log(`\nWebAssembly backends available: ${availableBackends().join(', ')} (default ${initial})`);

  for (const [n, rounds] of [
    [256, 40],
    [512, 12],
    [1024, 5],
  ] as const) {
    const a = randn([n, n], 1).data;
    const b = randn([n, n], 2).data;
    const c = new Float64Array(n * n);
    await compare(
      `gemm ${n}×${n}·${n}×${n}`,
      () => () => gemmKernel(n, n, n, 1, a, 0, n, false, b, 0, n, false, 0, c, 0, n),
      2 * n ** 3,
      rounds,
      { pool: true },
    );
  }

  const n = 1024;
  const a = spd(n, 3);
  await compare(`cholesky ${n}×${n}`, () => () => cholesky(a), n ** 3 / 3, 7, { pool: true });

  const sizes = [1, 50, 50, 1];
  const params = sizes.slice(1).map((out, i) => ({
    weight: mul(randn([out, sizes[i]!], 2 * i), 1 / Math.sqrt(sizes[i]!)),
    bias: mul(randn([out], 2 * i + 1), 0.1),
  }));
  const x = randn([1000, 1], 99);
  const gradient = grad((ps: typeof params) => {
    let h = x;
    ps.forEach((p, i) => {
      h = linear(h, p.weight, p.bias);
      if (i < ps.length - 1) h = tanh(h);
    });
    return sum(square(h));
  });
  await compare(
    'MLP gradient, 1→50→tanh→50→tanh→1, 1,000 inputs',
    () => () => gradient(params),
    undefined,
    100,
  );

  await stopWorkers();
  setBackend(initial);
}
