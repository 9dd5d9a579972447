/**
 * The WebAssembly module of the gemm backend: the macro-kernel (gebp.ts) and
 * the two packing routines (pack.ts), over one imported linear memory.
 */
import { assemble, memoryLimits } from './emit.js';
import { gebpFunction } from './gebp.js';
import { packLinesFunction, packRunsFunction } from './pack.js';

export interface KernelOptions {
  /** gebp with `f64x2.relaxed_madd` (relaxed SIMD) instead of separate multiply and add. */
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
}

/** Bytes of the module. */
export function kernelModule({ relaxed, sharedMaxPages }: KernelOptions): Uint8Array<ArrayBuffer> {
  return assemble(
    [gebpFunction(relaxed), packRunsFunction(), packLinesFunction()],
    sharedMaxPages === undefined ? memoryLimits(1) : memoryLimits(1, sharedMaxPages, true),
  );
}
