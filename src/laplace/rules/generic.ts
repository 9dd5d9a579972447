/**
 * Any layer, by automatic differentiation.
 *
 * For a layer h(θ, x) with no rule of its own, both things Laplace needs are
 * vector-Jacobian products of its `apply`:
 *
 *   pullback   g ↦ gᵀ ∂h/∂x: one forward pass over the batch and its pullback
 *              applied m times, to the r-th cotangent of every example in turn
 *              (layers act on examples independently);
 *   rows       g ↦ gᵀ ∂h(θ, xₙ)/∂θ for every row (n, r) separately, which is
 *              the vjp with respect to θ vmapped over the rows.
 *
 * Each parameter tensor becomes a direct slot holding its rows. This is exact
 * for every layer and costs one backward pass per row, so it suits small
 * layers; a layer with much weight sharing (a convolution) earns its own rule.
 */
import { reshape, take } from '../../autodiff/ops.js';
import { vjp, vmap } from '../../autodiff/transforms.js';
import type { Layer } from '../../nn/module.js';
import { sizeOf, Tensor } from '../../tensor.js';
import type { LayerRule } from './rule.js';

/** Each example of x [n, ...] repeated m times in a row, [n·m, ...]. */
function repeatExamples(x: Tensor, m: number): Tensor {
  if (m === 1) return x;
  const n = x.shape[0]!;
  return take(
    x,
    Int32Array.from({ length: n * m }, (_, i) => Math.floor(i / m)),
    0,
  );
}

/** Rows per vmapped chunk, so that a chunk of rows stays near 4M numbers. */
const ROW_BUDGET = 4_000_000;

export const genericRule: LayerRule<Layer> = {
  name: 'generic',
  blocks(layer) {
    return layer.parameters().map((t, slot) => ({
      slot,
      structure: 'direct' as const,
      part: t.ndim >= 2 ? ('weight' as const) : ('bias' as const),
      rows: t.shape[0] ?? 1,
      cols: t.ndim === 0 ? 1 : sizeOf(t.shape) / t.shape[0]!,
    }));
  },
  forward: (layer, params, x) => layer.apply(params, x),
  pullback(layer, params, x, cotangent, m) {
    const [, back] = vjp((input: Tensor) => layer.apply(params, input), x);
    if (m === 1) return back(cotangent)[0];
    const n = x.shape[0]!;
    const outSize = cotangent.size / (n * m);
    const inSize = x.size / n;
    const result = new Float64Array(n * m * inSize);
    const slice = new Float64Array(n * outSize);
    for (let r = 0; r < m; r++) {
      for (let e = 0; e < n; e++) {
        slice.set(cotangent.data.subarray((e * m + r) * outSize, (e * m + r + 1) * outSize), e * outSize);
      }
      const pulled = back(new Tensor(slice, [n, ...cotangent.shape.slice(1)]))[0].data;
      for (let e = 0; e < n; e++) {
        result.set(pulled.subarray(e * inSize, (e + 1) * inSize), (e * m + r) * inSize);
      }
    }
    return new Tensor(result, [n * m, ...x.shape.slice(1)]);
  },
  slots(layer, params, x, cotangent, m) {
    const rows = cotangent.shape[0]!;
    const sizes = params.map((p) => p.size);
    const total = sizes.reduce((s, v) => s + v, 0);
    const out = sizes.map((size) => new Float64Array(rows * size));
    const repeated = repeatExamples(x, m);
    const perRow = vmap((xi: Tensor, gi: Tensor) => {
      const [, back] = vjp(
        (ps: Tensor[]) => layer.apply(ps, reshape(xi, [1, ...xi.shape])),
        params as Tensor[],
      );
      return back(reshape(gi, [1, ...gi.shape]))[0];
    });
    const chunk = Math.max(1, Math.floor(ROW_BUDGET / Math.max(1, total)));
    for (let start = 0; start < rows; start += chunk) {
      const end = Math.min(rows, start + chunk);
      const index = Int32Array.from({ length: end - start }, (_, i) => start + i);
      const grads = perRow(take(repeated, index, 0), take(cotangent, index, 0)) as unknown as Tensor[];
      grads.forEach((g, t) => {
        out[t]!.set(g.data, start * sizes[t]!);
      });
    }
    return out.map((g, t) => ({ a: null, g, width: sizes[t]! }));
  },
};
