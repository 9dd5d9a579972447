/**
 * The WebAssembly module of the backend: gemm's macro-kernel (gebp.ts) and its
 * two packing routines (pack.ts), the symmetric product and deferred terms of
 * the tridiagonal reduction (symv.ts, rows.ts), and the fold of a transposed
 * convolution (runs.ts), over one imported linear memory.
 */
import { assemble, memoryLimits } from './emit.js';
import { gebpFunction } from './gebp.js';
import { packLinesFunction, packRunsFunction } from './pack.js';
import { rowDotsFunction, subtractRowsFunction } from './rows.js';
import { addRunsFunction } from './runs.js';
import { symvFunction } from './symv.js';

export interface KernelOptions {
  /** gebp and symv with `f64x2.relaxed_madd` (relaxed SIMD) instead of separate multiply and add. */
  relaxed: boolean;
  /** Import a shared memory of at most this many 64 KiB pages (for a worker pool); otherwise an ordinary one. */
  sharedMaxPages?: number;
}

/** The exports of an instance, pointers and pitches in bytes. */
export interface Kernels {
  gebp(mTiles: number, nTiles: number, kc: number, pa: number, pb: number, c: number, ldc: number): void;
  packRuns(dst: number, src: number, pitch: number, kc: number, strips: number, alpha: number): void;
  packLines(
    dst: number,
    src: number,
    pitch: number,
    pairs: number,
    strips: number,
    stripBytes: number,
    alpha: number,
  ): void;
  symv(groups: number, s: number, width: number, v: number, p: number): void;
  rowDots(quads: number, rows: number, ld: number, x: number, pairs: number, out: number): void;
  subtractRows(
    quads: number,
    rows: number,
    ld: number,
    coefficients: number,
    out: number,
    pairs: number,
  ): void;
  addRuns(
    dst: number,
    dstImage: number,
    dstRow: number,
    dstStep: number,
    src: number,
    srcImage: number,
    srcRow: number,
    images: number,
    rows: number,
    pairs: number,
    singles: number,
  ): void;
}

/** Bytes of the module. */
export function kernelModule({ relaxed, sharedMaxPages }: KernelOptions): Uint8Array<ArrayBuffer> {
  return assemble(
    [
      gebpFunction(relaxed),
      packRunsFunction(),
      packLinesFunction(),
      symvFunction(relaxed),
      rowDotsFunction(),
      subtractRowsFunction(),
      addRunsFunction(),
    ],
    sharedMaxPages === undefined ? memoryLimits(1) : memoryLimits(1, sharedMaxPages, true),
  );
}
