/**
 * Saving and restoring a fitted posterior.
 *
 * A fitted approximation is its options, the hyperparameters, the statistics of
 * the fit (N, Σ loss at the MAP), the MAP of the random weights, the
 * structure's curvature state (H, its diagonal, Kronecker factors,
 * eigenpairs, or for 'gp' the examples of its training subset, on which it
 * conditions again) and a fingerprint of the whole network it was fitted on. The
 * network itself is saved separately; restoring checks every field, then that
 * the network given is the same one: the posterior's weights must equal its MAP
 * and the fingerprint, a 64-bit FNV-1a hash of the architecture (each layer's
 * JSON) and of the bits of every weight, must match, so that a last-layer
 * posterior is not silently reused on a network whose hidden layers changed.
 */
import { ShapeError, ValueError } from '../errors.js';
import { asObject, describeValue, readChoice, readInteger, readNumber, readNumbers } from '../nn/fields.js';
import type { CurvatureName, LikelihoodName } from './likelihood.js';
import type { Network, SequentialLike } from './network.js';
import type { Selection, SubsetOfWeights } from './selection.js';

export type HessianStructure = 'full' | 'kron' | 'diag' | 'lowrank' | 'gp' | 'sampled';
export type CurvatureState = Record<string, number[] | number[][] | number>;

export const FORMAT = 'laplace-ts/laplace@1';

/** The serialised state of a fitted Laplace approximation. */
export interface LaplaceJSON {
  format: typeof FORMAT;
  likelihood: LikelihoodName;
  hessianStructure: HessianStructure;
  subsetOfWeights: 'all' | 'lastLayer' | { subnetwork: number[] };
  curvature: CurvatureName;
  priorPrecision: number | number[];
  priorMean: number[];
  sigmaNoise: number;
  temperature: number;
  rank?: number;
  /** 'gp' only: the size of the training subset and whether its outputs are independent GPs. */
  nSubset?: number;
  independentOutputs?: boolean;
  nData: number;
  nOutputs: number;
  loss: number;
  mean: number[];
  /** FNV-1a 64 of the network's architecture and weights, 16 hex digits. */
  networkHash: string;
  curvatureState: CurvatureState;
}

/** The fields of a fitted posterior that its JSON holds. */
export interface SavedPosterior {
  likelihood: LikelihoodName;
  hessianStructure: HessianStructure;
  subsetOfWeights: SubsetOfWeights;
  curvature: CurvatureName;
  priorPrecision: number | number[] | Float64Array;
  priorMeanVector: Float64Array;
  sigmaNoise: number;
  temperature: number;
  nData: number;
  nOutputs: number;
  loss: number;
  mean: Float64Array;
  networkHash: string;
  curvatureState: CurvatureState;
}

export function toLaplaceJSON(saved: SavedPosterior): LaplaceJSON {
  const subset = saved.subsetOfWeights;
  const p = saved.priorPrecision;
  return {
    format: FORMAT,
    likelihood: saved.likelihood,
    hessianStructure: saved.hessianStructure,
    subsetOfWeights: typeof subset === 'string' ? subset : { subnetwork: Array.from(subset.subnetwork) },
    curvature: saved.curvature,
    priorPrecision: typeof p === 'number' ? p : Array.from(p),
    priorMean: Array.from(saved.priorMeanVector),
    sigmaNoise: saved.sigmaNoise,
    temperature: saved.temperature,
    nData: saved.nData,
    nOutputs: saved.nOutputs,
    loss: saved.loss,
    mean: Array.from(saved.mean),
    networkHash: saved.networkHash,
    curvatureState: saved.curvatureState,
  };
}

// --------------------------------------------------------------------------
// Fingerprint

/**
 * FNV-1a with 64-bit state: h ← (h ⊕ byte)·(2⁴⁰ + 435) mod 2⁶⁴ from
 * 0xcbf29ce484222325, in four 16-bit limbs so that every product is exact in
 * a double.
 */
class Fnv1a64 {
  private h0 = 0x2325;
  private h1 = 0x8422;
  private h2 = 0x9ce4;
  private h3 = 0xcbf2;

  update(bytes: Uint8Array): this {
    let { h0, h1, h2, h3 } = this;
    for (let i = 0; i < bytes.length; i++) {
      h0 ^= bytes[i]!;
      // ×435 on every limb, plus ×2⁴⁰: limbs 0 and 1 shifted up two limbs and 8 bits.
      let t0 = h0 * 435;
      let t1 = h1 * 435;
      let t2 = h2 * 435 + (h0 << 8);
      let t3 = h3 * 435 + (h1 << 8);
      t1 += t0 >>> 16;
      t2 += t1 >>> 16;
      t3 += t2 >>> 16;
      h0 = t0 & 0xffff;
      h1 = t1 & 0xffff;
      h2 = t2 & 0xffff;
      h3 = t3 & 0xffff;
      t0 = 0;
    }
    Object.assign(this, { h0, h1, h2, h3 });
    return this;
  }

  /** The hash as 16 hex digits. */
  digest(): string {
    return [this.h3, this.h2, this.h1, this.h0].map((h) => h.toString(16).padStart(4, '0')).join('');
  }
}

export function fnv1a64(bytes: Uint8Array): string {
  return new Fnv1a64().update(bytes).digest();
}

/** The fingerprint of a network: its input shape and layers' JSON (architecture), then the bits of every weight. */
export function networkHash(model: SequentialLike): string {
  const hash = new Fnv1a64();
  const architecture = JSON.stringify({
    inputShape: Array.from(model.inputShape),
    layers: model.layers.map((layer) => layer.toJSON()),
  });
  hash.update(new TextEncoder().encode(architecture));
  const bits = new DataView(new ArrayBuffer(8));
  const bytes = new Uint8Array(bits.buffer);
  for (const layer of model.layers) {
    for (const tensor of layer.parameters()) {
      for (const w of tensor.data) {
        bits.setFloat64(0, w, true);
        hash.update(bytes);
      }
    }
  }
  return hash.digest();
}

// --------------------------------------------------------------------------
// Validation

const WHAT = 'Laplace.fromJSON';
/** The document itself, for the field readers: its fields are named "Laplace.fromJSON: mean". */
const TOP = `${WHAT}:`;
const STRUCTURES: readonly HessianStructure[] = ['full', 'kron', 'diag', 'lowrank', 'gp'];

/**
 * Check every field of a saved posterior that can be checked without the
 * model: presence, type, range, finiteness. A typed error names the field.
 */
export function checkLaplaceJSON(json: unknown): LaplaceJSON {
  const j = asObject(json, `${WHAT}: a saved posterior`);
  if (j['format'] !== FORMAT) {
    throw new ValueError(
      `${WHAT}: not a laplace-ts posterior (format ${describeValue(j['format'])}, expected "${FORMAT}")`,
    );
  }
  readChoice(j, 'likelihood', TOP, ['regression', 'classification']);
  const structure = readChoice(j, 'hessianStructure', TOP, STRUCTURES);
  readChoice(j, 'curvature', TOP, ['ggn', 'ef']);
  const subset = j['subsetOfWeights'];
  if (subset !== 'all' && subset !== 'lastLayer') {
    const indices =
      typeof subset === 'object' && subset !== null
        ? (subset as { subnetwork?: unknown }).subnetwork
        : undefined;
    if (!Array.isArray(indices) || !indices.every((v) => Number.isInteger(v) && v >= 0)) {
      throw new ValueError(
        `${WHAT}: subsetOfWeights must be 'all', 'lastLayer' or { subnetwork: non-negative integers }, got ${describeValue(subset)}`,
      );
    }
  }
  checkFitFields(j, TOP);
  readNumbers(j, 'priorMean', TOP);
  if (j['rank'] !== undefined || structure === 'lowrank') readInteger(j, 'rank', TOP, 1);
  if (j['nSubset'] !== undefined || structure === 'gp') readInteger(j, 'nSubset', TOP, 1);
  if (j['independentOutputs'] !== undefined && typeof j['independentOutputs'] !== 'boolean') {
    throw new ValueError(
      `${WHAT}: independentOutputs must be true or false, got ${describeValue(j['independentOutputs'])}`,
    );
  }
  readInteger(j, 'nOutputs', TOP, 1);
  if (typeof j['networkHash'] !== 'string' || !/^[0-9a-f]{16}$/.test(j['networkHash'])) {
    throw new ValueError(
      `${WHAT}: networkHash must be 16 hex digits, got ${describeValue(j['networkHash'])}`,
    );
  }
  const state = asObject(j['curvatureState'], `${WHAT}: curvatureState`);
  for (const [key, value] of Object.entries(state)) {
    const values = Array.isArray(value) ? (value as unknown[]).flat() : [value];
    const bad = values.findIndex((v) => typeof v !== 'number' || !Number.isFinite(v));
    if (bad >= 0) {
      throw new ValueError(
        `${WHAT}: curvatureState.${key} holds ${describeValue(values[bad])} at index ${bad}, not a finite number`,
      );
    }
  }
  return json as LaplaceJSON;
}

/**
 * Check the fields a laplace-ts and a laplace-torch posterior hold alike: the
 * MAP, the prior precision (one, or one per group of weights), σ, T, N and
 * Σ loss at the MAP. `top` names the document, e.g. "Laplace.fromJSON:".
 */
export function checkFitFields(j: Record<string, unknown>, top: string): void {
  readNumbers(j, 'mean', top);
  const positive = (v: number) => v > 0;
  if (Array.isArray(j['priorPrecision'])) {
    readNumbers(j, 'priorPrecision', top, positive, 'a positive finite number');
  } else {
    readNumber(j, 'priorPrecision', top, positive, 'a positive finite number or an array of them');
  }
  for (const key of ['sigmaNoise', 'temperature']) {
    readNumber(j, key, top, positive, 'a positive finite number');
  }
  readInteger(j, 'nData', top, 1);
  readNumber(j, 'loss', top, (v) => v >= 0, 'a finite number ≥ 0');
}

/**
 * Check a saved posterior against the model and the posterior restoring it:
 * its options, the sizes of the weights and of the curvature state, the
 * network's fingerprint, and that the model holds the MAP (`current`: the
 * model's random weights now). Returns the MAP.
 */
export function checkAgainstModel(
  json: LaplaceJSON,
  target: {
    likelihood: LikelihoodName;
    hessianStructure: HessianStructure;
    curvature: CurvatureName;
    subsetOfWeights: SubsetOfWeights;
    nOutputs: number;
    network: Network;
    selection: Selection;
    model: SequentialLike;
  },
  current: Float64Array,
): Float64Array {
  for (const key of ['likelihood', 'hessianStructure', 'curvature'] as const) {
    if (json[key] !== target[key]) {
      throw new ValueError(`${WHAT}: the saved ${key} is '${json[key]}', this posterior's '${target[key]}'`);
    }
  }
  if (JSON.stringify(json.subsetOfWeights) !== JSON.stringify(subsetJSON(target.subsetOfWeights))) {
    throw new ValueError(`${WHAT}: the saved subsetOfWeights differs from this posterior's`);
  }
  if (json.nOutputs !== target.nOutputs) {
    throw new ShapeError(`${WHAT}: nOutputs is ${json.nOutputs}, the model has ${target.nOutputs} outputs`);
  }
  if (json.mean.length !== current.length) {
    throw new ShapeError(
      `${WHAT}: the saved posterior (mean) has ${json.mean.length} weights, the model ${current.length}`,
    );
  }
  const expected = expectedCurvatureState(json, target.network, target.selection, current.length);
  const keys = Object.keys(json.curvatureState);
  for (const key of Object.keys(expected)) {
    if (!keys.includes(key))
      throw new ValueError(`${WHAT}: curvatureState.${key} is missing for '${json.hessianStructure}'`);
  }
  for (const key of keys) {
    if (!(key in expected)) {
      throw new ValueError(
        `${WHAT}: curvatureState.${key} is not part of a '${json.hessianStructure}' posterior`,
      );
    }
    const value = json.curvatureState[key];
    const length = Array.isArray(value) ? value.length : -1;
    const want = expected[key]!;
    if (length !== want) {
      throw new ShapeError(
        `${WHAT}: curvatureState.${key} has ${length < 0 ? 'no array' : `${length} values`}, expected ${want} for this model`,
      );
    }
  }
  const mean = Float64Array.from(json.mean);
  const index = current.findIndex((w, i) => Math.abs(w - mean[i]!) > 1e-12 * Math.max(1, Math.abs(w)));
  if (index >= 0) {
    throw new ValueError(
      `${WHAT}: the model's weight ${index} of the posterior is ${current[index]}, but the posterior was fitted at ${mean[index]}; load the network saved with it`,
    );
  }
  const hash = networkHash(target.model);
  if (hash !== json.networkHash) {
    throw new ValueError(
      `${WHAT}: the network differs from the one the posterior was fitted on (fingerprint ${hash}, saved ${json.networkHash}): its architecture or weights outside the posterior changed; load the network saved with it`,
    );
  }
  return mean;
}

/** The array length of each field of a structure's curvature state, for this model. */
function expectedCurvatureState(
  json: LaplaceJSON,
  network: Network,
  selection: Selection,
  p: number,
): Record<string, number> {
  switch (json.hessianStructure) {
    case 'full':
      return { hessian: p * p };
    case 'diag':
      return { hessian: p };
    case 'lowrank':
      return { eigenvalues: json.rank!, eigenvectors: json.rank! * p };
    case 'gp': {
      const m = json.nSubset!;
      const perTarget = json.likelihood === 'regression' ? json.nOutputs : 1;
      return { subsetIndices: m, subsetInputs: m * network.inputSize, subsetTargets: m * perTarget };
    }
    case 'sampled':
      // Not saved; checkLaplaceJSON refuses it before this.
      return {};
    case 'kron': {
      const out: Record<string, number> = {};
      selection.layers.forEach((layer, i) => {
        const weight = network.parametric[layer]!.blocks.find((b) => b.part === 'weight');
        out[`b${i}`] = (weight?.rows ?? 0) ** 2;
        out[`a${i}`] = (weight?.cols ?? 0) ** 2;
      });
      return out;
    }
  }
}

function subsetJSON(subset: SubsetOfWeights): LaplaceJSON['subsetOfWeights'] {
  return typeof subset === 'string' ? subset : { subnetwork: Array.from(subset.subnetwork) };
}
