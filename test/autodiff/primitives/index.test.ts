/**
 * Properties every primitive must satisfy, generated from the `primitives` list
 * (a primitive without a sampler in cases.ts fails here):
 *   forward kernel = independent reference,
 *   jvp = central differences in a random direction,
 *   ⟨u, J v⟩ = ⟨Jᵀ u, v⟩ between jvp and vjp (and cotangent shapes = input shapes),
 *   vmap = a loop over examples, with batch axes in random positions,
 *   jacfwd = jacrev,
 *   hessian symmetric, equal to jacfwd(grad), and Hessian-vector products equal
 *   to central differences of the gradient.
 * The list itself is checked against the exports of src/autodiff/primitives, so
 * a primitive left out of it fails here too, and the samplers against the list.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { bind, type Primitive } from '../../../src/autodiff/core.js';
import * as autodiff from '../../../src/autodiff/index.js';
import { add, moveAxis, mul, sin, stack, sum } from '../../../src/autodiff/ops.js';
import { primitives } from '../../../src/autodiff/primitives/index.js';
import * as math from '../../../src/autodiff/primitives/math.js';
import {
  grad,
  hessian,
  hvp,
  jacfwd,
  jacrev,
  jvp,
  linearize,
  vjp,
  vmap,
} from '../../../src/autodiff/transforms.js';
import { seededRng } from '../../../src/random.js';
import { type Shape, sizeOf, Tensor } from '../../../src/tensor.js';
import { expectClose } from '../../helpers.js';
import { type Case, fill, samplerFor, samplerNames } from './cases.js';

const RUNS = { numRuns: 12 };
const seed = fc.integer({ min: 0, max: 2 ** 31 - 1 });

/** The primitive as a function of its differentiable arguments, the others fixed. */
function asFunction(prim: Primitive, c: Case, args: Tensor[]) {
  return (...xs: Tensor[]): Tensor => {
    const full = [...args];
    c.diff.forEach((d, j) => {
      full[d] = xs[j]!;
    });
    return bind(prim, full, c.params);
  };
}

function vdot(a: Tensor, b: Tensor): number {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += a.data[i]! * b.data[i]!;
  return s;
}

function combine(xs: Tensor[], vs: Tensor[], h: number): Tensor[] {
  return xs.map(
    (x, i) =>
      new Tensor(
        x.data.map((v, k) => v + h * vs[i]!.data[k]!),
        x.shape,
      ),
  );
}

const differentiable = primitives.filter((p) => !p.nondifferentiable);

/** A value with the methods of a Primitive: what the list must hold. */
const isPrimitive = (value: unknown): value is Primitive =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as Primitive).name === 'string' &&
  ['shape', 'impl', 'jvp', 'vjp', 'batch'].every(
    (m) => typeof (value as Record<string, unknown>)[m] === 'function',
  );

/** The primitive an export stands for: a Primitive itself, or an op carrying one as `.primitive` (math.ts). */
function primitiveOf(value: unknown): Primitive | undefined {
  if (isPrimitive(value)) return value;
  const carried = typeof value === 'function' ? (value as { primitive?: unknown }).primitive : undefined;
  return isPrimitive(carried) ? carried : undefined;
}

test('every primitive exported from src/autodiff/primitives is in the list the tests iterate', async () => {
  const dir = join(import.meta.dirname, '../../../src/autodiff/primitives');
  const missing: string[] = [];
  let found = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const module: Record<string, unknown> = await import(join(dir, file));
    for (const [name, value] of Object.entries(module)) {
      const prim = primitiveOf(value);
      if (prim === undefined) continue;
      found++;
      if (!primitives.includes(prim))
        missing.push(`${file}: ${name} (add it to its file's list of primitives)`);
    }
  }
  expect(found).toBeGreaterThanOrEqual(primitives.length);
  expect(missing).toEqual([]);
});

test("every elementwise op is public under its primitive's name, and every sampler names a primitive", () => {
  // One name from the definition in math.ts to the user (autodiff's exports) and the sampler in cases.ts.
  const misnamed = Object.entries(math).flatMap(([name, op]) =>
    op.primitive.name === name && op.name === name && (autodiff as Record<string, unknown>)[name] === op
      ? []
      : [`${name}: primitive '${op.primitive.name}', function '${op.name}', public: ${name in autodiff}`],
  );
  expect(misnamed).toEqual([]);
  const names = new Set(primitives.map((p) => p.name));
  expect(samplerNames.filter((name) => !names.has(name))).toEqual([]);
});

describe.each(primitives.map((p) => [p.name, p] as const))('primitive %s', (_name, prim) => {
  const sampler = samplerFor(prim);

  test('forward kernel matches an independent reference', () => {
    fc.assert(
      fc.property(sampler.arbitrary, seed, (c, s) => {
        const args = c.sample(seededRng(s));
        const out = bind(prim, args, c.params);
        expectClose(out, sampler.reference(args, c.params as never), { rtol: 1e-12, atol: 1e-12 });
      }),
      RUNS,
    );
  });

  test('vmap agrees with a loop over examples', () => {
    fc.assert(
      fc.property(
        sampler.arbitrary,
        seed,
        fc.array(fc.nat(3), { minLength: 4, maxLength: 4 }),
        (c, s, picks) => {
          const rng = seededRng(s);
          const batch = 3;
          const examples = Array.from({ length: batch }, () => c.sample(rng));
          const nArgs = examples[0]!.length;
          // Which arguments are batched (a random non-empty subset), and along which axis.
          const axes = examples[0]!.map((x, i): number | null => {
            const p = picks[i % 4]!;
            return p === 0 ? null : (p - 1) % (x.ndim + 1);
          });
          if (!axes.some((a) => a !== null)) axes[nArgs - 1] = 0;
          const args = examples[0]!.map((x, i) => {
            const axis = axes[i];
            if (axis === null || axis === undefined) return x;
            return moveAxis(stack(examples.map((e) => e[i]!)), 0, axis);
          });
          const inAxes = Array.from({ length: nArgs }, (_, i) => axes[i] ?? null);
          const f = (...xs: Tensor[]) => bind(prim, xs, c.params);
          const batched = vmap(f, inAxes)(...args);
          const loop = stack(
            examples.map((e) =>
              bind(
                prim,
                e.map((x, i) => (axes[i] === null ? examples[0]![i]! : x)),
                c.params,
              ),
            ),
          );
          expectClose(batched, loop, { rtol: 1e-12, atol: 1e-12 });
        },
      ),
      RUNS,
    );
  });
});

describe.each(differentiable.map((p) => [p.name, p] as const))('derivatives of %s', (_name, prim) => {
  const sampler = samplerFor(prim);

  test('jvp agrees with central differences in a random direction', () => {
    fc.assert(
      fc.property(sampler.arbitrary, seed, (c, s) => {
        const rng = seededRng(s);
        const args = c.sample(rng);
        const f = asFunction(prim, c, args);
        const xs = c.diff.map((d) => args[d]!);
        const vs = xs.map((x) => fill(x.shape, (r) => r.normal(), rng));
        const [y, dy] = jvp(f, xs, vs);
        expectClose(y, bind(prim, args, c.params));
        const h = 1e-6;
        const plus = f(...combine(xs, vs, h));
        const minus = f(...combine(xs, vs, -h));
        const fd = new Tensor(
          plus.data.map((p, k) => (p - minus.data[k]!) / (2 * h)),
          plus.shape,
        );
        expectClose(dy, fd, { rtol: 1e-6, atol: 1e-6 });
      }),
      RUNS,
    );
  });

  test("⟨u, J v⟩ = ⟨Jᵀ u, v⟩ between jvp and vjp, cotangents summed back to broadcast inputs' shapes, linearize = jvp", () => {
    fc.assert(
      fc.property(sampler.arbitrary, seed, (c, s) => {
        const rng = seededRng(s);
        const args = c.sample(rng);
        const f = asFunction(prim, c, args);
        const xs = c.diff.map((d) => args[d]!);
        const vs = xs.map((x) => fill(x.shape, (r) => r.normal(), rng));
        const [y, jv] = jvp(f, xs, vs);
        const u = fill(y.shape, (r) => r.normal(), rng);
        const [, pullback] = vjp(f, ...xs);
        const jtu = pullback(u) as Tensor[];
        jtu.forEach((g, i) => {
          expect([...g.shape]).toEqual([...xs[i]!.shape]);
        });
        const lhs = vdot(u, jv);
        const rhs = jtu.reduce((acc, g, i) => acc + vdot(g, vs[i]!), 0);
        expect(Math.abs(lhs - rhs)).toBeLessThanOrEqual(1e-10 * (1 + Math.abs(lhs)));
        const [, tangentMap] = linearize(f, ...xs);
        expectClose(tangentMap(...vs), jv, { rtol: 1e-12, atol: 1e-12 });
      }),
      RUNS,
    );
  });

  test('jacfwd = jacrev, shaped [...out, ...in]', () => {
    fc.assert(
      fc.property(sampler.arbitrary, seed, (c, s) => {
        const args = c.sample(seededRng(s));
        const f = asFunction(prim, c, args);
        const x = args[c.diff[0]!]!;
        const g = (v: Tensor) => f(...c.diff.map((d, j) => (j === 0 ? v : args[d]!)));
        const forward = jacfwd(g)(x);
        const reverse = jacrev(g)(x);
        const y = g(x);
        expect([...forward.shape]).toEqual([...y.shape, ...x.shape]);
        expectClose(forward, reverse, { rtol: 1e-12, atol: 1e-12 });
      }),
      RUNS,
    );
  });

  test('hessian is symmetric, equals jacfwd(grad), and Hv matches differences of the gradient', () => {
    fc.assert(
      fc.property(sampler.arbitrary, seed, (c, s) => {
        const rng = seededRng(s);
        const args = c.sample(rng);
        const f = asFunction(prim, c, args);
        const x = args[c.diff[0]!]!;
        // A smooth scalar of the primitive's output, so curvature of both shows.
        const w = fill(f(...c.diff.map((d) => args[d]!)).shape, (r) => r.normal(), rng);
        const scalar = (v: Tensor) =>
          sum(add(sin(f(...c.diff.map((d, j) => (j === 0 ? v : args[d]!)))), mul(w, 0.1)));
        const n = sizeOf(x.shape);
        const h = hessian(scalar)(x);
        expect([...h.shape]).toEqual([...x.shape, ...x.shape]);
        const square = new Tensor(h.data, [n, n]);
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < i; j++) {
            const a = square.data[i * n + j]!;
            const b = square.data[j * n + i]!;
            expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(a)));
          }
        }
        expectClose(h, jacfwd(grad(scalar))(x), { rtol: 1e-10, atol: 1e-10 });
        const v = fill(x.shape, (r) => r.normal(), rng);
        const eps = 1e-5;
        const gPlus = grad(scalar)(combine([x], [v], eps)[0]!);
        const gMinus = grad(scalar)(combine([x], [v], -eps)[0]!);
        const fd = new Tensor(
          gPlus.data.map((p, k) => (p - gMinus.data[k]!) / (2 * eps)),
          x.shape as Shape,
        );
        expectClose(hvp(scalar, x, v), fd, { rtol: 1e-5, atol: 1e-5 });
      }),
      RUNS,
    );
  });
});
