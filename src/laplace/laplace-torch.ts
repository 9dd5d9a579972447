/**
 * A posterior fitted by laplace-torch, served here.
 *
 * For networks too large to fit in laplace-ts, laplace-torch fits the
 * approximation (scripts/serving/export_laplace_torch.py writes the network as
 * ONNX and the posterior as JSON) and laplace-ts serves its predictive. The
 * JSON holds what laplace-torch holds, and this module maps it onto a saved
 * laplace-ts posterior (serialisation.ts), which `Laplace.fromJSON` restores:
 *
 * - 'full' (last layer): laplace-torch's posterior precision P = H/(σ²T) + P₀
 *   (1/T for classification) gives laplace-ts's curvature H = (P − P₀)/c.
 * - 'kron' (all weights): per parameter tensor, laplace-torch holds the
 *   eigendecompositions Q Λ Qᵀ of its Kronecker factors, [B_W, A_W] for a weight
 *   and [B_b] for a bias, with the backend's loss factor c_L (½ for the summed
 *   MSE, whose BackPACK GGN is 2 Σ JᵀJ; 1 for cross-entropy) spread as
 *   c_L^(1/len) over them. laplace-ts holds one pair per layer with
 *   B = Σₙ Jₙᵀ Λₙ Jₙ and A = (1/N) Σₙ aₙ aₙᵀ; with BackPACK's B_raw = B/c_L,
 *   B_W = √c_L·B_raw = B/√c_L, A_W = √c_L·A and B_b = c_L·B_raw = B, so
 *
 *       B = √c_L·B_W,   A = A_W/√c_L,   and B_b must equal B,
 *
 *   which is checked (to 10⁻⁴ of ‖B‖, float32 factors allowed), so that
 *   B ⊗ A = B_W ⊗ A_W and the bias block is B_b, as in laplace-torch. The
 *   prior δ is added to the eigenvalues in both.
 *
 * Everything is checked first, and a typed error names the field. The model
 * must be the network that was fitted: its random weights must be `mean`.
 */
import { ShapeError, ValueError } from '../errors.js';
import { asObject, asTensor, describeValue, readChoice, readNumber, readNumbers } from '../nn/fields.js';
import { likelihoodRule } from './likelihood.js';
import { Network, type SequentialLike } from './network.js';
import { Prior } from './prior.js';
import { Selection } from './selection.js';
import { checkFitFields, FORMAT, type LaplaceJSON, networkHash } from './serialisation.js';

/** A Kronecker-factored parameter tensor as laplace-torch's `KronDecomposed` holds it. */
export interface LaplaceTorchFactors {
  /** [λ_B, λ_A] for a weight, [λ_B] for a bias. */
  eigenvalues: number[][];
  /** [Q_B, Q_A] (eigenvectors as columns, rows as nested arrays) for a weight, [Q_B] for a bias. */
  eigenvectors: number[][][];
}

/** A posterior fitted by laplace-torch (see scripts/serving/export_laplace_torch.py). */
export interface LaplaceTorchJSON {
  format: 'laplace-torch';
  /** laplace-torch's version, e.g. '0.1a2'. */
  version: string;
  likelihood: 'classification' | 'regression';
  subsetOfWeights: 'all' | 'lastLayer';
  hessianStructure: 'full' | 'kron';
  /** The MAP of the random weights, PyTorch parameters() order. */
  mean: number[];
  /** Scalar, per parameter tensor or per weight. */
  priorPrecision: number | number[];
  /** Scalar or per weight; default 0. */
  priorMean?: number | number[];
  sigmaNoise: number;
  temperature: number;
  /** The backend's factor c_L of the loss: ½ for MSELoss (BackPACK), 1 for cross-entropy. */
  lossFactor: number;
  nData: number;
  /** Σ loss at the MAP (½ SSE, or the summed cross-entropy). */
  loss: number;
  /** 'full': P, [P × P]. */
  posteriorPrecision?: number[][];
  /** 'kron': per parameter tensor. */
  kroneckerFactors?: LaplaceTorchFactors[];
}

const WHAT = 'Laplace.fromLaplaceTorch';
/** The document itself, for the field readers: its fields are named "Laplace.fromLaplaceTorch: mean". */
const TOP = `${WHAT}:`;

/**
 * Check a laplace-torch posterior against `model` and map it onto a saved
 * laplace-ts posterior, for `Laplace.fromJSON`.
 */
export function laplaceTorchToJSON(json: unknown, model: SequentialLike): LaplaceJSON {
  const j = checkFields(json);
  const network = new Network(model);
  const selection = new Selection(network, j.subsetOfWeights);
  const p = selection.nParams;
  if (j.mean.length !== p) {
    throw new ShapeError(
      `${WHAT}: mean has ${j.mean.length} weights, the model's ${j.subsetOfWeights === 'all' ? 'network' : 'last layer'} has ${p}`,
    );
  }
  const current = selection.gather(Network.flatParameters(model));
  const moved = current.findIndex((w, i) => Math.abs(w - j.mean[i]!) > 1e-12 * Math.max(1, Math.abs(w)));
  if (moved >= 0) {
    throw new ValueError(
      `${WHAT}: the model's weight ${moved} of the posterior is ${current[moved]}, but mean[${moved}] is ${j.mean[moved]}; load the network exported with the posterior`,
    );
  }
  const prior = Prior.from(j.priorPrecision, selection, `${WHAT}: priorPrecision`);
  const curvatureState =
    j.hessianStructure === 'full' ? fullState(j, prior.diagonal(), p) : kronState(j, network, selection);
  return {
    format: FORMAT,
    likelihood: j.likelihood,
    hessianStructure: j.hessianStructure,
    subsetOfWeights: j.subsetOfWeights,
    curvature: 'ggn',
    priorPrecision: j.priorPrecision,
    priorMean: typeof j.priorMean === 'object' ? j.priorMean : new Array<number>(p).fill(j.priorMean ?? 0),
    sigmaNoise: j.sigmaNoise,
    temperature: j.temperature,
    nData: j.nData,
    nOutputs: network.outputSize,
    loss: j.loss,
    mean: j.mean,
    networkHash: networkHash(model),
    curvatureState,
  };
}

/** H = (P − P₀)/c, symmetrised. */
function fullState(j: LaplaceTorchJSON, priorDiagonal: Float64Array, p: number): { hessian: number[] } {
  const precision = asTensor(j.posteriorPrecision, 'posteriorPrecision', TOP, [p, p]).data;
  const c = likelihoodRule(j.likelihood).hessianFactor(j.sigmaNoise, j.temperature);
  const hessian = new Array<number>(p * p);
  for (let r = 0; r < p; r++) {
    for (let s = 0; s < p; s++) {
      const v = 0.5 * (precision[r * p + s]! + precision[s * p + r]!) - (r === s ? priorDiagonal[r]! : 0);
      hessian[r * p + s] = v / c;
    }
  }
  return { hessian };
}

/** Per layer of the selection, laplace-ts's b = √c_L·B_W and a = A_W/√c_L from the eigendecompositions. */
function kronState(j: LaplaceTorchJSON, network: Network, selection: Selection): Record<string, number[]> {
  const tensors = j.kroneckerFactors;
  if (!Array.isArray(tensors) || tensors.length !== selection.blocks.length) {
    throw new ShapeError(
      `${WHAT}: kroneckerFactors must list the model's ${selection.blocks.length} parameter tensors, got ${describeValue(tensors)}`,
    );
  }
  const root = Math.sqrt(j.lossFactor);
  const state: Record<string, number[]> = {};
  selection.layers.forEach((layer, i) => {
    const entry = network.parametric[layer]!;
    const blocks = selection.blocks.map((b, t) => ({ b, t })).filter(({ b }) => b.layer === layer);
    const weight = blocks.find(({ b }) => b.part === 'weight');
    if (!weight) throw new ValueError(`${WHAT}: ${entry.path} has no weight with Kronecker factors`);
    const [bWeight, aWeight] = factorsOf(tensors, weight.t, [weight.b.rows, weight.b.cols]);
    const b = bWeight!.map((v) => v * root);
    state[`b${i}`] = b;
    state[`a${i}`] = aWeight!.map((v) => v / root);
    for (const { b: block, t } of blocks) {
      if (block.part !== 'bias') continue;
      const [bBias] = factorsOf(tensors, t, [block.rows]);
      let difference = 0;
      let norm = 0;
      for (let k = 0; k < b.length; k++) {
        difference += (bBias![k]! - b[k]!) ** 2;
        norm += b[k]! ** 2;
      }
      if (Math.sqrt(difference) > 1e-4 * Math.sqrt(norm)) {
        throw new ValueError(
          `${WHAT}: kroneckerFactors[${t}] (the bias of ${entry.path}) is not √lossFactor times the weight's first factor (relative difference ${(Math.sqrt(difference / norm) || 0).toExponential(2)}); is lossFactor ${j.lossFactor} the backend's?`,
        );
      }
    }
  });
  return state;
}

/** The factors Q diag(λ) Qᵀ of parameter tensor t, each n × n row-major, with their sizes checked. */
function factorsOf(tensors: LaplaceTorchFactors[], t: number, sizes: number[]): number[][] {
  const what = `${WHAT}: kroneckerFactors[${t}]`;
  const { eigenvalues, eigenvectors } = asObject(tensors[t], what);
  if (!Array.isArray(eigenvalues) || eigenvalues.length !== sizes.length) {
    throw new ShapeError(
      `${what}.eigenvalues must hold ${sizes.length} factor(s) for a tensor of ${sizes.join(' × ')}, got ${describeValue(eigenvalues)}`,
    );
  }
  if (!Array.isArray(eigenvectors) || eigenvectors.length !== sizes.length) {
    throw new ShapeError(
      `${what}.eigenvectors must hold ${sizes.length} factor(s), got ${describeValue(eigenvectors)}`,
    );
  }
  return sizes.map((n, f) => {
    const values = asTensor(eigenvalues[f], `eigenvalues[${f}]`, what, [n]).data;
    const vectors = asTensor(eigenvectors[f], `eigenvectors[${f}]`, what, [n, n]).data;
    const out = new Array<number>(n * n).fill(0);
    for (let r = 0; r < n; r++) {
      for (let s = 0; s < n; s++) {
        let sum = 0;
        for (let k = 0; k < n; k++) sum += vectors[r * n + k]! * values[k]! * vectors[s * n + k]!;
        out[r * n + s] = sum;
      }
    }
    return out;
  });
}

// --------------------------------------------------------------------------
// Validation

function checkFields(json: unknown): LaplaceTorchJSON {
  const j = asObject(json, `${WHAT}: a laplace-torch posterior`);
  if (j['format'] !== 'laplace-torch') {
    throw new ValueError(
      `${WHAT}: not a laplace-torch posterior (format ${describeValue(j['format'])}, expected "laplace-torch"); a laplace-ts posterior loads with Laplace.fromJSON`,
    );
  }
  if (typeof j['version'] !== 'string')
    throw new ValueError(`${WHAT}: version must be a string, got ${describeValue(j['version'])}`);
  const likelihood = readChoice(j, 'likelihood', TOP, ['classification', 'regression']);
  const subset = readChoice(j, 'subsetOfWeights', TOP, ['all', 'lastLayer']);
  const structure = readChoice(j, 'hessianStructure', TOP, ['full', 'kron']);
  const pairs = { all: 'kron', lastLayer: 'full' } as const;
  if (pairs[subset] !== structure) {
    throw new ValueError(
      `${WHAT}: subsetOfWeights '${subset}' with hessianStructure '${structure}' is not supported; export 'lastLayer' with 'full' or 'all' with 'kron'`,
    );
  }
  checkFitFields(j, TOP);
  if (Array.isArray(j['priorMean'])) {
    readNumbers(j, 'priorMean', TOP);
  } else if (j['priorMean'] !== undefined) {
    readNumber(j, 'priorMean', TOP, () => true, 'a finite number or an array of them');
  }
  readNumber(j, 'lossFactor', TOP, (v) => v > 0, 'a positive finite number');
  if (likelihood === 'classification' && j['sigmaNoise'] !== 1) {
    throw new ValueError(
      `${WHAT}: sigmaNoise must be 1 for classification, got ${describeValue(j['sigmaNoise'])}`,
    );
  }
  const field = structure === 'full' ? 'posteriorPrecision' : 'kroneckerFactors';
  if (!Array.isArray(j[field])) {
    throw new ValueError(
      `${WHAT}: a '${structure}' posterior needs ${field}, got ${describeValue(j[field])}`,
    );
  }
  return json as LaplaceTorchJSON;
}
