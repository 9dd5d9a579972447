/**
 * Adding runs of doubles into runs of doubles, in WebAssembly: the fold of a
 * transposed convolution (kernels/conv.ts), where each tap's row of columns
 * goes back onto the image rows it was read from.
 *
 * A tap's contribution to a chunk of images is a run of entries per output
 * row, `rows` rows per image, the rows and images a fixed pitch apart in both
 * source and destination; the source's entries are consecutive, the
 * destination's `dstStep` apart (the convolution's stride along the width).
 * Each entry is one IEEE addition dst ← dst + src, in the order of the
 * TypeScript loop it replaces, so both backends give the same bits. Where both
 * sides are consecutive, pairs of entries go as one `f64x2.add`.
 */
import {
  addTo,
  bytes,
  f64Load,
  f64Store,
  i32Const,
  localGet,
  localIndices,
  localSet,
  Op,
  repeat,
  Simd,
  simd,
  Type,
  v128Load,
  v128Store,
  type WasmFunction,
} from './emit.js';

/**
 * `addRuns(dst, dstImage, dstRow, dstStep, src, srcImage, srcRow, images, rows, pairs, singles)`,
 * all i32, pointers, pitches and steps in bytes: for each image n < images and
 * row i < rows, the 2·pairs + singles consecutive doubles from
 * src + n·srcImage + i·srcRow are added to those from dst + n·dstImage + i·dstRow,
 * the first 2·pairs consecutive (two at a time), the singles `dstStep` apart.
 */
export function addRunsFunction(): WasmFunction {
  const take = localIndices();
  const [dst, dstImage, dstRow, dstStep, src, srcImage, srcRow, images, rows, pairs, singles] = take(11);
  const [row, count, d, s, dp, sp] = take(6);
  const addPair = bytes(
    localGet(dp),
    localGet(dp),
    v128Load(0),
    localGet(sp),
    v128Load(0),
    simd(Simd.f64x2Add),
    v128Store(0),
    addTo(dp, i32Const(16)),
    addTo(sp, i32Const(16)),
  );
  const addSingle = bytes(
    localGet(dp),
    localGet(dp),
    f64Load(0),
    localGet(sp),
    f64Load(0),
    Op.f64Add,
    f64Store(0),
    addTo(dp, localGet(dstStep)),
    addTo(sp, i32Const(8)),
  );
  const addRow = bytes(
    localGet(d),
    localSet(dp),
    localGet(s),
    localSet(sp),
    localGet(pairs),
    localSet(count),
    repeat(count, addPair),
    localGet(singles),
    localSet(count),
    repeat(count, addSingle),
    addTo(d, localGet(dstRow)),
    addTo(s, localGet(srcRow)),
  );
  const addImage = bytes(
    localGet(dst),
    localSet(d),
    localGet(src),
    localSet(s),
    localGet(rows),
    localSet(row),
    repeat(row, addRow),
    addTo(dst, localGet(dstImage)),
    addTo(src, localGet(srcImage)),
  );
  return {
    name: 'addRuns',
    params: new Array<number>(11).fill(Type.i32),
    locals: [[6, Type.i32]],
    code: repeat(images, addImage),
  };
}
