/**
 * Two-dimensional pooling on stacks of planes, PyTorch's definitions (floor mode).
 *
 * The input is `planes` consecutive H × W planes (the N·C planes of an NCHW
 * tensor); window (i, j) of an output plane covers the taps
 * (i·s_h − p_h + a·d_h, j·s_w − p_w + b·d_w) for a < kh, b < kw, and
 * H' = ⌊(H + 2p_h − d_h(kh − 1) − 1)/s_h⌋ + 1 (likewise W').
 *
 *   max pool   y = the largest tap inside the image (the padding is −∞); its
 *              argmax is the first largest in row-major order of the window, as
 *              PyTorch's scan, recorded as the index ih·W + iw within the plane
 *              (−1 for a window with no tap inside, whose y is −∞);
 *   avg pool   y = (Σ taps inside the image) / (kh·kw): the padding counts as
 *              zeros (count_include_pad), and in floor mode no window reaches
 *              past the padding, so the divisor is always kh·kw.
 *
 * The adjoints: max pool's tangent is the tangent gathered at the argmax, and
 * its cotangent is scattered (added) back there; avg pool's transpose spreads
 * ȳ/(kh·kw) over the window's taps. Overlapping windows accumulate.
 *
 * Kernels in the BLAS sense: nothing is validated, results go into `out`.
 */

/** The sizes of one pooling: plane, window, stride, padding, dilation, output plane. */
export interface PoolGeometry {
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
  readonly outH: number;
  readonly outW: number;
}

/**
 * out [planes, H', W'] ← window maxima of x [planes, H, W]; indices (same
 * shape) ← their argmax positions within the plane. Either may be null.
 */
export function maxPool2dKernel(
  planes: number,
  geo: PoolGeometry,
  x: Float64Array,
  out: Float64Array | null,
  indices: Float64Array | null,
): void {
  const { height, width, kernelH, kernelW, strideH, strideW, padH, padW } = geo;
  const { dilationH, dilationW, outH, outW } = geo;
  const inPlane = height * width;
  if (padH === 0 && padW === 0) {
    maxPool2dInterior(planes, geo, x, out, indices);
    return;
  }
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const base = p * inPlane;
    for (let i = 0; i < outH; i++) {
      const h0 = i * strideH - padH;
      for (let j = 0; j < outW; j++, o++) {
        const w0 = j * strideW - padW;
        let best = Number.NEGATIVE_INFINITY;
        let arg = -1;
        for (let a = 0; a < kernelH; a++) {
          const ih = h0 + a * dilationH;
          if (ih < 0 || ih >= height) continue;
          const row = base + ih * width;
          for (let b = 0; b < kernelW; b++) {
            const iw = w0 + b * dilationW;
            if (iw < 0 || iw >= width) continue;
            const v = x[row + iw]!;
            // Strictly greater keeps the first maximum; a NaN is taken as a maximum, as PyTorch's scan.
            if (v > best || arg < 0 || Number.isNaN(v)) {
              best = v;
              arg = ih * width + iw;
            }
          }
        }
        if (out !== null) out[o] = best;
        if (indices !== null) indices[o] = arg;
      }
    }
  }
}

/**
 * maxPool2dKernel without padding: in floor mode every tap of every window is
 * then inside the image, so the scan needs no bounds checks.
 */
function maxPool2dInterior(
  planes: number,
  geo: PoolGeometry,
  x: Float64Array,
  out: Float64Array | null,
  indices: Float64Array | null,
): void {
  const { height, width, kernelH, kernelW, strideH, strideW, dilationH, dilationW, outH, outW } = geo;
  if (kernelH === 2 && kernelW === 2 && dilationH === 1 && dilationW === 1) {
    maxPool2x2(planes, geo, x, out, indices);
    return;
  }
  const inPlane = height * width;
  const rowStep = dilationH * width;
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const base = p * inPlane;
    for (let i = 0; i < outH; i++) {
      const rowStart = base + i * strideH * width;
      for (let j = 0; j < outW; j++, o++) {
        const start = rowStart + j * strideW;
        let best = x[start]!;
        let arg = start;
        for (let a = 0, row = start; a < kernelH; a++, row += rowStep) {
          for (let b = a === 0 ? 1 : 0; b < kernelW; b++) {
            const v = x[row + b * dilationW]!;
            if (v > best || Number.isNaN(v)) {
              best = v;
              arg = row + b * dilationW;
            }
          }
        }
        if (out !== null) out[o] = best;
        if (indices !== null) indices[o] = arg - base;
      }
    }
  }
}

/** maxPool2dInterior for the common 2 × 2 window: its four taps compared in the same order, unrolled. */
function maxPool2x2(
  planes: number,
  geo: PoolGeometry,
  x: Float64Array,
  out: Float64Array | null,
  indices: Float64Array | null,
): void {
  const { height, width, strideH, strideW, outH, outW } = geo;
  const inPlane = height * width;
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const base = p * inPlane;
    for (let i = 0; i < outH; i++) {
      const rowStart = base + i * strideH * width;
      for (let j = 0; j < outW; j++, o++) {
        const s = rowStart + j * strideW;
        let best = x[s]!;
        let arg = s;
        // The first maximum, a NaN taken as one, as the general scan.
        const v1 = x[s + 1]!;
        if (v1 > best || Number.isNaN(v1)) {
          best = v1;
          arg = s + 1;
        }
        const v2 = x[s + width]!;
        if (v2 > best || Number.isNaN(v2)) {
          best = v2;
          arg = s + width;
        }
        const v3 = x[s + width + 1]!;
        if (v3 > best || Number.isNaN(v3)) {
          best = v3;
          arg = s + width + 1;
        }
        if (out !== null) out[o] = best;
        if (indices !== null) indices[o] = arg - base;
      }
    }
  }
}

/** out [planes, H'·W'] ← t [planes, H·W] read at `indices` (0 where an index is −1). */
export function gatherPlanesKernel(
  planes: number,
  inPlane: number,
  outPlane: number,
  t: Float64Array,
  indices: Float64Array,
  out: Float64Array,
): void {
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const base = p * inPlane;
    for (let q = 0; q < outPlane; q++, o++) {
      const k = indices[o]!;
      out[o] = k < 0 ? 0 : t[base + k]!;
    }
  }
}

/**
 * out [planes, H·W] (from outOffset) ← 0, then g [planes, H'·W'] (from gOffset)
 * added at `indices` (from indicesOffset; −1 dropped).
 */
export function scatterPlanesKernel(
  planes: number,
  inPlane: number,
  outPlane: number,
  g: Float64Array,
  gOffset: number,
  indices: Float64Array,
  indicesOffset: number,
  out: Float64Array,
  outOffset: number,
): void {
  out.fill(0, outOffset, outOffset + planes * inPlane);
  for (let p = 0; p < planes; p++) {
    const base = outOffset + p * inPlane;
    const from = p * outPlane;
    for (let q = 0; q < outPlane; q++) {
      const k = indices[indicesOffset + from + q]!;
      if (k >= 0) out[base + k]! += g[gOffset + from + q]!;
    }
  }
}

/** out [planes, H', W'] ← window means of x [planes, H, W], padding counted as zeros. */
export function avgPool2dKernel(planes: number, geo: PoolGeometry, x: Float64Array, out: Float64Array): void {
  const { height, width, kernelH, kernelW, strideH, strideW, padH, padW } = geo;
  const { dilationH, dilationW, outH, outW } = geo;
  const inPlane = height * width;
  const scale = 1 / (kernelH * kernelW);
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const base = p * inPlane;
    for (let i = 0; i < outH; i++) {
      const h0 = i * strideH - padH;
      for (let j = 0; j < outW; j++, o++) {
        const w0 = j * strideW - padW;
        let s = 0;
        for (let a = 0; a < kernelH; a++) {
          const ih = h0 + a * dilationH;
          if (ih < 0 || ih >= height) continue;
          const row = base + ih * width;
          for (let b = 0; b < kernelW; b++) {
            const iw = w0 + b * dilationW;
            if (iw >= 0 && iw < width) s += x[row + iw]!;
          }
        }
        out[o] = s * scale;
      }
    }
  }
}

/** out [planes, H, W] ← the transpose of the average pool applied to g [planes, H', W']. */
export function avgPool2dTransposeKernel(
  planes: number,
  geo: PoolGeometry,
  g: Float64Array,
  out: Float64Array,
): void {
  const { height, width, kernelH, kernelW, strideH, strideW, padH, padW } = geo;
  const { dilationH, dilationW, outH, outW } = geo;
  const inPlane = height * width;
  const scale = 1 / (kernelH * kernelW);
  out.fill(0, 0, planes * inPlane);
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const base = p * inPlane;
    for (let i = 0; i < outH; i++) {
      const h0 = i * strideH - padH;
      for (let j = 0; j < outW; j++, o++) {
        const w0 = j * strideW - padW;
        const v = g[o]! * scale;
        for (let a = 0; a < kernelH; a++) {
          const ih = h0 + a * dilationH;
          if (ih < 0 || ih >= height) continue;
          const row = base + ih * width;
          for (let b = 0; b < kernelW; b++) {
            const iw = w0 + b * dilationW;
            if (iw >= 0 && iw < width) out[row + iw]! += v;
          }
        }
      }
    }
  }
}
