/**
 * Laplace approximations: the shared machinery.
 *
 * Around a MAP estimate θ* of the weights, the posterior is approximated by
 * N(θ*, P⁻¹) with the posterior precision
 *
 *     P = c·H + P₀,   c = 1/(σ²T) (regression) or 1/T (classification),
 *
 * where H = Σₙ Jₙᵀ Λₙ Jₙ is the generalised Gauss–Newton (or the empirical
 * Fisher), P₀ = diag(p₀) the prior precision, σ the observation noise and T the
 * temperature. The Laplace estimate of the log marginal likelihood (evidence) is
 *
 *     log p(D) ≈ log p(D | θ*) − ½ (log det P − log det P₀ + (θ* − μ₀)ᵀ P₀ (θ* − μ₀)),
 *
 * with log p(D | θ*) = −c·½Σ‖y − f‖² − N·K·log(σ√(2π)) for regression and
 * −(1/T)·Σ cross-entropy for classification (laplace-torch's conventions).
 *
 * Predictions linearise the network at θ*: f(x, θ) ≈ f(x, θ*) + J(x)(θ − θ*),
 * so the outputs are Gaussian with mean f(x, θ*) and covariance J P⁻¹ Jᵀ (the
 * 'glm' predictive, Immer et al. 2021). The 'nn' predictive instead pushes
 * weight samples through the nonlinear network.
 *
 * Subclasses differ only in how they store H and apply P⁻¹: full, diag, kron,
 * low rank. Everything else lives here.
 */

import { NotFittedError, NotPositiveDefiniteError, ShapeError, ValueError } from '../errors.js';
import { type RngLike, toRng } from '../random.js';
import { Tensor } from '../tensor.js';
import { type JacobianFactors, jacobianFactors } from './factors.js';
import {
  type CurvatureName,
  type LikelihoodName,
  outputCurvature,
  softmaxRows,
  type Targets,
  toTargets,
} from './likelihood.js';
import { bridgeProbabilities, monteCarloProbabilities, probitProbabilities } from './link.js';
import { Network, type SequentialLike } from './network.js';
import { Prior, type PriorPrecision, type PriorStructure } from './prior.js';
import { Selection, type SubsetOfWeights } from './selection.js';

export type HessianStructure = 'full' | 'kron' | 'diag' | 'lowrank';
export type PredType = 'glm' | 'nn';
export type LinkApprox = 'probit' | 'bridge' | 'bridgeNorm' | 'mc';

export interface LaplaceOptions<L extends LikelihoodName = LikelihoodName> {
  likelihood: L;
  /** Default 'lastLayer', as laplace-torch. */
  subsetOfWeights?: SubsetOfWeights;
  /** Default 'kron', as laplace-torch. */
  hessianStructure?: HessianStructure;
  /** Scalar, per layer (per parameter tensor, or per Linear layer) or per parameter. Default 1. */
  priorPrecision?: PriorPrecision;
  /** Observation noise standard deviation; regression only. Default 1. */
  sigmaNoise?: number;
  /** Prior mean μ₀, scalar or per parameter. Default 0. */
  priorMean?: number | Float64Array | readonly number[];
  /** Likelihood temperature T. Default 1. */
  temperature?: number;
  /** Generalised Gauss–Newton or empirical Fisher. Default 'ggn'. */
  curvature?: CurvatureName;
  /** Rank for hessianStructure 'lowrank'. Default min(50, nParams). */
  rank?: number;
  /** Seed for the Lanczos start vector of 'lowrank'. Default 0. */
  seed?: number;
}

export interface PredictOptions {
  predType?: PredType;
  linkApprox?: LinkApprox;
  /** Samples for linkApprox 'mc' and for predType 'nn'. Default 100. */
  nSamples?: number;
  seed?: RngLike;
}

export interface RegressionPrediction {
  /** Predictive mean [n, K]. */
  mean: Tensor;
  /** Covariance of the outputs f, J P⁻¹ Jᵀ for 'glm' (sample covariance for 'nn'), [n, K, K]. */
  functionalCovariance: Tensor;
  /** diag(functionalCovariance) + σ², [n, K]. */
  predictiveVariance: Tensor;
}

export interface ClassificationPrediction {
  /** Predictive class probabilities [n, K]. */
  probs: Tensor;
  /** Logits at the MAP [n, K] ('glm' only). */
  mean?: Tensor;
  /** Covariance of the logits J P⁻¹ Jᵀ [n, K, K] ('glm' only). */
  functionalCovariance?: Tensor;
}

export type Prediction = RegressionPrediction | ClassificationPrediction;

/** What `predict` returns for a likelihood known at compile time. */
export type PredictionFor<L extends LikelihoodName> = L extends 'regression'
  ? RegressionPrediction
  : L extends 'classification'
    ? ClassificationPrediction
    : Prediction;

export interface HyperparameterResult {
  priorPrecision: number | number[] | Float64Array;
  sigmaNoise: number;
  logMarginalLikelihood: number;
  iterations: number;
}

export interface OptimizePriorOptions {
  method?: 'marglik' | 'gridsearch';
  /** Change the prior's structure before optimising. */
  priorStructure?: PriorStructure;
  /** Validation inputs and targets for 'gridsearch'. */
  valX?: unknown;
  valY?: unknown;
  /** Grid for 'gridsearch': gridSize values of log10 p₀ in [logPriorPrecisionMin, logPriorPrecisionMax]. */
  gridSize?: number;
  logPriorPrecisionMin?: number;
  logPriorPrecisionMax?: number;
  /** Predictive used to score 'gridsearch'. */
  predType?: PredType;
  linkApprox?: LinkApprox;
  nSamples?: number;
  seed?: RngLike;
  /** Relative tolerance on the hyperparameters for 'marglik'. Default 1e-8. */
  tol?: number;
  maxIter?: number;
  /**
   * 'exact' (default): the maximiser of the evidence. 'adam': laplace-torch's procedure,
   * nSteps Adam steps of size lr on log p₀ from initPriorPrecision, with analytic gradients.
   */
  optimizer?: 'exact' | 'adam';
  /** For optimizer 'adam'. Defaults as laplace-torch: 100, 0.1, 1. */
  nSteps?: number;
  lr?: number;
  initPriorPrecision?: number;
}

/** A spectrum of H with each eigenvalue tied to the prior group whose precision is added to it. */
export interface CurvatureSpectrum {
  values: Float64Array;
  groupOf: Int32Array;
}

/** The serialised state of a fitted Laplace approximation. */
export interface LaplaceJSON {
  format: 'laplace-ts/laplace@1';
  likelihood: LikelihoodName;
  hessianStructure: HessianStructure;
  subsetOfWeights: 'all' | 'lastLayer' | { subnetwork: number[] };
  curvature: CurvatureName;
  priorPrecision: number | number[];
  priorMean: number[];
  sigmaNoise: number;
  temperature: number;
  rank?: number;
  nData: number;
  nOutputs: number;
  loss: number;
  mean: number[];
  curvatureState: Record<string, number[] | number[][] | number>;
}

/** Examples per chunk when streaming data through the network. */
const CHUNK = 512;

export abstract class BaseLaplace<L extends LikelihoodName = LikelihoodName> {
  readonly likelihood: L;
  abstract readonly hessianStructure: HessianStructure;
  readonly subsetOfWeights: SubsetOfWeights;
  readonly curvature: CurvatureName;
  readonly temperature: number;
  readonly model: SequentialLike;

  protected readonly network: Network;
  protected readonly selection: Selection;
  /** All weights at the MAP, PyTorch order. */
  protected theta: Float64Array;
  /** The random weights at the MAP (laplace-torch's `mean`). */
  mean: Float64Array;
  protected prior: Prior;
  protected readonly priorMeanVector: Float64Array;
  private sigma: number;

  nData = 0;
  readonly nOutputs: number;
  /** Σ loss at the MAP in laplace-torch's convention (½ SSE or summed cross-entropy). */
  loss = 0;
  protected fitted = false;
  /** Bumped whenever P changes, so that subclasses can cache factorisations. */
  protected version = 0;

  constructor(model: SequentialLike, options: LaplaceOptions<L>) {
    if (options.likelihood !== 'regression' && options.likelihood !== 'classification') {
      throw new ValueError(
        `laplace: likelihood must be 'regression' or 'classification', got '${options.likelihood}'`,
      );
    }
    this.likelihood = options.likelihood;
    this.model = model;
    this.curvature = options.curvature ?? 'ggn';
    if (this.curvature !== 'ggn' && this.curvature !== 'ef') {
      throw new ValueError(`laplace: curvature must be 'ggn' or 'ef', got '${this.curvature}'`);
    }
    this.temperature = positive(options.temperature ?? 1, 'temperature');
    this.sigma = positive(options.sigmaNoise ?? 1, 'sigmaNoise');
    if (this.likelihood === 'classification' && this.sigma !== 1) {
      throw new ValueError('laplace: sigmaNoise must be 1 for classification');
    }
    this.network = new Network(model);
    this.nOutputs = this.network.outputSize;
    this.subsetOfWeights = options.subsetOfWeights ?? 'lastLayer';
    this.selection = new Selection(this.network, this.subsetOfWeights);
    this.theta = Network.flatParameters(model);
    this.mean = this.selection.gather(this.theta);
    this.prior = Prior.from(options.priorPrecision ?? 1, this.selection);
    this.checkPrior(this.prior);
    this.priorMeanVector = priorMeanVector(options.priorMean ?? 0, this.selection.nParams);
  }

  /** Number of random weights. */
  get nParams(): number {
    return this.selection.nParams;
  }

  get priorPrecision(): number | number[] | Float64Array {
    return this.prior.toPublic();
  }

  set priorPrecision(value: PriorPrecision) {
    this.setPrior(Prior.from(value, this.selection));
  }

  get sigmaNoise(): number {
    return this.sigma;
  }

  set sigmaNoise(value: number) {
    if (this.likelihood !== 'regression' && value !== 1) {
      throw new ValueError('sigmaNoise: can only be changed for regression');
    }
    this.sigma = positive(value, 'sigmaNoise');
    this.version++;
  }

  protected setPrior(prior: Prior): void {
    this.checkPrior(prior);
    this.prior = prior;
    this.version++;
  }

  /** Structures that cannot represent every prior form reject the others here. */
  protected checkPrior(_prior: Prior): void {}

  /** The factor c in P = c·H + P₀. */
  protected get hessianFactor(): number {
    return this.likelihood === 'regression'
      ? 1 / (this.sigma * this.sigma * this.temperature)
      : 1 / this.temperature;
  }

  // ------------------------------------------------------------------------
  // Fitting

  /**
   * Compute the curvature at the model's current weights (the MAP) over the
   * training data X [n, d] with targets y (class indices, or values [n] / [n, K]).
   */
  fit(X: unknown, y: unknown): this {
    const { data: x, rows: n } = toMatrix(X, this.network.inputSize, 'fit: X');
    if (n === 0) throw new ValueError('fit: X has no rows');
    const targets = toTargets(this.likelihood, y, n, this.nOutputs);
    this.theta = Network.flatParameters(this.model);
    this.mean = this.selection.gather(this.theta);
    this.beginCurvature();
    this.loss = 0;
    const d = this.network.inputSize;
    for (let start = 0; start < n; start += CHUNK) {
      const end = Math.min(n, start + CHUNK);
      const factors = this.trainingFactors(x.subarray(start * d, end * d), targets, start, end - start);
      this.accumulateCurvature(factors);
    }
    this.nData = n;
    this.finishCurvature();
    this.fitted = true;
    this.version++;
    return this;
  }

  private trainingFactors(x: Float64Array, targets: Targets, offset: number, n: number): JacobianFactors {
    return jacobianFactors(this.network, this.theta, x, n, (output) => {
      const oc = outputCurvature(this.likelihood, this.curvature, output, targets, offset, n, this.nOutputs);
      this.loss += oc.loss;
      return { rows: oc.roots, m: oc.m };
    });
  }

  protected abstract beginCurvature(): void;
  protected abstract accumulateCurvature(factors: JacobianFactors): void;
  protected abstract finishCurvature(): void;

  protected checkFitted(what: string): void {
    if (!this.fitted) throw new NotFittedError(`${what}: call fit(X, y) first`);
  }

  // ------------------------------------------------------------------------
  // Evidence

  /** log p(D | θ*) under the current noise and temperature. */
  get logLikelihood(): number {
    this.checkFitted('logLikelihood');
    const c = this.hessianFactor;
    if (this.likelihood === 'regression') {
      return -c * this.loss - this.nData * this.nOutputs * Math.log(this.sigma * Math.sqrt(2 * Math.PI));
    }
    return -c * this.loss;
  }

  /** (θ* − μ₀)ᵀ P₀ (θ* − μ₀). */
  get scatter(): number {
    const p0 = this.prior.diagonal();
    let s = 0;
    for (let i = 0; i < p0.length; i++) s += p0[i]! * (this.mean[i]! - this.priorMeanVector[i]!) ** 2;
    return s;
  }

  get logDetPriorPrecision(): number {
    return this.prior.logDet();
  }

  /** log det P for the current hyperparameters. */
  get logDetPosteriorPrecision(): number {
    this.checkFitted('logDetPosteriorPrecision');
    return this.computeLogDetPosteriorPrecision();
  }

  protected abstract computeLogDetPosteriorPrecision(): number;

  /**
   * The Laplace log marginal likelihood. Passing hyperparameters sets them
   * first, as laplace-torch does.
   */
  logMarginalLikelihood(hyper: { priorPrecision?: PriorPrecision; sigmaNoise?: number } = {}): number {
    this.checkFitted('logMarginalLikelihood');
    if (hyper.priorPrecision !== undefined) this.priorPrecision = hyper.priorPrecision;
    if (hyper.sigmaNoise !== undefined) this.sigmaNoise = hyper.sigmaNoise;
    return (
      this.logLikelihood -
      0.5 * (this.computeLogDetPosteriorPrecision() - this.logDetPriorPrecision + this.scatter)
    );
  }

  /**
   * Eigenvalues of H, each tied to the prior group added to it, when P's
   * eigenvalues are c·λᵢ + p₀ for the current prior structure; null otherwise.
   */
  protected abstract curvatureSpectrum(): CurvatureSpectrum | null;

  /** diag(P⁻¹) for the current hyperparameters. */
  abstract posteriorVariance(): Float64Array;

  // ------------------------------------------------------------------------
  // Hyperparameters

  /** Tune the prior precision by the marginal likelihood or a validation grid search. */
  optimizePriorPrecision(options: OptimizePriorOptions = {}): HyperparameterResult {
    this.checkFitted('optimizePriorPrecision');
    const method = options.method ?? 'marglik';
    // As laplace-torch, the prior is made scalar unless another structure is asked for.
    const structure = options.priorStructure ?? 'scalar';
    if (structure !== this.priorStructure) this.restructurePrior(structure);
    if (method === 'gridsearch') return this.gridSearchPrior(options);
    if (method !== 'marglik') throw new ValueError(`optimizePriorPrecision: unknown method '${method}'`);
    if ((options.optimizer ?? 'exact') === 'adam') return this.adamOnPrior(options);
    return this.maximizeEvidence(false, options);
  }

  /**
   * laplace-torch's tuning: Adam (β = 0.9, 0.999; ε = 1e-8) on log p₀, ascending the
   * evidence. Its gradient in the log-precision of group g is
   * ∂/∂ log δ_g = −½ (δ_g Σ_{i∈g} (P⁻¹)ᵢᵢ − n_g + δ_g ‖θ*_g − μ₀_g‖²).
   */
  private adamOnPrior(options: OptimizePriorOptions): HyperparameterResult {
    const steps = options.nSteps ?? 100;
    const lr = options.lr ?? 0.1;
    if (!Number.isInteger(steps) || steps < 0)
      throw new ValueError(`optimizePriorPrecision: nSteps must be a non-negative integer, got ${steps}`);
    if (!(lr > 0)) throw new ValueError(`optimizePriorPrecision: lr must be positive, got ${lr}`);
    const init = positive(options.initPriorPrecision ?? 1, 'initPriorPrecision');
    const sizes = this.prior.groupSizes();
    const groupScatter = this.groupScatter();
    const logValues = new Float64Array(sizes.length).fill(Math.log(init));
    const m = new Float64Array(sizes.length);
    const v = new Float64Array(sizes.length);
    const [beta1, beta2, eps] = [0.9, 0.999, 1e-8];
    for (let t = 1; t <= steps; t++) {
      const values = logValues.map(Math.exp);
      this.setPrior(this.prior.withValues(values));
      const traceByGroup = this.posteriorTraceByGroup();
      for (let g = 0; g < sizes.length; g++) {
        // Adam minimises the negative evidence.
        const grad = 0.5 * (values[g]! * traceByGroup[g]! - sizes[g]! + values[g]! * groupScatter[g]!);
        m[g] = beta1 * m[g]! + (1 - beta1) * grad;
        v[g] = beta2 * v[g]! + (1 - beta2) * grad * grad;
        const mHat = m[g]! / (1 - beta1 ** t);
        const vHat = v[g]! / (1 - beta2 ** t);
        logValues[g]! -= (lr * mHat) / (Math.sqrt(vHat) + eps);
      }
    }
    this.setPrior(this.prior.withValues(logValues.map(Math.exp)));
    return {
      priorPrecision: this.priorPrecision,
      sigmaNoise: this.sigma,
      logMarginalLikelihood: this.logMarginalLikelihood(),
      iterations: steps,
    };
  }

  /** Σᵢ (P⁻¹)ᵢᵢ within each prior group: with n_g and δ_g, γ_g = n_g − δ_g·trace_g. */
  private posteriorTraceByGroup(): Float64Array {
    const variance = this.posteriorVariance();
    const out = new Float64Array(this.prior.values.length);
    for (let i = 0; i < variance.length; i++) out[this.prior.groupOf[i]!]! += variance[i]!;
    return out;
  }

  /** ‖θ* − μ₀‖² within each prior group. */
  private groupScatter(): Float64Array {
    const out = new Float64Array(this.prior.values.length);
    for (let i = 0; i < this.mean.length; i++) {
      out[this.prior.groupOf[i]!]! += (this.mean[i]! - this.priorMeanVector[i]!) ** 2;
    }
    return out;
  }

  /** Tune prior precision and (for regression) sigmaNoise jointly by the marginal likelihood. */
  optimizeHyperparameters(
    options: Pick<OptimizePriorOptions, 'priorStructure' | 'tol' | 'maxIter'> = {},
  ): HyperparameterResult {
    this.checkFitted('optimizeHyperparameters');
    if (options.priorStructure) this.restructurePrior(options.priorStructure);
    return this.maximizeEvidence(this.likelihood === 'regression', options);
  }

  /** The structure of the current prior ('layerwise' covers one value per tensor or per Linear layer). */
  get priorStructure(): PriorStructure {
    const form = this.prior.form;
    return form === 'scalar' || form === 'diag' ? form : 'layerwise';
  }

  /** Switch to a prior of another structure, starting every group at the geometric mean of the current values. */
  private restructurePrior(structure: PriorStructure): void {
    const meanLog = this.prior.values.reduce((a, b) => a + Math.log(b), 0) / this.prior.values.length;
    this.setPrior(Prior.withStructure(structure, Math.exp(meanLog), this.selection));
  }

  /**
   * Maximise the evidence over the prior groups (and σ).
   *
   * Stationarity in a group's precision δ is MacKay's condition γ/δ = ‖θ* − μ₀‖²
   * over the group, with γ = Σᵢ (1 − δ·(P⁻¹)ᵢᵢ) the effective number of
   * parameters; in σ it is σ² = Σ‖y − f‖² / (T·(N·K − γ_total)). When P's
   * spectrum is cλᵢ + δ (scalar prior; diag and kron with per-layer priors),
   * γ = Σ cλᵢ/(cλᵢ + δ) is cheap and each condition is one monotone equation,
   * solved to machine precision by bisection on a log scale; alternating over
   * the groups and σ converges to the joint maximiser. Otherwise each
   * iteration recomputes diag P⁻¹ and applies MacKay's fixed-point update.
   */
  private maximizeEvidence(
    withSigma: boolean,
    options: { tol?: number; maxIter?: number },
  ): HyperparameterResult {
    const tol = options.tol ?? 1e-8;
    const maxIter = options.maxIter ?? 500;
    const groupScatter = this.groupScatter();
    const nk = this.nData * this.nOutputs;
    let iterations = 0;
    const spectrum = this.curvatureSpectrum();
    for (; iterations < maxIter; iterations++) {
      const before = [...this.prior.values, this.sigma];
      const values = this.prior.values.slice();
      if (spectrum) {
        const c = this.hessianFactor;
        for (let g = 0; g < values.length; g++) {
          const scatterG = groupScatter[g]!;
          values[g] = solveDecreasingLog(
            (delta) => effectiveParameters(spectrum, c, values, g, delta) / delta - scatterG,
          );
        }
        this.setPrior(this.prior.withValues(values));
        if (withSigma) {
          const t = this.temperature;
          const sigma = solveDecreasingLog(
            (sigma) => {
              const cs = 1 / (sigma * sigma * t);
              return 2 * cs * this.loss - nk + effectiveParameters(spectrum, cs, values, -1, 0);
            },
            1e-8,
            1e8,
          );
          this.sigmaNoise = sigma;
        }
      } else {
        const sizes = this.prior.groupSizes();
        const gamma = this.posteriorTraceByGroup().map((trace, g) => sizes[g]! - values[g]! * trace);
        const gammaTotal = gamma.reduce((a, b) => a + b, 0);
        for (let g = 0; g < values.length; g++) {
          values[g] = clamp(gamma[g]! / Math.max(groupScatter[g]!, 1e-300), 1e-12, 1e12);
        }
        this.setPrior(this.prior.withValues(values));
        if (withSigma) {
          this.sigmaNoise = Math.sqrt(
            (2 * this.loss) / (this.temperature * Math.max(nk - gammaTotal, 1e-12)),
          );
        }
      }
      const after = [...this.prior.values, this.sigma];
      const change = Math.max(...after.map((v, i) => Math.abs(Math.log(v / before[i]!))));
      if (change < tol) {
        iterations++;
        break;
      }
    }
    return {
      priorPrecision: this.priorPrecision,
      sigmaNoise: this.sigma,
      logMarginalLikelihood: this.logMarginalLikelihood(),
      iterations,
    };
  }

  private gridSearchPrior(options: OptimizePriorOptions): HyperparameterResult {
    if (options.valX === undefined || options.valY === undefined) {
      throw new ValueError('optimizePriorPrecision: gridsearch needs valX and valY');
    }
    const { data: x, rows: n } = toMatrix(
      options.valX,
      this.network.inputSize,
      'optimizePriorPrecision: valX',
    );
    const targets = toTargets(this.likelihood, options.valY, n, this.nOutputs);
    const size = options.gridSize ?? 100;
    const lo = options.logPriorPrecisionMin ?? -4;
    const hi = options.logPriorPrecisionMax ?? 4;
    let best = Number.POSITIVE_INFINITY;
    let bestValues = this.prior.values;
    for (let i = 0; i < size; i++) {
      const value = 10 ** (size === 1 ? lo : lo + ((hi - lo) * i) / (size - 1));
      this.setPrior(this.prior.withValues(new Float64Array(this.prior.values.length).fill(value)));
      let nll: number;
      try {
        nll = this.negativeLogPredictive(x, n, targets, options);
      } catch (error) {
        // As laplace-torch: a precision too small to factorise scores +∞.
        if (error instanceof NotPositiveDefiniteError) continue;
        throw error;
      }
      if (nll < best) {
        best = nll;
        bestValues = this.prior.values.slice();
      }
    }
    this.setPrior(this.prior.withValues(bestValues));
    return {
      priorPrecision: this.priorPrecision,
      sigmaNoise: this.sigma,
      logMarginalLikelihood: this.logMarginalLikelihood(),
      iterations: size,
    };
  }

  /** Mean negative log predictive density of held-out data. */
  private negativeLogPredictive(
    x: Float64Array,
    n: number,
    targets: Targets,
    options: PredictOptions,
  ): number {
    const prediction = this.predictFlat(x, n, options);
    const k = this.nOutputs;
    let total = 0;
    if (targets.kind === 'classification') {
      for (let i = 0; i < n; i++)
        total -= Math.log(Math.max(prediction.probs![i * k + targets.labels[i]!]!, 1e-300));
    } else {
      for (let i = 0; i < n * k; i++) {
        const v = prediction.variance![i]!;
        total += 0.5 * Math.log(2 * Math.PI * v) + (targets.values[i]! - prediction.mean[i]!) ** 2 / (2 * v);
      }
    }
    return total / n;
  }

  // ------------------------------------------------------------------------
  // Prediction

  /**
   * The posterior predictive at X [n, d]. 'glm' linearises the network at the
   * MAP; 'nn' samples weights and runs the network.
   */
  predict(X: unknown, options: PredictOptions = {}): PredictionFor<L> {
    this.checkFitted('predict');
    const { data: x, rows: n } = toMatrix(X, this.network.inputSize, 'predict: X');
    const flat = this.predictFlat(x, n, options);
    const k = this.nOutputs;
    const covariance = flat.covariance ? new Tensor(flat.covariance, [n, k, k]) : undefined;
    if (this.likelihood === 'regression') {
      const regression: RegressionPrediction = {
        mean: new Tensor(flat.mean, [n, k]),
        functionalCovariance: covariance!,
        predictiveVariance: new Tensor(flat.variance!, [n, k]),
      };
      return regression as PredictionFor<L>;
    }
    const result: ClassificationPrediction = { probs: new Tensor(flat.probs!, [n, k]) };
    if ((options.predType ?? 'glm') === 'glm') {
      result.mean = new Tensor(flat.mean, [n, k]);
      result.functionalCovariance = covariance!;
    }
    return result as PredictionFor<L>;
  }

  private predictFlat(
    x: Float64Array,
    n: number,
    options: PredictOptions,
  ): { mean: Float64Array; covariance?: Float64Array; variance?: Float64Array; probs?: Float64Array } {
    const predType = options.predType ?? 'glm';
    const link = options.linkApprox ?? (predType === 'nn' ? 'mc' : 'probit');
    const nSamples = options.nSamples ?? 100;
    if (predType !== 'glm' && predType !== 'nn')
      throw new ValueError(`predict: predType must be 'glm' or 'nn', got '${predType}'`);
    if (!['probit', 'bridge', 'bridgeNorm', 'mc'].includes(link)) {
      throw new ValueError(
        `predict: linkApprox must be 'probit', 'bridge', 'bridgeNorm' or 'mc', got '${link}'`,
      );
    }
    if (predType === 'nn' && link !== 'mc')
      throw new ValueError(`predict: predType 'nn' supports only linkApprox 'mc'`);
    if (!Number.isInteger(nSamples) || nSamples < 1)
      throw new ValueError(`predict: nSamples must be a positive integer, got ${nSamples}`);
    const k = this.nOutputs;
    const seed = options.seed ?? 0;
    if (predType === 'nn') return this.predictNn(x, n, nSamples, seed);
    const mean = new Float64Array(n * k);
    const covariance = new Float64Array(n * k * k);
    const d = this.network.inputSize;
    for (let start = 0; start < n; start += CHUNK) {
      const end = Math.min(n, start + CHUNK);
      const factors = jacobianFactors(this.network, this.theta, x.subarray(start * d, end * d), end - start);
      mean.set(factors.output, start * k);
      covariance.set(this.functionalCovariance(factors), start * k * k);
    }
    if (this.likelihood === 'regression') {
      const variance = new Float64Array(n * k);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < k; j++) variance[i * k + j] = covariance[(i * k + j) * k + j]! + this.sigma ** 2;
      }
      return { mean, covariance, variance };
    }
    let probs: Float64Array;
    if (link === 'probit') probs = probitProbabilities(mean, covariance, n, k);
    else if (link === 'mc') probs = monteCarloProbabilities(mean, covariance, n, k, nSamples, seed);
    else probs = bridgeProbabilities(mean, covariance, n, k, link === 'bridgeNorm');
    return { mean, covariance, probs };
  }

  private predictNn(
    x: Float64Array,
    n: number,
    nSamples: number,
    seed: RngLike,
  ): { mean: Float64Array; covariance?: Float64Array; variance?: Float64Array; probs?: Float64Array } {
    const k = this.nOutputs;
    const samples = this.sampleFlat(nSamples, seed);
    if (this.likelihood === 'classification') {
      const probs = new Float64Array(n * k);
      const p = new Float64Array(n * k);
      for (let s = 0; s < nSamples; s++) {
        const theta = this.selection.scatter(this.theta, samples, s * this.nParams);
        softmaxRows(this.network.forward(theta, x, n).output, n, k, p);
        for (let i = 0; i < n * k; i++) probs[i]! += p[i]! / nSamples;
      }
      return { mean: this.network.forward(this.theta, x, n).output, probs };
    }
    // Regression: sample mean and (unbiased, as torch.var) sample covariance of the outputs.
    const outputs: Float64Array[] = [];
    for (let s = 0; s < nSamples; s++) {
      outputs.push(
        this.network.forward(this.selection.scatter(this.theta, samples, s * this.nParams), x, n).output,
      );
    }
    const mean = new Float64Array(n * k);
    for (const o of outputs) for (let i = 0; i < n * k; i++) mean[i]! += o[i]! / nSamples;
    const covariance = new Float64Array(n * k * k);
    const denominator = Math.max(nSamples - 1, 1);
    for (const o of outputs) {
      for (let i = 0; i < n; i++) {
        for (let a = 0; a < k; a++) {
          const da = o[i * k + a]! - mean[i * k + a]!;
          for (let b = 0; b < k; b++)
            covariance[(i * k + a) * k + b]! += (da * (o[i * k + b]! - mean[i * k + b]!)) / denominator;
        }
      }
    }
    const variance = new Float64Array(n * k);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < k; j++) variance[i * k + j] = covariance[(i * k + j) * k + j]! + this.sigma ** 2;
    return { mean, covariance, variance };
  }

  /** J P⁻¹ Jᵀ for the examples of `factors` (unit-vector rows, m = K), [n × K × K]. */
  protected abstract functionalCovariance(factors: JacobianFactors): Float64Array;

  // ------------------------------------------------------------------------
  // Samples and moments

  /** n samples θ ~ N(θ*, P⁻¹) of the random weights, [n, nParams]. */
  sample(n: number, seed: RngLike = 0): Tensor {
    this.checkFitted('sample');
    if (!Number.isInteger(n) || n < 0)
      throw new ValueError(`sample: n must be a non-negative integer, got ${n}`);
    return new Tensor(this.sampleFlat(n, seed), [n, this.nParams]);
  }

  private sampleFlat(n: number, seed: RngLike): Float64Array {
    const rng = toRng(seed);
    const z = new Float64Array(n * this.nParams);
    for (let i = 0; i < z.length; i++) z[i] = rng.normal();
    const out = this.applyPosteriorScale(z, n);
    for (let s = 0; s < n; s++)
      for (let i = 0; i < this.nParams; i++) out[s * this.nParams + i]! += this.mean[i]!;
    return out;
  }

  /** For z [n × P] of standard normals, rows distributed as N(0, P⁻¹). */
  protected abstract applyPosteriorScale(z: Float64Array, n: number): Float64Array;

  /** P⁻¹ as a dense [nParams, nParams] matrix. */
  abstract posteriorCovariance(): Tensor;

  /** P as a dense [nParams, nParams] matrix. */
  abstract posteriorPrecision(): Tensor;

  // ------------------------------------------------------------------------
  // Serialisation

  toJSON(): LaplaceJSON {
    this.checkFitted('toJSON');
    const subset = this.subsetOfWeights;
    return {
      format: 'laplace-ts/laplace@1',
      likelihood: this.likelihood,
      hessianStructure: this.hessianStructure,
      subsetOfWeights: typeof subset === 'string' ? subset : { subnetwork: Array.from(subset.subnetwork) },
      curvature: this.curvature,
      priorPrecision: ((p) => (typeof p === 'number' ? p : Array.from(p)))(this.prior.toPublic()),
      priorMean: Array.from(this.priorMeanVector),
      sigmaNoise: this.sigma,
      temperature: this.temperature,
      nData: this.nData,
      nOutputs: this.nOutputs,
      loss: this.loss,
      mean: Array.from(this.mean),
      curvatureState: this.curvatureState(),
    };
  }

  protected abstract curvatureState(): Record<string, number[] | number[][] | number>;
  protected abstract restoreCurvature(state: Record<string, number[] | number[][] | number>): void;

  /** Restore a fitted state saved by `toJSON` (used by `Laplace.fromJSON`). */
  restore(json: LaplaceJSON): this {
    if (json.mean.length !== this.nParams) {
      throw new ShapeError(
        `Laplace.fromJSON: the saved posterior has ${json.mean.length} weights, the model ${this.nParams}`,
      );
    }
    this.theta = Network.flatParameters(this.model);
    this.mean = Float64Array.from(json.mean);
    // The posterior is centred on the model's weights: they must be the ones it was fitted at.
    const current = this.selection.gather(this.theta);
    const index = current.findIndex((w, i) => Math.abs(w - this.mean[i]!) > 1e-12 * Math.max(1, Math.abs(w)));
    if (index >= 0) {
      throw new ValueError(
        `Laplace.fromJSON: the model's weight ${index} of the posterior is ${current[index]}, but the posterior was fitted at ${this.mean[index]}; load the network saved with it`,
      );
    }
    this.nData = json.nData;
    this.loss = json.loss;
    this.restoreCurvature(json.curvatureState);
    this.fitted = true;
    this.version++;
    return this;
  }
}

// --------------------------------------------------------------------------
// Helpers

function positive(value: number, what: string): number {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    throw new ValueError(`laplace: ${what} must be a positive finite number, got ${value}`);
  }
  return value;
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

function priorMeanVector(value: number | Float64Array | readonly number[], p: number): Float64Array {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new ValueError(`laplace: priorMean must be finite, got ${value}`);
    return new Float64Array(p).fill(value);
  }
  if (value.length === 1) return new Float64Array(p).fill(value[0]!);
  if (value.length !== p)
    throw new ShapeError(`laplace: priorMean has ${value.length} values, expected 1 or ${p}`);
  return Float64Array.from(value);
}

/**
 * γ = Σᵢ cλᵢ/(cλᵢ + δ_{g(i)}) over group `group` (all groups when −1), with
 * group `group` at precision `delta` and the others at `values`.
 */
function effectiveParameters(
  spectrum: CurvatureSpectrum,
  c: number,
  values: Float64Array,
  group: number,
  delta: number,
): number {
  let gamma = 0;
  const { values: lambda, groupOf } = spectrum;
  for (let i = 0; i < lambda.length; i++) {
    const g = groupOf[i]!;
    if (group >= 0 && g !== group) continue;
    const cl = c * Math.max(lambda[i]!, 0);
    gamma += cl / (cl + (g === group ? delta : values[g]!));
  }
  return gamma;
}

/** Root of a decreasing function of a positive variable, by bisection on log x within [lo, hi]. */
function solveDecreasingLog(h: (x: number) => number, lo = 1e-12, hi = 1e12): number {
  let a = Math.log(lo);
  let b = Math.log(hi);
  if (h(lo) <= 0) return lo;
  if (h(hi) >= 0) return hi;
  for (let i = 0; i < 200 && b - a > 1e-15 * Math.max(1, Math.abs(a)); i++) {
    const mid = 0.5 * (a + b);
    if (h(Math.exp(mid)) > 0) a = mid;
    else b = mid;
  }
  return Math.exp(0.5 * (a + b));
}

/** Validate a design matrix: number[][], Tensor [n, d], or a flat Float64Array with d columns. */
export function toMatrix(X: unknown, d: number, what: string): { data: Float64Array; rows: number } {
  let data: Float64Array;
  let rows: number;
  if (X instanceof Tensor) {
    const shape = X.shape;
    if (shape.length === 1 && d === 1) rows = shape[0]!;
    else if (shape.length !== 2 || shape[1] !== d) {
      throw new ShapeError(`${what} has shape [${shape.join(', ')}], expected [n, ${d}]`);
    } else rows = shape[0]!;
    data = X.data;
  } else if (X instanceof Float64Array) {
    if (X.length % d !== 0)
      throw new ShapeError(`${what} has ${X.length} values, not a multiple of ${d} features`);
    data = X;
    rows = X.length / d;
  } else if (Array.isArray(X)) {
    rows = X.length;
    data = new Float64Array(rows * d);
    for (let i = 0; i < rows; i++) {
      const row = X[i] as unknown;
      if (typeof row === 'number' && d === 1) {
        data[i] = row;
        continue;
      }
      if (!Array.isArray(row) || row.length !== d) {
        throw new ShapeError(
          `${what}: row ${i} has ${Array.isArray(row) ? row.length : 'no'} features, expected ${d}`,
        );
      }
      for (let j = 0; j < d; j++) data[i * d + j] = row[j] as number;
    }
  } else {
    throw new ValueError(`${what} must be a number[][], a Tensor or a Float64Array`);
  }
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) {
      throw new ValueError(`${what} has a non-finite value at row ${Math.floor(i / d)}, column ${i % d}`);
    }
  }
  return { data, rows };
}
