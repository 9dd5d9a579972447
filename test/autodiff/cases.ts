/**
 * One sampler per primitive, keyed by name, for the property tests: random
 * shapes and parameters from fast-check, values from a seeded generator, and an
 * independent reference implementation (naive loops over multi-indices and
 * Math.*) of the forward map. A primitive without an entry fails the tests.
 */
import fc from 'fast-check';
import type { Primitive } from '../../src/autodiff/core.js';
import type { Rng } from '../../src/random.js';
import { type Shape, sizeOf, Tensor } from '../../src/tensor.js';

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
export const shapeArb = (minRank = 0, maxRank = 3): fc.Arbitrary<number[]> =>
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

export function unravel(i: number, shape: Shape): number[] {
  const idx = new Array<number>(shape.length);
  for (let k = shape.length - 1; k >= 0; k--) {
    idx[k] = i % shape[k]!;
    i = Math.floor(i / shape[k]!);
  }
  return idx;
}

export function ravel(idx: readonly number[], shape: Shape): number {
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
// The table

export const samplers: Record<string, Sampler> = {
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
};

/** The sampler of a primitive, or a failure naming it. */
export function samplerFor(prim: Primitive): Sampler {
  const s = samplers[prim.name];
  if (!s) throw new Error(`no test sampler for primitive '${prim.name}': add one to test/autodiff/cases.ts`);
  return s;
}
