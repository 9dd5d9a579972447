/**
 * One sampler per primitive, keyed by name, for the property tests: random
 * shapes and parameters from fast-check, values from a seeded generator, and an
 * independent reference implementation (naive loops over multi-indices and
 * Math.*) of the forward map. A primitive without an entry fails the tests.
 */
import fc from 'fast-check';
import type { Primitive } from '../../../src/autodiff/core.js';
import type { Rng } from '../../../src/random.js';
import { type Shape, sizeOf, Tensor } from '../../../src/tensor.js';

export interface Case {
  params: unknown;
  /** Fresh argument values of fixed shapes. */
  sample: (rng: Rng) => Tensor[];
  /** Indices of the arguments to differentiate (empty for non-differentiable primitives). */
  diff: number[];
}

export interface Sampler {
  arbitrary: fc.Arbitrary<Case>;
  /** The forward map computed independently, on concrete tensors. */
  reference: (args: Tensor[], params: never) => Tensor;
}

// ---------------------------------------------------------------------------
// Value generators

type Domain = (rng: Rng) => number;
const normal: Domain = (rng) => rng.normal();
const positive: Domain = (rng) => 0.5 + 2 * rng.uniform();
/** |x| ∈ [0.2, 2]: away from kinks at 0. */
const awayFromZero: Domain = (rng) => rng.sign() * (0.2 + 1.8 * rng.uniform());
const aboveMinusHalf: Domain = (rng) => -0.4 + 2 * rng.uniform();
const moderate: Domain = (rng) => 3 * (2 * rng.uniform() - 1);

export function fill(shape: Shape, domain: Domain, rng: Rng): Tensor {
  const data = new Float64Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = domain(rng);
  return new Tensor(data, [...shape]);
}

// ---------------------------------------------------------------------------
// Shape arbitraries (small: these tests run many cases)

const dim = fc.integer({ min: 1, max: 4 });
const shapeArb = (minRank = 0, maxRank = 3): fc.Arbitrary<number[]> =>
  fc.array(dim, { minLength: minRank, maxLength: maxRank });

/** Shapes that broadcast to a common one: suffixes of it with some axes set to 1. */
const broadcastShapes = (count: number) =>
  fc
    .tuple(
      shapeArb(0, 3),
      fc.array(fc.nat(3), { minLength: count, maxLength: count }),
      fc.array(fc.boolean(), { minLength: 3 * count, maxLength: 3 * count }),
    )
    .map(([out, drops, ones]) =>
      drops.map((drop, j) => out.slice(Math.min(drop, out.length)).map((d, i) => (ones[3 * j + i] ? 1 : d))),
    );
const broadcastPair = broadcastShapes(2).map(([a, b]) => [a!, b!] as const);

// ---------------------------------------------------------------------------
// Multi-index helpers for the references

function unravel(i: number, shape: Shape): number[] {
  const idx = new Array<number>(shape.length);
  for (let k = shape.length - 1; k >= 0; k--) {
    idx[k] = i % shape[k]!;
    i = Math.floor(i / shape[k]!);
  }
  return idx;
}

function ravel(idx: readonly number[], shape: Shape): number {
  let i = 0;
  for (let k = 0; k < shape.length; k++) i = i * shape[k]! + idx[k]!;
  return i;
}

/** Value of x at the output multi-index `idx` under NumPy broadcasting. */
function broadcastGet(x: Tensor, idx: readonly number[]): number {
  const lead = idx.length - x.ndim;
  const own = x.shape.map((d, k) => (d === 1 ? 0 : idx[lead + k]!));
  return x.data[ravel(own, x.shape)]!;
}

function broadcastShape(shapes: Shape[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  return Array.from({ length: rank }, (_, k) => Math.max(...shapes.map((s) => s[s.length - rank + k] ?? 1)));
}

function build(shape: Shape, value: (idx: number[]) => number): Tensor {
  const data = new Float64Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = value(unravel(i, shape));
  return new Tensor(data, [...shape]);
}

// ---------------------------------------------------------------------------
// Families

function unaryCase(domain: Domain, differentiable = true): fc.Arbitrary<Case> {
  return shapeArb().map((shape) => ({
    params: {},
    sample: (rng) => [fill(shape, domain, rng)],
    diff: differentiable ? [0] : [],
  }));
}

function unary(f: (x: number) => number, domain: Domain, differentiable = true): Sampler {
  return {
    arbitrary: unaryCase(domain, differentiable),
    reference: ([x]) =>
      new Tensor(
        x!.data.map((v) => f(v)),
        x!.shape,
      ),
  };
}

function binary(
  f: (x: number, y: number) => number,
  domainA: Domain,
  domainB: Domain,
  differentiable = true,
): Sampler {
  return {
    arbitrary: broadcastPair.map(([a, b]) => ({
      params: {},
      sample: (rng) => [fill(a, domainA, rng), fill(b, domainB, rng)],
      diff: differentiable ? [0, 1] : [],
    })),
    reference: ([x, y]) =>
      build(broadcastShape([x!.shape, y!.shape]), (i) => f(broadcastGet(x!, i), broadcastGet(y!, i))),
  };
}

/** Values on a coarse grid, so comparisons see ties. */
const grid: Domain = (rng) => rng.int(3) - 1;

const axesCase = fc
  .tuple(shapeArb(1, 3), fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }), fc.boolean())
  .map(([shape, pick, keepdims]) => ({
    shape,
    axes: shape.map((_, k) => k).filter((k) => pick[k]),
    keepdims,
  }));

function reduction(combine: (acc: number, v: number) => number, init: number): Sampler {
  return {
    arbitrary: axesCase.map(({ shape, axes, keepdims }) => ({
      params: { axes, keepdims },
      sample: (rng) => [fill(shape, normal, rng)],
      diff: [0],
    })),
    reference: ([x], { axes, keepdims }: { axes: number[]; keepdims: boolean }) => {
      const keptShape = x!.shape.map((d, k) => (axes.includes(k) ? 1 : d));
      const acc = new Float64Array(sizeOf(keptShape)).fill(init);
      for (let i = 0; i < x!.size; i++) {
        const idx = unravel(i, x!.shape).map((v, k) => (axes.includes(k) ? 0 : v));
        const j = ravel(idx, keptShape);
        acc[j] = combine(acc[j]!, x!.data[i]!);
      }
      const shape = keepdims ? keptShape : x!.shape.filter((_, k) => !axes.includes(k));
      return new Tensor(acc, shape);
    },
  };
}

const permutation = (n: number) =>
  fc.array(fc.nat(), { minLength: n, maxLength: n }).map((keys) =>
    keys
      .map((k, i) => [k, i] as const)
      .sort((a, b) => a[0] - b[0] || a[1] - b[1])
      .map(([, i]) => i),
  );

/** ∫₀ˣ g by Simpson's rule with 2000 panels (error below 1e-13 for the smooth g and |x| ≤ 3 used here). */
function simpson(g: (t: number) => number, x: number): number {
  const n = 2000;
  const h = x / n;
  let s = g(0) + g(x);
  for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * g(i * h);
  return (s * h) / 3;
}

const erfRef = (x: number) => (2 / Math.sqrt(Math.PI)) * simpson((t) => Math.exp(-t * t), x);
const normalCdf = (x: number) => 0.5 + simpson((t) => Math.exp(-0.5 * t * t) / Math.sqrt(2 * Math.PI), x);

// ---------------------------------------------------------------------------
// Convolution and pooling: direct loops over PyTorch's definitions

interface ConvSetup {
  n: number;
  groups: number;
  /** Input and output channels per group. */
  cg: number;
  og: number;
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  size: [number, number];
}

/** Input size along one axis for which the output is non-empty: at least the dilated kernel minus the padding. */
const spatial = (k: number, d: number, p: number, extra: number) =>
  Math.max(1, d * (k - 1) + 1 - 2 * p) + extra;

const convSetup: fc.Arbitrary<ConvSetup> = fc
  .record({
    n: fc.integer({ min: 1, max: 2 }),
    groups: fc.integer({ min: 1, max: 2 }),
    cg: fc.integer({ min: 1, max: 2 }),
    og: fc.integer({ min: 1, max: 2 }),
    k: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    s: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
    p: fc.tuple(fc.nat(1), fc.nat(1)),
    d: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
    extra: fc.tuple(fc.nat(2), fc.nat(2)),
  })
  .map(({ n, groups, cg, og, k, s, p, d, extra }) => ({
    n,
    groups,
    cg,
    og,
    kernel: k,
    stride: s,
    padding: p,
    dilation: d,
    size: [spatial(k[0], d[0], p[0], extra[0]), spatial(k[1], d[1], p[1], extra[1])],
  }));

const outLength = (size: number, k: number, s: number, p: number, d: number) =>
  Math.floor((size + 2 * p - d * (k - 1) - 1) / s) + 1;

function convParams(c: ConvSetup) {
  return { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups };
}

/**
 * Every product x[n, c, ih, iw]·w[o, c′, a, b]·y[n, o, i, j] of the convolution's
 * trilinear form, by its flat indices into x, w and y (taps in the padding skipped).
 */
function convTerms(
  xShape: Shape,
  wShape: Shape,
  p: { stride: number[]; padding: number[]; dilation: number[]; groups: number },
  visit: (xi: number, wi: number, yi: number) => void,
): number[] {
  const [n, , h, w] = xShape as number[];
  const [o, cg, kh, kw] = wShape as number[];
  const oh = outLength(h!, kh!, p.stride[0]!, p.padding[0]!, p.dilation[0]!);
  const ow = outLength(w!, kw!, p.stride[1]!, p.padding[1]!, p.dilation[1]!);
  const yShape = [n!, o!, oh, ow];
  const og = o! / p.groups;
  for (let e = 0; e < n!; e++)
    for (let oc = 0; oc < o!; oc++)
      for (let i = 0; i < oh; i++)
        for (let j = 0; j < ow; j++)
          for (let c = 0; c < cg!; c++)
            for (let a = 0; a < kh!; a++)
              for (let b = 0; b < kw!; b++) {
                const ih = i * p.stride[0]! - p.padding[0]! + a * p.dilation[0]!;
                const iw = j * p.stride[1]! - p.padding[1]! + b * p.dilation[1]!;
                if (ih < 0 || ih >= h! || iw < 0 || iw >= w!) continue;
                const channel = Math.floor(oc / og) * cg! + c;
                visit(
                  ravel([e, channel, ih, iw], xShape),
                  ravel([oc, c, a, b], wShape),
                  ravel([e, oc, i, j], yShape),
                );
              }
  return yShape;
}

type ConvParamsT = { stride: number[]; padding: number[]; dilation: number[]; groups: number };

function convShapes(c: ConvSetup) {
  const x = [c.n, c.groups * c.cg, ...c.size];
  const w = [c.groups * c.og, c.cg, ...c.kernel];
  const y = [
    c.n,
    c.groups * c.og,
    outLength(c.size[0], c.kernel[0], c.stride[0], c.padding[0], c.dilation[0]),
    outLength(c.size[1], c.kernel[1], c.stride[1], c.padding[1], c.dilation[1]),
  ];
  return { x, w, y };
}

interface PoolSetup {
  lead: number[];
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  size: [number, number];
}

/** Windows with padding at most half the kernel and inputs at least the dilated kernel: every window has a tap inside. */
const poolSetup = (dilated: boolean): fc.Arbitrary<PoolSetup> =>
  fc
    .record({
      lead: shapeArb(0, 2),
      k: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
      s: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
      p: fc.tuple(fc.nat(1), fc.nat(1)),
      d: fc.tuple(fc.integer({ min: 1, max: dilated ? 2 : 1 }), fc.integer({ min: 1, max: dilated ? 2 : 1 })),
      extra: fc.tuple(fc.nat(2), fc.nat(2)),
    })
    .map(({ lead, k, s, p, d, extra }) => ({
      lead,
      kernel: k,
      stride: s,
      padding: [Math.min(p[0], k[0] >> 1), Math.min(p[1], k[1] >> 1)] as [number, number],
      dilation: d,
      size: [d[0] * (k[0] - 1) + 1 + extra[0], d[1] * (k[1] - 1) + 1 + extra[1]] as [number, number],
    }));

type PoolParamsT = { kernelSize: number[]; stride: number[]; padding: number[]; dilation: number[] };

function poolParams(c: PoolSetup): PoolParamsT {
  return { kernelSize: c.kernel, stride: c.stride, padding: c.padding, dilation: c.dilation };
}

function pooledSize(size: readonly number[], p: PoolParamsT): [number, number] {
  return [
    outLength(size[0]!, p.kernelSize[0]!, p.stride[0]!, p.padding[0]!, p.dilation[0]!),
    outLength(size[1]!, p.kernelSize[1]!, p.stride[1]!, p.padding[1]!, p.dilation[1]!),
  ];
}

/**
 * Visit each output position of a pooling of x [..., H, W] with the flat
 * indices of its window's taps inside the image, in row-major window order.
 */
function poolWindows(xShape: Shape, p: PoolParamsT, visit: (out: number, taps: number[]) => void): number[] {
  const h = xShape[xShape.length - 2]!;
  const w = xShape[xShape.length - 1]!;
  const [oh, ow] = pooledSize([h, w], p);
  const planes = sizeOf(xShape.slice(0, -2));
  for (let q = 0; q < planes; q++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++) {
        const taps: number[] = [];
        for (let a = 0; a < p.kernelSize[0]!; a++)
          for (let b = 0; b < p.kernelSize[1]!; b++) {
            const ih = i * p.stride[0]! - p.padding[0]! + a * p.dilation[0]!;
            const iw = j * p.stride[1]! - p.padding[1]! + b * p.dilation[1]!;
            if (ih >= 0 && ih < h && iw >= 0 && iw < w) taps.push(q * h * w + ih * w + iw);
          }
        visit((q * oh + i) * ow + j, taps);
      }
  return [...xShape.slice(0, -2), oh, ow];
}

/** The window's first maximal tap, as an index within its plane. */
function argmaxIn(x: Tensor, taps: number[], planeSize: number): number {
  let best = taps[0]!;
  for (const t of taps) if (x.data[t]! > x.data[best]!) best = t;
  return best % planeSize;
}

// ---------------------------------------------------------------------------
// The table

const samplers: Record<string, Sampler> = {
  neg: unary((x) => -x, normal),
  exp: unary(Math.exp, normal),
  log: unary(Math.log, positive),
  log1p: unary(Math.log1p, aboveMinusHalf),
  expm1: unary(Math.expm1, normal),
  sqrt: unary(Math.sqrt, positive),
  square: unary((x) => x * x, normal),
  abs: unary(Math.abs, awayFromZero),
  sign: unary(Math.sign, normal, false),
  sin: unary(Math.sin, normal),
  cos: unary(Math.cos, normal),
  tanh: unary(Math.tanh, normal),
  sigmoid: unary((x) => 1 / (1 + Math.exp(-x)), moderate),
  relu: unary((x) => Math.max(x, 0), awayFromZero),
  softplus: unary((x) => Math.log(1 + Math.exp(x)), moderate),
  erf: unary(erfRef, moderate),
  gelu: unary((x) => x * normalCdf(x), moderate),
  stopGradient: unary((x) => x, normal, false),
  add: binary((x, y) => x + y, normal, normal),
  sub: binary((x, y) => x - y, normal, normal),
  mul: binary((x, y) => x * y, normal, normal),
  div: binary((x, y) => x / y, normal, awayFromZero),
  pow: binary((x, y) => Math.exp(y * Math.log(x)), positive, moderate),
  tanhBackward: binary((y, t) => t * (1 - y * y), moderate, normal),
  reluBackward: binary((x, t) => (x > 0 ? t : 0), awayFromZero, normal),
  maximum: binary(Math.max, normal, normal),
  minimum: binary(Math.min, normal, normal),
  greater: binary((x, y) => Number(x > y), grid, grid, false),
  less: binary((x, y) => Number(x < y), grid, grid, false),
  greaterEqual: binary((x, y) => Number(x >= y), grid, grid, false),
  lessEqual: binary((x, y) => Number(x <= y), grid, grid, false),
  equal: binary((x, y) => Number(x === y), grid, grid, false),
  where: {
    arbitrary: broadcastShapes(3).map(([c, a, b]) => ({
      params: {},
      sample: (rng) => [fill(c!, (r) => r.int(2), rng), fill(a!, normal, rng), fill(b!, normal, rng)],
      diff: [1, 2],
    })),
    reference: ([c, x, y]) =>
      build(broadcastShape([c!.shape, x!.shape, y!.shape]), (i) =>
        broadcastGet(c!, i) !== 0 ? broadcastGet(x!, i) : broadcastGet(y!, i),
      ),
  },
  sum: reduction((a, v) => a + v, 0),
  max: reduction(Math.max, Number.NEGATIVE_INFINITY),
  reshape: {
    arbitrary: fc.tuple(shapeArb(), fc.boolean()).chain(([shape, flatten]) =>
      permutation(shape.length).map((perm) => ({
        params: { shape: flatten ? [sizeOf(shape)] : perm.map((p) => shape[p]!) },
        sample: (rng: Rng) => [fill(shape, normal, rng)],
        diff: [0],
      })),
    ),
    reference: ([x], { shape }: { shape: number[] }) => new Tensor(Float64Array.from(x!.data), shape),
  },
  transpose: {
    arbitrary: shapeArb().chain((shape) =>
      permutation(shape.length).map((perm) => ({
        params: { perm },
        sample: (rng: Rng) => [fill(shape, normal, rng)],
        diff: [0],
      })),
    ),
    reference: ([x], { perm }: { perm: number[] }) => {
      const shape = perm.map((p) => x!.shape[p]!);
      return build(shape, (i) => {
        const src = new Array<number>(perm.length);
        perm.forEach((p, k) => {
          src[p] = i[k]!;
        });
        return x!.data[ravel(src, x!.shape)]!;
      });
    },
  },
  broadcastTo: {
    arbitrary: broadcastPair.map(([a, b]) => {
      const target = broadcastShape([a, b]);
      return { params: { shape: target }, sample: (rng: Rng) => [fill(a, normal, rng)], diff: [0] };
    }),
    reference: ([x], { shape }: { shape: number[] }) => build(shape, (i) => broadcastGet(x!, i)),
  },
  slice: {
    arbitrary: fc
      .tuple(shapeArb(), fc.array(fc.tuple(fc.nat(), fc.nat()), { minLength: 3, maxLength: 3 }))
      .map(([shape, picks]) => {
        const starts = shape.map((d, k) => picks[k]![0] % (d + 1));
        const ends = shape.map((d, k) => starts[k]! + (picks[k]![1] % (d - starts[k]! + 1)));
        return { params: { starts, ends }, sample: (rng: Rng) => [fill(shape, normal, rng)], diff: [0] };
      }),
    reference: ([x], { starts, ends }: { starts: number[]; ends: number[] }) =>
      build(
        ends.map((e, k) => e - starts[k]!),
        (i) =>
          x!.data[
            ravel(
              i.map((v, k) => v + starts[k]!),
              x!.shape,
            )
          ]!,
      ),
  },
  pad: {
    arbitrary: fc
      .tuple(shapeArb(), fc.array(fc.nat(2), { minLength: 6, maxLength: 6 }))
      .map(([shape, w]) => ({
        params: { before: shape.map((_, k) => w[k]!), after: shape.map((_, k) => w[k + 3]!) },
        sample: (rng: Rng) => [fill(shape, normal, rng)],
        diff: [0],
      })),
    reference: ([x], { before, after }: { before: number[]; after: number[] }) =>
      build(
        x!.shape.map((d, k) => before[k]! + d + after[k]!),
        (i) => {
          const src = i.map((v, k) => v - before[k]!);
          return src.every((v, k) => v >= 0 && v < x!.shape[k]!) ? x!.data[ravel(src, x!.shape)]! : 0;
        },
      ),
  },
  concat: {
    arbitrary: fc
      .tuple(shapeArb(1, 3), fc.nat(2), fc.array(dim, { minLength: 1, maxLength: 3 }))
      .map(([shape, a, lengths]) => {
        const axis = a % shape.length;
        const shapes = lengths.map((n) => shape.map((d, k) => (k === axis ? n : d)));
        return {
          params: { axis },
          sample: (rng: Rng) => shapes.map((s) => fill(s, normal, rng)),
          diff: shapes.map((_, i) => i),
        };
      }),
    reference: (xs, { axis }: { axis: number }) => {
      const shape = xs[0]!.shape.map((d, k) => (k === axis ? xs.reduce((n, x) => n + x.shape[axis]!, 0) : d));
      return build(shape, (i) => {
        let j = i[axis]!;
        for (const x of xs) {
          if (j < x.shape[axis]!)
            return x.data[
              ravel(
                i.map((v, k) => (k === axis ? j : v)),
                x.shape,
              )
            ]!;
          j -= x.shape[axis]!;
        }
        return Number.NaN;
      });
    },
  },
  take: {
    arbitrary: fc.tuple(shapeArb(1, 3), fc.nat(2), shapeArb(0, 2)).map(([shape, a, idxShape]) => {
      const axis = a % shape.length;
      const n = shape[axis]!;
      return {
        params: { axis },
        sample: (rng: Rng) => [fill(shape, normal, rng), fill(idxShape, (r) => r.int(n), rng)],
        diff: [0],
      };
    }),
    reference: ([x, idx], { axis }: { axis: number }) => {
      const shape = [...x!.shape.slice(0, axis), ...idx!.shape, ...x!.shape.slice(axis + 1)];
      return build(shape, (i) => {
        const j = idx!.data[ravel(i.slice(axis, axis + idx!.ndim), idx!.shape)]!;
        const src = [...i.slice(0, axis), j, ...i.slice(axis + idx!.ndim)];
        return x!.data[ravel(src, x!.shape)]!;
      });
    },
  },
  scatterAdd: {
    arbitrary: fc
      .tuple(shapeArb(0, 2), shapeArb(0, 2), shapeArb(0, 1), dim)
      .map(([pre, idxShape, post, size]) => ({
        params: { axis: pre.length, size },
        sample: (rng: Rng) => [
          fill([...pre, ...idxShape, ...post], normal, rng),
          fill(idxShape, (r) => r.int(size), rng),
        ],
        diff: [0],
      })),
    reference: ([u, idx], { axis, size }: { axis: number; size: number }) => {
      const shape = [...u!.shape.slice(0, axis), size, ...u!.shape.slice(axis + idx!.ndim)];
      const out = new Float64Array(sizeOf(shape));
      for (let i = 0; i < u!.size; i++) {
        const ui = unravel(i, u!.shape);
        const j = idx!.data[ravel(ui.slice(axis, axis + idx!.ndim), idx!.shape)]!;
        out[ravel([...ui.slice(0, axis), j, ...ui.slice(axis + idx!.ndim)], shape)]! += u!.data[i]!;
      }
      return new Tensor(out, shape);
    },
  },
  matmul: {
    arbitrary: fc
      .tuple(
        broadcastPair,
        dim,
        dim,
        dim,
        fc.boolean(),
        fc.boolean(),
        fc.option(fc.tuple(fc.nat(4), fc.nat(15))),
      )
      .map(([[ba, bb], m, k, n, transA, transB, addend]) => {
        const a = [...ba.slice(-2), ...(transA ? [k, m] : [m, k])];
        const b = [...bb.slice(-2), ...(transB ? [n, k] : [k, n])];
        const out = [...broadcastShape([ba.slice(-2), bb.slice(-2)]), m, n];
        // The addend: a suffix of the output's shape with some axes set to 1.
        const d =
          addend && out.slice(Math.min(addend[0], out.length)).map((v, i) => ((addend[1] >> i) & 1 ? 1 : v));
        return {
          params: { transA, transB },
          sample: (rng: Rng) => [
            fill(a, normal, rng),
            fill(b, normal, rng),
            ...(d ? [fill(d, normal, rng)] : []),
          ],
          diff: d ? [0, 1, 2] : [0, 1],
        };
      }),
    reference: ([a, b, d], { transA, transB }: { transA: boolean; transB: boolean }) => {
      const r = (x: Tensor) => x.ndim;
      const [m, k] = transA
        ? [a!.shape[r(a!) - 1]!, a!.shape[r(a!) - 2]!]
        : [a!.shape[r(a!) - 2]!, a!.shape[r(a!) - 1]!];
      const n = transB ? b!.shape[r(b!) - 2]! : b!.shape[r(b!) - 1]!;
      const batch = broadcastShape([a!.shape.slice(0, -2), b!.shape.slice(0, -2)]);
      return build([...batch, m, n], (i) => {
        const bi = i.slice(0, -2);
        const [row, col] = i.slice(-2) as [number, number];
        let s = d ? broadcastGet(d, i) : 0;
        for (let p = 0; p < k; p++) {
          const ai = transA ? [p, row] : [row, p];
          const bj = transB ? [col, p] : [p, col];
          s += broadcastGet(a!, [...bi, ...ai]) * broadcastGet(b!, [...bi, ...bj]);
        }
        return s;
      });
    },
  },
  conv2d: {
    arbitrary: fc.tuple(convSetup, fc.boolean()).map(([c, withBias]) => {
      const { x, w } = convShapes(c);
      return {
        params: convParams(c),
        sample: (rng: Rng) => [
          fill(x, normal, rng),
          fill(w, normal, rng),
          ...(withBias ? [fill([w[0]!], normal, rng)] : []),
        ],
        diff: withBias ? [0, 1, 2] : [0, 1],
      };
    }),
    reference: ([x, w, b], p: ConvParamsT) => {
      const terms: [number, number, number][] = [];
      const shape = convTerms(x!.shape, w!.shape, p, (xi, wi, yi) => terms.push([xi, wi, yi]));
      const plane = shape[2]! * shape[3]!;
      const out = new Float64Array(sizeOf(shape));
      if (b) for (let i = 0; i < out.length; i++) out[i] = b.data[Math.floor(i / plane) % shape[1]!]!;
      for (const [xi, wi, yi] of terms) out[yi]! += x!.data[xi]! * w!.data[wi]!;
      return new Tensor(out, shape);
    },
  },
  conv2dTranspose: {
    arbitrary: convSetup.map((c) => {
      const { w, y } = convShapes(c);
      return {
        params: { ...convParams(c), inputSize: c.size },
        sample: (rng: Rng) => [fill(y, normal, rng), fill(w, normal, rng)],
        diff: [0, 1],
      };
    }),
    reference: ([g, w], p: ConvParamsT & { inputSize: number[] }) => {
      const xShape = [g!.shape[0]!, w!.shape[1]! * p.groups, ...p.inputSize];
      const out = new Float64Array(sizeOf(xShape));
      convTerms(xShape, w!.shape, p, (xi, wi, yi) => {
        out[xi]! += w!.data[wi]! * g!.data[yi]!;
      });
      return new Tensor(out, xShape);
    },
  },
  conv2dWeightGrad: {
    arbitrary: convSetup.map((c) => {
      const { x, y } = convShapes(c);
      return {
        params: { ...convParams(c), kernelSize: c.kernel },
        sample: (rng: Rng) => [fill(x, normal, rng), fill(y, normal, rng)],
        diff: [0, 1],
      };
    }),
    reference: ([x, g], p: ConvParamsT & { kernelSize: number[] }) => {
      const wShape = [g!.shape[1]!, x!.shape[1]! / p.groups, ...p.kernelSize];
      const out = new Float64Array(sizeOf(wShape));
      convTerms(x!.shape, wShape, p, (xi, wi, yi) => {
        out[wi]! += x!.data[xi]! * g!.data[yi]!;
      });
      return new Tensor(out, wShape);
    },
  },
  maxPool2d: {
    arbitrary: poolSetup(true).map((c) => ({
      params: poolParams(c),
      sample: (rng: Rng) => [fill([...c.lead, ...c.size], normal, rng)],
      diff: [0],
    })),
    reference: ([x], p: PoolParamsT) => {
      const out: number[] = [];
      const shape = poolWindows(x!.shape, p, (o, taps) => {
        out[o] = Math.max(...taps.map((t) => x!.data[t]!));
      });
      return new Tensor(Float64Array.from(out), shape);
    },
  },
  maxPool2dArgmax: {
    arbitrary: poolSetup(true).map((c) => ({
      params: poolParams(c),
      sample: (rng: Rng) => [fill([...c.lead, ...c.size], grid, rng)],
      diff: [],
    })),
    reference: ([x], p: PoolParamsT) => {
      const plane = x!.shape[x!.ndim - 2]! * x!.shape[x!.ndim - 1]!;
      const out: number[] = [];
      const shape = poolWindows(x!.shape, p, (o, taps) => {
        out[o] = argmaxIn(x!, taps, plane);
      });
      return new Tensor(Float64Array.from(out), shape);
    },
  },
  maxPool2dGather: {
    arbitrary: fc.tuple(shapeArb(0, 2), dim, dim, dim, dim).map(([lead, h, w, oh, ow]) => ({
      params: {},
      sample: (rng: Rng) => [
        fill([...lead, h, w], normal, rng),
        fill([...lead, oh, ow], (r) => r.int(h * w), rng),
      ],
      diff: [0],
    })),
    reference: ([t, idx]) => {
      const plane = t!.shape[t!.ndim - 2]! * t!.shape[t!.ndim - 1]!;
      const outPlane = idx!.shape[idx!.ndim - 2]! * idx!.shape[idx!.ndim - 1]!;
      return build(idx!.shape, (i) => {
        const k = ravel(i, idx!.shape);
        return t!.data[Math.floor(k / outPlane) * plane + idx!.data[k]!]!;
      });
    },
  },
  maxPool2dScatter: {
    arbitrary: fc.tuple(shapeArb(0, 2), dim, dim, dim, dim).map(([lead, h, w, oh, ow]) => ({
      params: { inputSize: [h, w] },
      sample: (rng: Rng) => [
        fill([...lead, oh, ow], normal, rng),
        fill([...lead, oh, ow], (r) => r.int(h * w), rng),
      ],
      diff: [0],
    })),
    reference: ([g, idx], { inputSize }: { inputSize: number[] }) => {
      const plane = inputSize[0]! * inputSize[1]!;
      const outPlane = g!.shape[g!.ndim - 2]! * g!.shape[g!.ndim - 1]!;
      const shape = [...g!.shape.slice(0, -2), ...inputSize];
      const out = new Float64Array(sizeOf(shape));
      for (let k = 0; k < g!.size; k++) out[Math.floor(k / outPlane) * plane + idx!.data[k]!]! += g!.data[k]!;
      return new Tensor(out, shape);
    },
  },
  avgPool2d: {
    arbitrary: poolSetup(false).map((c) => ({
      params: poolParams(c),
      sample: (rng: Rng) => [fill([...c.lead, ...c.size], normal, rng)],
      diff: [0],
    })),
    reference: ([x], p: PoolParamsT) => {
      const out: number[] = [];
      const shape = poolWindows(x!.shape, p, (o, taps) => {
        out[o] = taps.reduce((s, t) => s + x!.data[t]!, 0) / (p.kernelSize[0]! * p.kernelSize[1]!);
      });
      return new Tensor(Float64Array.from(out), shape);
    },
  },
  avgPool2dTranspose: {
    arbitrary: poolSetup(false).map((c) => {
      const p = poolParams(c);
      return {
        params: { ...p, inputSize: c.size },
        sample: (rng: Rng) => [fill([...c.lead, ...pooledSize(c.size, p)], normal, rng)],
        diff: [0],
      };
    }),
    reference: ([g], p: PoolParamsT & { inputSize: number[] }) => {
      const xShape = [...g!.shape.slice(0, -2), ...p.inputSize];
      const out = new Float64Array(sizeOf(xShape));
      poolWindows(xShape, p, (o, taps) => {
        for (const t of taps) out[t]! += g!.data[o]! / (p.kernelSize[0]! * p.kernelSize[1]!);
      });
      return new Tensor(out, xShape);
    },
  },
};

/** The primitives that have a sampler, by name. */
export const samplerNames: readonly string[] = Object.keys(samplers);

/** The sampler of a primitive, or a failure naming it. */
export function samplerFor(prim: Primitive): Sampler {
  const s = samplers[prim.name];
  if (!s)
    throw new Error(
      `no test sampler for primitive '${prim.name}': add one to test/autodiff/primitives/cases.ts`,
    );
  return s;
}
