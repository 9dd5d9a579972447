/**
 * The trailing block of one panel of the tridiagonal reduction in linear
 * memory, and its symmetric products there (symv.ts).
 *
 * Within a panel of b reflectors (kernels/eigen.ts), every step k takes the
 * product p = A₂₂·v with the trailing block as it was when the panel began:
 * the panel's rank-2 updates are deferred, and the product is corrected for
 * them afterwards. Rows k+1, k+2, … are not touched until their own step. So
 * one copy of the block's upper triangle, made when the panel begins, serves
 * all b products; each step uses it from one row and column further in.
 *
 * The copy is laid out as symv reads it: rows in groups of four, group g
 * (rows 4g … 4g+3) from column 4g on, the order padded with zero rows and
 * columns to w = 4·⌈m/4⌉. Groups do not move with the step: a product that
 * starts at row r inside a group has the group's rows before r set to zero,
 * and their entries of v too. Such a row adds 0·0 = +0 to the sums of p,
 * which leaves them as they were (they start from +0, and a sum from +0 is
 * never −0); the dots it forms for itself are not read. The padding adds +0 to
 * the dots, which at most turns a −0 into +0, and pᵢ + (±0) = pᵢ. Hence every
 * entry of p comes out as in the TypeScript product (symmetricProduct in
 * kernels/eigen.ts, whose sums have one fixed order): the same bits.
 *
 * Memory layout in float64 slots from the engine's base: [triangle | v | p].
 * The gemm driver uses the same memory, but only inside gemm, and the
 * reduction calls none during a panel; a panel is copied again after each
 * rank-2b update. Views are re-taken at every call, since growing memory
 * detaches them.
 */
import { activeEngine, type Engine, memoryView } from './backend.js';

/** A panel's trailing block in linear memory; valid until the next gemm. */
export interface Panel {
  engine: Engine;
  /** Order of the block. */
  m: number;
  /** Order padded to whole groups of four rows. */
  width: number;
  /** Slots of the triangle, of v and of p. */
  sSlot: number;
  vSlot: number;
  pSlot: number;
}

/** Slot offset of group g in a triangle of padded order w: groups h < g hold 4·(w − 4h) doubles each. */
const groupOffset = (g: number, w: number): number => 4 * g * w - 8 * g * (g - 1);

/** First slot of row t (its column 4·⌊t/4⌋) in a triangle of padded order w. */
function rowSlot(panel: Panel, t: number): number {
  const g = t >> 2;
  return panel.sSlot + groupOffset(g, panel.width) + (t & 3) * (panel.width - 4 * g);
}

/**
 * Copy the upper triangle of the m × m block at a[offset..] (row stride lda)
 * into linear memory; undefined when the backend is 'js' or memory cannot
 * grow, and the caller keeps to TypeScript.
 */
export function copyPanel(m: number, a: Float64Array, offset: number, lda: number): Panel | undefined {
  const engine = activeEngine();
  if (engine === undefined || m <= 0) return undefined;
  const width = 4 * Math.ceil(m / 4);
  const sSlot = engine.base / 8;
  const vSlot = sSlot + groupOffset(width / 4, width);
  const pSlot = vSlot + width;
  const mem = memoryView(engine.memory, 8 * (pSlot + width));
  if (mem === undefined) return undefined;
  const panel = { engine, m, width, sSlot, vSlot, pSlot };
  for (let t = 0; t < width; t++) {
    const row = rowSlot(panel, t);
    const end = row + width - 4 * (t >> 2);
    // From the diagonal on; what lies left of it in the diagonal block is never used.
    const diagonal = row + (t & 3);
    if (t < m) {
      const from = offset + t * lda;
      mem.set(a.subarray(from + t, from + m), diagonal);
      mem.fill(0, diagonal + m - t, end);
    } else {
      mem.fill(0, row, end);
    }
  }
  mem.fill(0, vSlot + m, vSlot + width);
  return panel;
}

/**
 * p[0 … m−r) = S·x for the block of the panel from row and column r on
 * (S as copied, x at x[xOffset…]). Returns false, having done nothing, if
 * linear memory is gone (it cannot shrink, so this does not happen).
 */
export function panelProduct(
  panel: Panel,
  r: number,
  x: Float64Array,
  xOffset: number,
  p: Float64Array,
): boolean {
  const { engine, m, width, vSlot, pSlot } = panel;
  const mem = memoryView(engine.memory, 8 * (pSlot + width));
  if (mem === undefined) return false;
  const first = 4 * (r >> 2);
  // Rows of r's group before r: zero, with zero entries of v, so that they add +0.
  for (let t = first; t < r; t++) {
    const row = rowSlot(panel, t);
    mem.fill(0, row, row + width - first);
  }
  mem.fill(0, vSlot + first, vSlot + r);
  mem.set(x.subarray(xOffset, xOffset + m - r), vSlot + r);
  mem.fill(0, pSlot + first, pSlot + width);
  engine.kernels.symv(
    (width - first) / 4,
    8 * rowSlot(panel, first),
    width - first,
    8 * (vSlot + first),
    8 * (pSlot + first),
  );
  p.set(mem.subarray(pSlot + r, pSlot + m));
  return true;
}
