/**
 * How elementwise primitives are built (the primitives themselves are in math.ts).
 *
 * An elementwise operation is one object: `unary` or `binary` turns its
 * definition (kernel and rules) into the public op, a function of TensorLike
 * arguments that carries its primitive as `.primitive`. Nothing else lists it:
 * ops re-exports math.ts, and the list of primitives is read off its exports.
 *
 * A unary elementwise map y = f(x) has a diagonal Jacobian, diag f′(x), which is
 * its own transpose: the tangent rule ẏ = f′(x)·ẋ and the cotangent rule
 * x̄ = f′(x)·ȳ use the same derivative, so a unary primitive gives only its
 * kernel and f′ (written with ops, in terms of x and the output y).
 *
 * Binary maps z = f(x, y) broadcast like NumPy. Their rules are written as if
 * shapes matched: the machinery broadcasts tangents up to the output's shape
 * and sums cotangents back down to each input's shape (see `sumTo`).
 *
 * Under vmap the batch axis leads; an elementwise op applies to the stacked
 * values unchanged once a batched argument of lower rank has 1s inserted after
 * its batch axis, so that NumPy's right-aligned broadcasting lines it up.
 */

import { type BinaryKernel, broadcastBinary } from '../../kernels/strided.js';
import { asTensor, broadcastShapes, sizeOf, Tensor, type TensorLike } from '../../tensor.js';
import { bind, type Primitive } from '../core.js';
import { add, mul, reshape } from '../ops.js';

/** Elementwise primitives take no parameters. */
export type NoParams = Record<string, never>;
export const NO_PARAMS: NoParams = Object.freeze({}) as NoParams;

/** Add two possibly-zero (null) tangents. */
export function addTangents(a: Tensor | null, b: Tensor | null): Tensor | null {
  if (a === null) return b;
  if (b === null) return a;
  return add(a, b);
}

// ---------------------------------------------------------------------------
// Batching shared by all elementwise primitives

/** Rank of the output an elementwise op would give on the unbatched arguments. */
export function unbatchedRank(args: readonly Tensor[], batched: readonly boolean[]): number {
  let rank = 0;
  for (let i = 0; i < args.length; i++) rank = Math.max(rank, args[i]!.ndim - (batched[i] ? 1 : 0));
  return rank;
}

/** Insert 1s after the batch axis of a batched value until it has 1 + `rank` axes. */
export function alignBatched(x: Tensor, rank: number): Tensor {
  const missing = rank - (x.ndim - 1);
  if (missing <= 0) return x;
  return reshape(x, [x.shape[0]!, ...new Array<number>(missing).fill(1), ...x.shape.slice(1)]);
}

/** The batch rule of every broadcasting primitive: align the batched arguments, apply once. */
export function batchElementwise<P>(
  prim: Primitive<P>,
  args: readonly Tensor[],
  batched: readonly boolean[],
  params: P,
): Tensor {
  const rank = unbatchedRank(args, batched);
  return bind(
    prim,
    args.map((a, i) => (batched[i] ? alignBatched(a, rank) : a)),
    params,
  );
}

// ---------------------------------------------------------------------------
// Ops that carry their primitive

/** A public op with its primitive attached: what `unary` and `binary` return. */
export type WithPrimitive<F> = F & { readonly primitive: Primitive<NoParams> };
export type UnaryOp = WithPrimitive<(x: TensorLike) => Tensor>;
export type BinaryOp = WithPrimitive<(x: TensorLike, y: TensorLike) => Tensor>;

/** `op`, named after `primitive` (as the arrow functions it replaces were) and carrying it. */
export function withPrimitive<F extends (...args: never[]) => Tensor>(
  primitive: Primitive<NoParams>,
  op: F,
): WithPrimitive<F> {
  Object.defineProperty(op, 'name', { value: primitive.name });
  return Object.assign(op, { primitive });
}

// ---------------------------------------------------------------------------
// Unary

interface UnaryDefinition {
  name: string;
  /** out[i] = f(x[i]) for i < x.length. */
  kernel: (x: Float64Array, out: Float64Array) => void;
  /** f′ in terms of the input x and the output y; omitted for piecewise-constant f. */
  derivative?: (x: Tensor, y: Tensor) => Tensor;
  /** f′(x)·t in one fused op, when that saves passes on a hot path (instead of `derivative`). */
  derivativeTimes?: (x: Tensor, y: Tensor, t: Tensor) => Tensor;
  /** For linear f: the map itself (used for both rules instead of multiplying by f′). */
  linear?: (t: Tensor) => Tensor;
}

/** The op y = f(x) from its kernel and derivative. */
export function unary(def: UnaryDefinition): UnaryOp {
  const { linear } = def;
  const derivative = def.derivative;
  const times =
    def.derivativeTimes ??
    (derivative ? (x: Tensor, y: Tensor, t: Tensor) => mul(t, derivative(x, y)) : undefined);
  const prim: Primitive<NoParams> = {
    name: def.name,
    ...(times === undefined && linear === undefined ? { nondifferentiable: true } : {}),
    shape: ([x]) => x!,
    impl([x], _params, shape) {
      const out = new Float64Array(sizeOf(shape));
      def.kernel(x!.data, out);
      return new Tensor(out, shape);
    },
    jvp([x], [dx], y) {
      if (dx === null || dx === undefined) return null;
      if (linear) return linear(dx);
      return times ? times(x!, y, dx) : null;
    },
    vjp(ct, [x], y) {
      if (linear) return [linear(ct)];
      return [times ? times(x!, y, ct) : null];
    },
    batch: ([x], _batched, _size, params) => bind(prim, [x!], params),
  };
  return withPrimitive(prim, (x: TensorLike) => bind(prim, [asTensor(x)], NO_PARAMS));
}

// ---------------------------------------------------------------------------
// Binary

export interface BinaryDefinition {
  name: string;
  kernel: BinaryKernel;
  jvp?: Primitive<NoParams>['jvp'];
  vjp?: Primitive<NoParams>['vjp'];
}

/** The op z = f(x, y), broadcasting, from its kernel and rules (none for piecewise-constant f). */
export function binary(def: BinaryDefinition): BinaryOp {
  const prim: Primitive<NoParams> = {
    name: def.name,
    ...(def.jvp === undefined ? { nondifferentiable: true } : {}),
    shape: ([a, b]) => broadcastShapes(a!, b!, def.name),
    impl([a, b], _params, shape) {
      const out = new Float64Array(sizeOf(shape));
      broadcastBinary(def.kernel, a!.data, a!.shape, b!.data, b!.shape, shape, out);
      return new Tensor(out, shape);
    },
    jvp: def.jvp ?? (() => null),
    vjp: def.vjp ?? (() => [null, null]),
    batch: (args, batched, _size, params) => batchElementwise(prim, args, batched, params),
  };
  return withPrimitive(prim, (x: TensorLike, y: TensorLike) =>
    bind(prim, [asTensor(x), asTensor(y)], NO_PARAMS),
  );
}

/**
 * t·(1 − y²): a tangent or cotangent t through tanh with output y, in one pass
 * instead of three (it is the backward pass of every tanh layer). Its own
 * partial derivatives, ∂/∂t = 1 − y² and ∂/∂y = −2yt, keep it differentiable.
 * Here rather than in math.ts because it is not public API (users write tanh
 * and differentiate); the list of primitives names it beside math.ts's.
 */
export const tanhBackward = binary({
  name: 'tanhBackward',
  kernel: (n, a, ia, sa, b, ib, sb, out, io) => {
    for (let k = 0; k < n; k++, ia += sa, ib += sb) {
      const y = a[ia]!;
      out[io + k] = b[ib]! * (1 - y * y);
    }
  },
  jvp: ([y, t], [dy, dt]) =>
    addTangents(dt ? tanhBackward(y!, dt) : null, dy ? mul(dy, mul(mul(y!, t!), -2)) : null),
  vjp: (ct, [y, t], _out, _params, [wantY, wantT]) => [
    wantY ? mul(ct, mul(mul(y!, t!), -2)) : null,
    wantT ? tanhBackward(y!, ct) : null,
  ],
});

/**
 * t·[x > 0]: a tangent or cotangent t through relu at input x, in one pass
 * instead of two (it is the backward pass of every relu layer); 0 at the kink,
 * as JAX and PyTorch. The product with the 0/1 mask keeps the bits of
 * mul(t, greater(x, 0)). Linear in t and piecewise constant in x, so its
 * rules are itself in t and zero in x. Not public API, like tanhBackward.
 */
export const reluBackward = binary({
  name: 'reluBackward',
  kernel: (n, a, ia, sa, b, ib, sb, out, io) => {
    for (let k = 0; k < n; k++, ia += sa, ib += sb) out[io + k] = b[ib]! * (a[ia]! > 0 ? 1 : 0);
  },
  jvp: ([x], [, dt]) => (dt ? reluBackward(x!, dt) : null),
  vjp: (ct, [x], _out, _params, [, wantT]) => [null, wantT ? reluBackward(x!, ct) : null],
});
