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
 * matrix back into the pixel it was read from. Each product is one gemm per
 * image and group; the unfolded matrix lives in a scratch buffer reused across
 * calls. A 1×1 convolution with unit stride and no padding needs no unfolding:
 * X̂ is the image itself.
 *
 * Kernels in the BLAS sense: arrays, sizes and offsets in, results written into
 * `out`; nothing is validated (the primitives check shapes).
 */
import { gemmKernel } from './gemm.js';

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

/** [lo, hi): the output positions j whose tap j·s + offset lands inside [0, size). */
function validRange(offset: number, stride: number, size: number, outSize: number): [number, number] {
  const lo = Math.max(0, Math.ceil(-offset / stride));
  const hi = Math.min(outSize, Math.floor((size - 1 - offset) / stride) + 1);
  return hi > lo ? [lo, hi] : [lo, lo];
}

/**
 * col [C·kh·kw, H'·W'] ← the unfolded image x[xOffset …] of `geo` (zeros
 * where a tap falls in the padding).
 */
export function im2col(
  x: Float64Array,
  xOffset: number,
  geo: ConvGeometry,
  col: Float64Array,
  colOffset: number,
): void {
  const { channels, height, width, kernelH, kernelW, strideH, strideW, padH, padW } = geo;
  const { dilationH, dilationW, outH, outW } = geo;
  const plane = outH * outW;
  let row = colOffset;
  for (let c = 0; c < channels; c++) {
    const image = xOffset + c * height * width;
    for (let a = 0; a < kernelH; a++) {
      const rowOffset = a * dilationH - padH;
      for (let b = 0; b < kernelW; b++, row += plane) {
        const colOffsetW = b * dilationW - padW;
        const [lo, hi] = validRange(colOffsetW, strideW, width, outW);
        for (let i = 0; i < outH; i++) {
          const o = row + i * outW;
          const ih = i * strideH + rowOffset;
          if (ih < 0 || ih >= height) {
            col.fill(0, o, o + outW);
            continue;
          }
          const src = image + ih * width + colOffsetW;
          if (lo > 0) col.fill(0, o, o + lo);
          if (strideW === 1) for (let j = lo; j < hi; j++) col[o + j] = x[src + j]!;
          else for (let j = lo; j < hi; j++) col[o + j] = x[src + j * strideW]!;
          if (hi < outW) col.fill(0, o + hi, o + outW);
        }
      }
    }
  }
}

/** x[xOffset …] += col2im(col): each entry of the column matrix added back to its pixel (padding taps dropped). */
function col2im(
  col: Float64Array,
  colOffset: number,
  geo: ConvGeometry,
  x: Float64Array,
  xOffset: number,
): void {
  const { channels, height, width, kernelH, kernelW, strideH, strideW, padH, padW } = geo;
  const { dilationH, dilationW, outH, outW } = geo;
  const plane = outH * outW;
  let row = colOffset;
  for (let c = 0; c < channels; c++) {
    const image = xOffset + c * height * width;
    for (let a = 0; a < kernelH; a++) {
      const rowOffset = a * dilationH - padH;
      for (let b = 0; b < kernelW; b++, row += plane) {
        const colOffsetW = b * dilationW - padW;
        const [lo, hi] = validRange(colOffsetW, strideW, width, outW);
        for (let i = 0; i < outH; i++) {
          const ih = i * strideH + rowOffset;
          if (ih < 0 || ih >= height) continue;
          const o = row + i * outW;
          const dst = image + ih * width + colOffsetW;
          if (strideW === 1) for (let j = lo; j < hi; j++) x[dst + j]! += col[o + j]!;
          else for (let j = lo; j < hi; j++) x[dst + j * strideW]! += col[o + j]!;
        }
      }
    }
  }
}

let scratch = new Float64Array(0);

/** The shared column buffer, at least `size` long. */
function columns(size: number): Float64Array {
  if (scratch.length < size) scratch = new Float64Array(size);
  return scratch;
}

/** No unfolding needed: a 1×1 kernel at unit stride without padding reads the image as X̂. */
function isPointwise(geo: ConvGeometry): boolean {
  return (
    geo.kernelH === 1 &&
    geo.kernelW === 1 &&
    geo.strideH === 1 &&
    geo.strideW === 1 &&
    geo.padH === 0 &&
    geo.padW === 0
  );
}

/**
 * out [N, O, H', W'] ← conv(x [N, C, H, W], w [O, C/G, kh, kw]) in G groups,
 * plus bias [O] (if not null) on every position of its channel; the bias
 * starts the accumulation, so it costs no extra pass. `out` is overwritten.
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
  const depth = (channels / groups) * kernelH * kernelW;
  const perGroup = outChannels / groups;
  const pointwise = isPointwise(geo);
  const col = pointwise ? x : columns(channels * kernelH * kernelW * plane);
  for (let n = 0; n < batch; n++) {
    const image = n * channels * height * width;
    if (!pointwise) im2col(x, image, geo, col, 0);
    const base = pointwise ? image : 0;
    if (bias !== null) {
      for (let o = 0; o < outChannels; o++) {
        const start = (n * outChannels + o) * plane;
        out.fill(bias[o]!, start, start + plane);
      }
    }
    for (let g = 0; g < groups; g++) {
      gemmKernel(
        perGroup,
        plane,
        depth,
        1,
        w,
        g * perGroup * depth,
        depth,
        false,
        col,
        base + g * depth * plane,
        plane,
        false,
        bias === null ? 0 : 1,
        out,
        (n * outChannels + g * perGroup) * plane,
        plane,
      );
    }
  }
}

/**
 * dw [O, C/G, kh, kw] ← Σₙ Ȳₙ·X̂ₙᵀ per group: the weight gradient of the
 * convolution for images x [N, C, H, W] and output cotangent g [N, O, H', W'].
 * `dw` is overwritten.
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
  const depth = (channels / groups) * kernelH * kernelW;
  const perGroup = outChannels / groups;
  const pointwise = isPointwise(geo);
  const col = pointwise ? x : columns(channels * kernelH * kernelW * plane);
  dw.fill(0, 0, outChannels * depth);
  for (let n = 0; n < batch; n++) {
    const image = n * channels * height * width;
    if (!pointwise) im2col(x, image, geo, col, 0);
    const base = pointwise ? image : 0;
    for (let k = 0; k < groups; k++) {
      gemmKernel(
        perGroup,
        depth,
        plane,
        1,
        g,
        (n * outChannels + k * perGroup) * plane,
        plane,
        false,
        col,
        base + k * depth * plane,
        plane,
        true,
        1,
        dw,
        k * perGroup * depth,
        depth,
      );
    }
  }
}

/**
 * dx [N, C, H, W] ← col2im(W_gᵀ·Ȳ_g) per image and group: the input gradient of
 * the convolution (a transposed convolution) for output cotangent
 * g [N, O, H', W'] and weight w. `dx` is overwritten.
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
  const depth = (channels / groups) * kernelH * kernelW;
  const perGroup = outChannels / groups;
  const pointwise = isPointwise(geo);
  const col = pointwise ? dx : columns(channels * kernelH * kernelW * plane);
  if (!pointwise) dx.fill(0, 0, batch * channels * height * width);
  for (let n = 0; n < batch; n++) {
    const image = n * channels * height * width;
    const base = pointwise ? image : 0;
    for (let k = 0; k < groups; k++) {
      gemmKernel(
        depth,
        plane,
        perGroup,
        1,
        w,
        k * perGroup * depth,
        depth,
        true,
        g,
        (n * outChannels + k * perGroup) * plane,
        plane,
        false,
        0,
        col,
        base + k * depth * plane,
        plane,
      );
    }
    if (!pointwise) col2im(col, 0, geo, dx, image);
  }
}
