/**
 * maxPool2dKernel against a direct scan of every window in row-major order
 * that keeps the first maximum and takes a NaN as a new maximum (PyTorch's
 * rule), on values with many ties and some NaNs; the 2 × 2 window has its own
 * unrolled path, the other sizes the general one.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { convOutputSize } from '../../src/kernels/conv.js';
import { maxPool2dKernel, type PoolGeometry } from '../../src/kernels/pool.js';
import { seededRng } from '../../src/random.js';

function scan(planes: number, geo: PoolGeometry, x: Float64Array): { values: number[]; indices: number[] } {
  const values: number[] = [];
  const indices: number[] = [];
  for (let p = 0; p < planes; p++)
    for (let i = 0; i < geo.outH; i++)
      for (let j = 0; j < geo.outW; j++) {
        let best = Number.NEGATIVE_INFINITY;
        let arg = -1;
        for (let a = 0; a < geo.kernelH; a++)
          for (let b = 0; b < geo.kernelW; b++) {
            const ih = i * geo.strideH + a * geo.dilationH;
            const iw = j * geo.strideW + b * geo.dilationW;
            const v = x[p * geo.height * geo.width + ih * geo.width + iw]!;
            if (arg < 0 || v > best || Number.isNaN(v)) {
              best = v;
              arg = ih * geo.width + iw;
            }
          }
        values.push(best);
        indices.push(arg);
      }
  return { values, indices };
}

describe('maxPool2dKernel', () => {
  test.prop([
    fc.integer({ min: 1, max: 3 }),
    fc.tuple(fc.integer({ min: 2, max: 9 }), fc.integer({ min: 2, max: 9 })),
    fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    fc.boolean(),
    fc.nat(1000),
  ])(
    'the first maximum of each window (NaN counts as one), with its index',
    (planes, size, kernel, stride, dilate, seed) => {
      const dilation = dilate ? 2 : 1;
      const geo: PoolGeometry = {
        height: size[0],
        width: size[1],
        kernelH: kernel[0],
        kernelW: kernel[1],
        strideH: stride[0],
        strideW: stride[1],
        padH: 0,
        padW: 0,
        dilationH: dilation,
        dilationW: dilation,
        outH: convOutputSize(size[0], kernel[0], stride[0], 0, dilation),
        outW: convOutputSize(size[1], kernel[1], stride[1], 0, dilation),
      };
      fc.pre(geo.outH >= 1 && geo.outW >= 1);
      const rng = seededRng(seed);
      // Few distinct values, so windows tie; one in ten a NaN.
      const x = Float64Array.from({ length: planes * size[0] * size[1] }, () =>
        rng.uniform() < 0.1 ? Number.NaN : rng.int(3),
      );
      const expected = scan(planes, geo, x);
      const values = new Float64Array(expected.values.length);
      const indices = new Float64Array(expected.indices.length);
      maxPool2dKernel(planes, geo, x, values, indices);
      expect(Array.from(values)).toEqual(expected.values);
      expect(Array.from(indices)).toEqual(expected.indices);
    },
  );
});
