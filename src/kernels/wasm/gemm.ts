/**
 * The packed path of gemm, C ← α·op(A)·op(B) + β·C, with its macro-kernel in
 * WebAssembly.
 *
 * The blocking is that of kernels/gemm.ts (Goto and van de Geijn): kc-deep
 * slices of op(B) packed into NR-column strips, mc-tall slices of α·op(A) into
 * MR-row strips, and gebp adding their product into C. Every entry of C thus
 * receives, slice after slice in order of p, the sum Σₚ (α·a_ip)·b_pj of its
 * slice formed from zero, exactly as in the TypeScript kernel: with the same KC
 * (../blocking.ts), the plain-SIMD results are bitwise identical to it. (MR, NR, MC and NC only
 * decide which entries are computed together, not how.)
 *
 * The kernels read and write only linear memory. Each slice of A or B is
 * copied there as it lies, row by row, and packed by WebAssembly (pack.ts); a
 * block of C is copied in once (scaled by β on the way), receives every slice,
 * and is copied out once. The block's rows and columns are padded to whole
 * tiles, and the packed strips with zeros, so gebp has no edge cases; the
 * padding is never copied out.
 *
 * Memory layout, in float64 slots: [sink's scratch | packed A | packed B | raw
 * slice | block of C]. A caller that works on C in linear memory before it
 * leaves (a `BlockSink`) gets each finished block there instead of a copy.
 */
import { KC, MC, MR, NC, NR } from '../blocking.js';
import { activeEngine, type Engine, memoryView } from './backend.js';
import type { Kernels } from './module.js';
import { runRows, type Team, team } from './pool.js';

/** Largest block of C kept in linear memory: at most this many doubles (8 MiB) and rows. */
const C_BLOCK = 1 << 20;
const BLOCK_ROWS = 2048;
/** Lines per strip of the packing routines (pack.ts): both MR and NR. */
const STRIP = 4;
/** Products of at least this many multiply-adds, and rows for every thread, go to the worker pool if one runs. */
const POOL_MIN = 1 << 23;

const roundUp = (x: number, to: number): number => Math.ceil(x / to) * to;

/**
 * What becomes of each finished block of C in place of its copy out of linear
 * memory. Blocks come column block by column block (NC columns of C each),
 * and within one in order of their rows.
 */
export interface BlockSink {
  /** Doubles of linear memory the sink keeps, ahead of gemm's buffers. */
  readonly scratchLength: number;
  /**
   * The finished block C[row : row + rows, col : col + cols], at mem[slot …]
   * with rows `pitch` apart; the sink's scratch starts at mem[scratch] (the
   * same slot in every call).
   */
  finish(block: {
    readonly kernels: Kernels;
    readonly mem: Float64Array;
    readonly slot: number;
    readonly pitch: number;
    readonly row: number;
    readonly rows: number;
    readonly col: number;
    readonly cols: number;
    readonly scratch: number;
  }): void;
}

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
  sink?: BlockSink,
): boolean {
  const pool = m * n * k >= POOL_MIN ? team() : undefined;
  const useful = pool !== undefined && m >= (pool.size + 1) * 2 * MR;
  const engine: Engine | undefined = useful ? pool : activeEngine();
  if (engine === undefined || MR !== STRIP || NR !== STRIP) return false;
  const { kernels } = engine;
  const ncMax = roundUp(Math.min(n, NC), NR);
  const kcMax = Math.min(k, KC);
  // Rows of C per block, whole MC slices.
  const blockRows = Math.min(
    roundUp(m, MR),
    Math.max(MC, Math.floor(Math.min(C_BLOCK / ncMax, BLOCK_ROWS) / MC) * MC),
  );
  const scratch = engine.base / 8;
  // Whole 64-byte lines, so that gemm's buffers keep their alignment.
  const paSlot = scratch + roundUp(sink?.scratchLength ?? 0, 8);
  const pbSlot = paSlot + blockRows * kcMax;
  const rawSlot = pbSlot + ncMax * kcMax;
  const cSlot = rawSlot + Math.max(blockRows, ncMax) * (kcMax + 1);
  const mem = memoryView(engine.memory, 8 * (cSlot + blockRows * ncMax));
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
        pack(kernels, kc, nc, 1, b, bOffset + pc * bps + jc * bjs, bps, bjs, mem, pbSlot, rawSlot);
        pack(kernels, kc, mb, alpha, a, aOffset + ib * ais + pc * aps, aps, ais, mem, paSlot, rawSlot);
        const args = [ncPad / NR, kc, 8 * paSlot, 8 * pbSlot, 8 * cSlot, 8 * ncPad] as const;
        if (useful) shareRows(pool, mb, ...args);
        else runRows(kernels, 0, mb, MC, ...args);
      }
      if (sink) {
        const block = {
          kernels,
          mem,
          slot: cSlot,
          pitch: ncPad,
          row: ib,
          rows: mb,
          col: jc,
          cols: nc,
          scratch,
        };
        sink.finish(block);
      } else if (nc === ncPad && nc === ldc) c.set(mem.subarray(cSlot, cSlot + mb * nc), cBlock);
      else {
        for (let i = 0; i < mb; i++) {
          const row = cSlot + i * ncPad;
          c.set(mem.subarray(row, row + nc), cBlock + i * ldc);
        }
      }
    }
  }
  return true;
}

/** gebp over the mb rows of a packed block, split in whole tiles between the workers and the caller. */
function shareRows(
  pool: Team,
  mb: number,
  nTiles: number,
  kc: number,
  pa: number,
  pb: number,
  c: number,
  ldc: number,
): void {
  const share = roundUp(Math.ceil(mb / (pool.size + 1)), MR);
  // Workers take the later rows; the caller the first share.
  for (let w = 0; w < pool.size; w++) {
    const from = Math.min(mb, share * (w + 1));
    const to = Math.min(mb, from + share);
    if (from < to) pool.post(w, from, to, MC, nTiles, kc, pa, pb, c, ldc);
  }
  runRows(pool.kernels, 0, Math.min(mb, share), MC, nTiles, kc, pa, pb, c, ldc);
  pool.join();
}

/**
 * The block C[0:mb, 0:nc] into memory with row pitch `pitch`, times β (β = 0 writes zeros, so NaN in C does not survive).
 * Rows lying end to end on both sides (nc = pitch = ldc) go in one copy: a copy per row costs a view per row.
 */
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
  if (beta === 0) {
    // The padding columns are zeroed too: gebp writes them, nothing reads them.
    mem.fill(0, slot, slot + mb * pitch);
    return;
  }
  if (beta === 1 && nc === pitch && nc === ldc) {
    mem.set(c.subarray(cOffset, cOffset + mb * nc), slot);
    return;
  }
  for (let i = 0; i < mb; i++) {
    const from = cOffset + i * ldc;
    const to = slot + i * pitch;
    if (beta === 1) mem.set(c.subarray(from, from + nc), to);
    else for (let j = 0; j < nc; j++) mem[to + j] = beta * c[from + j]!;
  }
}

/**
 * Pack `width` lines of a kc-deep slice, element (p, l) at x[offset + p·ps + l·ls],
 * into strips of four lines at `slot` (line l of step p at
 * slot + ⌊l/4⌋·4kc + 4p + l mod 4), times `scale`, lines past `width` zero.
 * One of ps, ls is 1: the slice is copied to `raw` row by row as it lies
 * (zero-padded to whole strips) and regrouped by packRuns or packLines.
 */
function pack(
  kernels: Kernels,
  kc: number,
  width: number,
  scale: number,
  x: Float64Array,
  offset: number,
  ps: number,
  ls: number,
  mem: Float64Array,
  slot: number,
  raw: number,
): void {
  const strips = Math.ceil(width / STRIP);
  const widthPad = strips * STRIP;
  if (ls === 1) {
    // Runs: row p holds the `width` lines of step p; rows lying end to end go in one copy.
    if (ps === width && width === widthPad) mem.set(x.subarray(offset, offset + kc * width), raw);
    else
      for (let p = 0; p < kc; p++) {
        const from = offset + p * ps;
        const to = raw + p * widthPad;
        mem.set(x.subarray(from, from + width), to);
        for (let l = width; l < widthPad; l++) mem[to + l] = 0;
      }
    kernels.packRuns(8 * slot, 8 * raw, 8 * widthPad, kc, strips, scale);
    return;
  }
  // Lines: row l holds line l along p; an even pitch keeps the rows 16-byte aligned.
  const pitch = kc + (kc & 1);
  if (ls === pitch && width === widthPad) mem.set(x.subarray(offset, offset + width * pitch), raw);
  else {
    for (let l = 0; l < widthPad; l++) {
      const to = raw + l * pitch;
      if (l < width) mem.set(x.subarray(offset + l * ls, offset + l * ls + kc), to);
      else mem.fill(0, to, to + kc);
    }
  }
  const pairs = kc >> 1;
  if (pairs > 0) kernels.packLines(8 * slot, 8 * raw, 8 * pitch, pairs, strips, 8 * STRIP * kc, scale);
  if (kc & 1) {
    // The odd last step, four lines per strip.
    const p = kc - 1;
    for (let l = 0; l < widthPad; l++) {
      mem[slot + (l - (l % STRIP)) * kc + STRIP * p + (l % STRIP)] = scale * mem[raw + l * pitch + p]!;
    }
  }
}
