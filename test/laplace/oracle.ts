/**
 * Independent oracles for the Laplace tests: a naive forward pass written with
 * plain loops, Jacobians by central differences, and dense textbook formulas
 * evaluated with ml-matrix. Nothing here calls src/laplace.
 */
import { CholeskyDecomposition, inverse, Matrix } from 'ml-matrix';
import type { SequentialLike } from '../../src/laplace/network.js';
import { type ActivationName, activation, Linear, Sequential, unravel } from '../../src/nn/index.js';
import { seededRng } from '../../src/random.js';
import { Tensor } from '../../src/tensor.js';

type Act = 'tanh' | 'relu' | 'sigmoid' | 'gelu' | 'softplus' | 'identity' | 'leakyrelu' | 'elu';

/** A Sequential MLP with seeded weights. */
export function makeMlp(sizes: number[], act: Act, seed: number, bias = true): Sequential {
  const rng = seededRng(seed);
  const layers: (Linear | ReturnType<typeof activation>)[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const inF = sizes[l]!;
    const outF = sizes[l + 1]!;
    const w = new Float64Array(inF * outF).map(() => rng.normal() / Math.sqrt(inF));
    const b = bias ? new Float64Array(outF).map(() => 0.3 * rng.normal()) : null;
    layers.push(Linear.fromParameters(new Tensor(w, [outF, inF]), b ? new Tensor(b, [outF]) : null));
    if (l + 2 < sizes.length) layers.push(activation(act as ActivationName));
  }
  return new Sequential(layers);
}

function erf(x: number): number {
  // Numerical integration of 2/√π e^{−t²} on [0, x] by composite Simpson: an oracle unrelated to the library's series.
  const n = 2000;
  const h = x / n;
  let s = 1 + Math.exp(-x * x);
  for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * Math.exp(-((i * h) ** 2));
  return ((2 / Math.sqrt(Math.PI)) * s * h) / 3;
}

function act(name: string, z: number): number {
  switch (name) {
    case 'tanh':
      return Math.tanh(z);
    case 'relu':
      return Math.max(z, 0);
    case 'sigmoid':
      return 1 / (1 + Math.exp(-z));
    case 'softplus':
      return Math.log(1 + Math.exp(z));
    case 'gelu':
      return 0.5 * z * (1 + erf(z / Math.SQRT2));
    case 'leakyrelu':
      return z > 0 ? z : 0.01 * z;
    case 'elu':
      return z > 0 ? z : Math.exp(z) - 1;
    default:
      return z;
  }
}

/** Flat parameters in PyTorch order. */
export function flatten(model: SequentialLike): Float64Array {
  const parts: number[] = [];
  for (const l of model.layers) {
    if (!(l instanceof Linear)) continue;
    parts.push(...l.weight.data);
    if (l.bias) parts.push(...l.bias.data);
  }
  return Float64Array.from(parts);
}

/** f(x; θ) for one input, with plain loops. */
export function naiveForward(model: SequentialLike, theta: Float64Array, x: number[]): number[] {
  let a = x.slice();
  let offset = 0;
  for (const layer of model.layers) {
    if (!(layer instanceof Linear)) {
      a = a.map((z) => act(layer.type, z));
      continue;
    }
    const out: number[] = [];
    const wOff = offset;
    offset += layer.inFeatures * layer.outFeatures;
    const bOff = layer.bias ? offset : -1;
    if (layer.bias) offset += layer.outFeatures;
    for (let i = 0; i < layer.outFeatures; i++) {
      let s = bOff >= 0 ? theta[bOff + i]! : 0;
      for (let j = 0; j < layer.inFeatures; j++) s += theta[wOff + i * layer.inFeatures + j]! * a[j]!;
      out.push(s);
    }
    a = out;
  }
  return a;
}

/** ∂f/∂θ by central differences: [K][P] for one input. */
export function fdJacobian(model: SequentialLike, theta: Float64Array, x: number[], h = 1e-6): number[][] {
  const k = naiveForward(model, theta, x).length;
  const jac = Array.from({ length: k }, () => new Array<number>(theta.length).fill(0));
  for (let p = 0; p < theta.length; p++) {
    const plus = theta.slice();
    const minus = theta.slice();
    plus[p]! += h;
    minus[p]! -= h;
    const fp = naiveForward(model, plus, x);
    const fm = naiveForward(model, minus, x);
    for (let c = 0; c < k; c++) jac[c]![p] = (fp[c]! - fm[c]!) / (2 * h);
  }
  return jac;
}

export function softmax(f: number[]): number[] {
  const m = Math.max(...f);
  const e = f.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** Dense GGN Σₙ Jₙᵀ Λₙ Jₙ restricted to columns `cols` (all when undefined). */
export function denseGgn(
  model: SequentialLike,
  X: number[][],
  likelihood: 'regression' | 'classification',
  cols?: number[],
): Matrix {
  const theta = flatten(model);
  const idx = cols ?? Array.from(theta, (_, i) => i);
  const h = Matrix.zeros(idx.length, idx.length);
  for (const x of X) {
    const jFull = fdJacobian(model, theta, x);
    const j = new Matrix(jFull.map((row) => idx.map((i) => row[i]!)));
    let lambda: Matrix;
    if (likelihood === 'regression') lambda = Matrix.eye(j.rows);
    else {
      const p = softmax(naiveForward(model, theta, x));
      lambda = Matrix.diag(p).sub(new Matrix([p]).transpose().mmul(new Matrix([p])));
    }
    h.add(j.transpose().mmul(lambda).mmul(j));
  }
  // Finite differences leave round-off asymmetry; the oracle is the symmetric part.
  return h.add(h.transpose()).div(2);
}

/** Dense Laplace log marginal likelihood from the textbook formula. */
export function denseLogMarglik(options: {
  h: Matrix;
  priorDiag: number[];
  theta: number[];
  c: number;
  logLik: number;
  priorMean?: number;
}): number {
  const { h, priorDiag, theta, c, logLik, priorMean = 0 } = options;
  const p = h.clone().mul(c).add(Matrix.diag(priorDiag));
  const chol = new CholeskyDecomposition(p);
  const l = chol.lowerTriangularMatrix;
  let logdet = 0;
  for (let i = 0; i < p.rows; i++) logdet += 2 * Math.log(l.get(i, i));
  const logdetPrior = priorDiag.reduce((s, v) => s + Math.log(v), 0);
  const scatter = theta.reduce((s, t, i) => s + priorDiag[i]! * (t - priorMean) ** 2, 0);
  return logLik - 0.5 * (logdet - logdetPrior + scatter);
}

/** J P⁻¹ Jᵀ at x with dense P. */
export function denseFunctionalCovariance(jac: number[][], precision: Matrix): Matrix {
  const j = new Matrix(jac);
  return j.mmul(inverse(precision)).mmul(j.transpose());
}

export function randomInputs(n: number, d: number, seed: number): number[][] {
  const rng = seededRng(seed);
  return Array.from({ length: n }, () => Array.from({ length: d }, () => rng.normal()));
}

export const regressionData = (n: number, d: number, k: number, seed: number) => {
  const X = randomInputs(n, d, seed);
  const Y = randomInputs(n, k, seed + 1).map((row, i) =>
    row.map((v, j) => Math.sin(X[i]![j % d]!) + 0.1 * v),
  );
  return { X, Y };
};

export const classificationData = (n: number, d: number, k: number, seed: number) => {
  const X = randomInputs(n, d, seed);
  const y = X.map((x) => Math.abs(Math.floor(x[0]! * 2)) % k);
  return { X, y };
};

export function regressionLogLik(model: SequentialLike, X: number[][], Y: number[][], sigma: number): number {
  const theta = flatten(model);
  let sse = 0;
  for (let i = 0; i < X.length; i++) {
    const f = naiveForward(model, theta, X[i]!);
    f.forEach((v, j) => {
      sse += (Y[i]![j]! - v) ** 2;
    });
  }
  const nk = X.length * Y[0]!.length;
  return -sse / (2 * sigma * sigma) - nk * Math.log(sigma * Math.sqrt(2 * Math.PI));
}

/**
 * ∂f/∂θ of any Sequential by central differences through its own `apply`
 * (the nn module, not src/laplace): [K][P] for one example x (flattened).
 */
export function fdJacobianOf(model: Sequential, x: number[], h = 1e-6): number[][] {
  const theta = model.flatParameters();
  const input = new Tensor(Float64Array.from(x), [1, ...model.inputShape]);
  const f = (t: Float64Array) => Array.from(model.apply(unravel(model, t), input).data);
  const k = f(theta).length;
  const jac = Array.from({ length: k }, () => new Array<number>(theta.length).fill(0));
  for (let p = 0; p < theta.length; p++) {
    const plus = theta.slice();
    const minus = theta.slice();
    plus[p]! += h;
    minus[p]! -= h;
    const fp = f(plus);
    const fm = f(minus);
    for (let c = 0; c < k; c++) jac[c]![p] = (fp[c]! - fm[c]!) / (2 * h);
  }
  return jac;
}

/** Dense GGN Σₙ Jₙᵀ Λₙ Jₙ of any Sequential from finite-difference Jacobians. */
export function denseGgnOf(
  model: Sequential,
  X: number[][],
  likelihood: 'regression' | 'classification',
): Matrix {
  const p = model.nParams;
  const h = Matrix.zeros(p, p);
  for (const x of X) {
    const j = new Matrix(fdJacobianOf(model, x));
    let lambda: Matrix;
    if (likelihood === 'regression') lambda = Matrix.eye(j.rows);
    else {
      const input = new Tensor(Float64Array.from(x), [1, ...model.inputShape]);
      const probs = softmax(Array.from(model.forward(input).data));
      lambda = Matrix.diag(probs).sub(new Matrix([probs]).transpose().mmul(new Matrix([probs])));
    }
    h.add(j.transpose().mmul(lambda).mmul(j));
  }
  return h.add(h.transpose()).div(2);
}

/** f(x) and its Jacobian [K × P] by central differences, through the Sequential's own forward pass (any layers). */
function fdOutputsAndJacobian(
  model: Sequential,
  x: number[],
  h = 1e-6,
): { f: number[]; jacobian: number[][] } {
  const theta = model.flatParameters();
  const run = (t: Float64Array) => {
    model.setFlatParameters(t);
    return Array.from(model.forward([x]).data);
  };
  try {
    const f = run(theta);
    const jacobian = f.map(() => new Array<number>(theta.length).fill(0));
    for (let p = 0; p < theta.length; p++) {
      const plus = theta.slice();
      const minus = theta.slice();
      plus[p]! += h;
      minus[p]! -= h;
      const fp = run(plus);
      const fm = run(minus);
      f.forEach((_, c) => {
        jacobian[c]![p] = (fp[c]! - fm[c]!) / (2 * h);
      });
    }
    return { f, jacobian };
  } finally {
    model.setFlatParameters(theta);
  }
}

/**
 * laplace-torch's functional posterior over all N examples, in weight space and
 * densely: P = δI + c·Σₙ Jₙᵀ diag(λₙ) Jₙ with the diagonal of the output
 * Hessian, λ = p(1 − p) for softmax probabilities p and 1 for regression.
 * Returns log det P and J* P⁻¹ J*ᵀ at each test input, flattened [n* × K × K].
 */
export function denseDiagonalGgnPosterior(
  model: Sequential,
  X: number[][],
  xTest: number[][],
  likelihood: 'regression' | 'classification',
  delta: number,
  c: number,
): { logDetPrecision: number; covariance: number[] } {
  const p = model.flatParameters().length;
  const precision = Matrix.eye(p).mul(delta);
  for (const x of X) {
    const { f, jacobian } = fdOutputsAndJacobian(model, x);
    const lambda = likelihood === 'regression' ? f.map(() => 1) : softmax(f).map((q) => q * (1 - q));
    const j = new Matrix(jacobian);
    precision.add(j.transpose().mmul(Matrix.diag(lambda)).mmul(j).mul(c));
  }
  const symmetric = precision.add(precision.transpose()).div(2);
  const lower = new CholeskyDecomposition(symmetric).lowerTriangularMatrix;
  let logDetPrecision = 0;
  for (let i = 0; i < p; i++) logDetPrecision += 2 * Math.log(lower.get(i, i));
  const covariance = inverse(symmetric);
  return {
    logDetPrecision,
    covariance: xTest.flatMap((x) => {
      const j = new Matrix(fdOutputsAndJacobian(model, x).jacobian);
      return j.mmul(covariance).mmul(j.transpose()).to1DArray();
    }),
  };
}
