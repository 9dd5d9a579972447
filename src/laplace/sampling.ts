/**
 * Sample-then-optimise: posterior samples of the linearised model without its
 * covariance (Antorán et al., ICLR 2023).
 *
 * The linearised model's posterior is N(θ̄, P⁻¹) with P = c·RᵀR + P₀, R = S·J the
 * pulled-back rows of the training data (likelihood.ts). A sample of its
 * centred part is the minimiser of a randomised regularised least-squares
 * problem,
 *
 *     ζ = argmin_z ½ c‖R z − ε‖² + ½ (z − ξ)ᵀ P₀ (z − ξ),   ε ~ N(0, I/c), ξ ~ N(0, P₀⁻¹),
 *
 * i.e. P ζ = b with b = √c·Rᵀε' + P₀^{1/2}ξ' (ε', ξ' standard normal): then
 * E[ζζᵀ] = P⁻¹ (c·RᵀR + P₀) P⁻¹ = P⁻¹. Each system is solved by conjugate
 * gradients, with P·v = c·Rᵀ(R v) + P₀ v from one forward and one backward
 * pass over the data per iteration, shared by all the samples; nothing of size
 * P × P is formed, and the memory is a few P × S and P × r arrays and the
 * Jacobian factors that fit a fixed budget.
 *
 * CG's iterations grow with √κ, and κ(P) = (c·λ_max(H) + δ)/δ is large for a
 * trained network: a few large eigenvalues of the GGN (about one per class)
 * above a long decaying tail. The default preconditioner removes the top of
 * that spectrum: a rank-r randomised Nyström approximation H ≈ UΛUᵀ, from one
 * pass over the data with r columns, plus the diagonal it misses and the prior,
 * M = c·UΛUᵀ + D, inverted by Woodbury (Frangella, Tropp and Udell 2023). The
 * effective condition number is then set by the r+1-th eigenvalue
 * (bench/RESULTS.md gives the iterations against Jacobi's on a CNN). A
 * solve that stops at cgMaxIter short of cgTol throws a ConvergenceError with
 * the residual it reached; `lastSolve` keeps the last solve's statistics.
 *
 * The prior precision of each group g (scalar, per layer or per weight) is
 * tuned by MacKay's update δ_g ← γ_g / ‖θ̄ − μ₀‖²_g, with the effective number
 * of parameters γ_g = Σ_{i∈g} (c·H P⁻¹)ᵢᵢ = E[ζ_gᵀ (c·H ζ)_g] estimated from
 * the samples (`effectiveParameters`; c·Hζ = b − P₀ζ is already at hand).
 * Where that estimate is not positive the group takes the EM step
 * δ_g ← n_g / E‖θ_g − μ₀‖² = n_g / (‖θ̄ − μ₀‖²_g + tr_g P⁻¹) (`emUpdate`),
 * positive by construction but slow (see priorUpdate). Both fixed points are
 * δ_g‖θ̄ − μ₀‖²_g = γ_g, the evidence's stationary point (hyperparameters.ts),
 * up to Monte Carlo error O(1/√S). The same noise is redrawn from the seed at
 * every step, so the iteration is a deterministic map.
 *
 * Written in u = log δ, the update is u ← u + s(u) with the full step
 * s_g = log(U_g(δ)/δ_g), U the MacKay/EM map. For a lone group MacKay's map
 * has slope ∂log U/∂log δ = −Σ wᵢ(1 − wᵢ)/Σ wᵢ ∈ (−1, 0] (wᵢ as in
 * priorUpdate), so a scalar prior converges, alternating about the fixed
 * point. With several groups the cross terms (one group's weights taking up
 * the fit another's prior gives away, more so in the sample estimate of γ)
 * can put an eigenvalue of the Jacobian below −1: the full step then
 * overshoots by more each time, and small groups nearly left to the prior
 * jump between δ ≈ 0.05 and 10 for ever. Each group therefore takes a
 * fraction α_g ∈ (0, 1] of its step, u_g ← u_g + α_g s_g, with α_g halved when
 * s_g reverses sign and grown by 3/2 (up to 1) when it keeps it. The step
 * vanishes exactly where U(δ) = δ whatever α, so the fixed point is MacKay's,
 * and convergence is judged by the full step max_g |s_g| < tol. For one group
 * with local slope f < 0 the damped map has slope 1 − a with a = α(1 − f):
 * halvings happen while a > 1 and bring a below 3/2 in finitely many steps,
 * after which a stays in (1/2, 3/2], a contraction of at least 1/2 per step; a
 * group whose steps keep their sign keeps α = 1, MacKay's full step.
 * `lastPriorIteration` reports the final max_g |s_g| and whether it reached tol.
 *
 * The posterior mean θ̄ is the network's θ* ('map') or the linearised model's
 * own optimum ('linearised', Antorán et al., ICML 2022): θ̄ = θ* − P⁻¹∇ with ∇
 * the gradient of the negative log joint c·Σ loss + ½‖θ − μ₀‖²_{P₀} at θ*,
 * solved in the same CG as the samples. For regression this is exact (the
 * linearised objective is quadratic); for classification it is the first
 * Newton step of the linearised model. The scatter of the EM update and the
 * predictive mean f(x, θ*) + J(x)(θ̄ − θ*) then use θ̄.
 *
 * The g-prior (`priorScaling: 'g'`, Antorán et al. 2022) scales weight i's
 * prior precision by sᵢ² = diag(H)ᵢ / N, the mean squared curvature the data
 * put on it: P₀ = diag(δ_{g(i)}·sᵢ²). Rescaling a weight's feature (as a
 * normalisation layer lets the network do freely) rescales sᵢ with it, so the
 * posterior over functions and the tuned δ do not depend on that scale, where a
 * plain scalar prior would be unidentifiable.
 *
 * There is no log det P here: `logMarginalLikelihood` is refused, and the
 * predictive covariance and posterior variance are sample estimates.
 */

import { ConvergenceError, ValueError } from '../errors.js';
import { gemm, mat, tr, trsm } from '../kernels/view.js';
import { cholesky, choleskyWithJitter, eigh } from '../linalg/index.js';
import { type Rng, toRng } from '../random.js';
import { Tensor } from '../tensor.js';
import {
  BaseLaplace,
  type CurvatureSpectrum,
  type HyperparameterResult,
  type LaplaceOptions,
} from './base.js';
import {
  gramDiagonal,
  type JacobianFactors,
  jacobianFactors,
  rowsTimesMatrix,
  rowsTransposeTimes,
} from './factors.js';
import type { OptimizeHyperparametersOptions, OptimizePriorOptions } from './hyperparameters.js';
import { toMatrix } from './inputs.js';
import type { LikelihoodName, Targets } from './likelihood.js';
import type { Network, SequentialLike } from './network.js';
import type { Selection } from './selection.js';

export type PosteriorMean = 'map' | 'linearised';

/** Numbers of Jacobian factors kept between CG iterations (2²⁵: 256 MiB). */
const FACTOR_CACHE_BUDGET = 2 ** 25;

/** What sample-then-optimise keeps of the training data. */
interface TrainingData {
  x: Float64Array;
  n: number;
  targets: Targets;
}

/** H ≈ U Λ Uᵀ with U [P × r] orthonormal columns (row-major) and Λ ≥ 0. */
interface LowRank {
  u: Float64Array;
  values: Float64Array;
}

/** Statistics of the last conjugate-gradient solve. */
export interface SolveReport {
  /** Iterations of the block CG (each one pass over the data). */
  iterations: number;
  /** Largest ‖b − P x‖ / ‖b‖ over the columns at the end. */
  relativeResidual: number;
  converged: boolean;
}

export class SampledLaplace<L extends LikelihoodName = LikelihoodName> extends BaseLaplace<L> {
  readonly hessianStructure = 'sampled' as const;
  /** Posterior samples drawn at fit and at each EM step. */
  readonly posteriorSamples: number;
  readonly posteriorMean: PosteriorMean;
  private readonly cgTol: number;
  private readonly cgMaxIter: number;
  readonly cgPreconditioner: 'nystrom' | 'diag';
  /** Rank of the Nyström approximation of H in the 'nystrom' preconditioner. */
  readonly cgRank: number;
  /** That approximation, formed at the first solve after a fit. */
  private lowRank: LowRank | null = null;
  private readonly seed: number;
  private pendingData: { X: unknown; y: unknown } | null = null;
  private data: TrainingData | null = null;
  /** diag(H), for the preconditioners and the g-prior. */
  private hessianDiagonal = new Float64Array(0);
  /** ζ, [P × S] row-major (one column per sample). */
  private draws = new Float64Array(0);
  /** The right-hand sides b of the samples, [P × S]. */
  private rightHandSides = new Float64Array(0);
  /** θ̄ − θ* over the random weights (zero for 'map'). */
  private shift = new Float64Array(0);
  private solvedVersion = -1;
  /** sᵢ² = max(diag(H)ᵢ/N, floor) under the g-prior; null without it. */
  private gScale: Float64Array | null = null;
  readonly priorScaling: 'none' | 'g';
  /** Factors by first row, for the chunks that fit the budget. */
  private factorCache = new Map<number, JacobianFactors>();
  private factorCacheSize = 0;
  /** The last solve's statistics. */
  lastSolve: SolveReport = { iterations: 0, relativeResidual: 0, converged: true };
  /**
   * How the last `optimizePriorPrecision` ended: `residual` is the largest
   * |log(U(δ)_g/δ_g)| of the full update U at the last step (0 at the fixed
   * point); `converged` false means it stopped at maxIter above tol.
   */
  lastPriorIteration = { iterations: 0, residual: 0, converged: true };

  constructor(model: SequentialLike, options: LaplaceOptions<L>) {
    super(model, options);
    if (this.curvature !== 'ggn') {
      throw new ValueError(`SampledLaplace: curvature must be 'ggn', got '${this.curvature}'`);
    }
    const samples = options.posteriorSamples ?? 32;
    if (!Number.isInteger(samples) || samples < 1) {
      throw new ValueError(`SampledLaplace: posteriorSamples must be a positive integer, got ${samples}`);
    }
    const mean = options.posteriorMean ?? 'map';
    if (mean !== 'map' && mean !== 'linearised') {
      throw new ValueError(
        `SampledLaplace: posteriorMean must be 'map' or 'linearised', got '${String(mean)}'`,
      );
    }
    const tol = options.cgTol ?? 1e-6;
    if (!(tol > 0 && tol < 1)) throw new ValueError(`SampledLaplace: cgTol must be in (0, 1), got ${tol}`);
    const maxIter = options.cgMaxIter ?? 1000;
    if (!Number.isInteger(maxIter) || maxIter < 1) {
      throw new ValueError(`SampledLaplace: cgMaxIter must be a positive integer, got ${maxIter}`);
    }
    const scaling = options.priorScaling ?? 'none';
    if (scaling !== 'none' && scaling !== 'g') {
      throw new ValueError(`SampledLaplace: priorScaling must be 'none' or 'g', got '${String(scaling)}'`);
    }
    this.priorScaling = scaling;
    const preconditioner = options.cgPreconditioner ?? 'nystrom';
    if (preconditioner !== 'nystrom' && preconditioner !== 'diag') {
      throw new ValueError(
        `SampledLaplace: cgPreconditioner must be 'nystrom' or 'diag', got '${String(preconditioner)}'`,
      );
    }
    const rank = options.cgRank ?? 100;
    if (!Number.isInteger(rank) || rank < 1) {
      throw new ValueError(`SampledLaplace: cgRank must be a positive integer, got ${rank}`);
    }
    this.cgRank = rank;
    this.cgPreconditioner = preconditioner;
    this.posteriorSamples = samples;
    this.posteriorMean = mean;
    this.cgTol = tol;
    this.cgMaxIter = maxIter;
    this.seed = options.seed ?? 0;
  }

  override fit(X: unknown, y: unknown): this {
    this.pendingData = { X, y };
    try {
      return super.fit(X, y);
    } finally {
      this.pendingData = null;
    }
  }

  protected beginCurvature(): void {
    this.hessianDiagonal = new Float64Array(this.nParams);
  }

  protected accumulateCurvature(factors: JacobianFactors): void {
    const d = gramDiagonal(factors, this.network, this.selection);
    for (let i = 0; i < d.length; i++) this.hessianDiagonal[i]! += d[i]!;
  }

  protected finishCurvature(): void {
    const { X, y } = this.pendingData!;
    const { data: x, rows: n } = toMatrix(X, this.network.inputSize, 'fit: X');
    this.data = { x, n, targets: this.likelihoodRule.parseTargets(y, n, this.nOutputs, 'fit: y') };
    this.solvedVersion = -1;
    if (this.priorScaling === 'g') {
      // Weights the data never move (dead units) keep a small positive scale, so that P₀ stays definite.
      const scale = this.hessianDiagonal.map((h) => h / n);
      const floor = 1e-8 * Math.max(...scale.map((v) => v), Number.MIN_VALUE);
      this.gScale = scale.map((v) => Math.max(v, floor));
    } else this.gScale = null;
    this.factorCache = new Map();
    this.factorCacheSize = 0;
    this.lowRank = null;
  }

  /** Solve for the samples (and θ̄) at the current hyperparameters, unless done already. */
  private ensureSolved(): void {
    if (this.solvedVersion === this.version) return;
    this.solve();
    this.solvedVersion = this.version;
  }

  // ------------------------------------------------------------------------
  // The linear algebra, one pass over the data at a time

  /**
   * The factors of data rows [start, end) with the GGN's rows S·J (m per
   * example). The first chunks are kept between CG iterations while their
   * factors (with the slots formed from them) stay under FACTOR_CACHE_BUDGET
   * numbers; every pass recomputes the others (a forward and a backward pass).
   */
  private rootedFactors(start: number, end: number): JacobianFactors {
    const cached = this.factorCache.get(start);
    if (cached) return cached;
    const factors = this.computeRootedFactors(start, end);
    let size = 0;
    for (const t of [...factors.layerInputs, ...factors.layerCotangents]) size += t?.size ?? 0;
    // The slots formed from them take about as much again.
    if (this.factorCacheSize + 2 * size <= FACTOR_CACHE_BUDGET) {
      this.factorCache.set(start, factors);
      this.factorCacheSize += 2 * size;
    }
    return factors;
  }

  private computeRootedFactors(start: number, end: number): JacobianFactors {
    const { x, targets } = this.data!;
    const d = this.network.inputSize;
    const k = this.nOutputs;
    return jacobianFactors(
      this.network,
      this.theta,
      x.subarray(start * d, end * d),
      end - start,
      (output) => {
        const oc = this.likelihoodRule.outputCurvature('ggn', output, targets, start, end - start, k);
        return { rows: oc.roots, m: oc.m };
      },
      this.selection.layers,
    );
  }

  /** Examples per pass over the data: the widest layer's rows stay bounded. */
  private get examplesPerBatch(): number {
    return this.network.examplesPerBatch(this.nOutputs);
  }

  /** out ← P·V for V [P × k]: c·Rᵀ(R V) + P₀ V. */
  private precisionTimes(v: Float64Array, k: number, out: Float64Array): void {
    const p = this.nParams;
    const p0 = this.priorDiagonal();
    for (let i = 0; i < p; i++) for (let j = 0; j < k; j++) out[i * k + j] = p0[i]! * v[i * k + j]!;
    this.curvatureTimes(v, k, out, this.hessianFactor);
  }

  /** out += scale·Rᵀ(R V) for V [P × k], one pass over the data. */
  private curvatureTimes(v: Float64Array, k: number, out: Float64Array, scale: number): void {
    const n = this.data!.n;
    for (let start = 0; start < n; start += this.examplesPerBatch) {
      const end = Math.min(n, start + this.examplesPerBatch);
      const factors = this.rootedFactors(start, end);
      const rv = rowsTimesMatrix(factors, this.network, this.selection, v, k);
      this.addTransposeTimes(factors, rv, k, scale, out);
    }
  }

  /**
   * The randomised Nyström approximation H ≈ Y_ν (ΩᵀY_ν)⁻¹ Y_νᵀ − νI = U Λ Uᵀ
   * (Tropp et al. 2017): Ω [P × r] Gaussian with orthonormal columns, Y = HΩ
   * in one pass over the data with r columns, Y_ν = Y + νΩ with a shift ν at
   * rounding level, L the Cholesky factor of ΩᵀY_ν, B = Y_ν L⁻ᵀ = U Σ Vᵀ (from
   * the eigendecomposition of BᵀB) and Λ = max(Σ² − ν, 0). It captures the
   * largest eigenvalues of H, the ones that make P ill-conditioned.
   */
  private nystrom(): LowRank {
    const p = this.nParams;
    const r = Math.min(this.cgRank, p);
    const rng = toRng(this.seed + 0x9e3779b9);
    const omega = new Float64Array(p * r);
    for (let i = 0; i < omega.length; i++) omega[i] = rng.normal();
    // Ω ← Ω L⁻ᵀ with ΩᵀΩ = L Lᵀ: orthonormal columns (Cholesky QR; a Gaussian P × r with P ≥ r is well conditioned).
    const gram = new Float64Array(r * r);
    gemm(mat(gram, r, r), 1, tr(mat(omega, p, r)), mat(omega, p, r));
    trsm('right', tr(mat(cholesky(new Tensor(gram, [r, r])).data, r, r)), true, mat(omega, p, r));
    const y = new Float64Array(p * r);
    this.curvatureTimes(omega, r, y, 1);
    let norm = 0;
    for (const v of y) norm += v * v;
    const nu = Math.sqrt(p) * Number.EPSILON * Math.sqrt(norm);
    for (let i = 0; i < y.length; i++) y[i]! += nu * omega[i]!;
    const core = new Float64Array(r * r);
    gemm(mat(core, r, r), 1, tr(mat(omega, p, r)), mat(y, p, r));
    for (let i = 0; i < r; i++) {
      for (let j = 0; j < i; j++)
        core[i * r + j] = core[j * r + i] = 0.5 * (core[i * r + j]! + core[j * r + i]!);
    }
    const { factor } = choleskyWithJitter(new Tensor(core, [r, r]));
    trsm('right', tr(mat(factor.data, r, r)), true, mat(y, p, r));
    gemm(mat(gram, r, r), 1, tr(mat(y, p, r)), mat(y, p, r));
    const { values, vectors } = eigh(new Tensor(gram, [r, r]));
    // U = B V Σ⁻¹, keeping the directions with Σ² above the shift.
    const kept = Array.from(values.keys()).filter((j) => values[j]! > nu);
    const q = kept.length;
    const scaled = new Float64Array(r * q);
    kept.forEach((j, c) => {
      for (let i = 0; i < r; i++) scaled[i * q + c] = vectors.data[i * r + j]! / Math.sqrt(values[j]!);
    });
    const u = new Float64Array(p * q);
    gemm(mat(u, p, q), 1, mat(y, p, r), mat(scaled, r, q));
    return { u, values: Float64Array.from(kept, (j) => values[j]! - nu) };
  }

  /** out += scale·Rᵀ W for W [rows × k]. */
  private addTransposeTimes(
    factors: JacobianFactors,
    w: Float64Array,
    k: number,
    scale: number,
    out: Float64Array,
  ): void {
    const back = rowsTransposeTimesMatrix(factors, this.network, this.selection, w, k);
    for (let i = 0; i < back.length; i++) out[i]! += scale * back[i]!;
  }

  /**
   * The right-hand sides [P × k]: the samples' b = √c·Rᵀε' + P₀^{1/2}ξ' in the
   * last S columns (noise from the seed, in data order), and for 'linearised'
   * the negative gradient −∇ of the log joint in column 0.
   */
  private rightHandSide(rng: Rng, samples: number, withGradient: boolean): Float64Array {
    const p = this.nParams;
    const offset = withGradient ? 1 : 0;
    const k = samples + offset;
    const b = new Float64Array(p * k);
    const c = this.hessianFactor;
    const p0 = this.priorDiagonal();
    for (let i = 0; i < p; i++) {
      const root = Math.sqrt(p0[i]!);
      for (let s = 0; s < samples; s++) b[i * k + offset + s] = root * rng.normal();
    }
    const { n, x, targets } = this.data!;
    const d = this.network.inputSize;
    for (let start = 0; start < n; start += this.examplesPerBatch) {
      const end = Math.min(n, start + this.examplesPerBatch);
      const factors = this.rootedFactors(start, end);
      const rows = factors.n * factors.m;
      const noise = new Float64Array(rows * k);
      for (let r = 0; r < rows; r++)
        for (let s = 0; s < samples; s++) noise[r * k + offset + s] = rng.normal();
      this.addTransposeTimes(factors, noise, k, Math.sqrt(c), b);
      if (withGradient) {
        // −c·Jᵀ ∂loss/∂f, one row per example pulled back.
        const gradient = jacobianFactors(
          this.network,
          this.theta,
          x.subarray(start * d, end * d),
          end - start,
          (output) => ({
            rows: this.likelihoodRule.outputGradient(output, targets, start, end - start, this.nOutputs),
            m: 1,
          }),
          this.selection.layers,
        );
        const back = rowsTransposeTimes(
          gradient,
          this.network,
          this.selection,
          new Float64Array(end - start).fill(1),
        );
        for (let i = 0; i < p; i++) b[i * k]! -= c * back[i]!;
      }
    }
    if (withGradient) {
      for (let i = 0; i < p; i++) b[i * k]! -= p0[i]! * (this.mean[i]! - this.priorMeanVector[i]!);
    }
    return b;
  }

  /** The preconditioner M⁻¹ for the current prior, as a map r ↦ z = M⁻¹ r on [P × k] blocks. */
  private preconditioner(): (r: Float64Array, k: number, z: Float64Array) => void {
    const p = this.nParams;
    const c = this.hessianFactor;
    const p0 = this.priorDiagonal();
    if (this.cgPreconditioner === 'nystrom') {
      this.lowRank ??= this.nystrom();
      // A curvature that vanished on every probe leaves the diagonal alone.
      if (this.lowRank.values.length > 0) return this.nystromPreconditioner(this.lowRank, p0, c);
    }
    // Jacobi: M = c·diag H + P₀.
    const inverse = p0.map((v, i) => 1 / (c * this.hessianDiagonal[i]! + v));
    return (r, k, z) => {
      for (let i = 0; i < p; i++) for (let j = 0; j < k; j++) z[i * k + j] = inverse[i]! * r[i * k + j]!;
    };
  }

  /**
   * M = c·U Λ Uᵀ + D with D = P₀ + c·max(diag H − diag(U Λ Uᵀ), 0) (the
   * Nyström approximation plus the diagonal it misses), inverted by Woodbury:
   * M⁻¹ = D⁻¹ − W K⁻¹ Wᵀ with W = D⁻¹U and K = (cΛ)⁻¹ + UᵀD⁻¹U [r × r].
   * The top r eigenvalues of cH no longer set the condition number, and the
   * prior may be any diagonal (per group, g-prior) without a new pass.
   */
  private nystromPreconditioner(
    { u, values }: LowRank,
    p0: Float64Array,
    c: number,
  ): (r: Float64Array, k: number, z: Float64Array) => void {
    const p = this.nParams;
    const q = values.length;
    const inverse = new Float64Array(p);
    for (let i = 0; i < p; i++) {
      let captured = 0;
      for (let j = 0; j < q; j++) captured += u[i * q + j]! ** 2 * values[j]!;
      inverse[i] = 1 / (p0[i]! + c * Math.max(this.hessianDiagonal[i]! - captured, 0));
    }
    const w = new Float64Array(p * q);
    for (let i = 0; i < p; i++) for (let j = 0; j < q; j++) w[i * q + j] = inverse[i]! * u[i * q + j]!;
    const core = new Float64Array(q * q);
    gemm(mat(core, q, q), 1, tr(mat(u, p, q)), mat(w, p, q));
    for (let j = 0; j < q; j++) core[j * q + j]! += 1 / (c * values[j]!);
    for (let i = 0; i < q; i++) for (let j = 0; j < i; j++) core[j * q + i] = core[i * q + j]!;
    const factor = cholesky(new Tensor(core, [q, q])).data;
    return (r, k, z) => {
      const t = new Float64Array(q * k);
      gemm(mat(t, q, k), 1, tr(mat(w, p, q)), mat(r, p, k));
      trsm('left', mat(factor, q, q), true, mat(t, q, k));
      trsm('left', tr(mat(factor, q, q)), true, mat(t, q, k));
      for (let i = 0; i < p; i++) for (let j = 0; j < k; j++) z[i * k + j] = inverse[i]! * r[i * k + j]!;
      gemm(mat(z, p, k), -1, mat(w, p, q), mat(t, q, k), 1);
    };
  }

  /**
   * Block conjugate gradients for P X = B [P × k], each column its own
   * recurrence, all sharing the passes over the data and the preconditioner.
   * Stopping at cgMaxIter short of cgTol is a ConvergenceError.
   */
  private conjugateGradients(b: Float64Array, k: number, x0?: Float64Array): Float64Array {
    const p = this.nParams;
    const precondition = this.preconditioner();
    const x = x0 ? x0.slice() : new Float64Array(p * k);
    const r = b.slice();
    const work = new Float64Array(p * k);
    if (x0) {
      this.precisionTimes(x, k, work);
      for (let i = 0; i < r.length; i++) r[i]! -= work[i]!;
    }
    const norms = columnNorms(b, p, k);
    const z = new Float64Array(p * k);
    precondition(r, k, z);
    const direction = z.slice();
    const rz = columnDots(r, z, p, k);
    let iterations = 0;
    let worst = maxRatio(columnNorms(r, p, k), norms);
    while (worst > this.cgTol && iterations < this.cgMaxIter) {
      this.precisionTimes(direction, k, work);
      const curvature = columnDots(direction, work, p, k);
      const step = rz.map((v, j) => (curvature[j]! > 0 ? v / curvature[j]! : 0));
      for (let i = 0; i < p; i++) {
        for (let j = 0; j < k; j++) {
          x[i * k + j]! += step[j]! * direction[i * k + j]!;
          r[i * k + j]! -= step[j]! * work[i * k + j]!;
        }
      }
      precondition(r, k, z);
      const next = columnDots(r, z, p, k);
      for (let i = 0; i < p; i++) {
        for (let j = 0; j < k; j++) {
          const beta = rz[j]! > 0 ? next[j]! / rz[j]! : 0;
          direction[i * k + j] = z[i * k + j]! + beta * direction[i * k + j]!;
        }
      }
      rz.set(next);
      iterations++;
      worst = maxRatio(columnNorms(r, p, k), norms);
    }
    this.lastSolve = { iterations, relativeResidual: worst, converged: worst <= this.cgTol };
    if (!this.lastSolve.converged) {
      throw new ConvergenceError(
        `SampledLaplace: conjugate gradients reached relative residual ${worst.toExponential(2)} after cgMaxIter = ${iterations} iterations, short of cgTol = ${this.cgTol}; raise cgMaxIter, or cgTol to accept this residual`,
        { iterations, residual: worst },
      );
    }
    return x;
  }

  /** Draw the samples (and θ̄) for the current hyperparameters. */
  private solve(): void {
    const withGradient = this.posteriorMean === 'linearised';
    const samples = this.posteriorSamples;
    const k = samples + (withGradient ? 1 : 0);
    const b = this.rightHandSide(toRng(this.seed), samples, withGradient);
    const previous =
      this.draws.length === this.nParams * samples ? this.warmStart(k, withGradient) : undefined;
    const solution = this.conjugateGradients(b, k, previous);
    const p = this.nParams;
    const offset = withGradient ? 1 : 0;
    this.draws = new Float64Array(p * samples);
    this.rightHandSides = new Float64Array(p * samples);
    this.shift = new Float64Array(p);
    for (let i = 0; i < p; i++) {
      if (withGradient) this.shift[i] = solution[i * k]!;
      for (let s = 0; s < samples; s++) {
        this.draws[i * samples + s] = solution[i * k + offset + s]!;
        this.rightHandSides[i * samples + s] = b[i * k + offset + s]!;
      }
    }
  }

  /** The previous solutions as the starting guess (the noise is the same; only the prior moved). */
  private warmStart(k: number, withGradient: boolean): Float64Array {
    const p = this.nParams;
    const samples = this.posteriorSamples;
    const offset = withGradient ? 1 : 0;
    const x = new Float64Array(p * k);
    for (let i = 0; i < p; i++) {
      if (withGradient) x[i * k] = this.shift[i]!;
      for (let s = 0; s < samples; s++) x[i * k + offset + s] = this.draws[i * samples + s]!;
    }
    return x;
  }

  // ------------------------------------------------------------------------
  // Posterior

  /** The S samples ζ ~ N(0, P⁻¹) of the last solve, [S, P] (add `posteriorMeanWeights` for θ). */
  get centredSamples(): Tensor {
    this.checkFitted('centredSamples');
    this.ensureSolved();
    const p = this.nParams;
    const s = this.posteriorSamples;
    const out = new Float64Array(s * p);
    for (let i = 0; i < p; i++) for (let j = 0; j < s; j++) out[j * p + i] = this.draws[i * s + j]!;
    return new Tensor(out, [s, p]);
  }

  /** θ̄ over the random weights: θ* for 'map', the linearised model's optimum for 'linearised'. */
  get posteriorMeanWeights(): Float64Array {
    this.checkFitted('posteriorMeanWeights');
    this.ensureSolved();
    return this.mean.map((m, i) => m + this.shift[i]!);
  }

  /**
   * γ_g = Σ_{i∈g} (c·H P⁻¹)ᵢᵢ per prior group, estimated as the mean over
   * samples of ζ_gᵀ (b − P₀ζ)_g.
   */
  effectiveParameters(): Float64Array {
    this.checkFitted('effectiveParameters');
    this.ensureSolved();
    const p = this.nParams;
    const s = this.posteriorSamples;
    const p0 = this.priorDiagonal();
    const gamma = new Float64Array(this.prior.values.length);
    for (let i = 0; i < p; i++) {
      let sum = 0;
      for (let j = 0; j < s; j++) {
        const z = this.draws[i * s + j]!;
        sum += z * (this.rightHandSides[i * s + j]! - p0[i]! * z);
      }
      gamma[this.prior.groupOf[i]!]! += sum / s;
    }
    return gamma;
  }

  /** ‖θ̄ − μ₀‖² per prior group, each weight times its g-prior scale. */
  private groupScatter(): Float64Array {
    const out = new Float64Array(this.prior.values.length);
    const mean = this.posteriorMeanWeights;
    for (let i = 0; i < mean.length; i++)
      out[this.prior.groupOf[i]!]! += this.priorScale(i) * (mean[i]! - this.priorMeanVector[i]!) ** 2;
    return out;
  }

  /** sᵢ² of the g-prior (1 without it). */
  private priorScale(i: number): number {
    return this.gScale ? this.gScale[i]! : 1;
  }

  /** p₀ per weight: δ_{g(i)}, times sᵢ² under the g-prior. */
  private priorDiagonal(): Float64Array {
    const p0 = this.prior.diagonal();
    if (this.gScale) for (let i = 0; i < p0.length; i++) p0[i]! *= this.gScale[i]!;
    return p0;
  }

  /** (θ̄ − μ₀)ᵀ P₀ (θ̄ − μ₀) with the prior actually used (g-prior scales included). */
  override get scatter(): number {
    this.checkFitted('scatter');
    const p0 = this.priorDiagonal();
    const mean = this.posteriorMeanWeights;
    let sum = 0;
    for (let i = 0; i < p0.length; i++) sum += p0[i]! * (mean[i]! - this.priorMeanVector[i]!) ** 2;
    return sum;
  }

  /**
   * One EM step: δ_g ← n_g / (‖θ̄ − μ₀‖²_g + tr_g P⁻¹), the expected squared
   * distance from the prior mean under the posterior, with tr_g P⁻¹ estimated by
   * (1/S) Σₛ ‖ζₛ,g‖² ≥ 0 (so the update is always positive). Its fixed point is
   * MacKay's, δ_g‖θ̄ − μ₀‖²_g = n_g − δ_g tr_g P⁻¹ = γ_g. Under the g-prior
   * every square is weighted by the weight's sᵢ².
   */
  emUpdate(): Float64Array {
    this.checkFitted('emUpdate');
    this.ensureSolved();
    const scatter = this.groupScatter();
    const sizes = this.prior.groupSizes();
    const trace = new Float64Array(sizes.length);
    const s = this.posteriorSamples;
    for (let i = 0; i < this.nParams; i++) {
      let sum = 0;
      for (let j = 0; j < s; j++) sum += this.draws[i * s + j]! ** 2;
      trace[this.prior.groupOf[i]!]! += (this.priorScale(i) * sum) / s;
    }
    return sizes.map((n, g) => {
      const expected = scatter[g]! + trace[g]!;
      if (!(expected > 0)) {
        throw new ValueError(
          `emUpdate: prior group ${g} has ‖θ̄ − μ₀‖² + tr P⁻¹ = ${expected}; its precision has no finite update`,
        );
      }
      return n / expected;
    });
  }

  /**
   * The update the iteration takes: MacKay's δ_g ← γ_g/‖θ̄ − μ₀‖²_g for each
   * group whose γ_g estimate and scatter are positive, else the EM step. Both
   * have the evidence's stationary point as fixed point, but EM contracts by a
   * factor (1/n_g) Σᵢ (δ/(c·λᵢ + δ))² ≈ 1 − γ_g/n_g per step, near 1 for a
   * large network on little data (most weights left to the prior), where
   * MacKay's factor is Σ wᵢ(1 − wᵢ)/Σ wᵢ with wᵢ = c·λᵢ/(c·λᵢ + δ), small
   * when the weights are either determined by the data or not at all.
   */
  private priorUpdate(): Float64Array {
    const em = this.emUpdate();
    const gamma = this.effectiveParameters();
    const scatter = this.groupScatter();
    return em.map((v, g) => (gamma[g]! > 0 && scatter[g]! > 0 ? gamma[g]! / scatter[g]! : v));
  }

  /**
   * 'marglik' iterates the damped MacKay/EM update (re-solving with warm
   * starts; see the module's header) until the full update would change no
   * precision by more than `tol` (relative, default 1e-6) or `maxIter` steps
   * (default 50), and says which in `lastPriorIteration`; the damping starts
   * afresh at each call, so `maxIter: 1` is one undamped step. 'gridsearch' is
   * the shared validation search. `logMarginalLikelihood` of the result is NaN:
   * there is no log det here.
   */
  override optimizePriorPrecision(options: OptimizePriorOptions = {}): HyperparameterResult {
    this.checkFitted('optimizePriorPrecision');
    if ((options.method ?? 'marglik') !== 'marglik') return super.optimizePriorPrecision(options);
    if (options.optimizer !== undefined && options.optimizer !== 'exact') {
      throw new ValueError(
        `optimizePriorPrecision: SampledLaplace tunes its prior by EM; optimizer '${options.optimizer}' is not offered`,
      );
    }
    if (options.priorStructure !== undefined && options.priorStructure !== this.priorStructure) {
      const values = this.prior.values;
      const meanLog = values.reduce((a, b) => a + Math.log(b), 0) / values.length;
      const structured =
        options.priorStructure === 'scalar'
          ? Math.exp(meanLog)
          : options.priorStructure === 'diag'
            ? new Float64Array(this.nParams).fill(Math.exp(meanLog))
            : new Array(this.selection.tensorGroups().count).fill(Math.exp(meanLog));
      this.priorPrecision = structured;
    }
    return this.expectationMaximisation(options);
  }

  override optimizeHyperparameters(options: OptimizeHyperparametersOptions = {}): HyperparameterResult {
    if (this.likelihoodRule.hasNoise) {
      throw new ValueError(
        'optimizeHyperparameters: SampledLaplace tunes only the prior (by EM); use optimizePriorPrecision',
      );
    }
    return this.optimizePriorPrecision(options);
  }

  private expectationMaximisation(options: { tol?: number; maxIter?: number }): HyperparameterResult {
    const tol = options.tol ?? 1e-6;
    const maxIter = options.maxIter ?? 50;
    const groups = this.prior.values.length;
    // Per group: the fraction of the log-step taken, and the sign of the last full step.
    const rate = new Float64Array(groups).fill(1);
    const lastStep = new Float64Array(groups);
    let iterations = 0;
    let residual = Number.POSITIVE_INFINITY;
    while (iterations < maxIter) {
      iterations++;
      const before = this.prior.values;
      const steps = this.priorUpdate().map((v, g) => Math.log(v / before[g]!));
      residual = Math.max(...steps.map(Math.abs));
      const after = before.map((v, g) => {
        if (steps[g]! * lastStep[g]! < 0) rate[g]! /= 2;
        else if (steps[g]! * lastStep[g]! > 0) rate[g] = Math.min(1, 1.5 * rate[g]!);
        lastStep[g] = steps[g]!;
        return v * Math.exp(rate[g]! * steps[g]!);
      });
      this.setPrior(this.prior.withValues(after));
      if (residual < tol) break;
    }
    this.lastPriorIteration = { iterations, residual, converged: residual < tol };
    this.ensureSolved();
    return {
      priorPrecision: this.priorPrecision,
      sigmaNoise: this.sigmaNoise,
      logMarginalLikelihood: Number.NaN,
      iterations,
    };
  }

  protected computeLogDetPosteriorPrecision(): number {
    throw new ValueError(
      "logMarginalLikelihood: 'sampled' has no log det P; tune the prior by optimizePriorPrecision (EM from the samples)",
    );
  }

  protected curvatureSpectrum(): CurvatureSpectrum | null {
    return null;
  }

  /** The sample variance of ζ, (1/S) Σₛ ζₛ² (the mean is known to be 0). */
  posteriorVariance(): Float64Array {
    this.checkFitted('posteriorVariance');
    this.ensureSolved();
    const s = this.posteriorSamples;
    const variance = new Float64Array(this.nParams);
    for (let i = 0; i < variance.length; i++) {
      let sum = 0;
      for (let j = 0; j < s; j++) sum += this.draws[i * s + j]! ** 2;
      variance[i] = sum / s;
    }
    return variance;
  }

  /** (1/S) Σₛ (J ζₛ)(J ζₛ)ᵀ per example. */
  protected functionalCovariance(factors: JacobianFactors): Float64Array {
    this.ensureSolved();
    const s = this.posteriorSamples;
    const k = factors.m;
    const f = rowsTimesMatrix(factors, this.network, this.selection, this.draws, s);
    const out = new Float64Array(factors.n * k * k);
    for (let e = 0; e < factors.n; e++) {
      for (let a = 0; a < k; a++) {
        for (let b = 0; b <= a; b++) {
          let sum = 0;
          const ra = (e * k + a) * s;
          const rb = (e * k + b) * s;
          for (let j = 0; j < s; j++) sum += f[ra + j]! * f[rb + j]!;
          out[(e * k + a) * k + b] = sum / s;
          out[(e * k + b) * k + a] = sum / s;
        }
      }
    }
    return out;
  }

  protected override functionalMeanShift(factors: JacobianFactors): Float64Array | null {
    if (this.posteriorMean === 'map') return null;
    this.ensureSolved();
    return rowsTimesMatrix(factors, this.network, this.selection, this.shift, 1);
  }

  /**
   * Fresh samples by another solve: z supplies ξ', the data noise ε' comes
   * from a generator seeded by z's first entry. Rows are θ̄ − θ* + ζ.
   */
  protected applyPosteriorScale(z: Float64Array, n: number): Float64Array {
    this.ensureSolved();
    const p = this.nParams;
    const rng = toRng(Math.floor(Math.abs(z[0] ?? 0) * 2 ** 31));
    const b = new Float64Array(p * n);
    const p0 = this.priorDiagonal();
    for (let i = 0; i < p; i++) for (let s = 0; s < n; s++) b[i * n + s] = Math.sqrt(p0[i]!) * z[s * p + i]!;
    const { n: rows } = this.data!;
    const c = this.hessianFactor;
    for (let start = 0; start < rows; start += this.examplesPerBatch) {
      const end = Math.min(rows, start + this.examplesPerBatch);
      const factors = this.rootedFactors(start, end);
      const noise = new Float64Array(factors.n * factors.m * n);
      for (let i = 0; i < noise.length; i++) noise[i] = rng.normal();
      this.addTransposeTimes(factors, noise, n, Math.sqrt(c), b);
    }
    const solution = this.conjugateGradients(b, n);
    for (let s = 0; s < n; s++)
      for (let i = 0; i < p; i++) z[s * p + i] = solution[i * n + s]! + this.shift[i]!;
    return z;
  }

  posteriorCovariance(): Tensor {
    throw new ValueError(
      "posteriorCovariance: 'sampled' never forms P⁻¹; use centredSamples or posteriorVariance",
    );
  }

  posteriorPrecision(): Tensor {
    throw new ValueError("posteriorPrecision: 'sampled' never forms P");
  }

  protected curvatureState(): Record<string, number[]> {
    throw new ValueError(
      "toJSON: a 'sampled' posterior is not saved (it needs its training data); refit it instead",
    );
  }

  protected restoreCurvature(): void {
    throw new ValueError("Laplace.fromJSON: a 'sampled' posterior cannot be restored");
  }
}

/**
 * Rᵀ W [P × k] for W [n·m × k], the transpose of rowsTimesMatrix: per outer
 * block, Y[e, i, :] = Σᵣ g[e, r, i] W[(e, r), :] (one gemm per example) and then
 * out[(i, j), :] = Σₑ aₑ[j] Y[e, i, :] (one gemm per output unit); a direct
 * block takes gᵀW. A subnetwork goes column by column through rowsTransposeTimes.
 */
function rowsTransposeTimesMatrix(
  factors: JacobianFactors,
  network: Network,
  selection: Selection,
  w: Float64Array,
  k: number,
): Float64Array {
  const { n, m } = factors;
  if (selection.indices) {
    const p = selection.nParams;
    const out = new Float64Array(p * k);
    const column = new Float64Array(n * m);
    for (let j = 0; j < k; j++) {
      for (let r = 0; r < n * m; r++) column[r] = w[r * k + j]!;
      const back = rowsTransposeTimes(factors, network, selection, column);
      for (let i = 0; i < p; i++) out[i * k + j] = back[i]!;
    }
    return out;
  }
  const out = new Float64Array(selection.nParams * k);
  for (const block of selection.blocks) {
    const base = block.selectedOffset;
    const { g, a, width } = factors.slot(block.slot);
    if (block.structure === 'direct') {
      gemm(mat(out, width, k, base * k), 1, tr(mat(g, n * m, width)), mat(w, n * m, k), 1);
      continue;
    }
    const y = new Float64Array(n * block.rows * k);
    for (let e = 0; e < n; e++) {
      gemm(
        mat(y, block.rows, k, e * block.rows * k),
        1,
        tr(mat(g, m, block.rows, e * m * block.rows)),
        mat(w, m, k, e * m * k),
      );
    }
    for (let i = 0; i < block.rows; i++) {
      gemm(
        mat(out, block.cols, k, (base + i * block.cols) * k),
        1,
        tr(mat(a!, n, block.cols)),
        mat(y, n, k, i * k, block.rows * k),
        1,
      );
    }
  }
  return out;
}

function columnNorms(a: Float64Array, p: number, k: number): Float64Array {
  const out = new Float64Array(k);
  for (let i = 0; i < p; i++) for (let j = 0; j < k; j++) out[j]! += a[i * k + j]! ** 2;
  return out.map(Math.sqrt);
}

function columnDots(a: Float64Array, b: Float64Array, p: number, k: number): Float64Array {
  const out = new Float64Array(k);
  for (let i = 0; i < p; i++) for (let j = 0; j < k; j++) out[j]! += a[i * k + j]! * b[i * k + j]!;
  return out;
}

function maxRatio(residuals: Float64Array, norms: Float64Array): number {
  let worst = 0;
  residuals.forEach((r, j) => {
    worst = Math.max(worst, norms[j]! > 0 ? r / norms[j]! : r);
  });
  return worst;
}
