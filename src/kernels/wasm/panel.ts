/**
 * One panel of the tridiagonal reduction in linear memory: its trailing block,
 * its deferred updates, and the products with them (symv.ts, rows.ts).
 *
 * Within a panel of b reflectors (kernels/eigen.ts), every step j takes the
 * product p = A₂₂·v with the trailing block as it was when the panel began,
 * less the deferred rank-2 updates of the steps before it:
 * p = S·v − Σᵢ (vᵢ·v)·wᵢ + (wᵢ·v)·vᵢ. Rows past the step's own are not touched
 * until their own step. So one copy of the block's upper triangle, made when
 * the panel begins, serves all b products, each from one row and column
 * further in; and the rows wᵢ, vᵢ are appended as the steps produce them.
 *
 * The triangle is laid out as symv reads it: rows in groups of four, group g
 * (rows 4g … 4g+3) from column 4g on, the order padded with zero rows and
 * columns to w = 4·⌈m/4⌉. Groups do not move with the step: a product that
 * starts at row r inside a group has the group's rows before r set to zero,
 * and their entries of v too. Such a row adds 0·0 = +0 to the sums of p,
 * which leaves them as they were (they start from +0, and a sum from +0 is
 * never −0); the dots it forms for itself are not read. The padding adds +0 to
 * the dots, which at most turns a −0 into +0, and pᵢ + (±0) = pᵢ. Hence every
 * entry of p comes out as in the TypeScript product (symmetricProduct in
 * kernels/eigen.ts, whose sums have one fixed order): the same bits. The
 * deferred rows are kept as w₀, v₀, w₁, v₁, … (zero before their first column
 * and past the last), in the order in which the reference subtracts them.
 *
 * Memory layout in float64 slots from the engine's base:
 * [triangle | v | p | deferred rows | coefficients | dots | one row of A].
 * The gemm driver uses the same memory, but only inside gemm, and the
 * reduction calls none during a panel; a panel is copied again after each
 * rank-2b update. Views are re-taken at every call, since growing memory
 * detaches them; it never shrinks, so one that held the panel still does. For
 * that reason a panel larger than PANEL_MAX_BYTES (an order above about 8,000)
 * stays in TypeScript rather than hold its memory for the life of the program.
 */
import { activeEngine, type Engine, memoryView } from './backend.js';

/** Largest panel kept in linear memory (256 MiB, the triangle of an order of about 8,000). */
const PANEL_MAX_BYTES = 2 ** 28;

/** A panel of the reduction in linear memory; valid until the next gemm. */
export interface Panel {
  engine: Engine;
  /** Order of the trailing block. */
  m: number;
  /** Order padded to whole groups of four rows. */
  width: number;
  /** Pitch of the deferred rows and length of the vectors: room for a column pair past the order. */
  pitch: number;
  /** Slots of the triangle, v, p, the deferred rows, their coefficients and dots, a row of A. */
  sSlot: number;
  vSlot: number;
  pSlot: number;
  rowsSlot: number;
  coefficientSlot: number;
  dotSlot: number;
  rowSlot: number;
  /** Slots in all. */
  end: number;
}

/** Slot offset of group g in a triangle of padded order w: groups h < g hold 4·(w − 4h) doubles each. */
const groupOffset = (g: number, w: number): number => 4 * g * w - 8 * g * (g - 1);

/** First slot of row t (its column 4·⌊t/4⌋) of the triangle. */
function triangleRow(panel: Panel, t: number): number {
  const g = t >> 2;
  return panel.sSlot + groupOffset(g, panel.width) + (t & 3) * (panel.width - 4 * g);
}

/** The memory of a panel; it held the panel once and cannot have shrunk since. */
const view = (panel: Panel): Float64Array => memoryView(panel.engine.memory, 8 * panel.end)!;

/**
 * Copy the upper triangle of the m × m block at a[offset..] (row stride lda)
 * into linear memory, with room for the deferred updates of `reflectors`
 * steps; undefined when the backend is 'js', the panel is over PANEL_MAX_BYTES
 * or memory cannot grow, and the caller keeps to TypeScript.
 */
export function copyPanel(
  m: number,
  reflectors: number,
  a: Float64Array,
  offset: number,
  lda: number,
): Panel | undefined {
  const engine = activeEngine();
  if (engine === undefined || m <= 0) return undefined;
  const width = 4 * Math.ceil(m / 4);
  const pitch = width + 4;
  const sSlot = engine.base / 8;
  const vSlot = sSlot + groupOffset(width / 4, width);
  const pSlot = vSlot + pitch;
  const rowsSlot = pSlot + pitch;
  const coefficientSlot = rowsSlot + 2 * reflectors * pitch;
  const dotSlot = coefficientSlot + 2 * reflectors + 4;
  const rowSlot = dotSlot + 2 * reflectors + 4;
  const end = rowSlot + pitch;
  if (8 * (end - sSlot) > PANEL_MAX_BYTES) return undefined;
  const mem = memoryView(engine.memory, 8 * end);
  if (mem === undefined) return undefined;
  const panel = {
    engine,
    m,
    width,
    pitch,
    sSlot,
    vSlot,
    pSlot,
    rowsSlot,
    coefficientSlot,
    dotSlot,
    rowSlot,
    end,
  };
  for (let t = 0; t < width; t++) {
    const row = triangleRow(panel, t);
    const rowEnd = row + width - 4 * (t >> 2);
    // From the diagonal on; what lies left of it in the diagonal block is never used.
    const diagonal = row + (t & 3);
    if (t < m) {
      const from = offset + t * lda;
      mem.set(a.subarray(from + t, from + m), diagonal);
      mem.fill(0, diagonal + m - t, rowEnd);
    } else {
      mem.fill(0, row, rowEnd);
    }
  }
  mem.fill(0, vSlot + m, vSlot + pitch);
  mem.fill(0, rowsSlot, coefficientSlot);
  return panel;
}

/** out ← out − Σ c_q·row_q for the deferred rows of steps 0 … j−1 from column `column`, `length` entries at `out`. */
function subtractSteps(
  panel: Panel,
  mem: Float64Array,
  j: number,
  column: number,
  coefficient: (q: number) => number,
  out: number,
  length: number,
): void {
  const { pitch, rowsSlot, coefficientSlot } = panel;
  // Whole blocks of four rows: the rows of step j (zero until appended) pad an odd j, with coefficients 0.
  const quads = Math.ceil(j / 2);
  for (let q = 0; q < 4 * quads; q++) mem[coefficientSlot + q] = q < 2 * j ? coefficient(q) : 0;
  panel.engine.kernels.subtractRows(
    quads,
    8 * (rowsSlot + column),
    8 * pitch,
    8 * coefficientSlot,
    8 * out,
    Math.ceil(length / 2),
  );
}

/**
 * The row of step j (1 ≤ j < reflectors), whose entries from its diagonal on
 * are at a[rowOffset …] (the diagonal is column j − 1 of the block), loses the
 * deferred updates of steps 0 … j−1: row −= Σᵢ vᵢ[k]·wᵢ + wᵢ[k]·vᵢ with k that
 * diagonal column, as updateRow in kernels/eigen.ts.
 */
export function panelUpdateRow(panel: Panel, j: number, a: Float64Array, rowOffset: number): void {
  const mem = view(panel);
  const { m, pitch, rowsSlot, rowSlot } = panel;
  const column = j - 1;
  const length = m - column;
  mem.set(a.subarray(rowOffset, rowOffset + length), rowSlot);
  // Row w_i's coefficient is vᵢ[k], row vᵢ's is wᵢ[k]: the partner row's entry in column k.
  const partner = (q: number) => mem[rowsSlot + (q ^ 1) * pitch + column]!;
  subtractSteps(panel, mem, j, column, partner, rowSlot, length);
  a.set(mem.subarray(rowSlot, rowSlot + length), rowOffset);
}

/**
 * p[0 … m−r) = A₂₂·x for step r (< reflectors) of the panel: the block as
 * copied, from row and column r on, times x (at x[xOffset…]), less the
 * deferred updates of steps 0 … r−1 (none for steps not appended); as
 * symmetricProduct and then subtractDeferred in kernels/eigen.ts.
 */
export function panelProduct(
  panel: Panel,
  r: number,
  x: Float64Array,
  xOffset: number,
  p: Float64Array,
): void {
  const mem = view(panel);
  const { engine, m, width, vSlot, pSlot, rowsSlot, pitch, dotSlot } = panel;
  const size = m - r;
  const first = 4 * (r >> 2);
  // Rows of r's group before r: zero, with zero entries of v, so that they add +0.
  for (let t = first; t < r; t++) {
    const row = triangleRow(panel, t);
    mem.fill(0, row, row + width - first);
  }
  mem.fill(0, vSlot + first, vSlot + r);
  mem.set(x.subarray(xOffset, xOffset + size), vSlot + r);
  mem.fill(0, pSlot + first, pSlot + width);
  engine.kernels.symv(
    (width - first) / 4,
    8 * triangleRow(panel, first),
    width - first,
    8 * (vSlot + first),
    8 * (pSlot + first),
  );
  if (r > 0) {
    // The dots wᵢ·x and vᵢ·x; then row wᵢ goes with vᵢ·x, row vᵢ with wᵢ·x.
    const quads = Math.ceil(r / 2);
    engine.kernels.rowDots(
      quads,
      8 * (rowsSlot + r),
      8 * pitch,
      8 * (vSlot + r),
      Math.ceil(size / 2),
      8 * dotSlot,
    );
    const partnerDot = (q: number) => mem[dotSlot + (q ^ 1)]!;
    subtractSteps(panel, mem, r, r, partnerDot, pSlot + r, size);
  }
  p.set(mem.subarray(pSlot + r, pSlot + m));
}

/** Keep step j's rows wⱼ (at w[0 …]) and vⱼ (at v[vOffset …]), m − j entries each from column j. */
export function panelAppend(
  panel: Panel,
  j: number,
  v: Float64Array,
  vOffset: number,
  w: Float64Array,
): void {
  const mem = view(panel);
  const { m, rowsSlot, pitch } = panel;
  const size = m - j;
  mem.set(w.subarray(0, size), rowsSlot + 2 * j * pitch + j);
  mem.set(v.subarray(vOffset, vOffset + size), rowsSlot + (2 * j + 1) * pitch + j);
}
