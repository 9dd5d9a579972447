/**
 * Runs inside Chromium for test/e2e/pool-browser.test.ts, bundled with the
 * library by Vite into one module: the page imports it and runs `probe` on its
 * main thread, then starts the same module as a Web Worker, which runs `probe`
 * there and posts the report back.
 *
 * The probe starts one pool worker, computes C = A·B (large enough for the
 * driver to split it between the threads) with the pool and with it paused,
 * and compares both with a plain triple loop.
 */

import { gemmKernel } from '../../src/kernels/index.js';
import { pauseWorkers, team } from '../../src/kernels/wasm/pool.js';
import { startWorkers, stopWorkers } from '../../src/linalg/index.js';
import { seededRng } from '../../src/random.js';

export interface PoolProbeReport {
  where: 'main thread' | 'worker';
  crossOriginIsolated: boolean;
  /** What startWorkers(1) resolved to. */
  threads: number;
  /** Threads of the team the gemm driver gets just before the pooled product (0: none). */
  teamSize: number;
  /** The products with the pool and with it paused agree in every bit. */
  sameBits: boolean;
  /** max |C − C_oracle| / max |C_oracle|, for the product with the pool (or alone when it did not start). */
  relativeError: number;
  /** Median milliseconds of gemm 1024 with and without the pool, when asked for. */
  gemm1024?: { pooledMs: number; singleMs: number };
}

/** Awkward sizes (no multiple of the 4 × 4 tile), m·n·k well above the pool's threshold of 2²³. */
const M = 517;
const N = 502;
const K = 531;

function uniform(length: number, seed: number): Float64Array {
  const rng = seededRng(seed);
  return Float64Array.from({ length }, () => 2 * rng.uniform() - 1);
}

/** C = A·B for row-major A (m × k) and B (k × n), by the textbook triple loop. */
function tripleLoop(m: number, n: number, k: number, a: Float64Array, b: Float64Array): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p]!;
      for (let j = 0; j < n; j++) c[i * n + j]! += aip * b[p * n + j]!;
    }
  }
  return c;
}

function product(m: number, n: number, k: number, a: Float64Array, b: Float64Array): Float64Array {
  const c = new Float64Array(m * n);
  gemmKernel(m, n, k, 1, a, 0, k, false, b, 0, n, false, 0, c, 0, n);
  return c;
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[sorted.length >> 1]!;
}

/** gemm 1024 with and without the pool, interleaved, medians of five. */
function timeGemm1024(): { pooledMs: number; singleMs: number } {
  const n = 1024;
  const a = uniform(n * n, 3);
  const b = uniform(n * n, 4);
  const pooled: number[] = [];
  const single: number[] = [];
  for (let rep = 0; rep < 6; rep++) {
    for (const paused of [false, true]) {
      pauseWorkers(paused);
      const start = performance.now();
      product(n, n, n, a, b);
      // The first round warms up.
      if (rep > 0) (paused ? single : pooled).push(performance.now() - start);
    }
  }
  pauseWorkers(false);
  return { pooledMs: median(pooled), singleMs: median(single) };
}

export async function probe(where: PoolProbeReport['where'], measure: boolean): Promise<PoolProbeReport> {
  const threads = await startWorkers(1);
  const a = uniform(M * K, 1);
  const b = uniform(K * N, 2);
  const teamSize = team()?.size ?? 0;
  const pooled = product(M, N, K, a, b);
  pauseWorkers(true);
  const single = product(M, N, K, a, b);
  pauseWorkers(false);
  const oracle = tripleLoop(M, N, K, a, b);
  let maxError = 0;
  let maxEntry = 0;
  for (let i = 0; i < oracle.length; i++) {
    maxError = Math.max(maxError, Math.abs(pooled[i]! - oracle[i]!));
    maxEntry = Math.max(maxEntry, Math.abs(oracle[i]!));
  }
  const report: PoolProbeReport = {
    where,
    crossOriginIsolated: globalThis.crossOriginIsolated,
    threads,
    teamSize,
    sameBits: pooled.every((x, i) => Object.is(x, single[i])),
    relativeError: maxError / maxEntry,
  };
  if (measure && threads > 0) report.gemm1024 = timeGemm1024();
  await stopWorkers();
  return report;
}

// As a Web Worker (no document): probe on request and post the report, or the error.
if (typeof document === 'undefined') {
  const scope = self as unknown as {
    postMessage(reply: PoolProbeReport | { error: string }): void;
    onmessage: ((event: MessageEvent<{ measure: boolean }>) => void) | null;
  };
  scope.onmessage = (event) => {
    probe('worker', event.data.measure).then(
      (report) => scope.postMessage(report),
      (error: unknown) =>
        scope.postMessage({ error: error instanceof Error ? error.message : String(error) }),
    );
  };
}
