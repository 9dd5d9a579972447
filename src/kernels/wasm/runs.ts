/**
 * Adding runs of doubles into runs of doubles, in WebAssembly: the fold of a
 * transposed convolution (kernels/conv.ts), where each tap's row of columns
 * goes back onto the image rows it was read from.
 *
 * A tap's contribution to a chunk of images is a run of `2·pairs + odd`
 * entries per output row, `rows` rows per image, the rows and images a fixed
 * pitch apart in both source and destination. Each entry is one IEEE addition
 * dst ← dst + src, in the order of the TypeScript loop it replaces, so both
 * backends give the same bits; pairs of entries go as one `f64x2.add`.
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
  when,
} from './emit.js';

/**
 * `addRuns(dst, dstImage, dstRow, src, srcImage, srcRow, images, rows, pairs, odd)`,
 * all i32, pointers and pitches in bytes: for each image n < images and row
 * i < rows, the 2·pairs + odd doubles at src + n·srcImage + i·srcRow are added
 * to those at dst + n·dstImage + i·dstRow.
 */
export function addRunsFunction(): WasmFunction {
  const take = localIndices();
  const [dst, dstImage, dstRow, src, srcImage, srcRow, images, rows, pairs, odd] = take(10);
  const [row, pair, d, s, dp, sp] = take(6);
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
  const addLast = bytes(
    localGet(dp),
    localGet(dp),
    f64Load(0),
    localGet(sp),
    f64Load(0),
    Op.f64Add,
    f64Store(0),
  );
  const addRow = bytes(
    localGet(d),
    localSet(dp),
    localGet(s),
    localSet(sp),
    localGet(pairs),
    localSet(pair),
    repeat(pair, addPair),
    when(odd, addLast),
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
    params: new Array<number>(10).fill(Type.i32),
    locals: [[6, Type.i32]],
    code: repeat(images, addImage),
  };
}
