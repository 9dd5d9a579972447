/**
 * Packing in WebAssembly: rearranging a kc-deep slice of an operand into the
 * strips of four lines that gebp reads, scaled by α on the way.
 *
 * A slice is first copied as it lies (whole rows of the source, one memcpy
 * each) into linear memory; the functions here then regroup it with vector
 * loads and stores. Which of two layouts the copy has depends on the
 * transpose flag:
 *
 *  - runs: step p of the slice is a contiguous row, its lines side by side
 *    (B not transposed, or A transposed). A strip takes four consecutive
 *    entries of every row: two vector copies per step.
 *  - lines: each line is a contiguous row along p (A not transposed, or B
 *    transposed). A strip takes four rows and interleaves them, which for two
 *    steps at a time is a 4 × 2 transpose: shuffling the low lanes of rows 0
 *    and 1 gives (row₀[p], row₁[p]), the high lanes (row₀[p+1], row₁[p+1]).
 *
 * Scaling is `f64x2.mul` by α in both lanes, the same IEEE product as the
 * TypeScript packing, so packed strips are bitwise the same.
 */
import {
  addTo,
  bytes,
  countdownLoop,
  highHalves,
  i32Const,
  localGet,
  localSet,
  lowHalves,
  Op,
  Simd,
  simd,
  Type,
  v128Load,
  v128Store,
  type WasmFunction,
} from './emit.js';

/**
 * `packRuns(dst, src, pitch, kc, strips, alpha)`: strip s of dst (4·kc doubles
 * from dst + 32·s·kc) gets, for each step p, α·src[p·pitch + 32·s … + 31]
 * (pointers and pitch in bytes).
 */
export function packRunsFunction(): WasmFunction {
  const [dst, src, pitch, kc, strips, alpha] = [0, 1, 2, 3, 4, 5];
  const [p, from, column, scale] = [6, 7, 8, 9];
  /** dst ← α·load(from + offset), then dst advances by 16. */
  const copy = (offset: number) =>
    bytes(
      localGet(dst),
      localGet(from),
      v128Load(offset),
      localGet(scale),
      simd(Simd.f64x2Mul),
      v128Store(0),
      addTo(dst, i32Const(16)),
    );
  return {
    name: 'packRuns',
    params: [Type.i32, Type.i32, Type.i32, Type.i32, Type.i32, Type.f64],
    locals: [
      [3, Type.i32],
      [1, Type.v128],
    ],
    code: bytes(
      localGet(alpha),
      simd(Simd.f64x2Splat),
      localSet(scale),
      localGet(src),
      localSet(column),
      countdownLoop(
        strips,
        bytes(
          localGet(column),
          localSet(from),
          localGet(kc),
          localSet(p),
          countdownLoop(p, bytes(copy(0), copy(16), addTo(from, localGet(pitch)))),
          addTo(column, i32Const(32)),
        ),
      ),
    ),
  };
}

/**
 * `packLines(dst, src, pitch, pairs, strips, stripBytes, alpha)`: line l of
 * strip s is the row at src + (4s + l)·pitch; strip s of dst (from
 * dst + s·stripBytes) gets steps 0 … 2·pairs − 1, four doubles per step, each
 * times α. An odd last step is left to the caller.
 */
export function packLinesFunction(): WasmFunction {
  const [dst, src, pitch, pairs, strips, stripBytes, alpha] = [0, 1, 2, 3, 4, 5, 6];
  const [q, out, row0, row1, row2, row3, along] = [7, 8, 9, 10, 11, 12, 13];
  const [scale, v0, v1, v2, v3] = [14, 15, 16, 17, 18];
  const rows = [row0, row1, row2, row3];
  const vs = [v0, v1, v2, v3];
  /** out[offset] ← shuffle of two of the scaled rows. */
  const put = (offset: number, a: number, b: number, halves: number[]) =>
    bytes(localGet(out), localGet(a), localGet(b), halves, v128Store(offset));
  return {
    name: 'packLines',
    params: [Type.i32, Type.i32, Type.i32, Type.i32, Type.i32, Type.i32, Type.f64],
    locals: [
      [7, Type.i32],
      [5, Type.v128],
    ],
    code: bytes(
      localGet(alpha),
      simd(Simd.f64x2Splat),
      localSet(scale),
      localGet(src),
      localSet(row0),
      countdownLoop(
        strips,
        bytes(
          // The strip's four rows, and where it starts in dst.
          localGet(row0),
          localGet(pitch),
          Op.i32Add,
          localSet(row1),
          localGet(row1),
          localGet(pitch),
          Op.i32Add,
          localSet(row2),
          localGet(row2),
          localGet(pitch),
          Op.i32Add,
          localSet(row3),
          localGet(dst),
          localSet(out),
          i32Const(0),
          localSet(along),
          localGet(pairs),
          localSet(q),
          countdownLoop(
            q,
            bytes(
              // Two steps of each row, scaled.
              rows.map((r, l) =>
                bytes(
                  localGet(r),
                  localGet(along),
                  Op.i32Add,
                  v128Load(0),
                  localGet(scale),
                  simd(Simd.f64x2Mul),
                  localSet(vs[l]!),
                ),
              ),
              put(0, v0, v1, lowHalves()),
              put(16, v2, v3, lowHalves()),
              put(32, v0, v1, highHalves()),
              put(48, v2, v3, highHalves()),
              addTo(out, i32Const(64)),
              addTo(along, i32Const(16)),
            ),
          ),
          addTo(dst, localGet(stripBytes)),
          // Four rows down.
          localGet(row3),
          localGet(pitch),
          Op.i32Add,
          localSet(row0),
        ),
      ),
    ),
  };
}
