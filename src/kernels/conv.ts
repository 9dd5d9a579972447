/**
 * Two-dimensional convolution on NCHW Float64Arrays, lowered to gemm.
 *
 * PyTorch's convolution (a cross-correlation) of x [N, C, H, W] with a weight
 * [O, C/G, kh, kw] in G groups, stride s, zero padding p and dilation d is
 *
 *   y[n, o, i, j] = Σ_{c, a, b} w[o, c, a, b] · x[n, g·C/G + c, i·s_h − p_h + a·d_h, j·s_w − p_w + b·d_w]
 *
 * with g = ⌊o / (O/G)⌋ the group of output channel o, x read as 0 outside the
 * image, and H' = ⌊(H + 2p_h − d_h(kh − 1) − 1)/s_h⌋ + 1 (likewise W').
 *
 * `im2col` unfolds one image into the matrix X̂ [C·kh·kw, H'·W'] whose column
 * (i, j) is the receptive field of output position (i, j), rows ordered
 * (c, a, b) as the weight's trailing axes. Then, per group g, with W_g the
 * [O/G, C/G·kh·kw] block of the weight and X̂_g the matching rows of X̂,
 *
 *   Y_g = W_g · X̂_g                                     (the convolution)
 *   W̄_g += Ȳ_g · X̂_gᵀ   summed over images              (the weight gradient)
 *   X̄ = col2im(W_gᵀ · Ȳ_g)                              (the input gradient,
 *                                                         a transposed convolution)
 *
 * where `col2im`, the transpose of `im2col`, adds every entry of a column
 * matrix back into the pixel it was read from. One image's products are small
 * (LeNet's first layer: 6 × 25 × 576), so the kernels take the images in
 * chunks of B and unfold them side by side, X̂ = [X̂₁ … X̂_B] [C·kh·kw, B·H'·W'],
 * with Ȳ = [Ȳ₁ … Ȳ_B] likewise [O, B·H'·W']: each formula above is then one
 * product per chunk and group, long enough for the packed gemm, and the
 * weight gradient's sum over images is its inner dimension. A chunk's columns
 * (at most 256 KiB) and the output blocks live in scratch buffers reused across
 * calls; moving the blocks between [O, B·H'·W'] and the NCHW layout is one pass
 * over the output. Under WebAssembly the transposed convolution's columns never
 * leave linear memory, and its chunks are larger (foldSink).

 * Kernels in the BLAS sense: arrays, sizes and offsets in, results written into
 * `out`; nothing is validated (the primitives check shapes).
 */

import { NC } from './blocking.js';
import { gemmKernel } from './gemm.js';
import { type BlockSink, gemmWasm } from './wasm/gemm.js';

/** The sizes of one convolution: per-image input, kernel, stride, padding, dilation, output. */
export interface ConvGeometry {
  /** Input channels C (all groups), height H, width W. */
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly kernelH: number;
  readonly kernelW: number;
  readonly strideH: number;
  readonly strideW: number;
  readonly padH: number;
  readonly padW: number;
  readonly dilationH: number;
  readonly dilationW: number;
  /** Output height H' and width W'. */
  readonly outH: number;
  readonly outW: number;
}

/** H' = ⌊(H + 2p − d(k − 1) − 1)/s⌋ + 1, the output length of a convolution or pool along one axis. */
export function convOutputSize(size: number, kernel: number, stride: number, pad: number, dilation: number) {
  return Math.floor((size + 2 * pad - dilation * (kernel - 1) - 1) / stride) + 1;
}

/**
 * [j0, j1) clipped to the output positions j whose tap j·s + offset lands
 * inside [0, size): [from, to), empty (from = to) when there are none.
 */
function insideFrom(offset: number, stride: number, j0: number, j1: number): number {
  return Math.min(Math.max(Math.ceil(-offset / stride), j0), j1);
}

function insideTo(offset: number, stride: number, size: number, j1: number, from: number): number {
  return Math.max(Math.min(Math.floor((size - 1 - offset) / stride) + 1, j1), from);
}

/**
 * Entries [i0, i1) × [j0, j1) of tap (c, a, b)'s row in the unfolding of the
 * image x[image …], written to col[o + i·W' + j] (zeros where the tap falls in
 * the padding).
 */
function unfoldTap(
  x: Float64Array,
  image: number,
  geo: ConvGeometry,
  c: number,
  a: number,
  b: number,
  i0: number,
  i1: number,
  j0: number,
  j1: number,
  col: Float64Array,
  o: number,
): void {
  const { height, width, strideH, strideW, padH, padW, dilationH, dilationW, outW } = geo;
  const channel = image + c * height * width;
  const rowOffset = a * dilationH - padH;
  const colOffsetW = b * dilationW - padW;
  const from = insideFrom(colOffsetW, strideW, j0, j1);
  const to = insideTo(colOffsetW, strideW, width, j1, from);
  for (let i = i0; i < i1; i++) {
    const r = o + i * outW;
    const ih = i * strideH + rowOffset;
    if (ih < 0 || ih >= height) {
      col.fill(0, r + j0, r + j1);
      continue;
    }
    const src = channel + ih * width + colOffsetW;
    if (from > j0) col.fill(0, r + j0, r + from);
    if (strideW === 1) for (let j = from; j < to; j++) col[r + j] = x[src + j]!;
    else for (let j = from; j < to; j++) col[r + j] = x[src + j * strideW]!;
    if (to < j1) col.fill(0, r + to, r + j1);
  }
}

/**
 * col [C·kh·kw, H'·W'] ← the unfolded image x[xOffset …] of `geo` (zeros
 * where a tap falls in the padding). Row r starts at col[colOffset + r·ld];
 * the default ld = H'·W' packs the rows.
 */
export function im2col(
  x: Float64Array,
  xOffset: number,
  geo: ConvGeometry,
  col: Float64Array,
  colOffset: number,
  ld: number = geo.outH * geo.outW,
): void {
  const { channels, kernelH, kernelW, outH, outW } = geo;
  let o = colOffset;
  for (let c = 0; c < channels; c++)
    for (let a = 0; a < kernelH; a++)
      for (let b = 0; b < kernelW; b++, o += ld)
        unfoldTap(x, xOffset, geo, c, a, b, 0, outH, 0, outW, col, o);
}

/**
 * col [C·kh·kw, ld] ← the unfoldings of `batch` consecutive images
 * x[xOffset …] side by side: image n's columns start at n·H'·W' of every row
 * (row r at col[colOffset + r·ld], ld ≥ batch·H'·W').
 *
 * At unit stride most of a row is the row before it, moved: tap (c, a, b + 1)
 * at output (i, j) reads the pixel that tap (c, a, b) reads at (i, j + d_w),
 * and tap (c, a + 1, b) at (i, j) the one tap (c, a, b) reads at (i + d_h, j).
 * Such a row is one copyWithin of the previous one, d_w (or d_h·W') entries
 * along, across all the images; only the entries whose partner lies past the
 * end of their image (the last d_w columns of each output row, or the last
 * d_h output rows) are read from the images. This makes most of the copying
 * a native memmove instead of a loop over short runs.
 */
export function im2colImages(
  batch: number,
  x: Float64Array,
  xOffset: number,
  geo: ConvGeometry,
  col: Float64Array,
  colOffset: number,
  ld: number,
): void {
  const { channels, height, width, kernelH, kernelW, strideH, strideW, dilationH, dilationW } = geo;
  const { outH, outW } = geo;
  const plane = outH * outW;
  const imageSize = channels * height * width;
  const cols = batch * plane;
  const alongH = strideH === 1 && outH > dilationH;
  const alongW = strideW === 1 && outW > dilationW;
  let o = colOffset;
  for (let c = 0; c < channels; c++) {
    for (let a = 0; a < kernelH; a++) {
      for (let b = 0; b < kernelW; b++, o += ld) {
        if (a > 0 && alongH) {
          const previous = o - kernelW * ld;
          col.copyWithin(o, previous + dilationH * outW, previous + cols);
          for (let n = 0; n < batch; n++) {
            const image = xOffset + n * imageSize;
            unfoldTap(x, image, geo, c, a, b, outH - dilationH, outH, 0, outW, col, o + n * plane);
          }
        } else if (b > 0 && alongW) {
          const previous = o - ld;
          col.copyWithin(o, previous + dilationW, previous + cols);
          for (let n = 0; n < batch; n++) {
            const image = xOffset + n * imageSize;
            unfoldTap(x, image, geo, c, a, b, 0, outH, outW - dilationW, outW, col, o + n * plane);
          }
        } else {
          for (let n = 0; n < batch; n++) {
            const image = xOffset + n * imageSize;
            unfoldTap(x, image, geo, c, a, b, 0, outH, 0, outW, col, o + n * plane);
          }
        }
      }
    }
  }
}

/**
 * Where tap (a, b)'s row of columns lands in an image plane: output rows
 * [i0, i0 + rows), in each `run` positions from `from`, whose first pixel is
 * at plane offset `pixel` in row i0 and strideH image rows further per output
 * row. Positions whose tap falls in the padding are clipped here, once per tap.
 */
interface TapRuns {
  readonly i0: number;
  readonly rows: number;
  readonly from: number;
  readonly run: number;
  readonly pixel: number;
}

function tapRuns(geo: ConvGeometry, a: number, b: number): TapRuns {
  const { height, width, strideH, strideW, padH, padW, dilationH, dilationW, outH, outW } = geo;
  const rowOffset = a * dilationH - padH;
  const i0 = insideFrom(rowOffset, strideH, 0, outH);
  const rows = insideTo(rowOffset, strideH, height, outH, i0) - i0;
  const colOffset = b * dilationW - padW;
  const from = insideFrom(colOffset, strideW, 0, outW);
  const run = insideTo(colOffset, strideW, width, outW, from) - from;
  return { i0, rows, from, run, pixel: (i0 * strideH + rowOffset) * width + colOffset + from * strideW };
}

/**
 * x[xOffset …] += col2im of each of `batch` images whose columns lie side by
 * side in col (row r at col[colOffset + r·ld], image n's at n·H'·W'), col
 * holding the rows of the input channels [c0, c1): the transpose of
 * im2colImages, `runs` the tapRuns of every tap (a, b) in order. Each tap
 * (c, a, b) adds its row to the pixels it was read from, image by image and
 * output row by output row, in runs of additions (four at a time when the
 * stride is 1).
 */
function col2imImages(
  batch: number,
  col: Float64Array,
  colOffset: number,
  ld: number,
  geo: ConvGeometry,
  runs: readonly TapRuns[],
  x: Float64Array,
  xOffset: number,
  c0: number,
  c1: number,
): void {
  const { channels, height, width, kernelH, kernelW, strideH, strideW, outH, outW } = geo;
  const plane = outH * outW;
  const imageSize = channels * height * width;
  const rowStep = strideH * width;
  for (let c = c0; c < c1; c++) {
    for (let a = 0; a < kernelH; a++) {
      for (let b = 0; b < kernelW; b++) {
        const { i0, rows, from, run, pixel } = runs[a * kernelW + b]!;
        const tap = colOffset + (((c - c0) * kernelH + a) * kernelW + b) * ld + i0 * outW + from;
        const first = xOffset + c * height * width + pixel;
        for (let n = 0; n < batch; n++) {
          for (let i = 0; i < rows; i++) {
            let s = tap + n * plane + i * outW;
            let d = first + n * imageSize + i * rowStep;
            if (strideW === 1) {
              const quads = s + run - 3;
              for (; s < quads; s += 4, d += 4) {
                x[d]! += col[s]!;
                x[d + 1]! += col[s + 1]!;
                x[d + 2]! += col[s + 2]!;
                x[d + 3]! += col[s + 3]!;
              }
              for (; s < quads + 3; s++, d++) x[d]! += col[s]!;
            } else {
              for (let j = 0; j < run; j++, d += strideW) x[d]! += col[s + j]!;
            }
          }
        }
      }
    }
  }
}

/**
 * The fold of col2imImages done in linear memory on each finished block of
 * the product W_gᵀ·[Ȳ₁ … Ȳ_B]_g (group `group`, images [n0, n0 + nb) side by
 * side): the block's rows are taps, each added by WebAssembly's addRuns (in
 * pairs when the stride along the width is 1) into the group's channels of
 * the images, which sit in the sink's scratch until the last block copies
 * them to dx. The additions are those of col2imImages in its order, so the
 * bits are the same.
 */
function foldSink(
  geo: ConvGeometry,
  runs: readonly TapRuns[],
  groups: number,
  group: number,
  n0: number,
  nb: number,
  dx: Float64Array,
): BlockSink {
  const { channels, height, width, strideH, strideW, outH, outW } = geo;
  const taps = runs.length;
  const planeIn = height * width;
  const groupSize = (channels / groups) * planeIn;
  const depth = (channels / groups) * taps;
  return {
    scratchLength: nb * groupSize,
    finish({ kernels, mem, slot, pitch, row, rows, col, cols, scratch }) {
      // The chunk's columns are one column block of the product (its caller sees to it).
      if (col !== 0 || cols !== nb * outH * outW)
        throw new Error('foldSink: a chunk split across column blocks');
      if (row === 0) mem.fill(0, scratch, scratch + nb * groupSize);
      for (let t = row; t < row + rows; t++) {
        const c = Math.floor(t / taps);
        const tap = runs[t % taps]!;
        if (tap.rows === 0 || tap.run === 0) continue;
        kernels.addRuns(
          8 * (scratch + c * planeIn + tap.pixel),
          8 * groupSize,
          8 * strideH * width,
          8 * strideW,
          8 * (slot + (t - row) * pitch + tap.i0 * outW + tap.from),
          8 * outH * outW,
          8 * outW,
          nb,
          tap.rows,
          strideW === 1 ? tap.run >> 1 : 0,
          strideW === 1 ? tap.run & 1 : tap.run,
        );
      }
      if (row + rows < depth) return;
      const imageSize = channels * planeIn;
      for (let n = 0; n < nb; n++) {
        const from = scratch + n * groupSize;
        dx.set(mem.subarray(from, from + groupSize), (n0 + n) * imageSize + group * groupSize);
      }
    },
  };
}

/**
 * The unfolded images of one chunk take at most this many doubles (256 KiB): the
 * columns, their copy in the gemm's linear memory and its packed panels then stay
 * in L2 together (measured on LeNet: larger chunks were slower, smaller ones too).
 */
const CHUNK = 1 << 15;

/** Images per chunk: as many as fit in CHUNK, at least one. */
function chunkImages(batch: number, geo: ConvGeometry): number {
  const perImage = geo.channels * geo.kernelH * geo.kernelW * geo.outH * geo.outW;
  return Math.max(1, Math.min(batch, Math.floor(CHUNK / perImage)));
}

/**
 * The largest product W_gᵀ·[Ȳ₁ … Ȳ_B]_g, over all groups, that a chunk of the
 * transposed convolution folds in linear memory: 2¹⁷ doubles (1 MiB).
 */
const FOLD_BLOCK = 1 << 17;

let colScratch = new Float64Array(0);
let rowScratch = new Float64Array(0);

/** The shared column buffer, at least `size` long. */
function columns(size: number): Float64Array {
  if (colScratch.length < size) colScratch = new Float64Array(size);
  return colScratch;
}

/** The shared buffer of an output-shaped chunk [O, B·L], at least `size` long. */
function channelRows(size: number): Float64Array {
  if (rowScratch.length < size) rowScratch = new Float64Array(size);
  return rowScratch;
}

/**
 * rows [O, nb·L] ← t[offset …] read as [nb, O, L]: plane (n, o) becomes block
 * n of row o, so that a chunk's images sit side by side as in its columns.
 */
function gatherChannels(
  t: Float64Array,
  offset: number,
  nb: number,
  channels: number,
  plane: number,
  rows: Float64Array,
): void {
  const cols = nb * plane;
  for (let n = 0; n < nb; n++) {
    for (let o = 0; o < channels; o++) {
      const src = offset + (n * channels + o) * plane;
      const dst = o * cols + n * plane;
      for (let l = 0; l < plane; l++) rows[dst + l] = t[src + l]!;
    }
  }
}

/** Below this many multiply-adds a product is left to gemmKernel's own choice of path. */
const SMALL = 40_000;

/**
 * gemmKernel, but sending every product of at least SMALL multiply-adds to the
 * packed WebAssembly kernel, even with a side under 8 (six output channels,
 * 25 taps): a chunk's long side (B·L columns) repays the packing.
 */
function gemmChunk(
  m: number,
  n: number,
  k: number,
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
): void {
  const args = [m, n, k, 1, a, aOffset, lda, transA, b, bOffset, ldb, transB, beta, c, cOffset, ldc] as const;
  if (m * n * k < SMALL || !gemmWasm(...args)) gemmKernel(...args);
}

/**
 * out [N, O, H', W'] ← conv(x [N, C, H, W], w [O, C/G, kh, kw]) in G groups,
 * plus bias [O] (if not null) on every position of its channel. `out` is
 * overwritten. Images go in chunks: the chunk's columns side by side, then
 * one product per group, W_g·[X̂₁ … X̂_B]_g, and its blocks moved to their images.
 */
export function conv2dKernel(
  batch: number,
  outChannels: number,
  groups: number,
  geo: ConvGeometry,
  x: Float64Array,
  w: Float64Array,
  bias: Float64Array | null,
  out: Float64Array,
): void {
  const { channels, height, width, kernelH, kernelW, outH, outW } = geo;
  const plane = outH * outW;
  const imageSize = channels * height * width;
  const depth = (channels / groups) * kernelH * kernelW;
  const perGroup = outChannels / groups;
  const chunk = chunkImages(batch, geo);
  const col = columns(groups * depth * chunk * plane);
  const y = channelRows(outChannels * chunk * plane);
  for (let n0 = 0; n0 < batch; n0 += chunk) {
    const nb = Math.min(chunk, batch - n0);
    const cols = nb * plane;
    im2colImages(nb, x, n0 * imageSize, geo, col, 0, cols);
    for (let g = 0; g < groups; g++) {
      const a = g * perGroup * depth;
      gemmChunk(
        perGroup,
        cols,
        depth,
        w,
        a,
        depth,
        false,
        col,
        g * depth * cols,
        cols,
        false,
        0,
        y,
        g * perGroup * cols,
        cols,
      );
    }
    for (let n = 0; n < nb; n++) {
      for (let o = 0; o < outChannels; o++) {
        const src = o * cols + n * plane;
        const dst = ((n0 + n) * outChannels + o) * plane;
        if (bias === null) for (let l = 0; l < plane; l++) out[dst + l] = y[src + l]!;
        else {
          const b = bias[o]!;
          for (let l = 0; l < plane; l++) out[dst + l] = b + y[src + l]!;
        }
      }
    }
  }
}

/**
 * dw [O, C/G, kh, kw] ← Σₙ Ȳₙ·X̂ₙᵀ per group: the weight gradient of the
 * convolution for images x [N, C, H, W] and output cotangent g [N, O, H', W'].
 * `dw` is overwritten. A chunk of images adds one product per group,
 * [Ȳ₁ … Ȳ_B]_g·[X̂₁ … X̂_B]_gᵀ, its inner dimension running over the chunk's positions.
 */
export function conv2dWeightGradKernel(
  batch: number,
  outChannels: number,
  groups: number,
  geo: ConvGeometry,
  x: Float64Array,
  g: Float64Array,
  dw: Float64Array,
): void {
  const { channels, height, width, kernelH, kernelW, outH, outW } = geo;
  const plane = outH * outW;
  const imageSize = channels * height * width;
  const depth = (channels / groups) * kernelH * kernelW;
  const perGroup = outChannels / groups;
  const chunk = chunkImages(batch, geo);
  const col = columns(groups * depth * chunk * plane);
  const gRows = channelRows(outChannels * chunk * plane);
  dw.fill(0, 0, outChannels * depth);
  for (let n0 = 0; n0 < batch; n0 += chunk) {
    const nb = Math.min(chunk, batch - n0);
    const cols = nb * plane;
    im2colImages(nb, x, n0 * imageSize, geo, col, 0, cols);
    gatherChannels(g, n0 * outChannels * plane, nb, outChannels, plane, gRows);
    for (let k = 0; k < groups; k++) {
      const c = k * perGroup * depth;
      gemmChunk(
        perGroup,
        depth,
        cols,
        gRows,
        k * perGroup * cols,
        cols,
        false,
        col,
        k * depth * cols,
        cols,
        true,
        1,
        dw,
        c,
        depth,
      );
    }
  }
}

/**
 * dx [N, C, H, W] ← col2im(W_gᵀ·Ȳ_g) per image and group: the input gradient of
 * the convolution (a transposed convolution) for output cotangent
 * g [N, O, H', W'] and weight w. `dx` is overwritten. A chunk of images takes
 * one product per group, W_gᵀ·[Ȳ₁ … Ȳ_B]_g, then each image's columns are folded
 * back: in linear memory where the product is WebAssembly's (foldSink), else
 * from a copy of it.
 */
export function conv2dTransposeKernel(
  batch: number,
  outChannels: number,
  groups: number,
  geo: ConvGeometry,
  g: Float64Array,
  w: Float64Array,
  dx: Float64Array,
): void {
  const { channels, height, width, kernelH, kernelW, outH, outW } = geo;
  const plane = outH * outW;
  const imageSize = channels * height * width;
  const depth = (channels / groups) * kernelH * kernelW;
  const perGroup = outChannels / groups;
  // Folding in linear memory needs each chunk's columns in one block of the
  // product; with no copy in JavaScript, the chunk may be larger (measured on
  // LeNet's second convolution: flat from 6 to 16 images of 64 columns).
  const inMemory = plane <= NC;
  const chunk = inMemory
    ? Math.max(1, Math.min(batch, Math.floor(Math.min(NC, FOLD_BLOCK / (groups * depth)) / plane)))
    : chunkImages(batch, geo);
  const runs = Array.from({ length: kernelH * kernelW }, (_, t) =>
    tapRuns(geo, Math.floor(t / kernelW), t % kernelW),
  );
  const gRows = channelRows(outChannels * chunk * plane);
  dx.fill(0, 0, batch * imageSize);
  for (let n0 = 0; n0 < batch; n0 += chunk) {
    const nb = Math.min(chunk, batch - n0);
    const cols = nb * plane;
    gatherChannels(g, n0 * outChannels * plane, nb, outChannels, plane, gRows);
    for (let k = 0; k < groups; k++) {
      const a = k * perGroup * depth;
      const b = k * perGroup * cols;
      const sink = inMemory ? foldSink(geo, runs, groups, k, n0, nb, dx) : undefined;
      // biome-ignore format: BLAS argument groups
      if (sink && gemmWasm(depth, cols, perGroup, 1, w, a, depth, true, gRows, b, cols, false, 0, dx, 0, cols, sink))
        continue;
      // One group's columns at a time, folded into its channels.
      const col = columns(depth * cols);
      gemmChunk(depth, cols, perGroup, w, a, depth, true, gRows, b, cols, false, 0, col, 0, cols);
      const perChannels = channels / groups;
      col2imImages(nb, col, 0, cols, geo, runs, dx, n0 * imageSize, k * perChannels, (k + 1) * perChannels);
    }
  }
}
