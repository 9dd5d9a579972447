/**
 * MaxPool2d, AvgPool2d and AdaptiveAvgPool2d: forward against direct loops of
 * PyTorch's definitions, gradients against central differences, JSON round
 * trips, errors naming the layer.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ShapeError, ValueError } from '../../src/errors.js';
import { AdaptiveAvgPool2d } from '../../src/nn/adaptive-avgpool2d.js';
import { AvgPool2d } from '../../src/nn/avgpool2d.js';
import { MaxPool2d } from '../../src/nn/maxpool2d.js';
import { randn, Tensor } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';
import { expectGradientsMatchDifferences, expectJsonRoundTrip } from './layer-checks.js';

/** Pool every window of x [n, C, H, W] with `combine` over its taps inside the image. */
function poolLoop(
  x: Tensor,
  k: [number, number],
  s: [number, number],
  p: [number, number],
  d: [number, number],
  combine: (taps: number[]) => number,
): Tensor {
  const [n, c, h, w] = x.shape as number[];
  const oh = Math.floor((h! + 2 * p[0] - d[0] * (k[0] - 1) - 1) / s[0]) + 1;
  const ow = Math.floor((w! + 2 * p[1] - d[1] * (k[1] - 1) - 1) / s[1]) + 1;
  const out: number[] = [];
  for (let plane = 0; plane < n! * c!; plane++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++) {
        const taps: number[] = [];
        for (let a = 0; a < k[0]; a++)
          for (let b = 0; b < k[1]; b++) {
            const ih = i * s[0] - p[0] + a * d[0];
            const iw = j * s[1] - p[1] + b * d[1];
            if (ih >= 0 && ih < h! && iw >= 0 && iw < w!) taps.push(x.data[(plane * h! + ih) * w! + iw]!);
          }
        out.push(combine(taps));
      }
  return new Tensor(Float64Array.from(out), [n!, c!, oh, ow]);
}

const windowArb = fc.record({
  k: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  s: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  p: fc.tuple(fc.nat(1), fc.nat(1)),
  d: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
  extra: fc.nat(3),
  seed: fc.nat(1e6),
});

interface Window {
  k: [number, number];
  s: [number, number];
  p: [number, number];
  d: [number, number];
  x: Tensor;
}

/** Padding at most half the kernel, inputs at least the dilated kernel: PyTorch accepts these. */
function unpack(
  r: {
    k: [number, number];
    s: [number, number];
    p: [number, number];
    d: [number, number];
    extra: number;
    seed: number;
  },
  dilated: boolean,
): Window {
  const d: [number, number] = dilated ? r.d : [1, 1];
  const p: [number, number] = [Math.min(r.p[0], r.k[0] >> 1), Math.min(r.p[1], r.k[1] >> 1)];
  const x = randn([2, 3, d[0] * (r.k[0] - 1) + 1 + r.extra, d[1] * (r.k[1] - 1) + 2 + r.extra], r.seed);
  return { k: r.k, s: r.s, p, d, x };
}

describe('MaxPool2d', () => {
  test('forward matches the direct loop; outputShape its shape; gradients match central differences', () => {
    fc.assert(
      fc.property(windowArb, (r) => {
        const { k, s, p, d, x } = unpack(r, true);
        const layer = new MaxPool2d(k, { stride: s, padding: p, dilation: d });
        const y = layer.apply([], x);
        expectClose(
          y,
          poolLoop(x, k, s, p, d, (t) => Math.max(...t)),
          { rtol: 0, atol: 0 },
        );
        expect([...layer.outputShape(x.shape.slice(1))]).toEqual(y.shape.slice(1));
        expectGradientsMatchDifferences(layer, x, r.seed + 1);
      }),
      { numRuns: 30 },
    );
  });

  test('the stride defaults to the kernel size; JSON round trip', () => {
    const layer = new MaxPool2d(2);
    expect(layer.toJSON()).toEqual({
      type: 'maxpool2d',
      kernelSize: [2, 2],
      stride: [2, 2],
      padding: [0, 0],
      dilation: [1, 1],
    });
    expectJsonRoundTrip(layer, MaxPool2d.fromJSON, randn([1, 2, 5, 4], 1));
    expectJsonRoundTrip(
      new MaxPool2d([3, 2], { stride: 1, padding: [1, 0], dilation: [1, 2] }),
      MaxPool2d.fromJSON,
      randn([1, 2, 5, 4], 1),
    );
    // The documented short form: stride and padding may be left out.
    expect(MaxPool2d.fromJSON({ type: 'maxpool2d', kernelSize: [2, 2] }, 'L').stride).toEqual([2, 2]);
  });

  test('errors name the layer or the JSON field', () => {
    expect(() => new MaxPool2d(2, { padding: 2 })).toThrow(
      /MaxPool2d: padding \[2, 2\] must be at most half/,
    );
    expect(() => new MaxPool2d(0)).toThrow(ValueError);
    expect(() => new MaxPool2d(3).outputShape([2, 2, 5])).toThrow(
      /MaxPool2d: input \[2, 2, 5\] is smaller than the 3×3 window/,
    );
    expect(() => new MaxPool2d(2).apply([], randn([2, 4, 4], 1))).toThrow(
      /MaxPool2d: input must be \[n, C, H, W\], got \[2, 4, 4\]/,
    );
    expect(() => MaxPool2d.fromJSON({ type: 'maxpool2d', kernelSize: 'big' }, 'L')).toThrow(
      /L\.kernelSize must be an integer ≥ 1/,
    );
    expect(() => MaxPool2d.fromJSON({ type: 'maxpool2d', kernelSize: 2, padding: 3 }, 'L')).toThrow(
      /L\.padding/,
    );
  });
});

describe('AvgPool2d', () => {
  test('forward matches the direct loop (zero padding counted, divisor kh·kw); gradients match central differences', () => {
    fc.assert(
      fc.property(windowArb, (r) => {
        const { k, s, p, d, x } = unpack(r, false);
        const layer = new AvgPool2d(k, { stride: s, padding: p });
        const y = layer.apply([], x);
        const area = k[0] * k[1];
        expectClose(
          y,
          poolLoop(x, k, s, p, d, (t) => t.reduce((a, b) => a + b, 0) / area),
          { rtol: 1e-13, atol: 1e-14 },
        );
        expect([...layer.outputShape(x.shape.slice(1))]).toEqual(y.shape.slice(1));
        expectGradientsMatchDifferences(layer, x, r.seed + 1);
      }),
      { numRuns: 30 },
    );
  });

  test('JSON round trip and errors', () => {
    const layer = new AvgPool2d(2, { stride: 1 });
    expect(layer.toJSON()).toEqual({
      type: 'avgpool2d',
      kernelSize: [2, 2],
      stride: [1, 1],
      padding: [0, 0],
    });
    expectJsonRoundTrip(layer, AvgPool2d.fromJSON, randn([2, 1, 4, 4], 1));
    expect(() => new AvgPool2d(3, { padding: 2 })).toThrow(/AvgPool2d: padding/);
    expect(() => new AvgPool2d(2).apply([], randn([4, 4], 1))).toThrow(ShapeError);
    expect(() => AvgPool2d.fromJSON({ type: 'avgpool2d', kernelSize: [2, 2], stride: [0, 1] }, 'L')).toThrow(
      /L\.stride/,
    );
  });
});

describe('AdaptiveAvgPool2d', () => {
  test('each channel maps to its mean; gradients; JSON; other output sizes are a ValueError', () => {
    const layer = new AdaptiveAvgPool2d(1);
    const x = randn([2, 3, 4, 5], 7);
    const y = layer.apply([], x);
    expect([...y.shape]).toEqual([2, 3, 1, 1]);
    expectClose(
      y,
      poolLoop(x, [4, 5], [1, 1], [0, 0], [1, 1], (t) => t.reduce((a, b) => a + b, 0) / t.length),
      {
        rtol: 1e-13,
        atol: 1e-14,
      },
    );
    expect([...layer.outputShape([3, 4, 5])]).toEqual([3, 1, 1]);
    expectGradientsMatchDifferences(layer, x, 8);
    expectJsonRoundTrip(layer, AdaptiveAvgPool2d.fromJSON, x);
    expect(() => new AdaptiveAvgPool2d(2)).toThrow(/AdaptiveAvgPool2d: only outputSize 1/);
    expect(() => AdaptiveAvgPool2d.fromJSON({ type: 'adaptiveavgpool2d', outputSize: [2, 2] }, 'L')).toThrow(
      ValueError,
    );
    expect(() => layer.outputShape([3, 4])).toThrow(/AdaptiveAvgPool2d: input must be \[C, H, W\]/);
  });
});
