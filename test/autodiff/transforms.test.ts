/**
 * Transformations composed and nested, checked against closed forms and dense
 * textbook formulas: perturbation confusion, higher derivatives, forward-over-
 * reverse and reverse-over-forward, vmap of Jacobians, pytrees and argnums.
 */
import fc from 'fast-check';
import { Matrix } from 'ml-matrix';
import { describe, expect, test } from 'vitest';
import { isEager, Tracer } from '../../src/autodiff/core.js';
import {
  add,
  exp,
  linear,
  logsumexp,
  matmul,
  mul,
  sin,
  softplus,
  square,
  stopGradient,
  sum,
  tanh,
} from '../../src/autodiff/ops.js';
import { ravelPytree, treeFlatten, treeMap, treeUnflatten } from '../../src/autodiff/pytree.js';
import {
  grad,
  hessian,
  hvp,
  jacfwd,
  jacrev,
  jvp,
  linearize,
  valueAndGrad,
  vjp,
  vmap,
} from '../../src/autodiff/transforms.js';
import { randn, type Tensor, tensor } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';

const scalar = fc.double({ min: -3, max: 3, noNaN: true });
const seed = fc.integer({ min: 0, max: 1e6 });
const RUNS = { numRuns: 15 };

describe('nesting without perturbation confusion', () => {
  test('d/dx [x · d/dy (x + y)] = 1 for any x and y', () => {
    fc.assert(
      fc.property(scalar, scalar, (x0, y0) => {
        const f = (x: Tensor) => mul(x, grad((y: Tensor) => add(x, y))(tensor(y0)));
        expect(grad(f)(tensor(x0)).item()).toBe(1);
      }),
      RUNS,
    );
  });

  test('d/dx [x · d/dy (x · y)] = 2x (Siskind and Pearlmutter)', () => {
    fc.assert(
      fc.property(scalar, scalar, (x0, y0) => {
        const f = (x: Tensor) => mul(x, grad((y: Tensor) => mul(x, y))(tensor(y0)));
        expect(grad(f)(tensor(x0)).item()).toBeCloseTo(2 * x0, 12);
      }),
      RUNS,
    );
  });

  test('the same with the inner derivative in forward mode', () => {
    fc.assert(
      fc.property(scalar, scalar, (x0, y0) => {
        const f = (x: Tensor) => mul(x, jvp((y: Tensor) => mul(x, y), [tensor(y0)], [tensor(1)])[1]);
        expect(jvp(f, [tensor(x0)], [tensor(1)])[1].item()).toBeCloseTo(2 * x0, 12);
        expect(grad(f)(tensor(x0)).item()).toBeCloseTo(2 * x0, 12);
      }),
      RUNS,
    );
  });
});

describe('higher derivatives against closed forms', () => {
  // f(x) = x³ sin x: f′ = 3x² sin x + x³ cos x, f″ = 6x sin x + 6x² cos x − x³ sin x.
  const f = (x: Tensor) => mul(mul(square(x), x), sin(x));
  const d1 = (x: number) => 3 * x * x * Math.sin(x) + x ** 3 * Math.cos(x);
  const d2 = (x: number) => 6 * x * Math.sin(x) + 6 * x * x * Math.cos(x) - x ** 3 * Math.sin(x);
  const d3 = (x: number) =>
    6 * Math.sin(x) + 18 * x * Math.cos(x) - 9 * x * x * Math.sin(x) - x ** 3 * Math.cos(x);

  test('grad, grad∘grad, grad∘grad∘grad', () => {
    fc.assert(
      fc.property(scalar, (x0) => {
        const x = tensor(x0);
        expect(grad(f)(x).item()).toBeCloseTo(d1(x0), 11);
        expect(grad(grad(f))(x).item()).toBeCloseTo(d2(x0), 10);
        expect(grad(grad(grad(f)))(x).item()).toBeCloseTo(d3(x0), 9);
      }),
      RUNS,
    );
  });

  test('every mix of forward and reverse gives the same second derivative', () => {
    fc.assert(
      fc.property(scalar, (x0) => {
        const x = tensor(x0);
        const fwd = (g: (x: Tensor) => Tensor) => (v: Tensor) => jvp(g, [v], [tensor(1)])[1];
        expect(fwd(fwd(f))(x).item()).toBeCloseTo(d2(x0), 10);
        expect(fwd(grad(f))(x).item()).toBeCloseTo(d2(x0), 10);
        expect(grad(fwd(f))(x).item()).toBeCloseTo(d2(x0), 10);
        expect(vjp(fwd(f), x)[1](tensor(1))[0].item()).toBeCloseTo(d2(x0), 10);
      }),
      RUNS,
    );
  });

  test('hessian of Σ softplus(A x) is Aᵀ diag(σ(Ax)(1 − σ(Ax))) A (ml-matrix)', () => {
    fc.assert(
      fc.property(seed, fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }), (s, m, n) => {
        const A = randn([m, n], s);
        const x = randn([n], s + 1);
        const h = hessian((v: Tensor) => sum(softplus(matmul(A, v))))(x);
        const z = matmul(A, x).data;
        const w = Array.from(z, (zi) => {
          const p = 1 / (1 + Math.exp(-zi));
          return p * (1 - p);
        });
        const Am = new Matrix(A.toArray() as number[][]);
        const expected = Am.transpose().mmul(Matrix.diag(w)).mmul(Am);
        expectClose(h.data, Float64Array.from(expected.to1DArray()), { rtol: 1e-10, atol: 1e-12 });
        // Hessian-vector products by forward-over-reverse agree with H·v.
        const v = randn([n], s + 2);
        expectClose(
          hvp((u: Tensor) => sum(softplus(matmul(A, u))), x, v).data,
          expected.mmul(Matrix.columnVector(Array.from(v.data))).getColumn(0),
          {
            rtol: 1e-10,
            atol: 1e-12,
          },
        );
      }),
      RUNS,
    );
  });
});

describe('Jacobians', () => {
  test('jacfwd and jacrev of x ↦ tanh(W x + b) equal diag(1 − y²) W', () => {
    const W = randn([3, 4], 1);
    const b = randn([3], 2);
    const x = randn([4], 3);
    const f = (v: Tensor) => tanh(add(matmul(W, v), b));
    const y = f(x).data;
    const expected = new Float64Array(12);
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 4; j++) expected[i * 4 + j] = (1 - y[i]! ** 2) * W.data[i * 4 + j]!;
    const jf = jacfwd(f)(x);
    const jr = jacrev(f)(x);
    expect(jf.shape).toEqual([3, 4]);
    expectClose(jf.data, expected);
    expectClose(jr.data, expected);
  });

  test('Jacobians of pytree functions are output trees of input trees, leaves [...out, ...in]', () => {
    const params = { w: randn([2, 3], 1), b: randn([2], 2) };
    const x = randn([3], 3);
    const f = (p: typeof params) => ({ y: add(matmul(p.w, x), p.b), s: sum(p.w) });
    const jr = jacrev(f)(params);
    const jf = jacfwd(f)(params);
    expect(jr.y.w.shape).toEqual([2, 2, 3]);
    expect(jr.y.b.shape).toEqual([2, 2]);
    expect(jr.s.w.shape).toEqual([2, 3]);
    expect(jr.s.b.shape).toEqual([2]);
    // ∂y_i/∂w_jk = δ_ij x_k, ∂y/∂b = I, ∂s/∂w = 1, ∂s/∂b = 0.
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 2; j++)
        for (let k = 0; k < 3; k++) expect(jr.y.w.data[(i * 2 + j) * 3 + k]).toBe(i === j ? x.data[k] : 0);
    expectClose(jr.y.b.data, [1, 0, 0, 1]);
    expectClose(jr.s.w.data, [1, 1, 1, 1, 1, 1]);
    expectClose(jr.s.b.data, [0, 0]);
    for (const [a, b] of [
      [jr.y.w, jf.y.w],
      [jr.y.b, jf.y.b],
      [jr.s.w, jf.s.w],
      [jr.s.b, jf.s.b],
    ] as const)
      expectClose(a, b);
  });

  test('vmap(jacrev(f)) gives per-example Jacobians equal to a loop', () => {
    fc.assert(
      fc.property(seed, fc.integer({ min: 1, max: 4 }), (s, batch) => {
        const params = [
          { weight: randn([5, 3], s), bias: randn([5], s + 1) },
          { weight: randn([2, 5], s + 2), bias: randn([2], s + 3) },
        ];
        const net = (p: typeof params, x: Tensor) =>
          linear(tanh(linear(x, p[0]!.weight, p[0]!.bias)), p[1]!.weight, p[1]!.bias);
        const X = randn([batch, 3], s + 4);
        const perExample = vmap((x: Tensor) => jacrev((p: typeof params) => net(p, x))(params))(X);
        for (let e = 0; e < batch; e++) {
          const xe = tensor(X.data.slice(3 * e, 3 * e + 3));
          const single = jacrev((p: typeof params) => net(p, xe))(params);
          const [leaves] = treeFlatten(single);
          const [stacked] = treeFlatten(perExample);
          leaves.forEach((leaf, i) => {
            const l = leaf as Tensor;
            const st = stacked[i] as Tensor;
            expect(st.shape).toEqual([batch, ...l.shape]);
            expectClose(st.data.subarray(e * l.size, (e + 1) * l.size), l.data, { rtol: 1e-12, atol: 1e-14 });
          });
        }
      }),
      { numRuns: 8 },
    );
  });

  test('jacfwd(jacrev(f)) of a function of a matrix is shaped [...in, ...in] and symmetric', () => {
    const X = randn([2, 3], 7);
    const h = hessian((m: Tensor) => sum(exp(mul(sin(m), 0.5))))(X);
    expect(h.shape).toEqual([2, 3, 2, 3]);
    for (let i = 0; i < 6; i++)
      for (let j = 0; j < 6; j++) expect(h.data[i * 6 + j]).toBeCloseTo(h.data[j * 6 + i]!, 14);
  });
});

describe('argnums and pytrees through Jacobians and Hessians', () => {
  test('jacrev / jacfwd with argnums arrays give a tuple per output; hvp on a pytree equals H·v', () => {
    const a = randn([3], 1);
    const b = randn([2], 2);
    const f = (x: Tensor, y: Tensor) => mul(sum(sin(x)), y);
    const [jx, jy] = jacrev(f, [0, 1])(a, b);
    const [fx, fy] = jacfwd(f, [0, 1])(a, b);
    expect(jx.shape).toEqual([2, 3]);
    expect(jy.shape).toEqual([2, 2]);
    expectClose(jx, fx);
    expectClose(jy, fy);
    // ∂(Σ sin x · yᵢ)/∂xⱼ = yᵢ cos xⱼ, ∂/∂yₖ = δᵢₖ Σ sin x
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 3; j++)
        expect(jx.data[i * 3 + j]).toBeCloseTo(b.data[i]! * Math.cos(a.data[j]!), 14);
    const s = a.data.reduce((acc, v) => acc + Math.sin(v), 0);
    expectClose(jy.data, [s, 0, 0, s]);
    // g(p) = Σ w² · Σ exp(c): H·v by forward-over-reverse vs the closed form.
    const p = { w: randn([2], 3), c: randn([2], 4) };
    const v = { w: randn([2], 5), c: randn([2], 6) };
    const g = (q: typeof p) => mul(sum(square(q.w)), sum(exp(q.c)));
    const hv = hvp(g, p, v);
    const W = p.w.data.reduce((acc, x) => acc + x * x, 0);
    const E = p.c.data.reduce((acc, x) => acc + Math.exp(x), 0);
    const wv = p.w.data.reduce((acc, x, i) => acc + x * v.w.data[i]!, 0);
    const ev = p.c.data.reduce((acc, x, i) => acc + Math.exp(x) * v.c.data[i]!, 0);
    // ∇_w = 2w E, ∇_c = W eᶜ  ⇒  H·v: w-part 2v_w E + 2w ev, c-part 2 wv eᶜ + W eᶜ ⊙ v_c
    expectClose(
      hv.w.data,
      Array.from(p.w.data, (x, i) => 2 * v.w.data[i]! * E + 2 * x * ev),
      { rtol: 1e-12 },
    );
    expectClose(
      hv.c.data,
      Array.from(p.c.data, (x, i) => 2 * wv * Math.exp(x) + W * Math.exp(x) * v.c.data[i]!),
      { rtol: 1e-12 },
    );
  });
});

describe('vmap', () => {
  const f = (x: Tensor, y: Tensor) => sum(mul(sin(x), y));

  test('in and out axes anywhere, unmapped arguments, nested vmap', () => {
    fc.assert(
      fc.property(
        seed,
        fc.integer({ min: 0, max: 2 }),
        fc.integer({ min: -2, max: 1 }),
        (s, inAxis, outAxis) => {
          const X = randn([2, 3, 4].map((d, i) => (i === inAxis ? 5 : d)).slice(0, 3), s);
          const y = randn(inAxis === 0 ? [3, 4] : inAxis === 1 ? [2, 4] : [2, 3], s + 1);
          const g = (x: Tensor) => mul(sin(x), y);
          const out = vmap(g, [inAxis], outAxis)(X);
          // Loop: slice example e along inAxis, apply g, compare with the out axis slice.
          for (let e = 0; e < 5; e++) {
            const xe = take(X, inAxis, e);
            const expected = g(xe);
            const ax = outAxis < 0 ? outAxis + expected.ndim + 1 : outAxis;
            expectClose(take(out, ax, e), expected);
          }
        },
      ),
      RUNS,
    );
  });

  test('vmap of vmap is a double loop; vmap over the second argument only', () => {
    const X = randn([3, 4, 2], 1);
    const Y = randn([4, 2], 2);
    const nested = vmap(vmap(f, [0, 0]), [0, null])(X, Y);
    expect(nested.shape).toEqual([3, 4]);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 4; j++) {
        const xij = tensor(X.data.slice((i * 4 + j) * 2, (i * 4 + j) * 2 + 2));
        const yj = tensor(Y.data.slice(j * 2, j * 2 + 2));
        expect(nested.data[i * 4 + j]).toBeCloseTo(f(xij, yj).item(), 14);
      }
    }
    const overY = vmap(f, [null, 0])(tensor([1, 2]), Y);
    expect(overY.shape).toEqual([4]);
  });

  test('an output that ignores the mapped input is broadcast along the batch, or kept with outAxes null', () => {
    const out = vmap((_x: Tensor) => tensor([1, 2]))(randn([3, 5], 1));
    expect(out.shape).toEqual([3, 2]);
    expectClose(out.data, [1, 2, 1, 2, 1, 2]);
    const [stacked, shared] = vmap((x: Tensor): [Tensor, Tensor] => [sum(x), tensor([1, 2])], 0, [0, null])(
      randn([3, 5], 1),
    );
    expect(stacked.shape).toEqual([3]);
    expect(shared.shape).toEqual([2]);
    expect(() => vmap((x: Tensor) => sum(x), 0, null)(randn([3, 5], 1))).toThrow(
      /outAxes is null for output leaf 0/,
    );
  });
});

/** Slice index e of axis `axis`, as a plain loop (independent of the library's slicing). */
function take(x: Tensor, axis: number, e: number): Tensor {
  const shape = x.shape.filter((_, i) => i !== axis);
  const inner = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = x.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const n = x.shape[axis]!;
  const out = new Float64Array(outer * inner);
  for (let o = 0; o < outer; o++)
    out.set(x.data.subarray((o * n + e) * inner, (o * n + e + 1) * inner), o * inner);
  return tensor(out, shape);
}

describe('pytrees and argnums', () => {
  test('grad over an object of parameters, numbers as leaves, argnums arrays', () => {
    const p = { w: tensor([1, 2]), b: 3 };
    const x = tensor([0.5, -1]);
    const loss = (q: { w: Tensor; b: number | Tensor }, v: Tensor) => square(add(sum(mul(q.w, v)), q.b));
    const g = grad(loss)(p, x);
    const r = 0.5 - 2 + 3;
    expectClose(g.w.data, [2 * r * 0.5, 2 * r * -1]);
    expect(g.b.item()).toBeCloseTo(2 * r, 14);
    const [gp, gx] = grad(loss, [0, 1])(p, x);
    expectClose(gp.w, g.w);
    expectClose(gx.data, [2 * r * 1, 2 * r * 2]);
    const [value, g2] = valueAndGrad(loss, 1)(p, x);
    expect(value.item()).toBeCloseTo(r * r, 14);
    expectClose(g2, gx);
  });

  test('null leaves are kept; inputs that do not reach the output get zeros', () => {
    const p = [
      { weight: tensor([2]), bias: null },
      { weight: tensor([3]), bias: tensor([1]) },
    ];
    const g = grad((q: typeof p) => sum(mul(q[0]!.weight, 4)))(p);
    expect(g[0]!.bias).toBeNull();
    expectClose(g[0]!.weight.data, [4]);
    expectClose(g[1]!.weight.data, [0]);
    expectClose(g[1]!.bias!.data, [0]);
  });

  test('stopGradient blocks derivatives; linearize replays jvp without re-running f', () => {
    expect(grad((x: Tensor) => mul(x, stopGradient(x)))(tensor(3)).item()).toBe(3);
    let calls = 0;
    const f = (x: Tensor) => {
      calls++;
      return exp(mul(x, x));
    };
    const [y, tangentMap] = linearize(f, tensor([0.5, 1]));
    expect(calls).toBe(1);
    const t = tangentMap(tensor([1, 2]));
    expect(calls).toBe(1);
    expectClose(t, jvp(f, [tensor([0.5, 1])], [tensor([1, 2])])[1]);
    expectClose(y.data, [Math.exp(0.25), Math.E]);
  });

  test('treeFlatten / treeUnflatten / treeMap / ravelPytree round trips; ravel is differentiable', () => {
    const tree = { a: [tensor([1, 2]), tensor([[3], [4]])], b: { c: tensor(5) }, d: null };
    const [leaves, def] = treeFlatten(tree);
    expect(leaves.length).toBe(3);
    expect(treeUnflatten(def, leaves)).toEqual(tree);
    const doubled = treeMap((l: Tensor) => mul(l, 2), tree as never) as typeof tree;
    expectClose(doubled.a[1]!.data, [6, 8]);
    const [flat, unravel] = ravelPytree(tree);
    expectClose(flat.data, [1, 2, 3, 4, 5]);
    const back = unravel(flat) as typeof tree;
    expect(back.a[1]!.shape).toEqual([2, 1]);
    const g = grad((t: typeof tree) => sum(square(ravelPytree(t)[0])))(tree);
    expectClose(g.a[1]!.data, [6, 8]);
  });
});

describe('the eager path', () => {
  test('ops outside transformations return plain tensors, no tracers', () => {
    expect(isEager()).toBe(true);
    const y = tanh(add(randn([3], 1), 1));
    expect(y).not.toBeInstanceOf(Tracer);
    expect(y.data.length).toBe(3);
    grad((x: Tensor) => {
      expect(isEager()).toBe(false);
      return sum(x);
    })(tensor([1]));
    expect(isEager()).toBe(true);
  });

  test('numerically stable composites keep gradients finite at extreme inputs', () => {
    const x = tensor([-800, -30, 0, 30, 800]);
    const g = grad((v: Tensor) => add(sum(softplus(v)), logsumexp(v)))(x);
    for (const v of g.data) expect(Number.isFinite(v)).toBe(true);
    // d/dx softplus = σ(x); d/dx logsumexp = softmax(x), all mass on the largest entry.
    expectClose(g.data, [0, 1 / (1 + Math.exp(30)), 0.5, 1 / (1 + Math.exp(-30)), 2]);
  });
});
