/**
 * Laplace approximations: the class every Hessian structure extends.
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
 *     log p(D) ≈ log p(D | θ*) − ½ (log det P − log det P₀ + (θ* − μ₀)ᵀ P₀ (θ* − μ₀)).
 *
 * Subclasses differ only in how they store H and apply P⁻¹ (full, diag, kron,
 * low rank): they implement the curvature hooks below. This class holds the
 * state and the public API; the likelihood (likelihood.ts), the evidence and
 * its maximisation (hyperparameters.ts), the predictive (predictive.ts) and
 * saving (serialisation.ts) live in their own modules.
 */

import { NotFittedError, ValueError } from '../errors.js';
import { dot } from '../kernels/gemm.js';
import { type RngLike, toRng } from '../random.js';
import { Tensor } from '../tensor.js';
import { type JacobianFactors, jacobianFactors } from './factors.js';
import {
  type CurvatureSpectrum,
  type HyperparameterResult,
  type OptimizeHyperparametersOptions,
  type OptimizePriorOptions,
  optimizeHyperparameters,
  optimizePriorPrecision,
  priorScatter,
  priorStructureOf,
  type TuningSource,
} from './hyperparameters.js';
import {
  checkAllocation,
  checkOptionNames,
  describe,
  firstNonFinite,
  integerAtLeast,
  positive,
  toMatrix,
} from './inputs.js';
import {
  type ClassificationPrediction,
  type CurvatureName,
  type LikelihoodName,
  type LikelihoodRule,
  likelihoodRule,
  type Prediction,
  type RegressionPrediction,
  type Targets,
} from './likelihood.js';
import { Network, type SequentialLike } from './network.js';
import { type PredictOptions, predict } from './predictive.js';
import { Prior, type PriorPrecision, type PriorStructure, priorMeanVector } from './prior.js';
import { Selection, type SubsetOfWeights } from './selection.js';
import {
  type CurvatureState,
  checkAgainstModel,
  checkLaplaceJSON,
  type HessianStructure,
  type LaplaceJSON,
  networkHash,
  toLaplaceJSON,
} from './serialisation.js';

export type {
  CurvatureSpectrum,
  HyperparameterResult,
  OptimizePriorOptions,
} from './hyperparameters.js';
export type {
  ClassificationPrediction,
  LinkApprox,
  Prediction,
  PredType,
  RegressionPrediction,
} from './likelihood.js';
export type { PredictOptions } from './predictive.js';
export type { HessianStructure, LaplaceJSON } from './serialisation.js';

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
  /** Seed for the Lanczos start vector of 'lowrank' and the random subset of 'gp'. Default 0. */
  seed?: number;
  /** For 'gp': the number of training examples the GP conditions on, drawn by `seed`. Default all. */
  nSubset?: number;
  /** For 'gp': the training examples (row indices) the GP conditions on, instead of a random draw. */
  subsetIndices?: readonly number[] | Int32Array;
  /** For 'gp': one GP per output, the kernel between different outputs dropped (laplace-torch's independent_outputs). Default false. */
  independentOutputs?: boolean;
  /** For 'sampled': posterior samples drawn by sample-then-optimise. Default 32. */
  posteriorSamples?: number;
  /** For 'sampled': θ* ('map', default) or the linearised model's own optimum ('linearised'). */
  posteriorMean?: 'map' | 'linearised';
  /** For 'sampled': relative residual at which conjugate gradients stop (default 1e-6), and its iteration cap (default 1000). */
  cgTol?: number;
  cgMaxIter?: number;
  /**
   * For 'sampled': the conjugate gradients' preconditioner, the posterior precision with the
   * curvature replaced by a rank-`cgRank` Nyström approximation plus the diagonal it misses
   * ('nystrom', default; one extra pass over the data with `cgRank` columns, default 100)
   * or by its diagonal ('diag').
   */
  cgPreconditioner?: 'nystrom' | 'diag';
  cgRank?: number;
  /** For 'sampled': 'g' scales each weight's prior precision by its mean curvature diag(H)ᵢ/N (the g-prior). Default 'none'. */
  priorScaling?: 'none' | 'g';
}

/** What `predict` returns for a likelihood known at compile time. */
export type PredictionFor<L extends LikelihoodName> = L extends 'regression'
  ? RegressionPrediction
  : L extends 'classification'
    ? ClassificationPrediction
    : Prediction;

/** Every option's name: the type makes the list complete, so a new option cannot be refused as unknown. */
const LAPLACE_OPTIONS = Object.keys({
  likelihood: true,
  subsetOfWeights: true,
  hessianStructure: true,
  priorPrecision: true,
  sigmaNoise: true,
  priorMean: true,
  temperature: true,
  curvature: true,
  rank: true,
  seed: true,
  nSubset: true,
  subsetIndices: true,
  independentOutputs: true,
  posteriorSamples: true,
  posteriorMean: true,
  cgTol: true,
  cgMaxIter: true,
  cgPreconditioner: true,
  cgRank: true,
  priorScaling: true,
} satisfies Record<keyof LaplaceOptions, true>);

const PREDICT_OPTIONS = [
  'predType',
  'linkApprox',
  'nSamples',
  'seed',
] as const satisfies readonly (keyof PredictOptions)[];

export abstract class BaseLaplace<L extends LikelihoodName = LikelihoodName> {
  readonly likelihood: L;
  abstract readonly hessianStructure: HessianStructure;
  readonly subsetOfWeights: SubsetOfWeights;
  readonly curvature: CurvatureName;
  readonly temperature: number;
  readonly model: SequentialLike;

  /** Everything that depends on the likelihood, chosen once from its name. */
  protected readonly likelihoodRule: LikelihoodRule;
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
  /** The fingerprint of the whole network at the MAP (serialisation.ts). */
  private fittedNetworkHash = '';
  /** Bumped whenever P changes, so that subclasses can cache factorisations. */
  protected version = 0;

  constructor(model: SequentialLike, options: LaplaceOptions<L>) {
    checkOptionNames(options, LAPLACE_OPTIONS, 'laplace');
    this.likelihoodRule = likelihoodRule(options.likelihood);
    this.likelihood = options.likelihood;
    this.model = model;
    this.curvature = options.curvature ?? 'ggn';
    if (this.curvature !== 'ggn' && this.curvature !== 'ef') {
      throw new ValueError(`laplace: curvature must be 'ggn' or 'ef', got ${describe(this.curvature)}`);
    }
    this.temperature = positive(options.temperature ?? 1, 'temperature');
    this.sigma = positive(options.sigmaNoise ?? 1, 'sigmaNoise');
    if (!this.likelihoodRule.hasNoise && this.sigma !== 1) {
      throw new ValueError(`laplace: sigmaNoise must be 1 for ${this.likelihood}`);
    }
    this.network = new Network(model);
    this.nOutputs = this.network.outputSize;
    if (this.nOutputs < this.likelihoodRule.minOutputs) {
      throw new ValueError(
        `laplace: ${this.likelihood} needs at least ${this.likelihoodRule.minOutputs} outputs, the model has ${this.nOutputs}`,
      );
    }
    if (options.seed !== undefined && !Number.isInteger(options.seed)) {
      throw new ValueError(`laplace: seed must be an integer, got ${describe(options.seed)}`);
    }
    this.subsetOfWeights = checkSubset(options.subsetOfWeights ?? 'lastLayer');
    if (options.rank !== undefined) integerAtLeast(options.rank, 1, 'laplace: rank');
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
    if (!this.likelihoodRule.hasNoise && value !== 1) {
      throw new ValueError(
        `sigmaNoise: can only be changed for a likelihood with noise, not ${this.likelihood}`,
      );
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
    return this.likelihoodRule.hessianFactor(this.sigma, this.temperature);
  }

  // ------------------------------------------------------------------------
  // Fitting

  /**
   * Compute the curvature at the model's current weights (the MAP) over the
   * training data X [n, d] with targets y (class indices, or values [n] / [n, K]).
   */
  fit(X: unknown, y: unknown): this {
    const { data: x, rows: n } = toMatrix(X, this.network.inputShape, 'fit: X');
    if (n === 0) throw new ValueError('fit: X has no rows');
    const targets = this.likelihoodRule.parseTargets(y, n, this.nOutputs, 'fit: y');
    this.theta = Network.flatParameters(this.model);
    const weight = firstNonFinite(this.theta);
    if (weight) {
      throw new ValueError(
        `fit: the model's weight ${weight.index} is ${weight.value}; did training diverge?`,
      );
    }
    this.mean = this.selection.gather(this.theta);
    this.beginCurvature();
    this.loss = 0;
    const d = this.network.inputSize;
    const batch = this.network.examplesPerBatch(this.nOutputs);
    for (let start = 0; start < n; start += batch) {
      const end = Math.min(n, start + batch);
      const factors = this.trainingFactors(x.subarray(start * d, end * d), targets, start, end - start);
      checkCurvatureFinite(factors, start);
      this.accumulateCurvature(factors);
    }
    if (!Number.isFinite(this.loss))
      throw new ValueError(`fit: the training loss is not finite (${this.loss})`);
    this.nData = n;
    this.finishCurvature();
    this.fittedNetworkHash = networkHash(this.model);
    this.fitted = true;
    this.version++;
    return this;
  }

  private trainingFactors(x: Float64Array, targets: Targets, offset: number, n: number): JacobianFactors {
    return jacobianFactors(
      this.network,
      this.theta,
      x,
      n,
      (output) => {
        const bad = firstNonFinite(output);
        if (bad) {
          const k = this.nOutputs;
          throw new ValueError(
            `fit: the network's output is not finite for example ${offset + Math.floor(bad.index / k)} (output ${bad.index % k} is ${bad.value}); the inputs or weights overflow`,
          );
        }
        const oc = this.likelihoodRule.outputCurvature(
          this.curvature,
          output,
          targets,
          offset,
          n,
          this.nOutputs,
          this.network.formsRows,
        );
        this.loss += oc.loss;
        return { rows: oc.roots, m: oc.m };
      },
      this.selection.layers,
      this.readsKroneckerFactors,
      this.readsRowSquares,
    );
  }

  /** Whether `accumulateCurvature` reads only row squares and outer slots (see jacobianFactors). */
  protected get readsRowSquares(): boolean {
    return false;
  }

  /** Whether `accumulateCurvature` reads only inputs and bias rows (KFLR), never slots (see jacobianFactors). */
  protected get readsKroneckerFactors(): boolean {
    return false;
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
    return this.likelihoodRule.logLikelihood(
      this.loss,
      this.sigma,
      this.temperature,
      this.nData,
      this.nOutputs,
    );
  }

  /** (θ* − μ₀)ᵀ P₀ (θ* − μ₀). */
  get scatter(): number {
    return priorScatter(this.prior, this.mean, this.priorMeanVector);
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
    checkOptionNames(hyper, ['priorPrecision', 'sigmaNoise'], 'logMarginalLikelihood');
    if (hyper.priorPrecision !== undefined) this.priorPrecision = hyper.priorPrecision;
    if (hyper.sigmaNoise !== undefined) this.sigmaNoise = hyper.sigmaNoise;
    const logLikelihood = this.logLikelihood;
    const logDetPosterior = this.computeLogDetPosteriorPrecision();
    const logDetPrior = this.logDetPriorPrecision;
    const scatter = this.scatter;
    const evidence = logLikelihood - 0.5 * (logDetPosterior - logDetPrior + scatter);
    if (!Number.isFinite(evidence)) {
      const terms = {
        logLikelihood,
        logDetPosteriorPrecision: logDetPosterior,
        logDetPriorPrecision: logDetPrior,
        scatter,
      };
      const culprits = Object.entries(terms).filter(([, v]) => !Number.isFinite(v));
      throw new ValueError(
        `logMarginalLikelihood: the evidence is not finite (${evidence}): ${
          culprits.length > 0
            ? culprits.map(([name, v]) => `${name} is ${v}`).join(', ')
            : 'its finite terms cancel as ∞ − ∞'
        }; the hyperparameters (priorPrecision ${JSON.stringify(this.prior.toPublic())}, sigmaNoise ${this.sigma}) are out of range for this data`,
      );
    }
    return evidence;
  }

  /**
   * Eigenvalues of H, each tied to the prior group added to it, when P's
   * eigenvalues are c·λᵢ + p₀ for the current prior structure; null otherwise.
   */
  protected abstract curvatureSpectrum(): CurvatureSpectrum | null;

  /** diag(P⁻¹) for the current hyperparameters. */
  abstract posteriorVariance(): Float64Array;

  // ------------------------------------------------------------------------
  // Hyperparameters (hyperparameters.ts)

  /** Tune the prior precision by the marginal likelihood or a validation grid search. */
  optimizePriorPrecision(options: OptimizePriorOptions = {}): HyperparameterResult {
    this.checkFitted('optimizePriorPrecision');
    return optimizePriorPrecision(this.internals, options);
  }

  /** Tune prior precision and (for regression) sigmaNoise jointly by the marginal likelihood. */
  optimizeHyperparameters(options: OptimizeHyperparametersOptions = {}): HyperparameterResult {
    this.checkFitted('optimizeHyperparameters');
    return optimizeHyperparameters(this.internals, options);
  }

  /** The structure of the current prior ('layerwise' covers one value per tensor or per Linear layer). */
  get priorStructure(): PriorStructure {
    return priorStructureOf(this.prior);
  }

  // ------------------------------------------------------------------------
  // Prediction (predictive.ts)

  /**
   * The posterior predictive at X [n, d]. 'glm' linearises the network at the
   * MAP; 'nn' samples weights and runs the network.
   */
  predict(X: unknown, options: PredictOptions = {}): PredictionFor<L> {
    this.checkFitted('predict');
    checkOptionNames(options, PREDICT_OPTIONS, 'predict');
    const { data: x, rows: n } = toMatrix(X, this.network.inputShape, 'predict: X');
    return predict(this.internals, x, n, options) as PredictionFor<L>;
  }

  /** J P⁻¹ Jᵀ for the examples of `factors` (unit-vector rows, m = K), [n × K × K]. */
  protected abstract functionalCovariance(factors: JacobianFactors): Float64Array;

  /** J (θ̄ − θ*) [n × K] when the posterior mean θ̄ is not the network's weights; null when it is. */
  protected functionalMeanShift(_factors: JacobianFactors): Float64Array | null {
    return null;
  }

  // ------------------------------------------------------------------------
  // Samples and moments

  /** n samples θ ~ N(θ*, P⁻¹) of the random weights, [n, nParams]. */
  sample(n: number, seed: RngLike = 0): Tensor {
    this.checkFitted('sample');
    if (!Number.isInteger(n) || n < 0)
      throw new ValueError(`sample: n must be a non-negative integer, got ${describe(n)}`);
    checkAllocation(n * this.nParams, `sample: ${n} samples of ${this.nParams} weights`);
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
  // Serialisation (serialisation.ts)

  toJSON(): LaplaceJSON {
    this.checkFitted('toJSON');
    return toLaplaceJSON({
      likelihood: this.likelihood,
      hessianStructure: this.hessianStructure,
      subsetOfWeights: this.subsetOfWeights,
      curvature: this.curvature,
      priorPrecision: this.prior.toPublic(),
      priorMeanVector: this.priorMeanVector,
      sigmaNoise: this.sigma,
      temperature: this.temperature,
      nData: this.nData,
      nOutputs: this.nOutputs,
      loss: this.loss,
      mean: this.mean,
      networkHash: this.fittedNetworkHash,
      curvatureState: this.curvatureState(),
    });
  }

  protected abstract curvatureState(): CurvatureState;
  protected abstract restoreCurvature(state: CurvatureState): void;

  /**
   * Restore a fitted state saved by `toJSON` (used by `Laplace.fromJSON`):
   * every field is checked, and the model must be the network it was fitted on.
   */
  restore(json: LaplaceJSON): this {
    const saved = checkLaplaceJSON(json);
    const theta = Network.flatParameters(this.model);
    this.mean = checkAgainstModel(
      saved,
      {
        likelihood: this.likelihood,
        hessianStructure: this.hessianStructure,
        curvature: this.curvature,
        subsetOfWeights: this.subsetOfWeights,
        nOutputs: this.nOutputs,
        network: this.network,
        selection: this.selection,
        model: this.model,
      },
      this.selection.gather(theta),
    );
    this.theta = theta;
    this.nData = saved.nData;
    this.loss = saved.loss;
    this.fittedNetworkHash = saved.networkHash;
    this.restoreCurvature(saved.curvatureState);
    this.fitted = true;
    this.version++;
    return this;
  }

  // ------------------------------------------------------------------------

  /** This posterior as the modules that compute with it see it. */
  private readonly internals: TuningSource = ((self) => ({
    get likelihoodRule() {
      return self.likelihoodRule;
    },
    get network() {
      return self.network;
    },
    get selection() {
      return self.selection;
    },
    get theta() {
      return self.theta;
    },
    get nParams() {
      return self.nParams;
    },
    get nOutputs() {
      return self.nOutputs;
    },
    get sigmaNoise() {
      return self.sigma;
    },
    set sigmaNoise(value: number) {
      self.sigmaNoise = value;
    },
    functionalCovariance: (factors: JacobianFactors) => self.functionalCovariance(factors),
    meanShift: (factors: JacobianFactors) => self.functionalMeanShift(factors),
    sampleWeights: (n: number, seed: RngLike) => self.sampleFlat(n, seed),
    get prior() {
      return self.prior;
    },
    setPrior: (prior: Prior) => self.setPrior(prior),
    get priorPrecision() {
      return self.priorPrecision;
    },
    get hessianFactor() {
      return self.hessianFactor;
    },
    get temperature() {
      return self.temperature;
    },
    get loss() {
      return self.loss;
    },
    get nData() {
      return self.nData;
    },
    get mean() {
      return self.mean;
    },
    get priorMeanVector() {
      return self.priorMeanVector;
    },
    curvatureSpectrum: () => self.curvatureSpectrum(),
    posteriorVariance: () => self.posteriorVariance(),
    logMarginalLikelihood: () => self.logMarginalLikelihood(),
  }))(this);
}

/**
 * The curvature sums products of Jacobian factors: a layer's rows are built
 * from its input a and the rows g pulled back to its output (a Linear weight's
 * diagonal entry gets Σₑ aⱼ²gᵢ², a bias Σₑ gᵢ²), and Kronecker factors square a
 * and g on their own. If an example's largest such square is not finite, H is
 * not either; say so here, where the example is known, instead of leaving a
 * factorisation to fail later.
 */
function checkCurvatureFinite(factors: JacobianFactors, offset: number): void {
  const { n } = factors;
  factors.layerInputs.forEach((input, layer) => {
    if (!input) return;
    // A layer reached in forward mode has no cotangents, only the bias rows made from them.
    const rows = factors.layerCotangents[layer]?.data ?? factors.biasRows(layer);
    // max a² ≤ Σ a² over the batch (likewise g): when those sums and their product are
    // finite, so is every square below; else find the example that overflows.
    const a2 = dot(input.data.length, input.data, 0, input.data, 0);
    const g2 = dot(rows.length, rows, 0, rows, 0);
    if (Number.isFinite(a2 * g2)) return;
    const perInput = input.data.length / n;
    const perRows = (rows.length / n) | 0;
    for (let e = 0; e < n; e++) {
      let a = 0;
      for (let j = e * perInput; j < (e + 1) * perInput; j++) a = Math.max(a, Math.abs(input.data[j]!));
      let g = 0;
      for (let i = e * perRows; i < (e + 1) * perRows; i++) g = Math.max(g, Math.abs(rows[i]!));
      // The structures square a and g separately as well as together.
      if (!Number.isFinite(a * a) || !Number.isFinite(g * g) || !Number.isFinite((a * g) ** 2)) {
        throw new ValueError(
          `fit: the curvature is not finite: at example ${offset + e}, layer ${layer} (among those with parameters) has inputs up to ${a.toExponential(3)} and pulled-back rows up to ${g.toExponential(3)}, whose squares overflow; the inputs or weights are too large (scale the inputs)`,
        );
      }
    }
  });
}

/** 'all', 'lastLayer' or { subnetwork: integer indices }; the indices' range is the Selection's to check. */
function checkSubset(subset: unknown): SubsetOfWeights {
  if (subset === 'all' || subset === 'lastLayer') return subset;
  const indices =
    typeof subset === 'object' && subset !== null
      ? (subset as { subnetwork?: unknown }).subnetwork
      : undefined;
  if (!Array.isArray(indices) || !indices.every((i) => typeof i === 'number' && Number.isInteger(i))) {
    throw new ValueError(
      `laplace: subsetOfWeights must be 'all', 'lastLayer' or { subnetwork: integer[] }, got ${describe(subset)}`,
    );
  }
  return subset as SubsetOfWeights;
}
