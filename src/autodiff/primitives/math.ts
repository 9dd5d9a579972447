/**
 * The elementwise operations, each one object: its kernel and derivative
 * (unary) or kernel, tangent and cotangent rules (binary), given to `unary` or
 * `binary` (elementwise.ts), which return the public op carrying its
 * primitive. Every export here is a public op (ops.ts re-exports this module)
 * and its primitive is in the list the property tests iterate (read off these
 * exports): a new one needs only its object here and its sampler in
 * test/autodiff/primitives/cases.ts.
 *
 * Rules are written with these ops, so they differentiate again; they refer
 * to ops defined further down only inside functions, which run after this
 * module has loaded.
 */
import { type BinaryKernel, broadcastBinary } from '../../kernels/strided.js';
import { asTensor, broadcastShapes, sizeOf, Tensor, type TensorLike } from '../../tensor.js';
import { bind, type Primitive } from '../core.js';
import { erfcScalar, erfScalar } from '../special.js';
import {
  addTangents,
  type BinaryDefinition,
  batchElementwise,
  binary,
  NO_PARAMS,
  type NoParams,
  reluBackward,
  tanhBackward,
  unary,
  withPrimitive,
} from './elementwise.js';

// ---------------------------------------------------------------------------
// Unary

export const neg = unary({
  name: 'neg',
  kernel: (x, out) => {
    for (let i = 0; i < x.length; i++) out[i] = -x[i]!;
  },
  linear: (t) => neg(t),
});

export const exp = unary({
  name: 'exp',
  kernel: (x, out) => {
    for (let i = 0; i < x.length; i++) out[i] = Math.exp(x[i]!);
  },
  derivative: (_x, y) => y, // d eˣ = eˣ dx
});

export const log = unary({
  name: 'log',
  kernel: (x, out) => {
    for (let i = 0; i < x.length; i++) out[i] = Math.log(x[i]!);
  },
  derivative: (x) => div(1, x), // d log x = dx / x
});

/** log(1 + x), accurate for small x. */
export const log1p = unary({
  name: 'log1p',
  kernel: (x, out) => {
    for (let i = 0; i < x.length; i++) out[i] = Math.log1p(x[i]!);
  },
  derivative: (x) => div(1, add(x, 1)),
});

/** eˣ − 1, accurate for small x. */
export const expm1 = unary({
  name: 'expm1',
  kernel: (x, out) => {
    for (let i = 0; i < x.length; i++) out[i] = Math.expm1(x[i]!);
  },
  derivative: (_x, y) => add(y, 1), // d(eˣ − 1) = eˣ dx
});

export const sqrt = unary({
  name: 'sqrt',
  kernel: (x, out) => {
    for (let i = 0; i < x.length; i++) out[i] = Math.sqrt(x[i]!);
  },
  derivative: (_x, y) => div(0.5, y), // d √x = dx / (2√x)
});

export const square = unary({
  name: 'square',
  kernel: (x, out) => {
    for (let i = 0; i < x.length; i++) out[i] = x[i]! * x[i]!;
  },
  derivative: (x) => mul(x, 2),
});

export const abs = unary({
  name: 'abs',
  kernel: (x, out) => {
    for (let i = 0; i < x.length; i++) out[i] = Math.abs(x[i]!);
  },
  derivative: (x) => sign(x), // 0 at the kink, as JAX and PyTorch
});

/** −1, 0 or 1 (no derivative). */
export const sign = unary({
  name: 'sign',
  kernel: (x, out) => {
    for (let i = 0; i < x.length; i++) out[i] = Math.sign(x[i]!);
  },
});

export const sin = unary({
  name: 'sin',
  kernel: (x, out) => {
    for (let i = 0; i < x.length; i++) out[i] = Math.sin(x[i]!);
  },
  derivative: (x) => cos(x),
});

export const cos = unary({
  name: 'cos',
  kernel: (x, out) => {
    for (let i = 0; i < x.length; i++) out[i] = Math.cos(x[i]!);
  },
  derivative: (x) => neg(sin(x)),
});

export const tanh = unary({
  name: 'tanh',
  kernel: (x, out) => {
    for (let i = 0; i < x.length; i++) out[i] = Math.tanh(x[i]!);
  },
  derivativeTimes: (_x, y, t) => tanhBackward(y, t), // d tanh x = (1 − tanh² x) dx
});

/** σ(x) = 1/(1 + e⁻ˣ), evaluated without overflow on either side. */
export const sigmoid = unary({
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

/** max(x, 0); derivative 0 at 0. */
export const relu = unary({
  name: 'relu',
  kernel: (x, out) => {
    for (let i = 0; i < x.length; i++) out[i] = Math.max(x[i]!, 0);
  },
  derivativeTimes: (x, _y, t) => reluBackward(x, t), // 0 at the kink, as JAX and PyTorch
});

/** softplus x = log(1 + eˣ) = max(x, 0) + log1p(e^(−|x|)), stable for large |x|. */
export const softplus = unary({
  name: 'softplus',
  kernel: (x, out) => {
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      out[i] = Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
    }
  },
  derivative: (x) => sigmoid(x),
});

/** The error function. */
export const erf = unary({
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
export const gelu = unary({
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

/** Identity forward; a symbolic zero backward. */
const stopGradientP: Primitive<NoParams> = {
  name: 'stopGradient',
  nondifferentiable: true,
  shape: ([x]) => x!,
  impl: ([x]) => x!,
  jvp: () => null,
  vjp: () => [null],
  batch: ([x]) => bind(stopGradientP, [x!], NO_PARAMS),
};

/** x unchanged, but derivatives do not flow through it. */
export const stopGradient = withPrimitive(stopGradientP, (x: TensorLike) =>
  bind(stopGradientP, [asTensor(x)], NO_PARAMS),
);

// ---------------------------------------------------------------------------
// Binary (NumPy broadcasting)

export const add = binary({
  name: 'add',
  kernel: (n, a, ia, sa, b, ib, sb, out, io) => {
    for (let k = 0; k < n; k++, ia += sa, ib += sb) out[io + k] = a[ia]! + b[ib]!;
  },
  jvp: (_p, [dx, dy]) => addTangents(dx!, dy!),
  vjp: (ct) => [ct, ct],
});

export const sub = binary({
  name: 'sub',
  kernel: (n, a, ia, sa, b, ib, sb, out, io) => {
    for (let k = 0; k < n; k++, ia += sa, ib += sb) out[io + k] = a[ia]! - b[ib]!;
  },
  jvp: (_p, [dx, dy]) => (dy ? (dx ? sub(dx, dy) : neg(dy)) : dx!),
  vjp: (ct, _p, _out, _params, [, wantY]) => [ct, wantY ? neg(ct) : null],
});

export const mul = binary({
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

export const div = binary({
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
 * xʸ elementwise; ∂/∂x = y·xʸ⁻¹ and ∂/∂y = log(x)·xʸ (only formed when y carries a derivative).
 * At x = 0, log(x)·xʸ is (−∞)·0; as JAX, log is taken of 1 there, so ∂/∂y is 0
 * (the limit of log(x)·xʸ as x → 0⁺ for y > 0).
 */
export const pow = binary({
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

export const maximum = binary({
  name: 'maximum',
  kernel: (n, a, ia, sa, b, ib, sb, out, io) => {
    for (let k = 0; k < n; k++, ia += sa, ib += sb) {
      const u = a[ia]!;
      const v = b[ib]!;
      out[io + k] = u > v || Number.isNaN(u) ? u : v;
    }
  },
  ...chooserRules((x, y) => greater(x, y)), // an arrow: greater is defined below
});

export const minimum = binary({
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

// Comparisons give 1 or 0 and carry no derivative.

export const greater = binary({
  name: 'greater',
  kernel: (n, a, ia, sa, b, ib, sb, out, io) => {
    for (let k = 0; k < n; k++, ia += sa, ib += sb) out[io + k] = a[ia]! > b[ib]! ? 1 : 0;
  },
});

export const less = binary({
  name: 'less',
  kernel: (n, a, ia, sa, b, ib, sb, out, io) => {
    for (let k = 0; k < n; k++, ia += sa, ib += sb) out[io + k] = a[ia]! < b[ib]! ? 1 : 0;
  },
});

export const greaterEqual = binary({
  name: 'greaterEqual',
  kernel: (n, a, ia, sa, b, ib, sb, out, io) => {
    for (let k = 0; k < n; k++, ia += sa, ib += sb) out[io + k] = a[ia]! >= b[ib]! ? 1 : 0;
  },
});

export const lessEqual = binary({
  name: 'lessEqual',
  kernel: (n, a, ia, sa, b, ib, sb, out, io) => {
    for (let k = 0; k < n; k++, ia += sa, ib += sb) out[io + k] = a[ia]! <= b[ib]! ? 1 : 0;
  },
});

export const equal = binary({
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
const whereP: Primitive<NoParams> = {
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

/** x where cond ≠ 0, else y (all three broadcast). No derivative flows to cond. */
export const where = withPrimitive(whereP, (cond: TensorLike, x: TensorLike, y: TensorLike) =>
  bind(whereP, [asTensor(cond), asTensor(x), asTensor(y)], NO_PARAMS),
);

const ZERO = new Float64Array(1);
const keepFirst: BinaryKernel = (n, a, ia, sa, _b, _ib, _sb, out, io) => {
  for (let k = 0; k < n; k++, ia += sa) out[io + k] = a[ia]!;
};
