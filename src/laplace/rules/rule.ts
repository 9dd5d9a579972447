/**
 * The contract of a layer rule, apart from the table of rules (index.ts) so
 * that each rule can name its type without importing the table that imports
 * it: a rule runs its layer on a batch, pulls cotangents back through it, and
 * lays out its parameters' Jacobian rows as slots (index.ts explains slots).
 */
import type { Layer } from '../../nn/module.js';
import type { Shape, Tensor } from '../../tensor.js';

/** One parameter tensor of a layer as a block of Jacobian rows. */
export interface BlockLayout {
  /** The layer's slot the block reads (0, 1, … within the layer). */
  readonly slot: number;
  /**
   * 'outer': rows g ⊗ a, from the slot's a and g; 'direct': rows g, the whole of
   * the slot's g. A slot holds at most one block of each structure.
   */
  readonly structure: 'outer' | 'direct';
  /** Where the block sits in a Kronecker factorisation B ⊗ A: 'weight' is B ⊗ A, 'bias' is B. */
  readonly part: 'weight' | 'bias';
  /** The tensor as a matrix [rows × cols] (a vector is [size × 1]). */
  readonly rows: number;
  readonly cols: number;
}

/**
 * A pullback that sends each output number to one input number of the same
 * example and channel, times a weight: G_in[n, c, p] = Σ_{q : index = p} w·G_out[n, c, q]
 * over outputs q. Max pooling is one (the argmax, weight 1), an activation
 * another (the same position, weight σ′), and a chain of them is one too.
 */
export interface Gather {
  /** Numbers per example and channel at the output. */
  readonly outPlane: number;
  /** [n·C·outPlane]: the input position (within its example and channel) output q reads; −1: none. */
  readonly index: Float64Array;
  /** [n·C·outPlane]: its weight. */
  readonly weight: Float64Array;
}

/**
 * Σ_q w·G_out[q] over one plane of cotangents above a gather (from g[from]),
 * plane `plane` of its index and weight: the plane pulled back through the
 * gather and summed over the positions it reaches, which is how a cotangent
 * meets a bias (a direction of ones on the plane).
 */
export function gatheredSum(gather: Gather, plane: number, g: Float64Array, from: number): number {
  let s = 0;
  for (let q = 0; q < gather.outPlane; q++)
    if (gather.index[plane + q]! >= 0) s += gather.weight[plane + q]! * g[from + q]!;
  return s;
}

/** One slot's factors for a batch of n examples with m rows each. */
export interface Slot {
  /** Outer slots: the inputs a, [n × cols]. Direct slots: null. */
  readonly a: Float64Array | null;
  /** [n·m × width]: the cotangents (outer) or the rows (direct). */
  readonly g: Float64Array;
  /** Numbers per row of g. */
  readonly width: number;
}

/** KFLR factors of one layer from one batch (sums over its examples; the caller divides A by N). */
export interface KroneckerSums {
  /** Σₙᵣ uₙᵣ uₙᵣᵀ over the rows u of the bias's Jacobian, [out × out]. */
  readonly b: Float64Array;
  /** Σₙ Σₚ aₙₚ aₙₚᵀ over input patches p, [in × in]. */
  readonly a: Float64Array;
  readonly outFeatures: number;
  readonly inFeatures: number;
}

/**
 * What KFLR reads of a layer (BackPACK's factors): the weight block is B ⊗ A
 * with A from the inputs alone and B = Σ uuᵀ over the rows u of the bias's
 * Jacobian, [out] wide; the bias block is B. Bias entry o moves output channel
 * o (axis 1) and nothing else, by one everywhere.
 */
interface KroneckerRule<T extends Layer = Layer> {
  /** Σₙ Σₚ aₙₚ aₙₚᵀ over the batch's input patches p (a Linear layer: its inputs), [in × in]. */
  inputSums(layer: T, x: Tensor): Float64Array;
  /** The rows u of the bias's Jacobian, [n·m × out], from the cotangents at the output. */
  biasRows(layer: T, cotangent: Tensor): Float64Array;
}

export interface LayerRule<T extends Layer = Layer> {
  readonly name: string;
  /** The blocks of the layer's parameter tensors, in order; `inputShape` is one example's. */
  blocks(layer: T, inputShape: Shape): BlockLayout[];
  /** The layer's output on a concrete batch x [n, ...inputShape]. */
  forward(layer: T, params: readonly Tensor[], x: Tensor): Tensor;
  /**
   * Cotangents [n·m, ...outputShape], m per example of x [n, ...], pulled back to
   * the input. `spare` says that nothing else reads the cotangent's buffer, so a
   * rule whose result has its shape may write the result there.
   */
  pullback(
    layer: T,
    params: readonly Tensor[],
    x: Tensor,
    cotangent: Tensor,
    m: number,
    spare?: boolean,
  ): Tensor;
  /**
   * For layers that act on each channel (axis 1) separately, such as
   * activations and pooling: a tangent [n, ...inputShape] at x [n, ...] pushed
   * forward to the output (the Jacobian with respect to the input applied to
   * it). A tangent confined to one channel stays there.
   */
  pushforward?(layer: T, params: readonly Tensor[], x: Tensor, tangent: Tensor): Tensor;
  /**
   * A tangent [n, C, ...inputShape] split into its C input channels, each
   * pushed forward on its own: [n·C, ...outputShape]. The Jacobian with respect
   * to the input only, not moving the bias.
   */
  pushforwardByChannel?(layer: T, params: readonly Tensor[], x: Tensor, tangent: Tensor): Tensor;
  /** The slots of the layer's blocks, from its input and the cotangents at its output. */
  slots(layer: T, params: readonly Tensor[], x: Tensor, cotangent: Tensor, m: number): Slot[];
  /**
   * Σ over the batch's rows of each slot's rows squared, [width] per slot: the
   * diagonal of RᵀR without keeping the rows, for layers whose rows are formed
   * (direct slots) rather than factored.
   */
  rowSquares?(layer: T, params: readonly Tensor[], x: Tensor, cotangent: Tensor, m: number): Float64Array[];
  /** For layers whose pullback is a `Gather` (one per batch, whatever the rows): that gather at x. */
  gather?(layer: T, x: Tensor): Gather;
  /**
   * `rowSquares` from the cotangents [n·m, O, ...] above layers whose pullbacks
   * compose to `gather` (from there down to this layer's output): the
   * cotangents here are never formed for the whole batch, only one example's
   * at a time, through `gather`.
   */
  rowSquaresGathered?(
    layer: T,
    params: readonly Tensor[],
    x: Tensor,
    cotangent: Tensor,
    gather: Gather,
    m: number,
  ): Float64Array[];
  /** KFLR factors, for layers that have them. */
  readonly kronecker?: KroneckerRule<T>;
}

/**
 * A layer that is a sum of chains of layers on the same input (a residual
 * block): Laplace walks into it instead of treating it as one layer.
 */
export interface BranchRule<T extends Layer = Layer> {
  readonly name: string;
  /** The chains whose outputs are summed; an empty chain is the identity. */
  branches(layer: T): readonly (readonly Layer[])[];
}
