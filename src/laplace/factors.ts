/**
 * Jacobian factors: the Jacobian without forming it.
 *
 * For examples n = 1…N and m output-space rows per example (the rows of Sₙ, see
 * likelihood.ts; or the unit vectors eₖ for a predictive), we keep
 *
 *     aₗ[n]     the input of Linear layer ℓ,                      [N × inₗ]
 *     gₗ[n, r]  row r pulled back to layer ℓ's pre-activation,  [N·m × outₗ]
 *
 * Row (n, r) of the Jacobian-like matrix R = S·J is, per layer, the outer
 * product gₗ[n, r] ⊗ aₗ[n] (weight, row-major) followed by gₗ[n, r] (bias). From
 * these factors every curvature structure follows:
 *
 *     full   H = RᵀR = Σₑ Uₑ ⊗ uuᵀ per pair of layers  (one gemm per pair; GramAccumulator)
 *     diag   diag H = Σₙ (Σᵣ gₗ[n,r]²) ⊗ aₗ[n]²        (one gemm per layer)
 *     kron   Bₗ = Σₙᵣ gₗ gₗᵀ,  Aₗ = (1/N) Σₙ aₗ aₗᵀ     (KFLR: Hₗ ≈ Bₗ ⊗ Aₗ)
 *     H·v    = Rᵀ(R v), two passes over the factors     (Lanczos for low rank)
 *
 * The factors cost O(N·m·Σ widths) memory instead of O(N·m·P) for R.
 */
import { gemm, mat, syrk, tr } from '../kernels/view.js';
import { sizeOf, Tensor } from '../tensor.js';
import type { Network } from './network.js';
import { type Gather, gatheredSum, type KroneckerSums, type Slot } from './rules/index.js';
import type { Block, Selection } from './selection.js';

export interface JacobianFactors {
  readonly n: number;
  readonly m: number;
  /** Slot `index`'s (a, g) (see rules/index.ts), formed by its layer's rule on first use. */
  slot(index: number): Slot;
  /**
   * Slot `index`'s rows squared and summed over the batch, [width], when its
   * layer's rule forms them for this alone (`rowSquares`); else null.
   */
  rowSquares(index: number): Float64Array | null;
  /**
   * Rows of the bias's Jacobian of a layer with Kronecker factors (its rule's
   * `kronecker`), [n·m × out]: from the cotangents at its output, or, for the
   * lowest layer of a KFLR fit, from tangents pushed forward to the next.
   */
  biasRows(layer: number): Float64Array;
  /**
   * Each layer with parameters (by index among them): its input [n, ...] and
   * the cotangents at its output [n·m, ...]; undefined below the lowest layer
   * asked for.
   */
  readonly layerInputs: (Tensor | undefined)[];
  readonly layerCotangents: (Tensor | undefined)[];
  /** Network outputs, [n × K]. */
  readonly output: Float64Array;
}

/**
 * Factors for n examples of x. `roots` [n, m, K] are the output-space rows to
 * pull back; without them, the K unit vectors (the plain Jacobian, m = K).
 * `layers` are the parametric layers whose factors will be read (default
 * all): the backward pass stops at the lowest of them. `kronecker` says that
 * only `biasRows` and the inputs will be read (KFLR), not slots: then the
 * lowest layer's C bias directions tₒ (ones on output channel o), when fewer
 * than m, are pushed forward to the next layer up and met by its cotangents,
 *
 *     u[n, r, o] = ⟨gₙᵣ, Jₙ tₒ⟩,   Jₙ the Jacobian of the layers in between,
 *
 * which is ⟨Jₙᵀgₙᵣ, tₒ⟩, what the backward pass would have given (network.ts
 * explains the pushforward). `onlySquares` says that only `rowSquares` (and
 * outer slots) will be read: then when the lowest layer reads its rows
 * through the gather of the layers above it (rules/rule.ts), the backward pass
 * stops at the next layer's input and the cotangents in between are never
 * formed for the whole batch.
 */
export function jacobianFactors(
  network: Network,
  theta: Float64Array,
  x: Float64Array,
  n: number,
  roots?: { rows: Float64Array; m: number } | ((output: Float64Array) => { rows: Float64Array; m: number }),
  layers?: readonly number[],
  kronecker = false,
  onlySquares = false,
): JacobianFactors {
  const cache = network.forward(theta, x, n);
  const k = network.outputSize;
  let seeds: { rows: Float64Array; m: number };
  if (roots === undefined) {
    const rows = new Float64Array(n * k * k);
    for (let e = 0; e < n; e++) for (let j = 0; j < k; j++) rows[(e * k + j) * k + j] = 1;
    seeds = { rows, m: k };
  } else {
    seeds = typeof roots === 'function' ? roots(cache.output) : roots;
  }
  const lowest = layers === undefined || layers.length === 0 ? 0 : Math.min(...layers);
  const m = seeds.m;
  // The lowest layer's C bias directions (ones on one output channel each), in
  // forward mode when C < m: one tangent of ones carries them all.
  const bottom = network.parametric[lowest]!;
  const channels = bottom.outputShape[0]!;
  const path =
    kronecker && bottom.rule.kronecker && channels < m && lowest + 1 < network.parametric.length
      ? network.forwardPath(lowest, lowest + 1)
      : null;
  const through =
    onlySquares && !path && lowest + 1 < network.parametric.length
      ? network.gatherPath(lowest, lowest + 1)
      : null;
  const cotangents = network.backward(theta, cache, seeds.rows, m, path || through ? lowest + 1 : lowest);
  /** Through a gather: its cotangents at the top of the path (the next layer's input) and the gather. */
  let gathered: { cotangent: Tensor; gather: Gather } | undefined;
  const gatheredAbove = () => {
    if (gathered === undefined) {
      const next = network.parametric[lowest + 1]!;
      const input = cache.inputs[next.index]!;
      const params = network.parametersOf(next, theta);
      const cotangent = next.rule.pullback(next.layer, params, input, cotangents[lowest + 1]!, m);
      gathered = { cotangent, gather: network.gatherAlong(cache, through!) };
    }
    return gathered;
  };
  const inputs = network.parametric.map((entry, i) => (i >= lowest ? cache.inputs[entry.index] : undefined));
  const formed = new Map<number, Slot[]>();
  const squared = new Map<number, Float64Array[]>();
  const rowsOfBias = new Map<number, Float64Array>();
  /** u for the lowest layer: its bias directions pushed up to the next layer, against the cotangents there. */
  const forwardRows = (): Float64Array => {
    const ones = new Tensor(new Float64Array(n * sizeOf(bottom.outputShape)).fill(1), [
      n,
      ...bottom.outputShape,
    ]);
    const pushed = network.pushforward(theta, cache, path!, ones).data;
    const width = pushed.length / (n * channels);
    const g = cotangents[lowest + 1]!.data;
    const u = new Float64Array(n * m * channels);
    for (let e = 0; e < n; e++) {
      // uₙ = Gₙ Tₙᵀ: [m × width]·[width × C].
      gemm(
        mat(u, m, channels, e * m * channels),
        1,
        mat(g, m, width, e * m * width),
        tr(mat(pushed, channels, width, e * channels * width)),
      );
    }
    return u;
  };
  return {
    n,
    m,
    rowSquares(index) {
      const layer = network.layerOfSlot(index);
      const entry = network.parametric[layer]!;
      if (!entry.rule.rowSquares) return null;
      let squares = squared.get(layer);
      if (squares === undefined) {
        const params = network.parametersOf(entry, theta);
        if (through && layer === lowest) {
          const { cotangent, gather } = gatheredAbove();
          squares = entry.rule.rowSquaresGathered!(entry.layer, params, inputs[layer]!, cotangent, gather, m);
        } else {
          squares = entry.rule.rowSquares(entry.layer, params, inputs[layer]!, cotangents[layer]!, m);
        }
        squared.set(layer, squares);
      }
      return squares[index - entry.firstSlot]!;
    },
    biasRows(layer) {
      let u = rowsOfBias.get(layer);
      if (u === undefined) {
        const entry = network.parametric[layer]!;
        u =
          path && layer === lowest
            ? forwardRows()
            : through && layer === lowest
              ? gatheredBiasRows(gatheredAbove(), n * m, entry.outputShape[0]!)
              : entry.rule.kronecker!.biasRows(entry.layer, cotangents[layer]!);
        rowsOfBias.set(layer, u);
      }
      return u;
    },
    slot(index) {
      const layer = network.layerOfSlot(index);
      let slots = formed.get(layer);
      if (slots === undefined) {
        slots = network.slotsOf(layer, theta, inputs[layer]!, cotangents[layer]!, m);
        formed.set(layer, slots);
      }
      return slots[index - network.parametric[layer]!.firstSlot]!;
    },
    layerInputs: inputs,
    layerCotangents: cotangents,
    output: cache.output,
  };
}

/**
 * The rows of a bias's Jacobian, [rows × C], through a gather: each cotangent
 * above, weighted, summed over the positions that reach the layer.
 */
function gatheredBiasRows(
  { cotangent, gather }: { cotangent: Tensor; gather: Gather },
  rows: number,
  channels: number,
): Float64Array {
  const above = gather.outPlane;
  const m = rows / (gather.index.length / (channels * above));
  const u = new Float64Array(rows * channels);
  for (let row = 0; row < rows; row++) {
    for (let c = 0; c < channels; c++) {
      const plane = (Math.floor(row / m) * channels + c) * above;
      u[row * channels + c] = gatheredSum(gather, plane, cotangent.data, (row * channels + c) * above);
    }
  }
  return u;
}

/** The factors of examples [start, end) (views, no copies; the per-layer tensors are dropped). */
export function sliceFactors(factors: JacobianFactors, start: number, end: number): JacobianFactors {
  const count = end - start;
  const rows = (x: Float64Array, perExample: number) => x.subarray(start * perExample, end * perExample);
  return {
    n: count,
    m: factors.m,
    slot(index) {
      const slot = factors.slot(index);
      return {
        a: slot.a && rows(slot.a, slot.a.length / factors.n),
        g: rows(slot.g, slot.width * factors.m),
        width: slot.width,
      };
    },
    rowSquares: () => null,
    biasRows(layer) {
      const u = factors.biasRows(layer);
      return rows(u, u.length / factors.n);
    },
    layerInputs: [],
    layerCotangents: [],
    output: rows(factors.output, factors.output.length / factors.n),
  };
}

/** Numbers in a block. */
function sizeOfBlock(block: Block): number {
  return block.rows * block.cols;
}

/**
 * Rows (n, r) for examples [start, end) of R restricted to the selection, written
 * row-major into `out` [(end − start)·m × selection.nParams].
 */
export function assembleRows(
  factors: JacobianFactors,
  network: Network,
  selection: Selection,
  start: number,
  end: number,
  out: Float64Array,
): Float64Array {
  const { m } = factors;
  const width = selection.nParams;
  const fullRow = selection.indices ? new Float64Array(network.nParams) : null;
  for (let e = start; e < end; e++) {
    for (let r = 0; r < m; r++) {
      const row = (e - start) * m + r;
      const target = fullRow ?? out.subarray(row * width, (row + 1) * width);
      for (const block of selection.blocks) {
        const base = fullRow ? block.offset : block.selectedOffset;
        const slot = factors.slot(block.slot);
        const gOffset = (e * m + r) * slot.width;
        if (block.structure === 'direct') {
          target.set(slot.g.subarray(gOffset, gOffset + sizeOfBlock(block)), base);
          continue;
        }
        const g = slot.g;
        const a = slot.a!;
        const aOffset = e * block.cols;
        for (let i = 0; i < block.rows; i++) {
          const gi = g[gOffset + i]!;
          const rowBase = base + i * block.cols;
          for (let j = 0; j < block.cols; j++) target[rowBase + j] = gi * a[aOffset + j]!;
        }
      }
      if (fullRow) {
        const indices = selection.indices!;
        for (let p = 0; p < indices.length; p++) out[row * width + p] = fullRow[indices[p]!]!;
      }
    }
  }
  return out;
}

/** Examples per chunk so that a chunk of rows stays near `budget` numbers. */
export function chunkSize(m: number, width: number, budget = 4_000_000): number {
  return Math.max(1, Math.floor(budget / Math.max(1, m * width)));
}

/**
 * H = RᵀR summed over batches of examples, into the lower triangle of h [P × P]
 * (call `mirrorLower` after `finish`). A subnetwork has no block structure and
 * takes the rows of R, one syrk per chunk; whole layers take the Kronecker sums
 * below, whose per-pair products live here from the first batch to `finish`.
 *
 * Write uₗ[e] = (aₗ[e], 1) for the input of layer ℓ augmented by the bias's
 * constant input, so that row (e, r) of R restricted to layer ℓ is gₗ[e, r] ⊗ uₗ[e].
 * The block of H between layers ℓ and ℓ' is then a sum of Kronecker products,
 *
 *     H[(i, j), (i', j')] = Σₑ Uₑ[i, i'] · uₗ[e, j] · uₗ'[e, j'],   Uₑ = Σᵣ gₗ[e, r] gₗ'[e, r]ᵀ,
 *
 * which is one entry of the matrix product XᵀY with a row per example,
 * X[e] = vec Uₑ and Y[e] = vec(uₗ[e] uₗ'[e]ᵀ) (the rearrangement of Van Loan and
 * Pitsianis 1993). One gemm per pair of layers, 2·N·|block| flops, replaces the
 * 2·N·m·|block| of RᵀR; on a diagonal block Uₑ and uuᵀ are symmetric and only the
 * pairs i ≤ i', j ≤ j' are formed, a quarter of that again.
 */
export class GramAccumulator {
  private readonly slices: LayerSlice[];
  private readonly pairs: LayerPair[];

  constructor(
    private readonly network: Network,
    private readonly selection: Selection,
    private readonly h: Float64Array,
  ) {
    const slices = selection.indices ? [] : layerSlices(selection);
    this.slices = slices;
    // Later layers come later in θ: (row, column) with row ≥ column lands in the lower triangle.
    this.pairs = slices.flatMap((row, s) =>
      slices.slice(0, s + 1).map((column, t) => layerPair(row, column, s === t)),
    );
  }

  add(factors: JacobianFactors): void {
    if (this.selection.indices) {
      const p = this.selection.nParams;
      const chunk = chunkSize(factors.m, p);
      const rows = new Float64Array(Math.min(chunk, factors.n) * factors.m * p);
      for (let start = 0; start < factors.n; start += chunk) {
        const end = Math.min(factors.n, start + chunk);
        assembleRows(factors, this.network, this.selection, start, end, rows);
        syrk(mat(this.h, p, p), 1, tr(mat(rows, (end - start) * factors.m, p)), 1);
      }
      return;
    }
    // uₗ for this batch, once per layer (each layer takes part in several pairs).
    const inputs = new Map(this.slices.map((slice) => [slice, augmentedInputs(factors, slice)]));
    for (const pair of this.pairs) {
      accumulatePair(factors, pair, inputs.get(pair.row)!, inputs.get(pair.column)!);
    }
  }

  /** Add the Kronecker sums to h's lower triangle. */
  finish(): void {
    for (const pair of this.pairs) scatterPair(pair, this.h, this.selection.nParams);
  }
}

/**
 * One slot's selected parameters seen as a single matrix [out × width]: the
 * outer block's columns, then the direct block as one more column whose input
 * is 1 (a Linear layer's weight and bias; a direct slot is that column alone).
 */
interface LayerSlice {
  readonly slot: number;
  readonly outFeatures: number;
  /** Input width of the weight, 0 when the weight is not selected. */
  readonly inFeatures: number;
  readonly hasBias: boolean;
  readonly width: number;
  /** Selected-vector index of entry (i, j), at i·width + j. */
  readonly index: Int32Array;
}

function layerSlices(selection: Selection): LayerSlice[] {
  const slices: LayerSlice[] = [];
  for (const slot of new Set(selection.blocks.map((b) => b.slot))) {
    const weight = selection.blocks.find((b) => b.slot === slot && b.structure === 'outer');
    const bias = selection.blocks.find((b) => b.slot === slot && b.structure === 'direct');
    const outFeatures = weight ? weight.rows : sizeOfBlock(bias!);
    const inFeatures = weight ? weight.cols : 0;
    const width = inFeatures + (bias ? 1 : 0);
    const index = new Int32Array(outFeatures * width);
    for (let i = 0; i < outFeatures; i++) {
      for (let j = 0; j < inFeatures; j++) index[i * width + j] = weight!.selectedOffset + i * inFeatures + j;
      if (bias) index[i * width + inFeatures] = bias.selectedOffset + i;
    }
    slices.push({ slot, outFeatures, inFeatures, hasBias: bias !== undefined, width, index });
  }
  return slices;
}

/** The block of H between two layers and its running product XᵀY. */
interface LayerPair {
  readonly row: LayerSlice;
  readonly column: LayerSlice;
  /** row = column: only the pairs i ≤ i', j ≤ j' are formed. */
  readonly diagonal: boolean;
  readonly outPairs: number;
  readonly inPairs: number;
  /** XᵀY so far, [outPairs × inPairs]. */
  readonly product: Float64Array;
}

function layerPair(row: LayerSlice, column: LayerSlice, diagonal: boolean): LayerPair {
  const o = row.outFeatures;
  const c = row.width;
  const outPairs = diagonal ? (o * (o + 1)) / 2 : o * column.outFeatures;
  const inPairs = diagonal ? (c * (c + 1)) / 2 : c * column.width;
  return { row, column, diagonal, outPairs, inPairs, product: new Float64Array(outPairs * inPairs) };
}

/**
 * product += XᵀY over the factors' examples, a chunk of rows of X and Y at a
 * time; u and u2 are the augmented inputs of the pair's row and column layers.
 */
function accumulatePair(factors: JacobianFactors, pair: LayerPair, u: Float64Array, u2: Float64Array): void {
  const { row, column, diagonal, outPairs, inPairs, product } = pair;
  const { n, m } = factors;
  const o = row.outFeatures;
  const o2 = column.outFeatures;
  const g = factors.slot(row.slot).g;
  const g2 = factors.slot(column.slot).g;
  const c = row.width;
  const c2 = column.width;
  const chunk = Math.min(n, chunkSize(1, outPairs + inPairs));
  const x = new Float64Array(chunk * outPairs);
  const y = new Float64Array(chunk * inPairs);
  const uu = new Float64Array(o * o2);
  for (let start = 0; start < n; start += chunk) {
    const count = Math.min(chunk, n - start);
    for (let k = 0; k < count; k++) {
      const e = start + k;
      // Uₑ = Gₑᵀ G'ₑ with Gₑ the m pulled-back rows [m × o] of example e.
      gemm(mat(uu, o, o2), 1, tr(mat(g, m, o, e * m * o)), mat(g2, m, o2, e * m * o2));
      // Pairs in row-major order (upper triangle only on a diagonal block).
      let q = k * outPairs;
      for (let i = 0; i < o; i++) {
        for (let i2 = diagonal ? i : 0; i2 < o2; i2++) x[q++] = uu[i * o2 + i2]!;
      }
      q = k * inPairs;
      for (let j = 0; j < c; j++) {
        const uj = u[e * c + j]!;
        for (let j2 = diagonal ? j : 0; j2 < c2; j2++) y[q++] = uj * u2[e * c2 + j2]!;
      }
    }
    gemm(mat(product, outPairs, inPairs), 1, tr(mat(x, count, outPairs)), mat(y, count, inPairs), 1);
  }
}

/** uₗ[e] = (aₗ[e], 1) for every example, [n × width]. */
function augmentedInputs(factors: JacobianFactors, slice: LayerSlice): Float64Array {
  const a = factors.slot(slice.slot).a;
  if (!slice.hasBias) return a!;
  const u = new Float64Array(factors.n * slice.width);
  for (let e = 0; e < factors.n; e++) {
    if (a) u.set(a.subarray(e * slice.inFeatures, (e + 1) * slice.inFeatures), e * slice.width);
    u[e * slice.width + slice.inFeatures] = 1;
  }
  return u;
}

/**
 * Position of the unordered pair {i, j} among the pairs i ≤ j of 0…n−1 in
 * row-major order, for every ordered (i, j) at i·n + j.
 */
function symmetricPairIndex(n: number): Int32Array {
  const index = new Int32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const lo = Math.min(i, j);
      index[i * n + j] = lo * n - (lo * (lo - 1)) / 2 + Math.abs(j - i);
    }
  }
  return index;
}

/** H[(i, j), (i', j')] += (XᵀY)[pair(i, i'), pair(j, j')] on h's lower triangle. */
function scatterPair(pair: LayerPair, h: Float64Array, p: number): void {
  const { row, column, diagonal, inPairs, product } = pair;
  const o2 = column.outFeatures;
  const c = row.width;
  const c2 = column.width;
  const outIndex = diagonal ? symmetricPairIndex(o2) : null;
  const inIndex = diagonal ? symmetricPairIndex(c2) : null;
  for (let i = 0; i < row.outFeatures; i++) {
    for (let j = 0; j < c; j++) {
      const target = row.index[i * c + j]!;
      for (let i2 = 0; i2 < o2; i2++) {
        const source = (outIndex ? outIndex[i * o2 + i2]! : i * o2 + i2) * inPairs;
        for (let j2 = 0; j2 < c2; j2++) {
          const col = column.index[i2 * c2 + j2]!;
          if (col > target) continue; // the upper triangle of a diagonal block
          h[target * p + col]! += product[source + (inIndex ? inIndex[j * c2 + j2]! : j * c2 + j2)]!;
        }
      }
    }
  }
}

/** diag(RᵀR) without forming R. */
export function gramDiagonal(factors: JacobianFactors, network: Network, selection: Selection): Float64Array {
  const full = new Float64Array(network.nParams);
  const { n, m } = factors;
  for (const block of selection.blocks) {
    const squares = block.structure === 'direct' ? factors.rowSquares(block.slot) : null;
    if (squares) {
      for (let i = 0; i < squares.length; i++) full[block.offset + i]! += squares[i]!;
      continue;
    }
    const { g, a, width } = factors.slot(block.slot);
    // Σᵣ g[n, r, i]² for each example and column of g.
    const gSquared = new Float64Array(n * width);
    for (let e = 0; e < n; e++) {
      for (let r = 0; r < m; r++) {
        const off = (e * m + r) * width;
        for (let i = 0; i < width; i++) gSquared[e * width + i]! += g[off + i]! ** 2;
      }
    }
    if (block.structure === 'direct') {
      for (let e = 0; e < n; e++) {
        for (let i = 0; i < width; i++) full[block.offset + i]! += gSquared[e * width + i]!;
      }
      continue;
    }
    const aSquared = a!.map((v) => v * v);
    // diag of the weight block = (g²)ᵀ (a²): [out × n]·[n × in].
    gemm(
      mat(full, block.rows, block.cols, block.offset),
      1,
      tr(mat(gSquared, n, block.rows)),
      mat(aSquared, n, block.cols),
      1,
    );
  }
  return selection.gather(full);
}

/** Kronecker factors of one layer: weight block B ⊗ A, bias block B. */
export interface KronFactor extends KroneckerSums {
  /** Index of the layer among those with parameters. */
  readonly layer: number;
  readonly hasBias: boolean;
}

/**
 * KFLR factors for every layer the selection touches, from each layer's rule;
 * a layer whose rule has none is refused by name.
 */
export function kroneckerFactors(
  factors: JacobianFactors,
  network: Network,
  selection: Selection,
): KronFactor[] {
  return selection.layers.map((l) => {
    const entry = network.parametric[l]!;
    const { rows: outFeatures, cols: inFeatures } = entry.blocks.find((b) => b.part === 'weight')!;
    const kronecker = entry.rule.kronecker!;
    const a = kronecker.inputSums(entry.layer, factors.layerInputs[l]!);
    // B = Σ uuᵀ over the rows of the bias's Jacobian.
    const U = mat(factors.biasRows(l), factors.n * factors.m, outFeatures);
    const b = new Float64Array(outFeatures * outFeatures);
    gemm(mat(b, outFeatures, outFeatures), 1, tr(U), U);
    const hasBias = entry.blocks.some((b) => b.part === 'bias');
    return { a, b, outFeatures, inFeatures, layer: l, hasBias };
  });
}

/**
 * R M for a matrix M [P × k] over the selected parameters: [n·m × k]. Per outer
 * block, Y[e, i, :] = Σⱼ aₑ[j] M[(i, j), :] (one gemm per output unit) and then
 * (R M)[e, r, :] += Σᵢ g[e, r, i] Y[e, i, :]; a direct block adds g M_block.
 */
export function rowsTimesMatrix(
  factors: JacobianFactors,
  network: Network,
  selection: Selection,
  matrix: Float64Array,
  k: number,
): Float64Array {
  const { n, m } = factors;
  const out = new Float64Array(n * m * k);
  let source = matrix;
  if (selection.indices) {
    // Spread the subnetwork rows over the full parameter vector; blocks then use full offsets.
    source = new Float64Array(network.nParams * k);
    selection.indices.forEach((full, i) => {
      source.set(matrix.subarray(i * k, (i + 1) * k), full * k);
    });
  }
  for (const block of selection.blocks) {
    const base = selection.indices ? block.offset : block.selectedOffset;
    const { g, a, width } = factors.slot(block.slot);
    if (block.structure === 'direct') {
      gemm(mat(out, n * m, k), 1, mat(g, n * m, width), mat(source, width, k, base * k), 1);
      continue;
    }
    const y = new Float64Array(n * block.rows * k);
    for (let i = 0; i < block.rows; i++) {
      gemm(
        mat(y, n, k, i * k, block.rows * k),
        1,
        mat(a!, n, block.cols),
        mat(source, block.cols, k, (base + i * block.cols) * k),
      );
    }
    for (let e = 0; e < n; e++) {
      gemm(
        mat(out, m, k, e * m * k),
        1,
        mat(g, m, block.rows, e * m * block.rows),
        mat(y, block.rows, k, e * block.rows * k),
        1,
      );
    }
  }
  return out;
}

/** R v for a selected-parameter vector v: one number per row (n, r). */
export function rowsTimes(
  factors: JacobianFactors,
  network: Network,
  selection: Selection,
  v: Float64Array,
): Float64Array {
  return rowsTimesMatrix(factors, network, selection, v, 1);
}

/** Rᵀ w for a vector w with one number per row (n, r). */
export function rowsTransposeTimes(
  factors: JacobianFactors,
  network: Network,
  selection: Selection,
  w: Float64Array,
): Float64Array {
  const { n, m } = factors;
  const full = new Float64Array(network.nParams);
  for (const block of selection.blocks) {
    const { g, a, width } = factors.slot(block.slot);
    // c[n, i] = Σᵣ w[n, r] g[n, r, i]
    const c = new Float64Array(n * width);
    for (let e = 0; e < n; e++) {
      for (let r = 0; r < m; r++) {
        const wr = w[e * m + r]!;
        if (wr === 0) continue;
        const off = (e * m + r) * width;
        for (let i = 0; i < width; i++) c[e * width + i]! += wr * g[off + i]!;
      }
    }
    if (block.structure === 'direct') {
      for (let e = 0; e < n; e++)
        for (let i = 0; i < width; i++) full[block.offset + i]! += c[e * width + i]!;
    } else {
      // weight gradient = cᵀ a: [out × n]·[n × in]
      gemm(
        mat(full, block.rows, block.cols, block.offset),
        1,
        tr(mat(c, n, block.rows)),
        mat(a!, n, block.cols),
        1,
      );
    }
  }
  return selection.gather(full);
}

/**
 * out[e, r, s] += Σᵢ u[e, r, i]·u[e, s, i]·w[e, i] for each example e: the m × m
 * Gram matrix of its m rows under the diagonal weights w[e, ·]. This is how a
 * diagonal (or diagonalised) P⁻¹ turns pulled-back rows into J P⁻¹ Jᵀ.
 */
export function accumulateWeightedGram(
  u: Float64Array,
  w: Float64Array,
  n: number,
  m: number,
  width: number,
  out: Float64Array,
): void {
  for (let e = 0; e < n; e++) {
    const we = e * width;
    for (let r = 0; r < m; r++) {
      const ur = (e * m + r) * width;
      for (let s = 0; s <= r; s++) {
        const us = (e * m + s) * width;
        let sum = 0;
        for (let i = 0; i < width; i++) sum += u[ur + i]! * u[us + i]! * w[we + i]!;
        out[(e * m + r) * m + s]! += sum;
        if (s !== r) out[(e * m + s) * m + r]! += sum;
      }
    }
  }
}

/**
 * J D Jᵀ for a diagonal D given per selected parameter (`d`), from the factors:
 * for a weight block, Σᵢⱼ gᵢ gᵢ' aⱼ² Dᵢⱼ = Σᵢ gᵢ gᵢ' wᵢ with w = (a∘a)·Dᵀ (one gemm).
 */
export function diagonalQuadraticForm(
  factors: JacobianFactors,
  network: Network,
  selection: Selection,
  d: Float64Array,
): Float64Array {
  const { n, m } = factors;
  const out = new Float64Array(n * m * m);
  if (selection.indices) {
    // A subnetwork has no block structure: assemble its rows, chunk by chunk.
    const p = selection.nParams;
    const chunk = chunkSize(m, p);
    const rows = new Float64Array(Math.min(chunk, n) * m * p);
    const weights = new Float64Array(Math.min(chunk, n) * p);
    for (let start = 0; start < n; start += chunk) {
      const end = Math.min(n, start + chunk);
      assembleRows(factors, network, selection, start, end, rows);
      for (let e = 0; e < end - start; e++) weights.set(d, e * p);
      accumulateWeightedGram(rows, weights, end - start, m, p, out.subarray(start * m * m, end * m * m));
    }
    return out;
  }
  for (const block of selection.blocks) {
    const { g, a, width } = factors.slot(block.slot);
    const w = new Float64Array(n * width);
    if (block.structure === 'direct') {
      for (let e = 0; e < n; e++)
        w.set(d.subarray(block.selectedOffset, block.selectedOffset + width), e * width);
    } else {
      const aSquared = a!.map((v) => v * v);
      gemm(
        mat(w, n, block.rows),
        1,
        mat(aSquared, n, block.cols),
        tr(mat(d, block.rows, block.cols, block.selectedOffset)),
      );
    }
    accumulateWeightedGram(g, w, n, m, width, out);
  }
  return out;
}
