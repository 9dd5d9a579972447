/**
 * The packed path of gemm, C ← α·op(A)·op(B) + β·C, with its macro-kernel in
 * WebAssembly.
 *
 * The blocking is that of kernels/gemm.ts (Goto and van de Geijn): kc-deep
 * slices of op(B) packed into NR-column strips, mc-tall slices of α·op(A) into
 * MR-row strips, and gebp adding their product into C. Every entry of C thus
 * receives, slice after slice in order of p, the sum Σₚ (α·a_ip)·b_pj of its
 * slice formed from zero, exactly as in the TypeScript kernel: with the same KC,
 * the plain-SIMD results are bitwise identical to it. (MR, NR, MC and NC only
 * decide which entries are computed together, not how.)
 *
 * The kernel reads and writes only linear memory, so TypeScript packs straight
 * into it and keeps a copy of a block of C there: C is copied in once (scaled
 * by β on the way), receives every slice, and is copied out once. The block's
 * rows and columns are padded to whole tiles, and the packed strips with zeros,
 * so gebp has no edge cases; the padding is never copied out.
 *
 * Memory layout, in float64 slots: [packed A | packed B | block of C].
 */
import { activeGebp, memoryView } from './backend.js';
import { MR, NR } from './gebp.js';

/** Depth of a slice: must equal KC of kernels/gemm.ts for bitwise agreement. */
const KC = 256;
/** Rows of a packed A slice (mc·kc·8 = 256 KiB, in L2) and columns of a packed B slice. */
const MC = 128;
const NC = 2048;
/** Largest block of C kept in linear memory, in doubles (8 MiB). */
const C_BLOCK = 1 << 20;

const roundUp = (x: number, to: number): number => Math.ceil(x / to) * to;

/**
 * The packed product in WebAssembly; returns false (having done nothing) when
 * the backend is 'js' or linear memory cannot hold the blocks, so the caller
 * runs its TypeScript path. Same contract as gemmKernel; m, n, k > 0.
 */
export function gemmWasm(
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
): boolean {
  const gebp = activeGebp();
  if (gebp === undefined) return false;
  const ncMax = roundUp(Math.min(n, NC), NR);
  const kcMax = Math.min(k, KC);
  // Rows of C per block: whole MC slices, as many as fit in C_BLOCK.
  const blockRows = Math.min(roundUp(m, MR), Math.max(MC, Math.floor(C_BLOCK / ncMax / MC) * MC));
  const paSlot = 0;
  const pbSlot = paSlot + roundUp(Math.min(m, MC), MR) * kcMax;
  const cSlot = pbSlot + ncMax * kcMax;
  const mem = memoryView(8 * (cSlot + blockRows * ncMax));
  if (mem === undefined) return false;

  // Element (i, p) of op(A) is a[aOffset + i·ais + p·aps]; (p, j) of op(B) is b[bOffset + p·bps + j·bjs].
  const [ais, aps] = transA ? [1, lda] : [lda, 1];
  const [bps, bjs] = transB ? [1, ldb] : [ldb, 1];
  for (let jc = 0; jc < n; jc += NC) {
    const nc = Math.min(NC, n - jc);
    const ncPad = roundUp(nc, NR);
    for (let ib = 0; ib < m; ib += blockRows) {
      const mb = Math.min(blockRows, m - ib);
      const cBlock = cOffset + ib * ldc + jc;
      loadC(mb, nc, beta, c, cBlock, ldc, mem, cSlot, ncPad);
      for (let pc = 0; pc < k; pc += KC) {
        const kc = Math.min(KC, k - pc);
        pack(kc, nc, NR, 1, b, bOffset + pc * bps + jc * bjs, bps, bjs, mem, pbSlot);
        for (let ic = ib; ic < ib + mb; ic += MC) {
          const mc = Math.min(MC, ib + mb - ic);
          pack(kc, mc, MR, alpha, a, aOffset + ic * ais + pc * aps, aps, ais, mem, paSlot);
          gebp(
            Math.ceil(mc / MR),
            ncPad / NR,
            kc,
            8 * paSlot,
            8 * pbSlot,
            8 * (cSlot + (ic - ib) * ncPad),
            8 * ncPad,
          );
        }
      }
      for (let i = 0; i < mb; i++) {
        const row = cSlot + i * ncPad;
        c.set(mem.subarray(row, row + nc), cBlock + i * ldc);
      }
    }
  }
  return true;
}

/** The block C[0:mb, 0:nc] into memory with row pitch `pitch`, times β (β = 0 writes zeros, so NaN in C does not survive). */
function loadC(
  mb: number,
  nc: number,
  beta: number,
  c: Float64Array,
  cOffset: number,
  ldc: number,
  mem: Float64Array,
  slot: number,
  pitch: number,
): void {
  for (let i = 0; i < mb; i++) {
    const from = cOffset + i * ldc;
    const to = slot + i * pitch;
    if (beta === 0) mem.fill(0, to, to + nc);
    else if (beta === 1) mem.set(c.subarray(from, from + nc), to);
    else for (let j = 0; j < nc; j++) mem[to + j] = beta * c[from + j]!;
  }
}

/**
 * Pack `width` lines of a kc-deep slice into strips of `strip` lines, scaled by
 * `scale`: element (p, l) of the slice is x[offset + p·ps + l·ls], and strip s
 * holds lines s·strip … s·strip + strip − 1 with line l of step p at
 * slot + s·strip·kc + p·strip + (l mod strip); lines past `width` are zeros.
 * For A the lines are rows (and scale is α), for B columns. Whole strips of
 * four, the common case, are copied four lines per step.
 */
function pack(
  kc: number,
  width: number,
  strip: number,
  scale: number,
  x: Float64Array,
  offset: number,
  ps: number,
  ls: number,
  mem: Float64Array,
  slot: number,
): void {
  for (let l0 = 0; l0 < width; l0 += strip) {
    const lines = Math.min(strip, width - l0);
    const start = offset + l0 * ls;
    let to = slot + l0 * kc;
    if (lines === 4 && strip === 4 && ls === 1) {
      // The four lines adjacent in memory: step p is one run of four.
      for (let p = 0, from = start; p < kc; p++, from += ps, to += 4) {
        mem[to] = scale * x[from]!;
        mem[to + 1] = scale * x[from + 1]!;
        mem[to + 2] = scale * x[from + 2]!;
        mem[to + 3] = scale * x[from + 3]!;
      }
    } else if (lines === 4 && strip === 4 && ps === 1) {
      // Each line contiguous along p: read four lines side by side.
      const l1 = start + ls;
      const l2 = l1 + ls;
      const l3 = l2 + ls;
      for (let p = 0; p < kc; p++, to += 4) {
        mem[to] = scale * x[start + p]!;
        mem[to + 1] = scale * x[l1 + p]!;
        mem[to + 2] = scale * x[l2 + p]!;
        mem[to + 3] = scale * x[l3 + p]!;
      }
    } else {
      for (let p = 0; p < kc; p++, to += strip) {
        for (let l = 0; l < strip; l++) mem[to + l] = l < lines ? scale * x[start + p * ps + l * ls]! : 0;
      }
    }
  }
}
