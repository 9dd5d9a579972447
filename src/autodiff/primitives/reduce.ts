/**
 * Reductions over axes: sum and max.
 *
 * sum is linear; its transpose copies the output cotangent back along the
 * summed axes: x̄ = broadcast(ȳ). max selects: its derivative is the indicator
 * of the positions attaining the maximum, shared equally among ties (as JAX), so
 * ẏ = Σ w·ẋ and x̄ = w·broadcast(ȳ) with w = [x = max] / #ties.
 *
 * Parameters are canonical: `axes` sorted, non-negative, distinct (the public
 * wrappers resolve negative and missing axes). Under vmap the batch axis is 0,
 * so every reduced axis shifts by one.
 */

import { reduceInto } from '../../kernels/strided.js';
import { type Shape, sizeOf, Tensor } from '../../tensor.js';
import { bind, type Primitive } from '../core.js';
import { broadcastTo, div, equal, mul, reshape, sum } from '../ops.js';

export interface ReduceParams {
  readonly axes: readonly number[];
  readonly keepdims: boolean;
}

/** The output shape with `axes` removed (or set to 1 with keepdims). */
function reducedShape(shape: Shape, axes: readonly number[], keepdims: boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    if (!axes.includes(i)) out.push(shape[i]!);
    else if (keepdims) out.push(1);
  }
  return out;
}

/** The cotangent or output reshaped to keepdims form, so it broadcasts against the input. */
function keepDims(y: Tensor, inputShape: Shape, params: ReduceParams): Tensor {
  return params.keepdims ? y : reshape(y, reducedShape(inputShape, params.axes, true));
}

function reduction(
  name: 'sum' | 'max',
  rules: Pick<Primitive<ReduceParams>, 'jvp' | 'vjp'>,
): Primitive<ReduceParams> {
  const prim: Primitive<ReduceParams> = {
    name,
    shape: ([x], { axes, keepdims }) => reducedShape(x!, axes, keepdims),
    impl([x], { axes }, shape) {
      const out = new Float64Array(sizeOf(shape));
      if (name === 'max') out.fill(Number.NEGATIVE_INFINITY);
      reduceInto(
        name,
        x!.data,
        x!.shape,
        x!.shape.map((_, i) => axes.includes(i)),
        out,
      );
      return new Tensor(out, shape);
    },
    ...rules,
    batch: ([x], _batched, _size, { axes, keepdims }) =>
      bind(prim, [x!], { axes: axes.map((a) => a + 1), keepdims }),
  };
  return prim;
}

export const sumP: Primitive<ReduceParams> = reduction('sum', {
  jvp: (_p, [dx], _y, params) => sum(dx!, params.axes, params.keepdims),
  vjp: (ct, [x], _y, params) => [broadcastTo(keepDims(ct, x!.shape, params), x!.shape)],
});

/** Weights w = [x = max]/#ties along the reduced axes. */
function maxWeights(x: Tensor, y: Tensor, params: ReduceParams): Tensor {
  const hits = equal(x, keepDims(y, x.shape, params));
  return div(hits, sum(hits, params.axes, true));
}

export const maxP: Primitive<ReduceParams> = reduction('max', {
  jvp: ([x], [dx], y, params) => sum(mul(dx!, maxWeights(x!, y, params)), params.axes, params.keepdims),
  vjp: (ct, [x], y, params) => [mul(keepDims(ct, x!.shape, params), maxWeights(x!, y, params))],
});

export const reducePrimitives: readonly Primitive[] = [sumP, maxP];
