/**
 * Which weights are random.
 *
 * Laplace may treat all weights as random, only the last layer's that has
 * parameters ("last-layer Laplace"), or an arbitrary subnetwork given by flat indices
 * (Daxberger et al. 2021). The rest stay at their MAP values. A selection lists
 * the parameter tensors (blocks) involved and maps between the full flat vector
 * θ and the selected vector; the prior, the scatter and `nParams` cover only the
 * selected weights.
 */
import { ValueError } from '../errors.js';
import type { Network } from './network.js';
import type { BlockLayout } from './rules/index.js';

/** One parameter tensor of a layer, as its rule lays it out (see rules/index.ts). */
export interface Block extends BlockLayout {
  /** Index of its layer among the network's layers with parameters. */
  readonly layer: number;
  /** Index of its slot among all the network's slots. */
  readonly slot: number;
  /** Offset in the full parameter vector. */
  readonly offset: number;
  /** Offset in the selected parameter vector (meaningful for 'all' and 'lastLayer'). */
  readonly selectedOffset: number;
}

export type SubsetOfWeights = 'all' | 'lastLayer' | { subnetwork: readonly number[] | Int32Array };

export class Selection {
  readonly kind: 'all' | 'lastLayer' | 'subnetwork';
  readonly blocks: Block[];
  readonly nParams: number;
  /** For a subnetwork: the full-vector index of each selected parameter, in the caller's order. */
  readonly indices: Int32Array | null;

  constructor(network: Network, subset: SubsetOfWeights) {
    const all = blocksOf(
      network,
      network.parametric.map((_, i) => i),
    );
    if (subset === 'all' || subset === 'lastLayer') {
      this.kind = subset;
      this.blocks = subset === 'all' ? all : blocksOf(network, [network.parametric.length - 1]);
      this.indices = null;
      this.nParams = this.blocks.reduce((s, b) => s + b.rows * b.cols, 0);
      return;
    }
    if (typeof subset !== 'object' || subset === null || !('subnetwork' in subset)) {
      throw new ValueError(`laplace: subsetOfWeights must be 'all', 'lastLayer' or { subnetwork: number[] }`);
    }
    // Kept in the caller's order, as laplace-torch indexes Js[:, :, subnetwork_indices].
    const indices = Int32Array.from(subset.subnetwork);
    if (indices.length === 0) throw new ValueError('laplace: subnetwork selects no parameters');
    const seen = new Set<number>();
    subset.subnetwork.forEach((v) => {
      if (!Number.isInteger(v) || v < 0 || v >= network.nParams) {
        throw new ValueError(`laplace: subnetwork index ${v} is not in 0..${network.nParams - 1}`);
      }
      if (seen.has(v)) throw new ValueError(`laplace: subnetwork index ${v} appears twice`);
      seen.add(v);
    });
    this.kind = 'subnetwork';
    this.blocks = all;
    this.indices = indices;
    this.nParams = indices.length;
  }

  /** The selected entries of a full parameter vector. */
  gather(theta: Float64Array): Float64Array {
    const out = new Float64Array(this.nParams);
    if (this.indices) {
      for (let i = 0; i < this.indices.length; i++) out[i] = theta[this.indices[i]!]!;
      return out;
    }
    for (const b of this.blocks)
      out.set(theta.subarray(b.offset, b.offset + b.rows * b.cols), b.selectedOffset);
    return out;
  }

  /** A copy of `theta` with the selected entries replaced by `selected`. */
  scatter(theta: Float64Array, selected: Float64Array, selectedOffset = 0): Float64Array {
    const out = theta.slice();
    if (this.indices) {
      for (let i = 0; i < this.indices.length; i++) out[this.indices[i]!] = selected[selectedOffset + i]!;
      return out;
    }
    for (const b of this.blocks) {
      const size = b.rows * b.cols;
      out.set(
        selected.subarray(selectedOffset + b.selectedOffset, selectedOffset + b.selectedOffset + size),
        b.offset,
      );
    }
    return out;
  }

  /**
   * Groups for a per-layer prior, in laplace-torch's sense of "layer": one per
   * parameter tensor (weight and bias separately). Returns each selected
   * parameter's group. A subnetwork has no layer structure.
   */
  tensorGroups(): { count: number; groupOf: Int32Array } {
    if (this.indices) throw new ValueError('laplace: a per-layer prior is not available for a subnetwork');
    const groupOf = new Int32Array(this.nParams);
    this.blocks.forEach((b, g) => {
      groupOf.fill(g, b.selectedOffset, b.selectedOffset + b.rows * b.cols);
    });
    return { count: this.blocks.length, groupOf };
  }

  /** The layers with parameters that the selection touches, by index among them. */
  get layers(): number[] {
    return [...new Set(this.blocks.map((b) => b.layer))];
  }
}

function blocksOf(network: Network, layers: number[]): Block[] {
  const blocks: Block[] = [];
  let selectedOffset = 0;
  for (const l of layers) {
    const entry = network.parametric[l]!;
    let offset = entry.offset;
    for (const layout of entry.blocks) {
      blocks.push({ ...layout, layer: l, slot: entry.firstSlot + layout.slot, offset, selectedOffset });
      offset += layout.rows * layout.cols;
      selectedOffset += layout.rows * layout.cols;
    }
  }
  return blocks;
}
