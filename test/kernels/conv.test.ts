/**
 * The convolution kernels against one direct loop over PyTorch's definition,
 * which visits every term w[o, c, a, b]·x[n, g·C/G + c, ih, iw] of
 * y[n, o, i, j] once and so gives all three maps at the same time:
 *
 *   y[n, o, i, j] += w·x,   dw[o, c, a, b] += ḡ[n, o, i, j]·x,   dx[n, ·, ih, iw] += w·ḡ[n, o, i, j].
 *
 * Sizes are chosen so that the images fall into several chunks (a chunk is
 * capped at 2¹⁵ doubles of unfolded columns), the products take the packed
 * path with a side under 8, and every option (groups, stride, padding,
 * dilation, rectangular kernels) is met; im2colImages, which unfolds images
 * side by side by moving rows, against im2col one image at a time.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  type ConvGeometry,
  conv2dKernel,
  conv2dTransposeKernel,
  conv2dWeightGradKernel,
  convOutputSize,
  im2col,
  im2colImages,
} from '../../src/kernels/conv.js';
import { seededRng } from '../../src/random.js';
import { expectClose } from '../helpers.js';

interface Case {
  batch: number;
  channels: number;
  out: number;
  groups: number;
  size: [number, number];
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
}

function geometry(c: Case): ConvGeometry {
  const axis = (k: 0 | 1) => convOutputSize(c.size[k], c.kernel[k], c.stride[k], c.padding[k], c.dilation[k]);
  return {
    channels: c.channels,
    height: c.size[0],
    width: c.size[1],
    kernelH: c.kernel[0],
    kernelW: c.kernel[1],
    strideH: c.stride[0],
    strideW: c.stride[1],
    padH: c.padding[0],
    padW: c.padding[1],
    dilationH: c.dilation[0],
    dilationW: c.dilation[1],
    outH: axis(0),
    outW: axis(1),
  };
}

/** y = conv(x, w) + b, dw = ∇w(x, ḡ) and dx = convᵀ(ḡ, w), one term at a time. */
function directLoop(
  c: Case,
  geo: ConvGeometry,
  x: Float64Array,
  w: Float64Array,
  b: Float64Array,
  g: Float64Array,
) {
  const { batch, channels, out, groups } = c;
  const { height, width, kernelH, kernelW, outH, outW } = geo;
  const perGroupIn = channels / groups;
  const perGroupOut = out / groups;
  const y = new Float64Array(batch * out * outH * outW);
  const dw = new Float64Array(w.length);
  const dx = new Float64Array(x.length);
  for (let n = 0; n < batch; n++)
    for (let o = 0; o < out; o++)
      for (let i = 0; i < outH; i++)
        for (let j = 0; j < outW; j++) {
          const yi = ((n * out + o) * outH + i) * outW + j;
          let s = b[o]!;
          for (let ci = 0; ci < perGroupIn; ci++)
            for (let a = 0; a < kernelH; a++)
              for (let bb = 0; bb < kernelW; bb++) {
                const ih = i * geo.strideH - geo.padH + a * geo.dilationH;
                const iw = j * geo.strideW - geo.padW + bb * geo.dilationW;
                if (ih < 0 || ih >= height || iw < 0 || iw >= width) continue;
                const channel = Math.floor(o / perGroupOut) * perGroupIn + ci;
                const xi = ((n * channels + channel) * height + ih) * width + iw;
                const wi = ((o * perGroupIn + ci) * kernelH + a) * kernelW + bb;
                s += w[wi]! * x[xi]!;
                dw[wi]! += g[yi]! * x[xi]!;
                dx[xi]! += w[wi]! * g[yi]!;
              }
          y[yi] = s;
        }
  return { y, dw, dx };
}

const cases: [string, Case][] = [
  [
    'LeNet-like, several chunks, six output channels',
    {
      batch: 12,
      channels: 2,
      out: 6,
      groups: 1,
      size: [40, 40],
      kernel: [3, 3],
      stride: [1, 1],
      padding: [0, 0],
      dilation: [1, 1],
    },
  ],
  [
    'stride, padding and dilation, rectangular',
    {
      batch: 9,
      channels: 3,
      out: 5,
      groups: 1,
      size: [37, 30],
      kernel: [3, 2],
      stride: [2, 1],
      padding: [1, 2],
      dilation: [2, 1],
    },
  ],
  [
    'groups',
    {
      batch: 7,
      channels: 4,
      out: 6,
      groups: 2,
      size: [33, 33],
      kernel: [4, 4],
      stride: [1, 2],
      padding: [2, 0],
      dilation: [1, 1],
    },
  ],
  [
    'pointwise',
    {
      batch: 5,
      channels: 3,
      out: 4,
      groups: 1,
      size: [50, 50],
      kernel: [1, 1],
      stride: [1, 1],
      padding: [0, 0],
      dilation: [1, 1],
    },
  ],
  [
    'tiny',
    {
      batch: 2,
      channels: 1,
      out: 2,
      groups: 1,
      size: [4, 3],
      kernel: [2, 2],
      stride: [1, 1],
      padding: [1, 0],
      dilation: [1, 1],
    },
  ],
];

describe('convolution kernels', () => {
  test.each(cases)('%s: forward, weight gradient and input gradient match the direct loop', (_name, c) => {
    const geo = geometry(c);
    const rng = seededRng(c.batch * 31 + c.channels);
    const normals = (n: number) => Float64Array.from({ length: n }, () => rng.normal());
    const x = normals(c.batch * c.channels * c.size[0] * c.size[1]);
    const w = normals(((c.out * c.channels) / c.groups) * c.kernel[0] * c.kernel[1]);
    const b = normals(c.out);
    const g = normals(c.batch * c.out * geo.outH * geo.outW);
    const expected = directLoop(c, geo, x, w, b, g);

    // Outputs start as garbage: every kernel overwrites.
    const y = new Float64Array(expected.y.length).fill(Number.NaN);
    conv2dKernel(c.batch, c.out, c.groups, geo, x, w, b, y);
    expectClose(y, expected.y);
    const dw = new Float64Array(w.length).fill(Number.NaN);
    conv2dWeightGradKernel(c.batch, c.out, c.groups, geo, x, g, dw);
    expectClose(dw, expected.dw);
    const dx = new Float64Array(x.length).fill(Number.NaN);
    conv2dTransposeKernel(c.batch, c.out, c.groups, geo, g, w, dx);
    expectClose(dx, expected.dx);

    const yNoBias = new Float64Array(y.length);
    conv2dKernel(c.batch, c.out, c.groups, geo, x, w, null, yNoBias);
    const plane = geo.outH * geo.outW;
    expectClose(
      yNoBias,
      expected.y.map((v, i) => v - b[Math.floor(i / plane) % c.out]!),
      { rtol: 1e-9, atol: 1e-9 },
    );
  });

  test.prop([
    fc.integer({ min: 1, max: 3 }),
    fc.integer({ min: 1, max: 2 }),
    fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 })),
    fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 })),
    fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
    fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })),
    fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    fc.nat(3),
  ])(
    'im2colImages lays out each image as im2col does, side by side; the kernels match the direct loop',
    (batch, channels, size, kernel, stride, padding, dilation, spare) => {
      const c: Case = { batch, channels, out: 2, groups: 1, size, kernel, stride, padding, dilation };
      const geo = geometry(c);
      fc.pre(geo.outH >= 1 && geo.outW >= 1);
      const plane = geo.outH * geo.outW;
      const rows = channels * kernel[0] * kernel[1];
      const imageSize = channels * size[0] * size[1];
      const rng = seededRng(batch + 7 * spare);
      const x = Float64Array.from({ length: (batch + 1) * imageSize }, () => rng.normal());
      // Images from the second one on, into rows of pitch ld past an offset; the slack stays NaN.
      const ld = batch * plane + spare;
      const side = new Float64Array(spare + rows * ld).fill(Number.NaN);
      im2colImages(batch, x, imageSize, geo, side, spare, ld);
      const alone = new Float64Array(rows * plane);
      for (let n = 0; n < batch; n++) {
        im2col(x, (n + 1) * imageSize, geo, alone, 0);
        for (let r = 0; r < rows; r++) {
          const start = spare + r * ld + n * plane;
          expect(Array.from(side.subarray(start, start + plane))).toEqual(
            Array.from(alone.subarray(r * plane, (r + 1) * plane)),
          );
        }
      }
      const images = x.subarray(imageSize);
      const w = Float64Array.from({ length: 2 * rows }, () => rng.normal());
      const g = Float64Array.from({ length: batch * 2 * plane }, () => rng.normal());
      const expected = directLoop(c, geo, images, w, new Float64Array(2), g);
      const y = new Float64Array(expected.y.length);
      conv2dKernel(batch, 2, 1, geo, images, w, null, y);
      expectClose(y, expected.y);
      const dw = new Float64Array(w.length);
      conv2dWeightGradKernel(batch, 2, 1, geo, images, g, dw);
      expectClose(dw, expected.dw);
      const dx = new Float64Array(images.length);
      conv2dTransposeKernel(batch, 2, 1, geo, g, w, dx);
      expectClose(dx, expected.dx);
    },
  );
});
