/**
 * maxPool2d and avgPool2d (the public ops) against direct loops over PyTorch's
 * definitions (floor mode; max pool's padding −∞, avg pool's counted as zeros
 * with divisor kh·kw), over random shapes and options with overlapping windows;
 * the routing of max pool's gradient on ties (to the first maximum of each
 * window in row-major order, accumulating over overlapping windows) against a
 * loop that does exactly that; and the errors.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { avgPool2d, maxPool2d, mul, sum } from '../../../src/autodiff/ops.js';
import { grad } from '../../../src/autodiff/transforms.js';
import { ShapeError, ValueError } from '../../../src/errors.js';
import { seededRng } from '../../../src/random.js';
import { randn, Tensor } from '../../../src/tensor.js';
import { expectClose } from '../../helpers.js';

interface Options {
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
}

/** For each output position (flat), its window's taps inside the image (flat indices), row-major. */
function windows(shape: readonly number[], o: Options): { outShape: number[]; taps: number[][] } {
  const [n, c, h, w] = shape as number[];
  const size = (len: number, k: number) =>
    Math.floor((len + 2 * o.padding[k]! - o.dilation[k]! * (o.kernel[k]! - 1) - 1) / o.stride[k]!) + 1;
  const oh = size(h!, 0);
  const ow = size(w!, 1);
  const taps: number[][] = [];
  for (let plane = 0; plane < n! * c!; plane++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++) {
        const list: number[] = [];
        for (let a = 0; a < o.kernel[0]; a++)
          for (let b = 0; b < o.kernel[1]; b++) {
            const ih = i * o.stride[0] - o.padding[0] + a * o.dilation[0];
            const iw = j * o.stride[1] - o.padding[1] + b * o.dilation[1];
            if (ih >= 0 && ih < h! && iw >= 0 && iw < w!) list.push((plane * h! + ih) * w! + iw);
          }
        taps.push(list);
      }
  return { outShape: [n!, c!, oh, ow], taps };
}

const options = (dilated: boolean) =>
  fc
    .record({
      kernel: fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 })),
      stride: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
      pad: fc.tuple(fc.nat(2), fc.nat(2)),
      dilation: fc.tuple(
        fc.integer({ min: 1, max: dilated ? 3 : 1 }),
        fc.integer({ min: 1, max: dilated ? 3 : 1 }),
      ),
      lead: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 })),
      extra: fc.tuple(fc.nat(4), fc.nat(4)),
      seed: fc.nat(1e6),
    })
    .map(({ kernel, stride, pad, dilation, lead, extra, seed }) => {
      const o: Options = {
        kernel,
        stride,
        padding: [Math.min(pad[0], kernel[0] >> 1), Math.min(pad[1], kernel[1] >> 1)],
        dilation,
      };
      const shape = [
        ...lead,
        dilation[0] * (kernel[0] - 1) + 1 + extra[0],
        dilation[1] * (kernel[1] - 1) + 1 + extra[1],
      ];
      return { o, shape, seed };
    });

/** Values on a grid of 3, so windows often hold tied maxima. */
function gridValues(shape: number[], seed: number): Tensor {
  const rng = seededRng(seed);
  const data = new Float64Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = rng.int(3);
  return new Tensor(data, shape);
}

const asOptions = (o: Options) => ({
  kernelSize: o.kernel,
  stride: o.stride,
  padding: o.padding,
  dilation: o.dilation,
});

describe('maxPool2d', () => {
  test('matches the direct loop over random shapes and options', () => {
    fc.assert(
      fc.property(options(true), ({ o, shape, seed }) => {
        const x = randn(shape, seed);
        const { outShape, taps } = windows(shape, o);
        const expected = new Tensor(
          Float64Array.from(taps, (t) => Math.max(...t.map((k) => x.data[k]!))),
          outShape,
        );
        expectClose(maxPool2d(x, asOptions(o)), expected, { rtol: 0, atol: 0 });
      }),
      { numRuns: 80 },
    );
  });

  test('on ties, the gradient goes to the first maximum of each window, and overlapping windows accumulate', () => {
    fc.assert(
      fc.property(options(true), ({ o, shape, seed }) => {
        const x = gridValues(shape, seed);
        const { outShape, taps } = windows(shape, o);
        const weights = randn(outShape, seed + 1);
        const g = grad((v: Tensor) => sum(mul(maxPool2d(v, asOptions(o)), weights)))(x);
        const expected = new Float64Array(x.size);
        taps.forEach((t, out) => {
          let first = t[0]!;
          for (const k of t) if (x.data[k]! > x.data[first]!) first = k;
          expected[first]! += weights.data[out]!;
        });
        expectClose(g, new Tensor(expected, shape), { rtol: 1e-14, atol: 1e-14 });
      }),
      { numRuns: 80 },
    );
  });

  test('a constant image sends each window’s gradient to its top-left tap', () => {
    const x = new Tensor(new Float64Array(9).fill(1), [1, 1, 3, 3]);
    const g = grad((v: Tensor) => sum(maxPool2d(v, { kernelSize: 2, stride: 1 })))(x);
    expect([...g.data]).toEqual([1, 1, 0, 1, 1, 0, 0, 0, 0]);
  });

  test('errors name maxPool2d', () => {
    const x = randn([1, 2, 4, 4], 1);
    expect(() => maxPool2d(x, { kernelSize: 2, padding: 2 })).toThrow(ValueError);
    expect(() => maxPool2d(x, { kernelSize: 2, padding: 2 })).toThrow(
      /maxPool2d: padding \[2, 2\] must be at most half/,
    );
    expect(() => maxPool2d(x, { kernelSize: 0 })).toThrow(/maxPool2d: kernelSize must be an integer ≥ 1/);
    expect(() => maxPool2d(x, {} as never)).toThrow(/maxPool2d: kernelSize is required/);
    expect(() => maxPool2d(x, { kernelSize: 5 })).toThrow(ShapeError);
    expect(() => maxPool2d(randn([4, 4], 1), { kernelSize: 2 })).toThrow(
      /maxPool2d: input must be \[N, C, H, W\]/,
    );
  });
});

describe('avgPool2d', () => {
  test('matches the direct loop (padding counted as zeros, divisor kh·kw)', () => {
    fc.assert(
      fc.property(options(false), ({ o, shape, seed }) => {
        const x = randn(shape, seed);
        const { outShape, taps } = windows(shape, o);
        const area = o.kernel[0] * o.kernel[1];
        const expected = new Tensor(
          Float64Array.from(taps, (t) => t.reduce((s, k) => s + x.data[k]!, 0) / area),
          outShape,
        );
        const y = avgPool2d(x, { kernelSize: o.kernel, stride: o.stride, padding: o.padding });
        expectClose(y, expected, { rtol: 1e-13, atol: 1e-14 });
      }),
      { numRuns: 80 },
    );
  });

  test('the stride defaults to the kernel size and a [C, H, W] input is accepted', () => {
    const x = randn([3, 6, 4], 2);
    const y = avgPool2d(x, { kernelSize: [3, 2] });
    expect([...y.shape]).toEqual([3, 2, 2]);
    const first = [0, 1, 4, 5, 8, 9].reduce((s, k) => s + x.data[k]!, 0) / 6;
    expect(y.data[0]).toBeCloseTo(first, 14);
  });

  test('errors name avgPool2d', () => {
    const x = randn([1, 2, 4, 4], 1);
    expect(() => avgPool2d(x, { kernelSize: 3, padding: 2 })).toThrow(
      /avgPool2d: padding \[2, 2\] must be at most half/,
    );
    expect(() => avgPool2d(x, { kernelSize: [2, -1] })).toThrow(ValueError);
    expect(() => avgPool2d(x, { kernelSize: 6 })).toThrow(ShapeError);
  });
});
