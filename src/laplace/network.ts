/**
 * The network as Laplace sees it.
 *
 * For curvature and for the GLM predictive we need, for every example, the
 * Jacobian of the K outputs with respect to the weights, never formed whole.
 * A network is a chain of layers h = hₗ ∘ … ∘ h₁. One forward pass keeps every
 * layer's input xₗ; one backward pass of a few output-space vectors per
 * example (m of them) gives their cotangents gₗ at every layer's output. What
 * a layer's parameters contribute to row (n, r) of the Jacobian is then the
 * layer's own affair:
 *
 *     row(n, r) restricted to θₗ = gₗ[n, r]ᵀ ∂hₗ(θₗ, xₗ[n]) / ∂θₗ,
 *
 * a vector-Jacobian product through one layer. Each layer type has a rule
 * (src/laplace/rules) that knows how to pull cotangents through it and how its
 * rows are structured: for a Linear layer ∂/∂W[i, j] = g[i]·a[j] (an outer
 * product, so rows need never be formed), for anything else the rows
 * themselves. This page only walks the chain; it never looks at a layer's type.
 *
 * A layer whose rule has `branches` (a residual block) is not a leaf: it is
 * the sum of chains run on the same input, h(x) = Σᵦ chainᵦ(x). The walk goes
 * into it, so its layers are leaves like any other (with their own rules,
 * Kronecker factors and prior groups), and its cotangent pulled back is the
 * sum over the branches. An empty branch is the identity.
 *
 * Backward passes start from arbitrary output-space vectors, not only from the
 * unit vectors eₖ: starting from the rows of a square root S of the output
 * Hessian Λ = SᵀS gives the rows of S·J, whose Gram matrix is the GGN JᵀΛJ.
 *
 * Forward mode runs the other way: a tangent at one layer's output, pushed
 * through the layers above (each one's Jacobian with respect to its input),
 * meets the cotangents g there, and ⟨g, tangent⟩ is what the backward pass
 * would have found below. Through layers that act on each channel alone, one
 * tangent carries all channels at once; the next layer that mixes them takes
 * them one by one.
 *
 * Parameters are one flat vector in PyTorch order: layer by layer, each tensor
 * row-major.
 */

import { ShapeError, ValueError } from '../errors.js';
import type { Layer } from '../nn/module.js';
import { type Shape, shapeString, sizeOf, Tensor } from '../tensor.js';
import { type BlockLayout, type Gather, type LayerRule, ruleFor, type Slot } from './rules/index.js';

/** A feed-forward chain of layers with a known per-example input shape, such as `Sequential`. */
export interface SequentialLike {
  readonly layers: readonly Layer[];
  readonly inputShape: Shape;
}

/** One leaf layer of the network, with what Laplace knows of it. */
export interface NetworkLayer {
  readonly layer: Layer;
  readonly rule: LayerRule;
  /** Position among the leaves (the order of the forward pass). */
  readonly index: number;
  /** Where it sits in the model, e.g. "layers[3]" or "layers[2].branches[0][1]". */
  readonly path: string;
  readonly inputShape: Shape;
  readonly outputShape: Shape;
  /** Offset of the layer's first parameter in θ. */
  readonly offset: number;
  /** Shapes of its parameter tensors, in order. */
  readonly tensorShapes: Shape[];
  readonly nParams: number;
  /** How its tensors appear as blocks of Jacobian rows. */
  readonly blocks: readonly BlockLayout[];
  /** Index of its first slot among the network's slots. */
  readonly firstSlot: number;
}

/** A step of the forward pass: a leaf layer, or a sum of chains on the same input. */
type Step = { readonly leaf: NetworkLayer } | { readonly branches: Step[][] };

/** A flat-parameter description of a network, independent of any particular parameter values. */
export class Network {
  /** Every leaf layer, in the order of the forward pass. */
  readonly layers: NetworkLayer[] = [];
  /** The leaves with parameters, in order (PyTorch's `parameters()` order). */
  readonly parametric: NetworkLayer[] = [];
  readonly nParams: number;
  readonly nSlots: number;
  /**
   * Whether some layer's weight rows are formed (a direct weight block) rather
   * than factored: then each row pulled back costs a layer's worth of numbers,
   * and the fewer of them the better.
   */
  readonly formsRows: boolean;
  /** Numbers per example in and out. */
  readonly inputSize: number;
  readonly outputSize: number;
  readonly inputShape: Shape;
  private readonly steps: Step[];
  private offset = 0;
  private slots = 0;

  constructor(model: SequentialLike) {
    if (!Array.isArray(model.layers) || model.layers.length === 0) {
      throw new ValueError('laplace: the model has no layers');
    }
    this.inputShape = model.inputShape;
    const { steps, shape } = this.chain(model.layers, model.inputShape, 'layers');
    this.steps = steps;
    if (this.parametric.length === 0) throw new ValueError('laplace: the model has no parameters');
    if (shape.length !== 1) {
      throw new ShapeError(
        `laplace: the network's output for one example must be a vector [K], got ${shapeString(shape)}; end it with flatten and a linear layer`,
      );
    }
    this.nParams = this.offset;
    this.nSlots = this.slots;
    this.formsRows = this.layers.some((leaf) =>
      leaf.blocks.some((b) => b.structure === 'direct' && b.part === 'weight'),
    );
    this.inputSize = sizeOf(model.inputShape);
    this.outputSize = shape[0]!;
  }

  /** The steps of a chain of layers, registering its leaves in order. */
  private chain(layers: readonly Layer[], input: Shape, path: string): { steps: Step[]; shape: Shape } {
    let shape = input;
    const steps = layers.map((layer, i): Step => {
      const where = `${path}[${i}]`;
      const rule = ruleFor(layer);
      if ('branches' in rule) {
        const branches = rule.branches(layer).map((branch, b) => {
          const built = this.chain(branch, shape, `${where}.branches[${b}]`);
          return built;
        });
        shape = layer.outputShape(shape);
        return { branches: branches.map((b) => b.steps) };
      }
      const inputShape = shape;
      shape = layer.outputShape(inputShape);
      const tensorShapes: Shape[] = layer.parameters().map((t: Tensor) => t.shape);
      const nParams = tensorShapes.reduce((sum: number, t: Shape) => sum + sizeOf(t), 0);
      const blocks = nParams > 0 ? rule.blocks(layer, inputShape) : [];
      const leaf: NetworkLayer = {
        layer,
        rule,
        index: this.layers.length,
        path: where,
        inputShape,
        outputShape: shape,
        offset: this.offset,
        tensorShapes,
        nParams,
        blocks,
        firstSlot: this.slots,
      };
      this.layers.push(leaf);
      if (nParams > 0) {
        this.parametric.push(leaf);
        this.slots += 1 + Math.max(...blocks.map((b) => b.slot));
      }
      this.offset += nParams;
      return { leaf };
    });
    return { steps, shape };
  }

  /**
   * Examples per batch when m rows per example are pulled back: at most 512,
   * and few enough that the widest layer's cotangents, [n·m, …], stay near
   * 4M numbers (a convolution's feature maps are wide; an MLP's are not).
   */
  examplesPerBatch(m: number): number {
    let widest = this.outputSize;
    for (const leaf of this.layers)
      widest = Math.max(widest, sizeOf(leaf.inputShape), sizeOf(leaf.outputShape));
    return Math.max(1, Math.min(512, Math.floor(4_000_000 / (Math.max(1, m) * widest))));
  }

  /** The model's current parameters as one flat vector in PyTorch order. */
  static flatParameters(model: SequentialLike): Float64Array {
    const parts = model.layers.flatMap((layer) => layer.parameters().map((t) => t.data));
    const out = new Float64Array(parts.reduce((s, p) => s + p.length, 0));
    let offset = 0;
    for (const p of parts) {
      out.set(p, offset);
      offset += p.length;
    }
    return out;
  }

  /** A leaf's parameter tensors, views into θ. */
  parametersOf(entry: NetworkLayer, theta: Float64Array): Tensor[] {
    let offset = entry.offset;
    return entry.tensorShapes.map((shape) => {
      const size = sizeOf(shape);
      const t = new Tensor(theta.subarray(offset, offset + size), shape);
      offset += size;
      return t;
    });
  }

  /**
   * Forward pass on n examples of `x` ([n, inputSize], row-major) with
   * parameters `theta`, keeping every leaf's input for the backward pass.
   */
  forward(theta: Float64Array, x: Float64Array, n: number): ForwardCache {
    const inputs: Tensor[] = new Array(this.layers.length);
    const run = (steps: Step[], input: Tensor): Tensor =>
      steps.reduce((current, step) => {
        if ('leaf' in step) {
          inputs[step.leaf.index] = current;
          return step.leaf.rule.forward(step.leaf.layer, this.parametersOf(step.leaf, theta), current);
        }
        return step.branches.map((branch) => run(branch, current)).reduce(sum);
      }, input);
    const output = run(this.steps, new Tensor(x, [n, ...this.inputShape]));
    return { n, inputs, output: output.data };
  }

  /**
   * Pull m output-space vectors per example, v [n, m, K], back through the
   * network, down to the parametric leaf `lowest` (an index into `parametric`;
   * below it nothing is needed). Returns the cotangents at each parametric
   * leaf's output, [n·m, ...outputShape], from `lowest` up.
   */
  backward(theta: Float64Array, cache: ForwardCache, v: Float64Array, m: number, lowest = 0): Tensor[] {
    const pulled: Tensor[] = new Array(this.parametric.length);
    const stop = this.parametric[lowest]!.index;
    // Buffers read elsewhere: the caller's v, the cotangents kept in `pulled`, and
    // a cotangent that several branches pull back. Any other cotangent is spare,
    // read only by the next rule down (a reshape shares its buffer, so identity is
    // by buffer).
    const kept = new Set<Float64Array>([v]);
    /** The cotangent at the chain's input, or null once every leaf from `stop` up has been reached. */
    const back = (steps: Step[], cotangent: Tensor): Tensor | null => {
      let current: Tensor | null = cotangent;
      for (let s = steps.length - 1; s >= 0 && current !== null; s--) {
        const step = steps[s]!;
        if ('leaf' in step) {
          const entry = step.leaf;
          if (entry.nParams > 0) {
            pulled[this.parametric.indexOf(entry)] = current;
            kept.add(current.data);
          }
          if (entry.index <= stop) return null;
          const params = this.parametersOf(entry, theta);
          const spare = !kept.has(current.data);
          current = entry.rule.pullback(entry.layer, params, cache.inputs[entry.index]!, current, m, spare);
          continue;
        }
        kept.add(current.data);
        const parts = step.branches.map((branch) =>
          branch.length === 0 ? (current as Tensor) : back(branch, current as Tensor),
        );
        if (parts.some((p) => p === null)) return null;
        current = (parts as Tensor[]).reduce(sum);
      }
      return current;
    };
    back(this.steps, new Tensor(v, [cache.n * m, this.outputSize]));
    return pulled;
  }

  /**
   * The leaves that carry a tangent at the output of parametric leaf `from` to
   * the output of parametric leaf `to`, or null unless they are one stretch of
   * the top-level chain whose rules push tangents forward channel by channel:
   * layers that act on each channel alone, then `to`, which takes its input's
   * channels one by one.
   */
  forwardPath(from: number, to: number): NetworkLayer[] | null {
    const position = (leaf: NetworkLayer) => this.steps.findIndex((s) => 'leaf' in s && s.leaf === leaf);
    const start = position(this.parametric[from]!);
    const end = position(this.parametric[to]!);
    if (start < 0 || end <= start) return null;
    const path = this.steps.slice(start + 1, end + 1).map((s) => ('leaf' in s ? s.leaf : null));
    const channelwise = path.slice(0, -1).every((leaf) => leaf?.rule.pushforward !== undefined);
    return channelwise && path.at(-1)!.rule.pushforwardByChannel ? (path as NetworkLayer[]) : null;
  }

  /**
   * A tangent [n, C, ...] pushed forward along `path` (from `forwardPath`),
   * channel by channel: [n·C, ...] at the end, the tangent of channel c alone
   * in row n·C + c.
   */
  pushforward(
    theta: Float64Array,
    cache: ForwardCache,
    path: readonly NetworkLayer[],
    tangent: Tensor,
  ): Tensor {
    const params = (leaf: NetworkLayer) => this.parametersOf(leaf, theta);
    const input = (leaf: NetworkLayer) => cache.inputs[leaf.index]!;
    const top = path.at(-1)!;
    const below = path
      .slice(0, -1)
      .reduce((t, leaf) => leaf.rule.pushforward!(leaf.layer, params(leaf), input(leaf), t), tangent);
    return top.rule.pushforwardByChannel!(top.layer, params(top), input(top), below);
  }

  /**
   * The leaves between parametric leaves `from` and `to` (exclusive), or null
   * unless they are one stretch of the top-level chain whose pullbacks are
   * gathers (rule.ts) and `from`'s rule reads its rows through one.
   */
  gatherPath(from: number, to: number): NetworkLayer[] | null {
    if (!this.parametric[from]!.rule.rowSquaresGathered) return null;
    const position = (leaf: NetworkLayer) => this.steps.findIndex((s) => 'leaf' in s && s.leaf === leaf);
    const start = position(this.parametric[from]!);
    const end = position(this.parametric[to]!);
    if (start < 0 || end <= start + 1) return null;
    const path = this.steps.slice(start + 1, end).map((s) => ('leaf' in s ? s.leaf : null));
    return path.every((leaf) => leaf?.rule.gather !== undefined) ? (path as NetworkLayer[]) : null;
  }

  /** The gathers of `path` (from `gatherPath`) composed: from the output of its top to the input of its bottom. */
  gatherAlong(cache: ForwardCache, path: readonly NetworkLayer[]): Gather {
    const gathers = path.map((leaf) => leaf.rule.gather!(leaf.layer, cache.inputs[leaf.index]!));
    return gathers.reduceRight((upper, lower) => {
      // Output q above reads position j of the layer below's output, which reads lower.index there.
      const { outPlane } = upper;
      const index = new Float64Array(upper.index.length);
      const weight = new Float64Array(upper.index.length);
      for (let plane = 0; plane < index.length / outPlane; plane++) {
        for (let i = plane * outPlane; i < (plane + 1) * outPlane; i++) {
          const j = upper.index[i]!;
          const k = plane * lower.outPlane + j;
          index[i] = j < 0 ? -1 : lower.index[k]!;
          weight[i] = j < 0 ? 0 : upper.weight[i]! * lower.weight[k]!;
        }
      }
      return { outPlane, index, weight };
    });
  }

  /** The slots of parametric leaf `index` from its input and the cotangents at its output. */
  slotsOf(index: number, theta: Float64Array, input: Tensor, cotangent: Tensor, m: number): Slot[] {
    const entry = this.parametric[index]!;
    return entry.rule.slots(entry.layer, this.parametersOf(entry, theta), input, cotangent, m);
  }

  /** The parametric leaf that owns slot `slot`. */
  layerOfSlot(slot: number): number {
    let index = 0;
    while (index + 1 < this.parametric.length && this.parametric[index + 1]!.firstSlot <= slot) index++;
    return index;
  }
}

/** a + b elementwise, for tensors of one shape. */
function sum(a: Tensor, b: Tensor): Tensor {
  const out = a.data.slice();
  const bd = b.data;
  for (let i = 0; i < out.length; i++) out[i]! += bd[i]!;
  return new Tensor(out, a.shape);
}

export interface ForwardCache {
  readonly n: number;
  /** The input of every leaf, [n, ...inputShape of that leaf]. */
  readonly inputs: Tensor[];
  /** Network output f, [n × K]. */
  readonly output: Float64Array;
}
