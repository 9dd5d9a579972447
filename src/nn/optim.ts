/**
 * Optimisers: first-order updates θ ← θ − lr·(direction) on pytrees of Tensors.
 *
 * An optimiser is a small object holding its state (momentum buffer, moment
 * estimates, step count) for one parameter tree. `step(params, grads)` returns
 * new parameters and leaves its arguments untouched; the tree's structure and
 * shapes must stay the same from one step to the next (`reset()` forgets the
 * state). With weight decay λ the gradient becomes g + λθ (L2 regularisation,
 * as PyTorch's `weight_decay`), before anything else. The rules are PyTorch's:
 *
 *   sgd    b ← μ·b + g  (b₁ = g),          θ ← θ − lr·b         (μ = 0: plain SGD)
 *   adam   m ← β₁m + (1 − β₁)g,  v ← β₂v + (1 − β₂)g²,
 *          m̂ = m/(1 − β₁ᵗ),  v̂ = v/(1 − β₂ᵗ),  θ ← θ − lr·m̂/(√v̂ + ε)
 *
 * Updates run on the raw Float64Arrays: an optimiser step is not differentiated.
 */

import {
  type Pytree,
  type TreeDef,
  treeEqual,
  treeFlatten,
  treeString,
  treeUnflatten,
} from '../autodiff/pytree.js';
import { ShapeError, ValueError } from '../errors.js';
import { shapeString, shapesEqual, Tensor } from '../tensor.js';

export interface Optimizer {
  readonly name: 'sgd' | 'adam';
  /** New parameters after one update with gradients `grads` (same structure and shapes as `params`). */
  step<T extends Pytree<Tensor>>(params: T, grads: T): T;
  /** Forget all state (momentum, moments, step count). */
  reset(): void;
}

export interface SgdOptions {
  lr: number;
  momentum?: number;
  weightDecay?: number;
}

export interface AdamOptions {
  lr?: number;
  betas?: readonly [number, number];
  eps?: number;
  weightDecay?: number;
}

function checkHyper(
  value: number,
  what: string,
  { min = 0, below }: { min?: number; below?: number } = {},
): number {
  if (!Number.isFinite(value) || value < min || (below !== undefined && value >= below)) {
    const range = below === undefined ? `≥ ${min}` : `in [${min}, ${below})`;
    throw new ValueError(`${what} must be a finite number ${range}, got ${value}`);
  }
  return value;
}

/**
 * The leaves of params and grads, checked to pair up, plus the structure to
 * rebuild the result. `state` keeps the structure seen at the first step.
 */
class Leaves {
  def: TreeDef | null = null;
  shapes: (readonly number[])[] = [];

  pair<T extends Pytree<Tensor>>(params: T, grads: T, what: string): [Tensor[], Tensor[], TreeDef] {
    const [p, pDef] = treeFlatten<Tensor>(params);
    const [g, gDef] = treeFlatten<Tensor>(grads);
    if (!treeEqual(pDef, gDef)) {
      throw new ShapeError(`${what}: grads ${treeString(gDef)} do not match params ${treeString(pDef)}`);
    }
    p.forEach((t, i) => {
      if (!(t instanceof Tensor) || !(g[i] instanceof Tensor))
        throw new ValueError(`${what}: leaf ${i} is not a Tensor`);
      if (!shapesEqual(t.shape, g[i]!.shape)) {
        throw new ShapeError(
          `${what}: leaf ${i} has params ${shapeString(t.shape)} but grads ${shapeString(g[i]!.shape)}`,
        );
      }
      // x·0 is 0 for finite x and NaN otherwise: one branch-free pass, then a search only on failure.
      const gd = g[i]!.data;
      let zero = 0;
      for (let j = 0; j < gd.length; j++) zero += gd[j]! * 0;
      if (zero !== 0) {
        const j = gd.findIndex((x) => !Number.isFinite(x));
        throw new ValueError(`${what}: gradient leaf ${i} has a non-finite value ${gd[j]} at ${j}`);
      }
    });
    if (this.def === null) {
      this.def = pDef;
      this.shapes = p.map((t) => t.shape);
    } else if (!treeEqual(this.def, pDef) || p.some((t, i) => !shapesEqual(t.shape, this.shapes[i]!))) {
      throw new ShapeError(`${what}: params changed structure or shape since the first step (call reset())`);
    }
    return [p, g, pDef];
  }

  reset(): void {
    this.def = null;
    this.shapes = [];
  }
}

/** Stochastic gradient descent with optional (heavy-ball) momentum and weight decay. */
export function sgd({ lr, momentum = 0, weightDecay = 0 }: SgdOptions): Optimizer {
  checkHyper(lr, 'sgd: lr');
  checkHyper(momentum, 'sgd: momentum');
  checkHyper(weightDecay, 'sgd: weightDecay');
  const leaves = new Leaves();
  let buffers: Float64Array[] | null = null;
  return {
    name: 'sgd',
    step<T extends Pytree<Tensor>>(params: T, grads: T): T {
      const [p, g, def] = leaves.pair(params, grads, 'sgd.step');
      const first = buffers === null;
      if (momentum !== 0 && buffers === null) buffers = p.map((t) => new Float64Array(t.size));
      const out = p.map((t, i) => {
        const theta = t.data;
        const grad = g[i]!.data;
        const next = new Float64Array(theta.length);
        const b = momentum !== 0 ? buffers![i]! : null;
        for (let j = 0; j < theta.length; j++) {
          let d = grad[j]! + weightDecay * theta[j]!;
          if (b !== null) {
            b[j] = first ? d : momentum * b[j]! + d;
            d = b[j]!;
          }
          next[j] = theta[j]! - lr * d;
        }
        return new Tensor(next, t.shape);
      });
      return treeUnflatten(def, out) as T;
    },
    reset() {
      leaves.reset();
      buffers = null;
    },
  };
}

/** Adam (Kingma and Ba, 2015) with bias correction and L2 weight decay, as torch.optim.Adam. */
export function adam({
  lr = 1e-3,
  betas = [0.9, 0.999],
  eps = 1e-8,
  weightDecay = 0,
}: AdamOptions = {}): Optimizer {
  checkHyper(lr, 'adam: lr');
  if (!Array.isArray(betas) || betas.length !== 2)
    throw new ValueError('adam: betas must be a pair [β₁, β₂]');
  const [beta1, beta2] = betas;
  checkHyper(beta1, 'adam: betas[0]', { below: 1 });
  checkHyper(beta2, 'adam: betas[1]', { below: 1 });
  checkHyper(eps, 'adam: eps');
  checkHyper(weightDecay, 'adam: weightDecay');
  const leaves = new Leaves();
  let m: Float64Array[] = [];
  let v: Float64Array[] = [];
  let t = 0;
  return {
    name: 'adam',
    step<T extends Pytree<Tensor>>(params: T, grads: T): T {
      const [p, g, def] = leaves.pair(params, grads, 'adam.step');
      if (t === 0) {
        m = p.map((x) => new Float64Array(x.size));
        v = p.map((x) => new Float64Array(x.size));
      }
      t++;
      const c1 = 1 - beta1 ** t;
      const c2 = 1 - beta2 ** t;
      const out = p.map((x, i) => {
        const next = new Float64Array(x.size);
        adamUpdate(x.data, g[i]!.data, m[i]!, v[i]!, next, lr, beta1, beta2, eps, weightDecay, c1, c2);
        return new Tensor(next, x.shape);
      });
      return treeUnflatten(def, out) as T;
    },
    reset() {
      leaves.reset();
      t = 0;
    },
  };
}

/**
 * One Adam update of a flat parameter array into `next`, m and v in place
 * (c1 = 1 − β₁ᵗ, c2 = 1 − β₂ᵗ). A function of its arguments only, so the
 * loop reads locals rather than the optimiser's closure.
 */
function adamUpdate(
  theta: Float64Array,
  grad: Float64Array,
  m: Float64Array,
  v: Float64Array,
  next: Float64Array,
  lr: number,
  beta1: number,
  beta2: number,
  eps: number,
  weightDecay: number,
  c1: number,
  c2: number,
): void {
  const a1 = 1 - beta1;
  const a2 = 1 - beta2;
  for (let j = 0; j < theta.length; j++) {
    const d = grad[j]! + weightDecay * theta[j]!;
    const mj = beta1 * m[j]! + a1 * d;
    const vj = beta2 * v[j]! + a2 * d * d;
    m[j] = mj;
    v[j] = vj;
    next[j] = theta[j]! - (lr * (mj / c1)) / (Math.sqrt(vj / c2) + eps);
  }
}
