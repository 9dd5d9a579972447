/**
 * The posterior predictive.
 *
 * 'glm' (Immer et al. 2021) linearises the network at the MAP,
 * f(x, θ) ≈ f(x, θ*) + J(x)(θ − θ*), so that under θ ~ N(θ*, P⁻¹) the outputs
 * are Gaussian, N(f(x, θ*), J P⁻¹ Jᵀ); the likelihood then turns that Gaussian
 * into a predictive (adding σ² for regression, a link approximation of
 * E[softmax f] for classification). 'nn' pushes weight samples through the
 * nonlinear network instead and summarises the outputs.
 *
 * The structure-specific part is one product, J P⁻¹ Jᵀ for a batch of Jacobian
 * factors, and one sampler of N(θ*, P⁻¹); both are passed in.
 */
import { NotFiniteError, ValueError } from '../errors.js';
import type { RngLike } from '../random.js';
import { type JacobianFactors, jacobianFactors } from './factors.js';
import { checkAllocation, firstNonFinite } from './inputs.js';
import type {
  FlatPrediction,
  LikelihoodRule,
  LinkApprox,
  Prediction,
  PredType,
  Targets,
} from './likelihood.js';
import type { Network } from './network.js';
import type { Selection } from './selection.js';

export interface PredictOptions {
  predType?: PredType;
  linkApprox?: LinkApprox;
  /** Samples for linkApprox 'mc' and for predType 'nn'. Default 100. */
  nSamples?: number;
  seed?: RngLike;
}

/** What the predictive needs of a fitted posterior. */
export interface PredictiveSource {
  readonly likelihoodRule: LikelihoodRule;
  readonly network: Network;
  readonly selection: Selection;
  /** All weights at the MAP. */
  readonly theta: Float64Array;
  readonly nParams: number;
  readonly nOutputs: number;
  readonly sigmaNoise: number;
  /** J P⁻¹ Jᵀ for the examples of `factors`, [n × K × K]. */
  functionalCovariance(factors: JacobianFactors): Float64Array;
  /** n samples of the random weights from N(θ*, P⁻¹), [n × nParams]. */
  sampleWeights(n: number, seed: RngLike): Float64Array;
  /**
   * J (θ̄ − θ*) for the examples of `factors`, [n × K], when the posterior mean θ̄
   * is not the network's θ* (the linearised model's own optimum); null otherwise.
   */
  meanShift?(factors: JacobianFactors): Float64Array | null;
}

const LINKS: readonly LinkApprox[] = ['probit', 'bridge', 'bridgeNorm', 'mc'];

/** The validated predictive options, with laplace-torch's defaults. */
export function predictiveSettings(
  options: PredictOptions,
  what = 'predict',
): { predType: PredType; link: LinkApprox; nSamples: number; seed: RngLike } {
  const predType = options.predType ?? 'glm';
  const link = options.linkApprox ?? (predType === 'nn' ? 'mc' : 'probit');
  const nSamples = options.nSamples ?? 100;
  if (predType !== 'glm' && predType !== 'nn')
    throw new ValueError(`${what}: predType must be 'glm' or 'nn', got '${predType}'`);
  if (!LINKS.includes(link)) {
    throw new ValueError(
      `${what}: linkApprox must be 'probit', 'bridge', 'bridgeNorm' or 'mc', got '${link}'`,
    );
  }
  if (predType === 'nn' && link !== 'mc')
    throw new ValueError(`${what}: predType 'nn' supports only linkApprox 'mc'`);
  if (!Number.isInteger(nSamples) || nSamples < 1)
    throw new ValueError(`${what}: nSamples must be a positive integer, got ${nSamples}`);
  return { predType, link, nSamples, seed: options.seed ?? 0 };
}

/** The predictive at the n rows of x in flat arrays. */
function predictFlat(
  source: PredictiveSource,
  x: Float64Array,
  n: number,
  options: PredictOptions,
): FlatPrediction {
  const { predType, link, nSamples, seed } = predictiveSettings(options);
  const k = source.nOutputs;
  if (predType === 'nn' || link === 'mc') {
    checkAllocation(nSamples * Math.max(source.nParams, n * k), `predict: ${nSamples} samples`);
  }
  if (predType === 'nn') return checkFinite(predictNn(source, x, n, nSamples, seed), k);
  const mean = new Float64Array(n * k);
  const covariance = new Float64Array(n * k * k);
  const d = source.network.inputSize;
  const batch = source.network.examplesPerBatch(k);
  for (let start = 0; start < n; start += batch) {
    const end = Math.min(n, start + batch);
    const factors = jacobianFactors(
      source.network,
      source.theta,
      x.subarray(start * d, end * d),
      end - start,
      undefined,
      source.selection.layers,
    );
    mean.set(factors.output, start * k);
    const shift = source.meanShift?.(factors);
    if (shift) for (let i = 0; i < shift.length; i++) mean[start * k + i]! += shift[i]!;
    covariance.set(source.functionalCovariance(factors), start * k * k);
  }
  return checkFinite(
    source.likelihoodRule.glmPredictive(mean, covariance, n, k, source.sigmaNoise, link, nSamples, seed),
    k,
  );
}

/** A predictive whose numbers overflowed names the example, instead of returning NaN. */
function checkFinite(prediction: FlatPrediction, k: number): FlatPrediction {
  const parts: [keyof FlatPrediction, string, number][] = [
    ['mean', "the network's output", k],
    ['covariance', 'the covariance J P⁻¹ Jᵀ', k * k],
    ['variance', 'the predictive variance', k],
    ['probs', 'the class probabilities', k],
  ];
  for (const [key, name, perExample] of parts) {
    const bad = firstNonFinite(prediction[key] ?? []);
    if (bad) {
      const example = Math.floor(bad.index / perExample);
      throw new NotFiniteError(
        `predict: ${name} is not finite for example ${example} (${bad.value}); the inputs or weights overflow`,
        { example },
      );
    }
  }
  return prediction;
}

function predictNn(
  source: PredictiveSource,
  x: Float64Array,
  n: number,
  nSamples: number,
  seed: RngLike,
): FlatPrediction {
  const { network, selection, theta, nParams } = source;
  const samples = source.sampleWeights(nSamples, seed);
  return source.likelihoodRule.nnPredictive(
    (s) => network.forward(selection.scatter(theta, samples, s * nParams), x, n).output,
    () => network.forward(theta, x, n).output,
    nSamples,
    n,
    source.nOutputs,
    source.sigmaNoise,
  );
}

/** The predictive at X in its public form. */
export function predict(
  source: PredictiveSource,
  x: Float64Array,
  n: number,
  options: PredictOptions,
): Prediction {
  const flat = predictFlat(source, x, n, options);
  return source.likelihoodRule.toPrediction(flat, n, source.nOutputs, options.predType ?? 'glm');
}

/** Mean negative log predictive density of held-out data. */
export function negativeLogPredictive(
  source: PredictiveSource,
  x: Float64Array,
  n: number,
  targets: Targets,
  options: PredictOptions,
): number {
  const prediction = predictFlat(source, x, n, options);
  return source.likelihoodRule.negativeLogPredictive(prediction, targets, n, source.nOutputs) / n;
}
