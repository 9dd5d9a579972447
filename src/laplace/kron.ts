/**
 * Kronecker-factored Laplace (KFLR; Ritter et al. 2018, Martens & Grosse 2015).
 *
 * Per Linear layer ℓ, the curvature of the weight block is approximated by
 * Bₗ ⊗ Aₗ with Bₗ = Σₙ Jₙᵀ Λₙ Jₙ taken at the layer's pre-activation and
 * Aₗ = (1/N) Σₙ aₙ aₙᵀ over its inputs; the bias block is Bₗ. Layers are
 * independent (block diagonal). With eigendecompositions B = Q_B Λ_B Q_Bᵀ and
 * A = Q_A Λ_A Q_Aᵀ, the prior δ is added exactly:
 *
 *     c·(B ⊗ A) + δI = (Q_B ⊗ Q_A) (c·Λ_B ⊗ Λ_A + δI) (Q_B ⊗ Q_A)ᵀ,
 *
 * so log det P = Σᵢⱼ log(c·λᴮᵢ λᴬⱼ + δ), and P⁻¹, P^{-1/2} and J P⁻¹ Jᵀ are a
 * rotation, a diagonal scaling and a rotation back. For a weight matrix W
 * (row-major, out × in), (Q_B ⊗ Q_A)ᵀ vec W = vec(Q_Bᵀ W Q_A).
 */

import { ValueError } from '../errors.js';
import { gemm, mat, tr } from '../kernels/view.js';
import { eigh } from '../linalg/index.js';
import { Tensor } from '../tensor.js';
import { BaseLaplace, type CurvatureSpectrum, type LaplaceOptions } from './base.js';
import { accumulateWeightedGram, type JacobianFactors, kroneckerFactors } from './factors.js';
import type { LikelihoodName } from './likelihood.js';
import type { SequentialLike } from './network.js';
import type { Prior } from './prior.js';
import type { Block } from './selection.js';

interface Eigen {
  values: Float64Array;
  /** Eigenvectors as columns, [n × n] row-major. */
  vectors: Float64Array;
}

interface LayerFactors {
  /** Index of the layer among those with parameters. */
  layer: number;
  outFeatures: number;
  inFeatures: number;
  b: Float64Array;
  a: Float64Array;
  eigenB?: Eigen;
  eigenA?: Eigen;
}

export class KronLaplace<L extends LikelihoodName = LikelihoodName> extends BaseLaplace<L> {
  readonly hessianStructure = 'kron' as const;
  private layers: LayerFactors[] = [];

  constructor(model: SequentialLike, options: LaplaceOptions<L>) {
    super(model, options);
    for (const l of this.selection.layers) {
      const entry = this.network.parametric[l]!;
      if (entry.rule.kronecker === undefined) {
        throw new ValueError(
          `KronLaplace: ${entry.path} (${entry.layer.type}) has no Kronecker factors; use hessianStructure 'full', 'diag' or 'lowrank', or a subset of weights without it`,
        );
      }
    }
  }

  protected override checkPrior(prior: Prior): void {
    if (prior.form === 'diag') {
      throw new ValueError('KronLaplace: priorPrecision must be a scalar or per layer, not per parameter');
    }
  }

  protected override get readsKroneckerFactors(): boolean {
    return true;
  }

  protected beginCurvature(): void {
    this.layers = [];
  }

  protected accumulateCurvature(factors: JacobianFactors): void {
    const chunk = kroneckerFactors(factors, this.network, this.selection);
    if (this.layers.length === 0) {
      this.layers = chunk.map((f) => ({ ...f }));
      return;
    }
    chunk.forEach((f, i) => {
      const layer = this.layers[i]!;
      for (let j = 0; j < f.b.length; j++) layer.b[j]! += f.b[j]!;
      for (let j = 0; j < f.a.length; j++) layer.a[j]! += f.a[j]!;
    });
  }

  protected finishCurvature(): void {
    for (const layer of this.layers) {
      for (let j = 0; j < layer.a.length; j++) layer.a[j]! /= this.nData;
      this.decompose(layer);
    }
  }

  private decompose(layer: LayerFactors): void {
    const b = eigh(new Tensor(layer.b, [layer.outFeatures, layer.outFeatures]));
    const a = eigh(new Tensor(layer.a, [layer.inFeatures, layer.inFeatures]));
    layer.eigenB = { values: b.values, vectors: b.vectors.data };
    layer.eigenA = { values: a.values, vectors: a.vectors.data };
  }

  /** The Kronecker factors {B, A} of each layer covered, as Tensors. */
  get kroneckerFactors(): { b: Tensor; a: Tensor }[] {
    this.checkFitted('kroneckerFactors');
    return this.layers.map((l) => ({
      b: new Tensor(l.b.slice(), [l.outFeatures, l.outFeatures]),
      a: new Tensor(l.a.slice(), [l.inFeatures, l.inFeatures]),
    }));
  }

  private layerOf(block: Block): LayerFactors {
    return this.layers.find((l) => l.layer === block.layer)!;
  }

  /** The prior precision of each selection block. */
  private blockPrior(): Float64Array {
    return Float64Array.from(
      this.selection.blocks,
      (b) => this.prior.values[this.prior.groupOf[b.selectedOffset]!]!,
    );
  }

  /**
   * Eigenvalues of the curvature of a block, λᴮᵢ·λᴬⱼ (weight, row-major in i, j)
   * or λᴮᵢ (bias).
   */
  private blockSpectrum(block: Block): Float64Array {
    const layer = this.layerOf(block);
    const lb = layer.eigenB!.values;
    if (block.part === 'bias') return lb.map((v) => Math.max(v, 0));
    const la = layer.eigenA!.values;
    const out = new Float64Array(lb.length * la.length);
    for (let i = 0; i < lb.length; i++) {
      for (let j = 0; j < la.length; j++) out[i * la.length + j] = Math.max(lb[i]!, 0) * Math.max(la[j]!, 0);
    }
    return out;
  }

  protected curvatureSpectrum(): CurvatureSpectrum {
    const values = new Float64Array(this.nParams);
    const groupOf = new Int32Array(this.nParams);
    for (const block of this.selection.blocks) {
      const s = this.blockSpectrum(block);
      values.set(s, block.selectedOffset);
      groupOf.fill(
        this.prior.groupOf[block.selectedOffset]!,
        block.selectedOffset,
        block.selectedOffset + s.length,
      );
    }
    return { values, groupOf };
  }

  /** c·λ + δ for every eigen-direction of every block, in block order. */
  private eigenvaluesOfPrecision(): Float64Array[] {
    const c = this.hessianFactor;
    const deltas = this.blockPrior();
    return this.selection.blocks.map((block, i) => this.blockSpectrum(block).map((v) => c * v + deltas[i]!));
  }

  protected computeLogDetPosteriorPrecision(): number {
    let s = 0;
    for (const d of this.eigenvaluesOfPrecision()) for (const v of d) s += Math.log(v);
    return s;
  }

  posteriorVariance(): Float64Array {
    this.checkFitted('posteriorVariance');
    const out = new Float64Array(this.nParams);
    const precision = this.eigenvaluesOfPrecision();
    this.selection.blocks.forEach((block, bi) => {
      const layer = this.layerOf(block);
      const qb = squared(layer.eigenB!.vectors);
      const inverse = precision[bi]!.map((v) => 1 / v);
      const out_ = layer.outFeatures;
      if (block.part === 'bias') {
        // Var bᵢ = Σₐ Q_B[i, a]² / dₐ
        gemm(mat(out, out_, 1, block.selectedOffset), 1, mat(qb, out_, out_), mat(inverse, out_, 1));
        return;
      }
      // Var W[i, j] = Σₐ_b Q_B[i, a]² Q_A[j, b]² / d[a, b] = ((Q_B∘Q_B) D⁻¹ (Q_A∘Q_A)ᵀ)[i, j]
      const inn = layer.inFeatures;
      const qa = squared(layer.eigenA!.vectors);
      const temp = new Float64Array(out_ * inn);
      gemm(mat(temp, out_, inn), 1, mat(qb, out_, out_), mat(inverse, out_, inn));
      gemm(mat(out, out_, inn, block.selectedOffset), 1, mat(temp, out_, inn), tr(mat(qa, inn, inn)));
    });
    return out;
  }

  protected functionalCovariance(factors: JacobianFactors): Float64Array {
    const { n, m: k } = factors;
    const out = new Float64Array(n * k * k);
    const precision = this.eigenvaluesOfPrecision();
    this.selection.blocks.forEach((block, bi) => {
      const layer = this.layerOf(block);
      const outF = layer.outFeatures;
      const inn = layer.inFeatures;
      const qb = layer.eigenB!.vectors;
      const slot = factors.slot(block.slot);
      if (block.structure === 'direct' && block.part === 'weight') {
        // Rows of the weight formed by the layer's rule: each row W rotated to Q_Bᵀ W Q_A,
        // then weighted by 1/d in the eigenbasis.
        const size = outF * inn;
        const u = new Float64Array(n * k * size);
        const temp = new Float64Array(size);
        for (let row = 0; row < n * k; row++) {
          gemm(mat(temp, outF, inn), 1, tr(mat(qb, outF, outF)), mat(slot.g, outF, inn, row * size));
          gemm(mat(u, outF, inn, row * size), 1, mat(temp, outF, inn), mat(layer.eigenA!.vectors, inn, inn));
        }
        const inverse = precision[bi]!.map((v) => 1 / v);
        const w = new Float64Array(n * size);
        for (let e = 0; e < n; e++) w.set(inverse, e * size);
        accumulateWeightedGram(u, w, n, k, size, out);
        return;
      }
      // U = G Q_B: every pulled-back row rotated into B's eigenbasis, [n·k × out].
      const u = new Float64Array(n * k * outF);
      gemm(mat(u, n * k, outF), 1, mat(slot.g, n * k, outF), mat(qb, outF, outF));
      // w[e, a] = weight of direction a for example e: Σ_b (Q_Aᵀ aₑ)_b² / d[a, b], or 1/d[a] for a bias.
      const w = new Float64Array(n * outF);
      const d = precision[bi]!;
      if (block.part === 'bias') {
        for (let e = 0; e < n; e++) for (let a = 0; a < outF; a++) w[e * outF + a] = 1 / d[a]!;
      } else {
        const v = new Float64Array(n * inn);
        gemm(mat(v, n, inn), 1, mat(slot.a!, n, inn), mat(layer.eigenA!.vectors, inn, inn));
        for (let i = 0; i < v.length; i++) v[i] = v[i]! * v[i]!;
        const inverse = d.map((x) => 1 / x);
        // w = (V∘V) D⁻¹ᵀ: [n × in]·[in × out]
        gemm(mat(w, n, outF), 1, mat(v, n, inn), tr(mat(inverse, outF, inn)));
      }
      accumulateWeightedGram(u, w, n, k, outF, out);
    });
    return out;
  }

  protected applyPosteriorScale(z: Float64Array, n: number): Float64Array {
    const p = this.nParams;
    const precision = this.eigenvaluesOfPrecision();
    this.selection.blocks.forEach((block, bi) => {
      const layer = this.layerOf(block);
      const outF = layer.outFeatures;
      const cols = block.part === 'bias' ? 1 : layer.inFeatures;
      const qb = layer.eigenB!.vectors;
      const scale = precision[bi]!.map((v) => 1 / Math.sqrt(v));
      const rotated = new Float64Array(outF * cols);
      const temp = new Float64Array(outF * cols);
      for (let s = 0; s < n; s++) {
        const offset = s * p + block.selectedOffset;
        // Z ← Q_B ((Q_Bᵀ Z Q_A) ∘ D^{-1/2}) Q_Aᵀ, with Q_A = [1] for a bias.
        gemm(mat(temp, outF, cols), 1, tr(mat(qb, outF, outF)), mat(z, outF, cols, offset));
        if (block.part === 'weight') {
          gemm(mat(rotated, outF, cols), 1, mat(temp, outF, cols), mat(layer.eigenA!.vectors, cols, cols));
        } else rotated.set(temp);
        for (let i = 0; i < rotated.length; i++) rotated[i]! *= scale[i]!;
        if (block.part === 'weight') {
          gemm(
            mat(temp, outF, cols),
            1,
            mat(rotated, outF, cols),
            tr(mat(layer.eigenA!.vectors, cols, cols)),
          );
        } else temp.set(rotated);
        gemm(mat(z, outF, cols, offset), 1, mat(qb, outF, outF), mat(temp, outF, cols));
      }
    });
    return z;
  }

  /** Dense block-diagonal P (exponent 1) or P⁻¹ (exponent −1). */
  private dense(exponent: 1 | -1): Tensor {
    const p = this.nParams;
    const out = new Float64Array(p * p);
    const precision = this.eigenvaluesOfPrecision();
    this.selection.blocks.forEach((block, bi) => {
      const layer = this.layerOf(block);
      const size = block.rows * block.cols;
      // Eigenvectors of the block: Q_B ⊗ Q_A (or Q_B for a bias), [size × size].
      const q =
        block.part === 'bias'
          ? layer.eigenB!.vectors
          : kronecker(layer.eigenB!.vectors, layer.outFeatures, layer.eigenA!.vectors, layer.inFeatures);
      const d = precision[bi]!.map((v) => v ** exponent);
      const scaled = new Float64Array(size * size);
      for (let i = 0; i < size; i++)
        for (let j = 0; j < size; j++) scaled[i * size + j] = q[i * size + j]! * d[j]!;
      gemm(
        mat(out, size, size, block.selectedOffset * p + block.selectedOffset, p),
        1,
        mat(scaled, size, size),
        tr(mat(q, size, size)),
      );
    });
    return new Tensor(out, [p, p]);
  }

  posteriorCovariance(): Tensor {
    this.checkFitted('posteriorCovariance');
    return this.dense(-1);
  }

  posteriorPrecision(): Tensor {
    this.checkFitted('posteriorPrecision');
    return this.dense(1);
  }

  protected curvatureState(): Record<string, number[]> {
    const state: Record<string, number[]> = {};
    this.layers.forEach((l, i) => {
      state[`b${i}`] = Array.from(l.b);
      state[`a${i}`] = Array.from(l.a);
    });
    return state;
  }

  protected restoreCurvature(state: Record<string, number[] | number[][] | number>): void {
    this.layers = this.selection.layers.map((l, i) => {
      const weight = this.network.parametric[l]!.blocks.find((b) => b.part === 'weight')!;
      const layer: LayerFactors = {
        layer: l,
        outFeatures: weight.rows,
        inFeatures: weight.cols,
        b: Float64Array.from(state[`b${i}`] as number[]),
        a: Float64Array.from(state[`a${i}`] as number[]),
      };
      this.decompose(layer);
      return layer;
    });
  }
}

function squared(x: Float64Array): Float64Array {
  return x.map((v) => v * v);
}

/** The Kronecker product X ⊗ Y of square matrices of sizes p and q, [pq × pq]. */
function kronecker(x: Float64Array, p: number, y: Float64Array, q: number): Float64Array {
  const n = p * q;
  const out = new Float64Array(n * n);
  for (let i = 0; i < p; i++) {
    for (let j = 0; j < p; j++) {
      const xij = x[i * p + j]!;
      for (let k = 0; k < q; k++) {
        for (let l = 0; l < q; l++) out[(i * q + k) * n + j * q + l] = xij * y[k * q + l]!;
      }
    }
  }
  return out;
}
