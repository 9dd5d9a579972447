/**
 * Elementwise primitives.
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
import { broadcastShapes, sizeOf, Tensor } from '../../tensor.js';
import { bind, type Primitive } from '../core.js';
import {
  add,
  cos,
  div,
  equal,
  erf,
  exp,
  greater,
  less,
  log,
  mul,
  neg,
  pow,
  reshape,
  sigmoid,
  sign,
  sin,
  square,
  sub,
  where,
} from '../ops.js';
import { erfcScalar, erfScalar } from '../special.js';

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

function unary(def: UnaryDefinition): Primitive<NoParams> {
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
  return prim;
}

export const negP = unary({
  name: 'neg',
  kernel: (x, out) => {
    for (let i = 0; i < x.length; i++) out[i] = -x[i]!;
  },
  linear: (t) => neg(t),
});

export const expP = unary({
  name: 'exp',
  kernel: (x, out) => {
    for (let i = 0; i < x.length; i++) out[i] = Math.exp(x[i]!);
  },
  derivative: (_x, y) => y, // d eˣ = eˣ dx
});

export const logP = unary({
  name: 'log',
  kernel: (x, out) => {
    for (let i = 0; i < x.length; i++) out[i] = Math.log(x[i]!);
  },
  derivative: (x) => div(1, x), // d log x = dx / x
});

export const log1pP = unary({
  name: 'log1p',
  kernel: (x, out) => {
    for (let i = 0; i < x.length; i++) out[i] = Math.log1p(x[i]!);
  },
  derivative: (x) => div(1, add(x, 1)),
});

export const expm1P = unary({
  name: 'expm1',
  kernel: (x, out) => {
    for (let i = 0; i < x.length; i++) out[i] = Math.expm1(x[i]!);
  },
  derivative: (_x, y) => add(y, 1), // d(eˣ − 1) = eˣ dx
});

export const sqrtP = unary({
  name: 'sqrt',
  kernel: (x, out) => {
    for (let i = 0; i < x.length; i++) out[i] = Math.sqrt(x[i]!);
  },
  derivative: (_x, y) => div(0.5, y), // d √x = dx / (2√x)
});

export const squareP = unary({
  name: 'square',
  kernel: (x, out) => {
    for (let i = 0; i < x.length; i++) out[i] = x[i]! * x[i]!;
  },
  derivative: (x) => mul(x, 2),
});

export const absP = unary({
  name: 'abs',
  kernel: (x, out) => {
    for (let i = 0; i < x.length; i++) out[i] = Math.abs(x[i]!);
  },
  derivative: (x) => sign(x), // 0 at the kink, as JAX and PyTorch
});

export const signP = unary({
  name: 'sign',
  kernel: (x, out) => {
    for (let i = 0; i < x.length; i++) out[i] = Math.sign(x[i]!);
  },
});

export const sinP = unary({
  name: 'sin',
  kernel: (x, out) => {
    for (let i = 0; i < x.length; i++) out[i] = Math.sin(x[i]!);
  },
  derivative: (x) => cos(x),
});

export const cosP = unary({
  name: 'cos',
  kernel: (x, out) => {
    for (let i = 0; i < x.length; i++) out[i] = Math.cos(x[i]!);
  },
  derivative: (x) => neg(sin(x)),
});

export const tanhP = unary({
  name: 'tanh',
  kernel: (x, out) => {
    for (let i = 0; i < x.length; i++) out[i] = Math.tanh(x[i]!);
  },
  derivativeTimes: (_x, y, t) => tanhBackward(y, t), // d tanh x = (1 − tanh² x) dx
});

/** σ(x) = 1/(1 + e⁻ˣ), evaluated without overflow on either side. */
export const sigmoidP = unary({
  name: 'sigmoid',
  kernel: (x, out) => {
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      if (v >= 0) out[i] = 1 / (1 + Math.exp(-v));
      else {
        const e = Math.exp(v);
        out[i] = e / (1 + e);
      }
    }
  },
  derivative: (_x, y) => mul(y, sub(1, y)), // σ′ = σ(1 − σ)
});

export const reluP = unary({
  name: 'relu',
  kernel: (x, out) => {
    for (let i = 0; i < x.length; i++) out[i] = Math.max(x[i]!, 0);
  },
  derivativeTimes: (x, _y, t) => reluBackward(x, t),
});

/** softplus x = log(1 + eˣ) = max(x, 0) + log1p(e^(−|x|)), stable for large |x|. */
export const softplusP = unary({
  name: 'softplus',
  kernel: (x, out) => {
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      out[i] = Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
    }
  },
  derivative: (x) => sigmoid(x),
});

export const erfP = unary({
  name: 'erf',
  kernel: (x, out) => {
    for (let i = 0; i < x.length; i++) out[i] = erfScalar(x[i]!);
  },
  derivative: (x) => mul(exp(neg(square(x))), 2 / Math.sqrt(Math.PI)), // erf′ x = (2/√π) e^(−x²)
});

/**
 * GELU, exact form (PyTorch's default): x·Φ(x) with Φ the standard normal CDF,
 * Φ(x) = ½ erfc(−x/√2) (erfc keeps the left tail accurate).
 * gelu′ x = Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π).
 */
export const geluP = unary({
  name: 'gelu',
  kernel: (x, out) => {
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      out[i] = 0.5 * v * erfcScalar(-v * Math.SQRT1_2);
    }
  },
  derivative: (x) => {
    const cdf = mul(add(erf(mul(x, Math.SQRT1_2)), 1), 0.5);
    const pdf = mul(exp(mul(square(x), -0.5)), 1 / Math.sqrt(2 * Math.PI));
    return add(cdf, mul(x, pdf));
  },
});

/** Identity forward; a symbolic zero backward: stops derivatives flowing through. */
export const stopGradientP: Primitive<NoParams> = {
  name: 'stopGradient',
  nondifferentiable: true,
  shape: ([x]) => x!,
  impl: ([x]) => x!,
  jvp: () => null,
  vjp: () => [null],
  batch: ([x]) => bind(stopGradientP, [x!], NO_PARAMS),
};

// ---------------------------------------------------------------------------
// Binary

interface BinaryDefinition {
  name: string;
  kernel: BinaryKernel;
  jvp?: Primitive<NoParams>['jvp'];
  vjp?: Primitive<NoParams>['vjp'];
}

function binary(def: BinaryDefinition): Primitive<NoParams> {
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
  return prim;
}

export const addP = binary({
  name: 'add',
  kernel: (n, a, ia, sa, b, ib, sb, out, io) => {
    for (let k = 0; k < n; k++, ia += sa, ib += sb) out[io + k] = a[ia]! + b[ib]!;
  },
  jvp: (_p, [dx, dy]) => addTangents(dx!, dy!),
  vjp: (ct) => [ct, ct],
});

export const subP = binary({
  name: 'sub',
  kernel: (n, a, ia, sa, b, ib, sb, out, io) => {
    for (let k = 0; k < n; k++, ia += sa, ib += sb) out[io + k] = a[ia]! - b[ib]!;
  },
  jvp: (_p, [dx, dy]) => (dy ? (dx ? sub(dx, dy) : neg(dy)) : dx!),
  vjp: (ct, _p, _out, _params, [, wantY]) => [ct, wantY ? neg(ct) : null],
});

export const mulP = binary({
  name: 'mul',
  kernel: (n, a, ia, sa, b, ib, sb, out, io) => {
    for (let k = 0; k < n; k++, ia += sa, ib += sb) out[io + k] = a[ia]! * b[ib]!;
  },
  jvp: ([x, y], [dx, dy]) => addTangents(dx ? mul(dx, y!) : null, dy ? mul(x!, dy) : null),
  vjp: (ct, [x, y], _out, _params, [wantX, wantY]) => [
    wantX ? mul(ct, y!) : null,
    wantY ? mul(ct, x!) : null,
  ],
});

export const divP = binary({
  name: 'div',
  kernel: (n, a, ia, sa, b, ib, sb, out, io) => {
    for (let k = 0; k < n; k++, ia += sa, ib += sb) out[io + k] = a[ia]! / b[ib]!;
  },
  // d(x/y) = dx/y − (x/y)·dy/y
  jvp: ([, y], [dx, dy], z) => {
    const fromY = dy ? neg(div(mul(z, dy), y!)) : null;
    return addTangents(dx ? div(dx, y!) : null, fromY);
  },
  vjp: (ct, [, y], z, _params, [wantX, wantY]) => [
    wantX ? div(ct, y!) : null,
    wantY ? neg(div(mul(ct, z), y!)) : null,
  ],
});

/**
 * xʸ; ∂/∂x = y·xʸ⁻¹ and ∂/∂y = log(x)·xʸ (only formed when y carries a derivative).
 * At x = 0, log(x)·xʸ is (−∞)·0; as JAX, log is taken of 1 there, so ∂/∂y is 0
 * (the limit of log(x)·xʸ as x → 0⁺ for y > 0).
 */
export const powP = binary({
  name: 'pow',
  kernel: (n, a, ia, sa, b, ib, sb, out, io) => {
    for (let k = 0; k < n; k++, ia += sa, ib += sb) out[io + k] = a[ia]! ** b[ib]!;
  },
  jvp: ([x, y], [dx, dy], z) =>
    addTangents(
      dx ? mul(dx, mul(y!, pow(x!, sub(y!, 1)))) : null,
      dy ? mul(dy, mul(logReplacingZero(x!), z)) : null,
    ),
  vjp: (ct, [x, y], z, _params, [wantX, wantY]) => [
    wantX ? mul(ct, mul(y!, pow(x!, sub(y!, 1)))) : null,
    wantY ? mul(ct, mul(logReplacingZero(x!), z)) : null,
  ],
});

/** log(x) with log(1) = 0 where x = 0 (JAX's `_replace_zero` in pow's derivative in y). */
function logReplacingZero(x: Tensor): Tensor {
  return log(where(equal(x, 0), 1, x));
}

/**
 * The rules of max/min: the derivative follows the chosen argument, with
 * weight w = 1, 0, or ½ at ties (as JAX) on the first, where `wins(x, y)` is 1
 * where x is chosen outright: ż = w·ẋ + (1 − w)·ẏ.
 */
function chooserRules(wins: (x: Tensor, y: Tensor) => Tensor): Pick<BinaryDefinition, 'jvp' | 'vjp'> {
  const weight = (x: Tensor, y: Tensor) => add(wins(x, y), mul(equal(x, y), 0.5));
  return {
    jvp: ([x, y], [dx, dy]) => {
      const w = weight(x!, y!);
      return addTangents(dx ? mul(dx, w) : null, dy ? mul(dy, sub(1, w)) : null);
    },
    vjp: (ct, [x, y], _out, _params, [wantX, wantY]) => {
      const w = weight(x!, y!);
      return [wantX ? mul(ct, w) : null, wantY ? mul(ct, sub(1, w)) : null];
    },
  };
}

/**
 * t·(1 − y²): a tangent or cotangent t through tanh with output y, in one pass
 * instead of three (it is the backward pass of every tanh layer). Its own
 * partial derivatives, ∂/∂t = 1 − y² and ∂/∂y = −2yt, keep it differentiable.
 */
export const tanhBackwardP = binary({
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

/** t·(1 − y²) as one primitive: tanh's rules call it; not public API (users write tanh and differentiate). */
function tanhBackward(y: Tensor, t: Tensor): Tensor {
  return bind(tanhBackwardP, [y, t], NO_PARAMS);
}

/**
 * t·[x > 0]: a tangent or cotangent t through relu at input x, in one pass
 * instead of two (it is the backward pass of every relu layer); 0 at the kink,
 * as JAX and PyTorch. The product with the 0/1 mask keeps the bits of
 * mul(t, greater(x, 0)). Linear in t and piecewise constant in x, so its
 * rules are itself in t and zero in x.
 */
export const reluBackwardP = binary({
  name: 'reluBackward',
  kernel: (n, a, ia, sa, b, ib, sb, out, io) => {
    for (let k = 0; k < n; k++, ia += sa, ib += sb) out[io + k] = b[ib]! * (a[ia]! > 0 ? 1 : 0);
  },
  jvp: ([x], [, dt]) => (dt ? reluBackward(x!, dt) : null),
  vjp: (ct, [x], _out, _params, [, wantT]) => [null, wantT ? reluBackward(x!, ct) : null],
});

/** t·[x > 0] as one primitive: relu's rules call it; not public API. */
function reluBackward(x: Tensor, t: Tensor): Tensor {
  return bind(reluBackwardP, [x, t], NO_PARAMS);
}

export const maximumP = binary({
  name: 'maximum',
  kernel: (n, a, ia, sa, b, ib, sb, out, io) => {
    for (let k = 0; k < n; k++, ia += sa, ib += sb) {
      const u = a[ia]!;
      const v = b[ib]!;
      out[io + k] = u > v || Number.isNaN(u) ? u : v;
    }
  },
  ...chooserRules((x, y) => greater(x, y)), // an arrow: ops is still loading when this module runs
});

export const minimumP = binary({
  name: 'minimum',
  kernel: (n, a, ia, sa, b, ib, sb, out, io) => {
    for (let k = 0; k < n; k++, ia += sa, ib += sb) {
      const u = a[ia]!;
      const v = b[ib]!;
      out[io + k] = u < v || Number.isNaN(u) ? u : v;
    }
  },
  ...chooserRules((x, y) => less(x, y)),
});

export const greaterP = binary({
  name: 'greater',
  kernel: (n, a, ia, sa, b, ib, sb, out, io) => {
    for (let k = 0; k < n; k++, ia += sa, ib += sb) out[io + k] = a[ia]! > b[ib]! ? 1 : 0;
  },
});

export const lessP = binary({
  name: 'less',
  kernel: (n, a, ia, sa, b, ib, sb, out, io) => {
    for (let k = 0; k < n; k++, ia += sa, ib += sb) out[io + k] = a[ia]! < b[ib]! ? 1 : 0;
  },
});

export const greaterEqualP = binary({
  name: 'greaterEqual',
  kernel: (n, a, ia, sa, b, ib, sb, out, io) => {
    for (let k = 0; k < n; k++, ia += sa, ib += sb) out[io + k] = a[ia]! >= b[ib]! ? 1 : 0;
  },
});

export const lessEqualP = binary({
  name: 'lessEqual',
  kernel: (n, a, ia, sa, b, ib, sb, out, io) => {
    for (let k = 0; k < n; k++, ia += sa, ib += sb) out[io + k] = a[ia]! <= b[ib]! ? 1 : 0;
  },
});

export const equalP = binary({
  name: 'equal',
  kernel: (n, a, ia, sa, b, ib, sb, out, io) => {
    for (let k = 0; k < n; k++, ia += sa, ib += sb) out[io + k] = a[ia]! === b[ib]! ? 1 : 0;
  },
});

// ---------------------------------------------------------------------------
// Selection

/**
 * where(c, x, y) = x where c ≠ 0, else y; all three broadcast together. The
 * condition carries no derivative; cotangents are routed to the chosen side.
 */
export const whereP: Primitive<NoParams> = {
  name: 'where',
  shape([c, x, y]) {
    return broadcastShapes(broadcastShapes(c!, x!, 'where'), y!, 'where');
  },
  impl([c, x, y], _params, shape) {
    const n = sizeOf(shape);
    const out = new Float64Array(n);
    const cond = new Float64Array(n);
    const other = new Float64Array(n);
    // out = x, other = y, cond = c, each broadcast to the output's shape; then choose.
    broadcastBinary(keepFirst, x!.data, x!.shape, ZERO, [], shape, out);
    broadcastBinary(keepFirst, y!.data, y!.shape, ZERO, [], shape, other);
    broadcastBinary(keepFirst, c!.data, c!.shape, ZERO, [], shape, cond);
    for (let i = 0; i < n; i++) if (cond[i] === 0) out[i] = other[i]!;
    return new Tensor(out, shape);
  },
  jvp: ([c], [, dx, dy]) => (dx || dy ? where(c!, dx ?? 0, dy ?? 0) : null),
  vjp: (ct, [c], _out, _params, [, wantX, wantY]) => [
    null,
    wantX ? where(c!, ct, 0) : null,
    wantY ? where(c!, 0, ct) : null,
  ],
  batch: (args, batched, _size, params) => batchElementwise(whereP, args, batched, params),
};

const ZERO = new Float64Array(1);
const keepFirst: BinaryKernel = (n, a, ia, sa, _b, _ib, _sb, out, io) => {
  for (let k = 0; k < n; k++, ia += sa) out[io + k] = a[ia]!;
};

export const elementwisePrimitives: readonly Primitive[] = [
  negP,
  expP,
  logP,
  log1pP,
  expm1P,
  sqrtP,
  squareP,
  absP,
  signP,
  sinP,
  cosP,
  tanhP,
  sigmoidP,
  reluP,
  softplusP,
  erfP,
  geluP,
  stopGradientP,
  addP,
  subP,
  mulP,
  divP,
  powP,
  tanhBackwardP,
  reluBackwardP,
  maximumP,
  minimumP,
  greaterP,
  lessP,
  greaterEqualP,
  lessEqualP,
  equalP,
  whereP,
];
