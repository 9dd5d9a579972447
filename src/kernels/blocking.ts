/**
 * The blocking of the packed gemm (Goto and van de Geijn), one set of numbers
 * for the TypeScript kernel (gemm.ts) and the WebAssembly one (wasm/gemm.ts,
 * wasm/gebp.ts).
 *
 * C ← α·op(A)·op(B) + β·C is cut into kc-deep slices along the inner
 * dimension: op(B) in KC × NC panels packed into NR-column strips, α·op(A) in
 * MC × KC panels packed into MR-row strips, and an MR × NR register tile of C
 * accumulating one slice at a time. Every entry of C thus receives, slice
 * after slice, the sum Σₚ (α·a_ip)·b_pj of its slice formed from zero: KC fixes
 * the order of summation, so the two kernels give the same bits only because
 * they share it. MR, NR, MC and NC decide which entries are computed together
 * and how much stays in cache (MC·KC doubles = 256 KiB of packed A, in L2),
 * not how an entry is summed.
 */

/** Rows and columns of the register tile (NR even: WebAssembly holds two columns per vector). */
export const MR = 4;
export const NR = 4;
/** Depth of a packed slice: the order of summation. */
export const KC = 256;
/** Rows of a packed A panel and columns of a packed B panel. */
export const MC = 128;
export const NC = 2048;
