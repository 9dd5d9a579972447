/**
 * conv2d (the public op) against a direct loop over PyTorch's definition,
 *
 *   y[n, o, i, j] = b[o] + Σ_{c, a, b} w[o, c, a, b]·x[n, g·C/G + c, i·s − p + a·d, j·s − p + b·d],
 *
 * over random shapes and options (scalar or pair, groups, unbatched [C, H, W]
 * input); its gradients, including a second derivative, against central
 * differences; and its errors.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { conv2d, mul, sum, tanh } from '../../../src/autodiff/ops.js';
import { grad, hvp } from '../../../src/autodiff/transforms.js';
import { ShapeError, ValueError } from '../../../src/errors.js';
import { randn, Tensor } from '../../../src/tensor.js';
import { finiteDifferenceGradient } from '../../finite-differences.js';
import { expectClose } from '../../helpers.js';

type PairOrScalar = number | [number, number];
const both = (v: PairOrScalar): [number, number] => (typeof v === 'number' ? [v, v] : v);

/** The definition, one multiply-add at a time. */
function convLoop(
  x: Tensor,
  w: Tensor,
  b: Tensor | null,
  stride: [number, number],
  padding: [number, number],
  dilation: [number, number],
  groups: number,
): Tensor {
  const [n, c, h, wd] = x.shape as number[];
  const [o, cg, kh, kw] = w.shape as number[];
  const oh = Math.floor((h! + 2 * padding[0] - dilation[0] * (kh! - 1) - 1) / stride[0]) + 1;
  const ow = Math.floor((wd! + 2 * padding[1] - dilation[1] * (kw! - 1) - 1) / stride[1]) + 1;
  const out = new Float64Array(n! * o! * oh * ow);
  const og = o! / groups;
  for (let e = 0; e < n!; e++)
    for (let oc = 0; oc < o!; oc++)
      for (let i = 0; i < oh; i++)
        for (let j = 0; j < ow; j++) {
          let s = b ? b.data[oc]! : 0;
          for (let ci = 0; ci < cg!; ci++)
            for (let a = 0; a < kh!; a++)
              for (let bb = 0; bb < kw!; bb++) {
                const ih = i * stride[0] - padding[0] + a * dilation[0];
                const iw = j * stride[1] - padding[1] + bb * dilation[1];
                if (ih < 0 || ih >= h! || iw < 0 || iw >= wd!) continue;
                const channel = Math.floor(oc / og) * cg! + ci;
                s +=
                  w.data[((oc * cg! + ci) * kh! + a) * kw! + bb]! *
                  x.data[((e * c! + channel) * h! + ih) * wd! + iw]!;
              }
          out[((e * o! + oc) * oh + i) * ow + j] = s;
        }
  return new Tensor(out, [n!, o!, oh, ow]);
}

const option = (min: number, max: number) =>
  fc.oneof(
    fc.integer({ min, max }),
    fc.tuple(fc.integer({ min, max }), fc.integer({ min, max })),
  ) as fc.Arbitrary<PairOrScalar>;

const setup = fc.record({
  n: fc.integer({ min: 1, max: 3 }),
  groups: fc.integer({ min: 1, max: 3 }),
  cg: fc.integer({ min: 1, max: 3 }),
  og: fc.integer({ min: 1, max: 3 }),
  kernel: fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 })),
  stride: option(1, 3),
  padding: option(0, 2),
  dilation: option(1, 2),
  extra: fc.tuple(fc.nat(5), fc.nat(5)),
  bias: fc.boolean(),
  unbatched: fc.boolean(),
  seed: fc.nat(1e6),
});

describe('conv2d', () => {
  test('matches the direct loop over random shapes and options', () => {
    fc.assert(
      fc.property(setup, (s) => {
        const [p0, p1] = both(s.padding);
        const [d0, d1] = both(s.dilation);
        const h = Math.max(1, d0 * (s.kernel[0] - 1) + 1 - 2 * p0) + s.extra[0];
        const w = Math.max(1, d1 * (s.kernel[1] - 1) + 1 - 2 * p1) + s.extra[1];
        const n = s.unbatched ? 1 : s.n;
        const x = randn([n, s.groups * s.cg, h, w], s.seed);
        const weight = randn([s.groups * s.og, s.cg, ...s.kernel], s.seed + 1);
        const bias = s.bias ? randn([s.groups * s.og], s.seed + 2) : null;
        const options = { stride: s.stride, padding: s.padding, dilation: s.dilation, groups: s.groups };
        const expected = convLoop(x, weight, bias, both(s.stride), [p0, p1], [d0, d1], s.groups);
        if (s.unbatched) {
          const y = conv2d(new Tensor(x.data, x.shape.slice(1)), weight, bias, options);
          expectClose(y, new Tensor(expected.data, expected.shape.slice(1)), { rtol: 1e-12, atol: 1e-12 });
        } else {
          expectClose(conv2d(x, weight, bias, options), expected, { rtol: 1e-12, atol: 1e-12 });
        }
      }),
      { numRuns: 60 },
    );
  });

  test('gradients w.r.t. input, weight and bias, and a Hessian-vector product, agree with central differences', () => {
    const x = randn([2, 4, 6, 5], 1);
    const w = mul(randn([6, 2, 3, 2], 2), 0.4);
    const b = randn([6], 3);
    const options = {
      stride: [2, 1] as [number, number],
      padding: 1,
      dilation: [1, 2] as [number, number],
      groups: 2,
    };
    const loss = (xs: Tensor, ws: Tensor, bs: Tensor) => sum(tanh(conv2d(xs, ws, bs, options)));
    const [gx, gw, gb] = grad((xs: Tensor, ws: Tensor, bs: Tensor) => loss(xs, ws, bs), [0, 1, 2])(
      x,
      w,
      b,
    ) as Tensor[];
    const at = (t: Tensor, f: (v: Tensor) => Tensor) => (theta: Float64Array) =>
      f(new Tensor(theta, t.shape)).data[0]!;
    expectClose(
      gx!,
      finiteDifferenceGradient(
        at(x, (v) => loss(v, w, b)),
        x.data,
      ),
      { rtol: 1e-6, atol: 1e-8 },
    );
    expectClose(
      gw!,
      finiteDifferenceGradient(
        at(w, (v) => loss(x, v, b)),
        w.data,
      ),
      { rtol: 1e-6, atol: 1e-8 },
    );
    expectClose(
      gb!,
      finiteDifferenceGradient(
        at(b, (v) => loss(x, w, v)),
        b.data,
      ),
      { rtol: 1e-6, atol: 1e-8 },
    );
    // Second order: H·v for the weight against differences of the gradient.
    const v = randn(w.shape, 4);
    const gOfW = grad((ws: Tensor) => loss(x, ws, b));
    const eps = 1e-5;
    const plus = gOfW(
      new Tensor(
        w.data.map((q, i) => q + eps * v.data[i]!),
        w.shape,
      ),
    );
    const minus = gOfW(
      new Tensor(
        w.data.map((q, i) => q - eps * v.data[i]!),
        w.shape,
      ),
    );
    const fd = plus.data.map((q, i) => (q - minus.data[i]!) / (2 * eps));
    expectClose(
      hvp((ws: Tensor) => loss(x, ws, b), w, v),
      fd,
      { rtol: 1e-5, atol: 1e-7 },
    );
  });

  test('a 1×1 convolution (read without unfolding) matches the loop, and its gradients central differences', () => {
    const x = randn([2, 4, 3, 5], 5);
    const w = randn([6, 2, 1, 1], 6);
    const b = randn([6], 7);
    const y = conv2d(x, w, b, { groups: 2 });
    expectClose(y, convLoop(x, w, b, [1, 1], [0, 0], [1, 1], 2), { rtol: 1e-12, atol: 1e-12 });
    const loss = (xs: Tensor, ws: Tensor) => sum(tanh(conv2d(xs, ws, b, { groups: 2 })));
    const [gx, gw] = grad(loss, [0, 1])(x, w) as Tensor[];
    const at = (t: Tensor, f: (v: Tensor) => Tensor) => (theta: Float64Array) =>
      f(new Tensor(theta, t.shape)).data[0]!;
    expectClose(
      gx!,
      finiteDifferenceGradient(
        at(x, (v) => loss(v, w)),
        x.data,
      ),
      { rtol: 1e-6, atol: 1e-8 },
    );
    expectClose(
      gw!,
      finiteDifferenceGradient(
        at(w, (v) => loss(x, v)),
        w.data,
      ),
      { rtol: 1e-6, atol: 1e-8 },
    );
  });

  test('bad shapes are ShapeErrors and bad options ValueErrors, naming conv2d', () => {
    const x = randn([2, 4, 5, 5], 1);
    const w = randn([6, 2, 3, 3], 2);
    expect(() => conv2d(x, w)).toThrow(ShapeError);
    expect(() => conv2d(x, w)).toThrow(
      /conv2d: weight \[6, 2, 3, 3\] in 1 group\(s\) needs 2 input channels.*\[2, 4, 5, 5\]/,
    );
    expect(() => conv2d(x, w, null, { groups: 2 })).not.toThrow();
    expect(() => conv2d(x, w, randn([5], 3), { groups: 2 })).toThrow(/conv2d: bias is \[5\], expected \[6\]/);
    expect(() => conv2d(randn([4, 5], 1), w)).toThrow(
      /conv2d: input must be \[N, C, H, W\] or \[C, H, W\], got \[4, 5\]/,
    );
    expect(() => conv2d(x, randn([6, 4, 7, 7], 1))).toThrow(
      /conv2d: input 5×5 is smaller than the kernel 7×7/,
    );
    expect(() => conv2d(x, w, null, { groups: 3 })).toThrow(ShapeError);
    expect(() => conv2d(x, w, null, { groups: 0 })).toThrow(ValueError);
    expect(() => conv2d(x, w, null, { groups: 2, stride: 0 })).toThrow(
      /conv2d: stride must be an integer ≥ 1/,
    );
    expect(() => conv2d(x, w, null, { groups: 2, padding: -1 })).toThrow(ValueError);
    expect(() =>
      conv2d(x, w, null, { groups: 2, dilation: [1, 1.5] as unknown as [number, number] }),
    ).toThrow(/conv2d: dilation/);
  });
});
