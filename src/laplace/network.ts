/**
 * The network as Laplace sees it.
 *
 * A Sequential MLP alternates affine maps zₗ = Wₗ aₗ + bₗ with elementwise
 * activations aₗ₊₁ = σ(zₗ). For curvature and for the GLM predictive we need,
 * for every example, the Jacobian of the K outputs with respect to the weights.
 * Its structure is what makes Laplace cheap: for a Linear layer,
 *
 *     ∂fₖ/∂Wₗ[i, j] = gₗ[k, i] · aₗ[j],      ∂fₖ/∂bₗ[i] = gₗ[k, i],
 *
 * where gₗ[k, ·] = ∂fₖ/∂zₗ is output direction k pulled back to the layer's
 * pre-activation. One forward pass that keeps every layer input aₗ, and one
 * backward pass of a few output-space vectors, give everything downstream: rows
 * of the Jacobian (g ⊗ a), diagonals of JᵀJ ((Σ g²) ⊗ a²) and Kronecker factors
 * (Σ g gᵀ and Σ a aᵀ). This is what BackPACK does for PyTorch; here it is a page.
 *
 * Backward passes start from arbitrary output-space vectors, not only from the
 * unit vectors eₖ: starting from the rows of a square root S of the output
 * Hessian Λ = SᵀS gives the rows of S·J, whose Gram matrix is the GGN JᵀΛJ.
 *
 * Parameters are one flat vector in PyTorch order: per Linear layer, the weight
 * [out][in] row-major, then the bias.
 */

import { jvp } from '../autodiff/transforms.js';
import { ShapeError, ValueError } from '../errors.js';
import { gemmKernel } from '../kernels/gemm.js';
import { ACTIVATION_NAMES, type Activation, type ActivationName, activation } from '../nn/layers.js';
import { ones, Tensor } from '../tensor.js';

/** What Laplace needs of a Linear layer (satisfied by `Linear` of src/nn). */
export interface LinearLike {
  readonly kind: 'linear';
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly weight: Tensor;
  readonly bias: Tensor | null;
}

/** What Laplace needs of an activation layer (satisfied by the activations of src/nn). */
export interface ActivationLike {
  readonly kind: 'activation';
  readonly name: string;
  readonly negativeSlope?: number;
  readonly alpha?: number;
}

/** A feed-forward chain of Linear and activation layers, such as `Sequential`. */
export interface SequentialLike {
  readonly layers: readonly (LinearLike | ActivationLike)[];
}

/**
 * The activation of the nn module by the layer's name: its `apply` (built from
 * the primitives) is the one definition of σ, and σ′ comes from it by forward
 * mode, so this page holds no formula of its own.
 */
function elementwise(layer: ActivationLike): Activation {
  if (!(ACTIVATION_NAMES as readonly string[]).includes(layer.name)) {
    throw new ValueError(
      `laplace: activation '${layer.name}' is not supported; expected one of ${ACTIVATION_NAMES.join(', ')}`,
    );
  }
  return activation(layer.name as ActivationName, { negativeSlope: layer.negativeSlope, alpha: layer.alpha });
}

/** One step of the chain: an affine map (index into `linears`) or an activation. */
type Step = { kind: 'linear'; index: number } | { kind: 'activation'; fn: Activation };

export interface LinearShape {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** Offset of the weight in the flat parameter vector. */
  readonly weightOffset: number;
  /** Offset of the bias, or −1 without one. */
  readonly biasOffset: number;
}

/** A flat-parameter description of an MLP, independent of any particular parameter values. */
export class Network {
  readonly linears: LinearShape[] = [];
  readonly steps: Step[] = [];
  readonly nParams: number;
  readonly inputSize: number;
  readonly outputSize: number;

  constructor(model: SequentialLike) {
    let offset = 0;
    let width = -1;
    for (const layer of model.layers) {
      if (layer.kind === 'linear') {
        if (width >= 0 && layer.inFeatures !== width) {
          throw new ShapeError(
            `laplace: Linear layer ${this.linears.length} expects ${layer.inFeatures} inputs but receives ${width}`,
          );
        }
        const weightOffset = offset;
        offset += layer.inFeatures * layer.outFeatures;
        const biasOffset = layer.bias ? offset : -1;
        if (layer.bias) offset += layer.outFeatures;
        this.steps.push({ kind: 'linear', index: this.linears.length });
        this.linears.push({
          inFeatures: layer.inFeatures,
          outFeatures: layer.outFeatures,
          weightOffset,
          biasOffset,
        });
        width = layer.outFeatures;
      } else {
        this.steps.push({ kind: 'activation', fn: elementwise(layer) });
      }
    }
    if (this.linears.length === 0) throw new ValueError('laplace: the model has no Linear layer');
    this.nParams = offset;
    this.inputSize = this.linears[0]!.inFeatures;
    this.outputSize = width;
  }

  /** The model's current parameters as one flat vector in PyTorch order. */
  static flatParameters(model: SequentialLike): Float64Array {
    const parts: Float64Array[] = [];
    for (const layer of model.layers) {
      if (layer.kind !== 'linear') continue;
      parts.push(layer.weight.data);
      if (layer.bias) parts.push(layer.bias.data);
    }
    const out = new Float64Array(parts.reduce((s, p) => s + p.length, 0));
    let offset = 0;
    for (const p of parts) {
      out.set(p, offset);
      offset += p.length;
    }
    return out;
  }

  /**
   * Forward pass on n rows of `x` ([n, inputSize], row-major) with parameters
   * `theta`. Keeps each Linear layer's input and each activation's input, which
   * the backward pass needs.
   */
  forward(theta: Float64Array, x: Float64Array, n: number): ForwardCache {
    let current = x;
    let width = this.inputSize;
    const inputs: Float64Array[] = [];
    const activations: Float64Array[] = [];
    for (const step of this.steps) {
      if (step.kind === 'linear') {
        const shape = this.linears[step.index]!;
        inputs.push(current);
        const out = new Float64Array(n * shape.outFeatures);
        if (shape.biasOffset >= 0) {
          for (let r = 0; r < n; r++) {
            out.set(
              theta.subarray(shape.biasOffset, shape.biasOffset + shape.outFeatures),
              r * shape.outFeatures,
            );
          }
        }
        // z = a Wᵀ + b for all rows at once: [n × in]·[in × out].
        // biome-ignore format: BLAS argument groups
        gemmKernel(
          n, shape.outFeatures, shape.inFeatures, 1,
          current, 0, shape.inFeatures, false,
          theta, shape.weightOffset, shape.inFeatures, true,
          shape.biasOffset >= 0 ? 1 : 0, out, 0, shape.outFeatures,
        );
        current = out;
        width = shape.outFeatures;
      } else {
        activations.push(current);
        current = step.fn.apply(new Tensor(current, [n, width])).data;
      }
    }
    return { n, inputs, activations, output: current, outputWidth: width };
  }

  /**
   * Pull m output-space vectors per example back to every Linear layer's
   * pre-activation: given v [n, m, K], returns gₗ [n, m, outₗ] with
   * gₗ[n, r, ·] = v[n, r, ·] · ∂f/∂zₗ for each Linear layer ℓ.
   */
  backward(theta: Float64Array, cache: ForwardCache, v: Float64Array, m: number): Float64Array[] {
    const gs: Float64Array[] = new Array(this.linears.length);
    const rows = cache.n * m;
    let current = v;
    let width = this.outputSize;
    let activationIndex = cache.activations.length - 1;
    for (let s = this.steps.length - 1; s >= 0; s--) {
      const step = this.steps[s]!;
      if (step.kind === 'activation') {
        const z = new Tensor(cache.activations[activationIndex--]!, [cache.n, width]);
        // σ′(z) = the tangent of σ at z along ones (σ acts elementwise).
        const slope = jvp((t: Tensor) => step.fn.apply(t), [z], [ones(z.shape)])[1].data;
        // Multiply each of the m vectors of example e by σ′(z) of that example.
        const scaled = new Float64Array(current.length);
        for (let e = 0; e < cache.n; e++) {
          for (let j = 0; j < width; j++) {
            const d = slope[e * width + j]!;
            for (let r = 0; r < m; r++) {
              const idx = (e * m + r) * width + j;
              scaled[idx] = current[idx]! * d;
            }
          }
        }
        current = scaled;
      } else {
        const shape = this.linears[step.index]!;
        gs[step.index] = current;
        if (step.index === 0) break;
        // Cotangent of the layer input: g · W, [rows × out]·[out × in].
        const next = new Float64Array(rows * shape.inFeatures);
        // biome-ignore format: BLAS argument groups
        gemmKernel(
          rows, shape.inFeatures, shape.outFeatures, 1,
          current, 0, shape.outFeatures, false,
          theta, shape.weightOffset, shape.inFeatures, false,
          0, next, 0, shape.inFeatures,
        );
        current = next;
        width = shape.inFeatures;
      }
    }
    return gs;
  }
}

export interface ForwardCache {
  readonly n: number;
  /** Input aₗ of each Linear layer, [n × inₗ]. */
  readonly inputs: Float64Array[];
  /** Input z of each activation layer, in order. */
  readonly activations: Float64Array[];
  /** Network output f, [n × K]. */
  readonly output: Float64Array;
  readonly outputWidth: number;
}
