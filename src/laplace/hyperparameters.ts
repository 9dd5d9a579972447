/**
 * The evidence and its maximisation over the hyperparameters.
 *
 * The Laplace estimate of the log marginal likelihood is
 *
 *     log p(D) ≈ log p(D | θ*) − ½ (log det P − log det P₀ + (θ* − μ₀)ᵀ P₀ (θ* − μ₀)),
 *
 * with P = c·H + P₀. Its stationarity conditions are MacKay's: in the
 * precision δ of a prior group, γ/δ = ‖θ* − μ₀‖² over the group, where
 * γ = Σᵢ (1 − δ·(P⁻¹)ᵢᵢ) is the group's effective number of parameters; in the
 * noise, σ² = Σ‖y − f‖² / (T·(N·K − γ_total)).
 *
 * When P's spectrum is cλᵢ + δ_{g(i)} (a scalar prior for every structure;
 * diag with any prior; kron with per-layer priors) γ = Σ cλᵢ/(cλᵢ + δ) costs
 * O(P), and each condition is one monotone equation in log δ (or log σ),
 * solved to machine precision by bisection; alternating over the groups and σ
 * converges to the joint maximiser. Otherwise each iteration recomputes
 * diag P⁻¹ and applies MacKay's fixed-point update δ ← γ/‖θ* − μ₀‖².
 *
 * Also here: laplace-torch's Adam on log p₀, and a grid search of p₀ scored by
 * the predictive likelihood of validation data.
 */
import { NotPositiveDefiniteError, ValueError } from '../errors.js';
import type { RngLike } from '../random.js';
import { checkOptionNames, finite, integerAtLeast, oneOf, positive, toMatrix } from './inputs.js';
import type { LinkApprox, PredType } from './likelihood.js';
import { negativeLogPredictive, type PredictiveSource, predictiveSettings } from './predictive.js';
import { Prior, type PriorStructure } from './prior.js';

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

export type OptimizeHyperparametersOptions = Pick<OptimizePriorOptions, 'priorStructure' | 'tol' | 'maxIter'>;

/** A spectrum of H with each eigenvalue tied to the prior group whose precision is added to it. */
export interface CurvatureSpectrum {
  values: Float64Array;
  groupOf: Int32Array;
}

/** What tuning needs of a fitted posterior. */
export interface TuningSource extends PredictiveSource {
  readonly prior: Prior;
  setPrior(prior: Prior): void;
  sigmaNoise: number;
  readonly priorPrecision: number | number[] | Float64Array;
  /** The factor c in P = c·H + P₀ for the current σ. */
  readonly hessianFactor: number;
  readonly temperature: number;
  /** Σ loss at the MAP. */
  readonly loss: number;
  readonly nData: number;
  /** The random weights at the MAP, and the prior mean. */
  readonly mean: Float64Array;
  readonly priorMeanVector: Float64Array;
  curvatureSpectrum(): CurvatureSpectrum | null;
  posteriorVariance(): Float64Array;
  logMarginalLikelihood(): number;
}

/** (θ* − μ₀)ᵀ P₀ (θ* − μ₀). */
export function priorScatter(prior: Prior, mean: Float64Array, priorMean: Float64Array): number {
  const p0 = prior.diagonal();
  let s = 0;
  for (let i = 0; i < p0.length; i++) s += p0[i]! * (mean[i]! - priorMean[i]!) ** 2;
  return s;
}

/** The structure of a prior ('layerwise' covers one value per tensor or per Linear layer). */
export function priorStructureOf(prior: Prior): PriorStructure {
  const form = prior.form;
  return form === 'scalar' || form === 'diag' ? form : 'layerwise';
}

const PRIOR_OPTIONS = [
  'method',
  'priorStructure',
  'valX',
  'valY',
  'gridSize',
  'logPriorPrecisionMin',
  'logPriorPrecisionMax',
  'predType',
  'linkApprox',
  'nSamples',
  'seed',
  'tol',
  'maxIter',
  'optimizer',
  'nSteps',
  'lr',
  'initPriorPrecision',
] as const satisfies readonly (keyof OptimizePriorOptions)[];
const HYPERPARAMETER_OPTIONS = [
  'priorStructure',
  'tol',
  'maxIter',
] as const satisfies readonly (keyof OptimizeHyperparametersOptions)[];
const STRUCTURES: readonly PriorStructure[] = ['scalar', 'layerwise', 'diag'];

/** Check the options every method shares; each method checks its own before it changes anything. */
function checkCommon(options: OptimizeHyperparametersOptions, what: string): void {
  if (options.priorStructure !== undefined)
    oneOf(options.priorStructure, STRUCTURES, `${what}: priorStructure`);
  if (options.tol !== undefined && !(finite(options.tol, `${what}: tol`) >= 0)) {
    throw new ValueError(`${what}: tol must be non-negative, got ${options.tol}`);
  }
  if (options.maxIter !== undefined) integerAtLeast(options.maxIter, 1, `${what}: maxIter`);
}

/** Tune the prior precision by the marginal likelihood or a validation grid search. */
export function optimizePriorPrecision(
  source: TuningSource,
  options: OptimizePriorOptions,
): HyperparameterResult {
  const what = 'optimizePriorPrecision';
  checkOptionNames(options, PRIOR_OPTIONS, what);
  checkCommon(options, what);
  const method = oneOf(options.method ?? 'marglik', ['marglik', 'gridsearch'], `${what}: method`);
  const optimizer = oneOf(options.optimizer ?? 'exact', ['exact', 'adam'], `${what}: optimizer`);
  if (method === 'gridsearch') checkGrid(options);
  if (optimizer === 'adam') checkAdam(options);
  // As laplace-torch, the prior is made scalar unless another structure is asked for.
  const structure = options.priorStructure ?? 'scalar';
  if (structure !== priorStructureOf(source.prior)) restructurePrior(source, structure);
  if (method === 'gridsearch') return gridSearchPrior(source, options);
  if (optimizer === 'adam') return adamOnPrior(source, options);
  return maximizeEvidence(source, false, options);
}

/** Tune prior precision and (when the likelihood has one) the noise jointly by the marginal likelihood. */
export function optimizeHyperparameters(
  source: TuningSource,
  options: OptimizeHyperparametersOptions,
): HyperparameterResult {
  checkOptionNames(options, HYPERPARAMETER_OPTIONS, 'optimizeHyperparameters');
  checkCommon(options, 'optimizeHyperparameters');
  if (options.priorStructure) restructurePrior(source, options.priorStructure);
  return maximizeEvidence(source, source.likelihoodRule.hasNoise, options);
}

function checkGrid(options: OptimizePriorOptions): void {
  const what = 'optimizePriorPrecision';
  if (options.valX === undefined || options.valY === undefined) {
    throw new ValueError(`${what}: gridsearch needs valX and valY`);
  }
  const size = integerAtLeast(options.gridSize ?? 100, 1, `${what}: gridSize`);
  const lo = finite(options.logPriorPrecisionMin ?? -4, `${what}: logPriorPrecisionMin`);
  const hi = finite(options.logPriorPrecisionMax ?? 4, `${what}: logPriorPrecisionMax`);
  if (lo > hi || (size > 1 && lo === hi)) {
    throw new ValueError(
      `${what}: logPriorPrecisionMin (${lo}) must be below logPriorPrecisionMax (${hi})${size > 1 ? ` for ${size} grid points` : ''}`,
    );
  }
  predictiveSettings(options, what);
}

function checkAdam(options: OptimizePriorOptions): void {
  const what = 'optimizePriorPrecision';
  integerAtLeast(options.nSteps ?? 100, 0, `${what}: nSteps`);
  const lr = finite(options.lr ?? 0.1, `${what}: lr`);
  if (!(lr > 0)) throw new ValueError(`${what}: lr must be positive, got ${lr}`);
  positive(options.initPriorPrecision ?? 1, 'initPriorPrecision');
}

function result(source: TuningSource, iterations: number): HyperparameterResult {
  return {
    priorPrecision: source.priorPrecision,
    sigmaNoise: source.sigmaNoise,
    logMarginalLikelihood: source.logMarginalLikelihood(),
    iterations,
  };
}

/** Switch to a prior of another structure, starting every group at the geometric mean of the current values. */
function restructurePrior(source: TuningSource, structure: PriorStructure): void {
  const values = source.prior.values;
  const meanLog = values.reduce((a, b) => a + Math.log(b), 0) / values.length;
  source.setPrior(Prior.withStructure(structure, Math.exp(meanLog), source.selection));
}

/**
 * laplace-torch's tuning: Adam (β = 0.9, 0.999; ε = 1e-8) on log p₀, ascending the
 * evidence. Its gradient in the log-precision of group g is
 * ∂/∂ log δ_g = −½ (δ_g Σ_{i∈g} (P⁻¹)ᵢᵢ − n_g + δ_g ‖θ*_g − μ₀_g‖²).
 */
function adamOnPrior(source: TuningSource, options: OptimizePriorOptions): HyperparameterResult {
  const steps = options.nSteps ?? 100;
  const lr = options.lr ?? 0.1;
  const init = options.initPriorPrecision ?? 1;
  const sizes = source.prior.groupSizes();
  const scatter = groupScatter(source);
  const logValues = new Float64Array(sizes.length).fill(Math.log(init));
  const m = new Float64Array(sizes.length);
  const v = new Float64Array(sizes.length);
  const [beta1, beta2, eps] = [0.9, 0.999, 1e-8];
  for (let t = 1; t <= steps; t++) {
    const values = logValues.map(Math.exp);
    source.setPrior(source.prior.withValues(values));
    const traceByGroup = posteriorTraceByGroup(source);
    for (let g = 0; g < sizes.length; g++) {
      // Adam minimises the negative evidence.
      const grad = 0.5 * (values[g]! * traceByGroup[g]! - sizes[g]! + values[g]! * scatter[g]!);
      m[g] = beta1 * m[g]! + (1 - beta1) * grad;
      v[g] = beta2 * v[g]! + (1 - beta2) * grad * grad;
      const mHat = m[g]! / (1 - beta1 ** t);
      const vHat = v[g]! / (1 - beta2 ** t);
      logValues[g]! -= (lr * mHat) / (Math.sqrt(vHat) + eps);
    }
  }
  source.setPrior(source.prior.withValues(logValues.map(Math.exp)));
  return result(source, steps);
}

/** Σᵢ (P⁻¹)ᵢᵢ within each prior group: with n_g and δ_g, γ_g = n_g − δ_g·trace_g. */
function posteriorTraceByGroup(source: TuningSource): Float64Array {
  const variance = source.posteriorVariance();
  const prior = source.prior;
  const out = new Float64Array(prior.values.length);
  for (let i = 0; i < variance.length; i++) out[prior.groupOf[i]!]! += variance[i]!;
  return out;
}

/** ‖θ* − μ₀‖² within each prior group. */
function groupScatter(source: TuningSource): Float64Array {
  const { prior, mean, priorMeanVector: mu0 } = source;
  const out = new Float64Array(prior.values.length);
  for (let i = 0; i < mean.length; i++) out[prior.groupOf[i]!]! += (mean[i]! - mu0[i]!) ** 2;
  return out;
}

/**
 * Maximise the evidence over the prior groups (and σ): see the module header.
 * No bounds are imposed: the evidence is equivariant under a rescaling of the
 * targets (δ → δ/s², σ → s·σ), so its maximiser can lie at any scale. Where
 * there is none (it increases all the way to 0 or ∞) a ValueError says why.
 * The result is never worse than the start: should the fixed-point iteration
 * end lower, the starting hyperparameters are kept.
 */
function maximizeEvidence(
  source: TuningSource,
  withSigma: boolean,
  options: { tol?: number; maxIter?: number },
): HyperparameterResult {
  const what = withSigma ? 'optimizeHyperparameters' : 'optimizePriorPrecision';
  const tol = options.tol ?? 1e-8;
  const maxIter = options.maxIter ?? 500;
  const scatter = groupScatter(source);
  const nk = source.nData * source.nOutputs;
  const start = { prior: source.prior, sigma: source.sigmaNoise, evidence: evidenceOrMinusInfinity(source) };
  let iterations = 0;
  const spectrum = source.curvatureSpectrum();
  for (; iterations < maxIter; iterations++) {
    const before = [...source.prior.values, source.sigmaNoise];
    const values = source.prior.values.slice();
    if (spectrum) {
      const c = source.hessianFactor;
      for (let g = 0; g < values.length; g++) {
        const scatterG = scatter[g]!;
        values[g] = solveDecreasingLog(
          (delta) => effectiveParameters(spectrum, c, values, g, delta) / delta - scatterG,
          1e-12,
          1e12,
          (toZero) => unboundedPrior(what, source, g, toZero, scatterG),
        );
      }
      source.setPrior(source.prior.withValues(values));
      if (withSigma) {
        const t = source.temperature;
        const sigma = solveDecreasingLog(
          (sigma) => {
            const cs = 1 / (sigma * sigma * t);
            return 2 * cs * source.loss - nk + effectiveParameters(spectrum, cs, values, -1, 0);
          },
          1e-8,
          1e8,
          (toZero) => unboundedNoise(what, source, toZero),
        );
        source.sigmaNoise = sigma;
      }
    } else {
      const sizes = source.prior.groupSizes();
      const gamma = posteriorTraceByGroup(source).map((trace, g) => sizes[g]! - values[g]! * trace);
      const gammaTotal = gamma.reduce((a, b) => a + b, 0);
      for (let g = 0; g < values.length; g++) {
        if (!(scatter[g]! > 0)) unboundedPrior(what, source, g, false, scatter[g]!);
        if (gamma[g]! > 1e-10 * sizes[g]!) values[g] = gamma[g]! / scatter[g]!;
        else {
          // γ_g = Σ (1 − δ(P⁻¹)ᵢᵢ) is lost to cancellation when δ ≫ cλ on the group; there the
          // evidence decreases in δ (its slope ½(γ − δ‖θ* − μ₀‖²) < 0), so step down until γ shows.
          if (values[g]! <= 1 / LIMIT) unboundedPrior(what, source, g, true, scatter[g]!);
          values[g] = Math.max(values[g]! / WIDEN, 1 / LIMIT);
        }
      }
      source.setPrior(source.prior.withValues(values));
      if (withSigma) {
        if (!(source.loss > 0) || !(nk - gammaTotal > 0)) unboundedNoise(what, source, true);
        source.sigmaNoise = Math.sqrt((2 * source.loss) / (source.temperature * (nk - gammaTotal)));
      }
    }
    const after = [...source.prior.values, source.sigmaNoise];
    const change = Math.max(...after.map((v, i) => Math.abs(Math.log(v / before[i]!))));
    if (change < tol) {
      iterations++;
      break;
    }
  }
  if (evidenceOrMinusInfinity(source) < start.evidence) {
    source.setPrior(start.prior);
    if (withSigma) source.sigmaNoise = start.sigma;
  }
  return result(source, iterations);
}

/** The evidence at the current hyperparameters, −∞ where P cannot be factorised. */
function evidenceOrMinusInfinity(source: TuningSource): number {
  try {
    const evidence = source.logMarginalLikelihood();
    return Number.isNaN(evidence) ? Number.NEGATIVE_INFINITY : evidence;
  } catch (error) {
    // A start where P cannot be factorised, or the evidence overflows, is no better than anything.
    if (error instanceof NotPositiveDefiniteError || error instanceof ValueError)
      return Number.NEGATIVE_INFINITY;
    throw error;
  }
}

function unboundedPrior(
  what: string,
  source: TuningSource,
  group: number,
  toZero: boolean,
  scatter: number,
): never {
  const name =
    source.prior.values.length === 1 ? 'the prior precision' : `the prior precision of group ${group}`;
  throw new ValueError(
    toZero
      ? `${what}: the evidence increases without bound as ${name} → 0: the curvature H is zero on its weights (‖θ* − μ₀‖² = ${scatter}); set priorPrecision instead of tuning it`
      : `${what}: the evidence increases without bound as ${name} → ∞: the MAP weights equal the prior mean there (‖θ* − μ₀‖² = ${scatter}); set priorPrecision instead of tuning it`,
  );
}

function unboundedNoise(what: string, source: TuningSource, toZero: boolean): never {
  throw new ValueError(
    toZero
      ? `${what}: the evidence increases without bound as sigmaNoise → 0: the network fits the training targets exactly (Σ loss = ${source.loss}); set sigmaNoise instead of tuning it`
      : `${what}: the evidence increases without bound as sigmaNoise → ∞; set sigmaNoise instead of tuning it`,
  );
}

function gridSearchPrior(source: TuningSource, options: OptimizePriorOptions): HyperparameterResult {
  const { data: x, rows: n } = toMatrix(
    options.valX,
    source.network.inputShape,
    'optimizePriorPrecision: valX',
  );
  const targets = source.likelihoodRule.parseTargets(
    options.valY,
    n,
    source.nOutputs,
    'optimizePriorPrecision: valY',
  );
  const size = options.gridSize ?? 100;
  const lo = options.logPriorPrecisionMin ?? -4;
  const hi = options.logPriorPrecisionMax ?? 4;
  let best = Number.POSITIVE_INFINITY;
  let bestValues = source.prior.values;
  for (let i = 0; i < size; i++) {
    const value = 10 ** (size === 1 ? lo : lo + ((hi - lo) * i) / (size - 1));
    source.setPrior(source.prior.withValues(new Float64Array(source.prior.values.length).fill(value)));
    let nll: number;
    try {
      nll = negativeLogPredictive(source, x, n, targets, {
        predType: options.predType,
        linkApprox: options.linkApprox,
        nSamples: options.nSamples,
        seed: options.seed,
      });
    } catch (error) {
      // As laplace-torch: a precision too small to factorise scores +∞.
      if (error instanceof NotPositiveDefiniteError) continue;
      throw error;
    }
    if (nll < best) {
      best = nll;
      bestValues = source.prior.values.slice();
    }
  }
  source.setPrior(source.prior.withValues(bestValues));
  return result(source, size);
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

/** Factor by which the bracket widens, and the widest bracket searched, [1/LIMIT, LIMIT]. */
const WIDEN = 1e12;
const LIMIT = 1e150;

/**
 * Root of a decreasing function h of a positive variable, by bisection on log x.
 * The bracket starts at [lo, hi] and widens (by factors of 10¹²) up to
 * [10⁻¹⁵⁰, 10¹⁵⁰] until h changes sign; `unbounded(toZero)` is called when it
 * never does, i.e. h > 0 everywhere (root at ∞, toZero false) or h ≤ 0
 * everywhere (root at 0).
 */
function solveDecreasingLog(
  h: (x: number) => number,
  lo: number,
  hi: number,
  unbounded: (toZero: boolean) => never,
): number {
  const finite = (x: number): number => {
    const value = h(x);
    if (Number.isNaN(value)) throw new ValueError(`the evidence's stationarity condition is NaN at ${x}`);
    return value;
  };
  while (!(finite(lo) > 0)) {
    if (lo <= 1 / LIMIT) unbounded(true);
    hi = lo;
    lo = Math.max(lo / WIDEN, 1 / LIMIT);
  }
  while (!(finite(hi) < 0)) {
    if (finite(hi) === 0) return hi;
    if (hi >= LIMIT) unbounded(false);
    lo = hi;
    hi = Math.min(hi * WIDEN, LIMIT);
  }
  let a = Math.log(lo);
  let b = Math.log(hi);
  for (let i = 0; i < 200 && b - a > 1e-15 * Math.max(1, Math.abs(a)); i++) {
    const mid = 0.5 * (a + b);
    if (h(Math.exp(mid)) > 0) a = mid;
    else b = mid;
  }
  return Math.exp(0.5 * (a + b));
}
