/** Conv2d: forward against a direct loop, gradients, PyTorch's init bound, JSON, errors. */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ShapeError, ValueError } from '../../src/errors.js';
import { Conv2d } from '../../src/nn/conv2d.js';
import { randn, Tensor } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';
import { expectGradientsMatchDifferences, expectJsonRoundTrip } from './layer-checks.js';

/** PyTorch's Conv2d forward, one multiply-add at a time. */
function convLoop(layer: Conv2d, x: Tensor): Tensor {
  const [n, c, h, w] = x.shape as number[];
  const [kh, kw] = layer.kernelSize;
  const [sh, sw] = layer.stride;
  const [ph, pw] = layer.padding;
  const [dh, dw] = layer.dilation;
  const o = layer.outChannels;
  const cg = c! / layer.groups;
  const og = o / layer.groups;
  const oh = Math.floor((h! + 2 * ph - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((w! + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
  const out = new Float64Array(n! * o * oh * ow);
  const wt = layer.weight.data;
  for (let e = 0; e < n!; e++)
    for (let oc = 0; oc < o; oc++)
      for (let i = 0; i < oh; i++)
        for (let j = 0; j < ow; j++) {
          let s = layer.bias ? layer.bias.data[oc]! : 0;
          for (let ci = 0; ci < cg; ci++)
            for (let a = 0; a < kh; a++)
              for (let b = 0; b < kw; b++) {
                const ih = i * sh - ph + a * dh;
                const iw = j * sw - pw + b * dw;
                if (ih < 0 || ih >= h! || iw < 0 || iw >= w!) continue;
                const channel = Math.floor(oc / og) * cg + ci;
                s +=
                  wt[((oc * cg + ci) * kh + a) * kw + b]! * x.data[((e * c! + channel) * h! + ih) * w! + iw]!;
              }
          out[((e * o + oc) * oh + i) * ow + j] = s;
        }
  return new Tensor(out, [n!, o, oh, ow]);
}

interface Setup {
  groups: number;
  cg: number;
  og: number;
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  bias: boolean;
  seed: number;
}

const setupArb: fc.Arbitrary<Setup> = fc.record({
  groups: fc.integer({ min: 1, max: 2 }),
  cg: fc.integer({ min: 1, max: 3 }),
  og: fc.integer({ min: 1, max: 3 }),
  kernel: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  stride: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
  padding: fc.tuple(fc.nat(1), fc.nat(1)),
  dilation: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
  bias: fc.boolean(),
  seed: fc.nat(1e6),
});

function build(s: Setup): Conv2d {
  return new Conv2d(s.groups * s.cg, s.groups * s.og, s.kernel, {
    stride: s.stride,
    padding: s.padding,
    dilation: s.dilation,
    groups: s.groups,
    bias: s.bias,
    seed: s.seed,
  });
}

/** A batch of 2 images large enough for the kernel. */
function input(s: Setup, seed: number): Tensor {
  const size = (k: 0 | 1) => s.dilation[k] * (s.kernel[k] - 1) + 1 + (seed % 3);
  return randn([2, s.groups * s.cg, size(0), size(1)], seed);
}

describe('Conv2d', () => {
  test('forward matches the direct loop of PyTorch’s definition, and outputShape its shape', () => {
    fc.assert(
      fc.property(setupArb, fc.nat(1e6), (s, seed) => {
        const layer = build(s);
        const x = input(s, seed);
        const y = layer.apply(layer.parameters(), x);
        expectClose(y, convLoop(layer, x), { rtol: 1e-12, atol: 1e-12 });
        expect([...layer.outputShape(x.shape.slice(1))]).toEqual(y.shape.slice(1));
      }),
      { numRuns: 40 },
    );
  });

  test('gradients w.r.t. weight, bias and input agree with central differences', () => {
    fc.assert(
      fc.property(setupArb, fc.nat(1e6), (s, seed) => {
        const layer = build(s);
        expectGradientsMatchDifferences(layer, input(s, seed), seed + 1);
      }),
      { numRuns: 10 },
    );
  });

  test('initialisation is U(−1/√fanIn, 1/√fanIn) for weight and bias, fanIn = (C/G)·kh·kw, and seeded', () => {
    const layer = new Conv2d(8, 16, [3, 2], { groups: 2, seed: 5 });
    const bound = 1 / Math.sqrt(4 * 3 * 2);
    expect([...layer.weight.shape]).toEqual([16, 4, 3, 2]);
    for (const t of layer.parameters()) {
      const values = [...t.data];
      expect(Math.max(...values.map(Math.abs))).toBeLessThanOrEqual(bound);
      // Spread over the interval, not clustered: the extremes come near the bound.
      expect(Math.max(...values)).toBeGreaterThan(0.5 * bound);
      expect(Math.min(...values)).toBeLessThan(-0.5 * bound);
    }
    expect([...new Conv2d(8, 16, [3, 2], { groups: 2, seed: 5 }).weight.data]).toEqual([
      ...layer.weight.data,
    ]);
    expect(layer.parameters()).toHaveLength(2);
    expect(new Conv2d(1, 2, 3, { bias: false, seed: 1 }).parameters()).toHaveLength(1);
  });

  test('fromParameters holds the given tensors and checks them', () => {
    const w = randn([4, 1, 3, 2], 1);
    const b = randn([4], 2);
    const layer = Conv2d.fromParameters(w, b, { groups: 2, padding: 1 });
    expect(layer.weight).toBe(w);
    expect(layer.bias).toBe(b);
    expect([layer.inChannels, layer.outChannels, layer.groups]).toEqual([2, 4, 2]);
    expect(layer.kernelSize).toEqual([3, 2]);
    expect(layer.padding).toEqual([1, 1]);
    expect(() => Conv2d.fromParameters(randn([4, 3], 1))).toThrow(
      /Conv2d.fromParameters: weight is \[4, 3\]/,
    );
    expect(() => Conv2d.fromParameters(w, randn([3], 1), { groups: 2 })).toThrow(
      /Conv2d.fromParameters: bias is \[3\], expected \[4\]/,
    );
    expect(() => Conv2d.fromParameters(w, null, { groups: 3 })).toThrow(ValueError);
    expect(() =>
      Conv2d.fromParameters(new Tensor(new Float64Array(12).fill(Number.NaN), [2, 2, 3, 1])),
    ).toThrow(/non-finite/);
  });

  test('JSON round trip, in the documented form', () => {
    const layer = new Conv2d(2, 4, 3, { padding: 1, seed: 3 });
    const json = layer.toJSON();
    expect(json).toMatchObject({
      type: 'conv2d',
      inChannels: 2,
      outChannels: 4,
      kernelSize: [3, 3],
      stride: [1, 1],
      padding: [1, 1],
      dilation: [1, 1],
      groups: 1,
    });
    expect((json['weight'] as number[][][][])[3]![1]![2]![0]).toBe(
      layer.weight.data[((3 * 2 + 1) * 3 + 2) * 3],
    );
    expectJsonRoundTrip(layer, Conv2d.fromJSON, randn([2, 2, 5, 4], 1));
    expectJsonRoundTrip(
      new Conv2d(4, 2, [1, 2], { groups: 2, bias: false, stride: [2, 1], seed: 4 }),
      Conv2d.fromJSON,
      randn([1, 4, 3, 3], 2),
    );
  });

  test('bad arguments and JSON throw typed errors naming the layer or field', () => {
    expect(() => new Conv2d(0, 4, 3, { seed: 1 })).toThrow(/Conv2d: inChannels must be a positive integer/);
    expect(() => new Conv2d(3, 4, 3, { groups: 2, seed: 1 })).toThrow(ValueError);
    expect(() => new Conv2d(2, 4, [3, 0] as never, { seed: 1 })).toThrow(/Conv2d: kernelSize/);
    const layer = new Conv2d(2, 4, 3, { seed: 1 });
    expect(() => layer.apply(layer.parameters(), randn([1, 3, 5, 5], 1))).toThrow(ShapeError);
    expect(() => layer.apply(layer.parameters(), randn([1, 3, 5, 5], 1))).toThrow(
      /Conv2d\(2→4, 3×3\): input must be \[2, H, W\], got \[3, 5, 5\]/,
    );
    expect(() => layer.outputShape([2, 2, 5])).toThrow(
      /Conv2d\(2→4, 3×3\): input \[2, 2, 5\] is smaller than the kernel/,
    );
    const json = layer.toJSON();
    expect(() => Conv2d.fromJSON({ ...json, inChannels: 'two' }, 'model.layers[0]')).toThrow(
      /model\.layers\[0\]\.inChannels must be an integer ≥ 1, got "two"/,
    );
    expect(() => Conv2d.fromJSON({ ...json, weight: [[[[1]]]] }, 'L')).toThrow(
      /L\.weight must be an array of length 4/,
    );
    const bad = JSON.parse(JSON.stringify(json));
    bad.weight[1][0][2][1] = 'x';
    expect(() => Conv2d.fromJSON(bad, 'L')).toThrow(
      /L\.weight\[1\]\[0\]\[2\]\[1\] must be a finite number, got "x"/,
    );
    expect(() => Conv2d.fromJSON({ ...json, bias: [1, 2] }, 'L')).toThrow(ShapeError);
    expect(() => Conv2d.fromJSON({ ...json, groups: 3 }, 'L')).toThrow(/L\.groups \(3\) must divide/);
    expect(() => Conv2d.fromJSON({ ...json, stride: [1] }, 'L')).toThrow(
      /L\.stride must be an integer ≥ 1 or a pair/,
    );
    expect(() => Conv2d.fromJSON(null as never, 'L')).toThrow(/L must be an object/);
  });
});
