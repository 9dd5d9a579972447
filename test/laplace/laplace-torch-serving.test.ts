/**
 * Serving a posterior fitted by laplace-torch 0.1a2.
 *
 * test/fixtures/serving/ is written by scripts/serving/export_laplace_torch.py
 * in the reference environment: three networks trained in float32 (an MLP and
 * a CNN classifier, a regression MLP) exported to ONNX, laplace-torch's
 * last-layer 'full' and all-weights 'kron' posteriors on them (prior tuned by
 * laplace-torch's evidence, per parameter tensor for two of them), and, at a
 * few test inputs, laplace-torch's GLM predictive. One case was fitted by
 * laplace-torch in float32, as on a GPU; the others on the float64 copy of
 * the same float32 weights.
 *
 * Checked: the predictive (logits, their covariance, probit, bridge and Monte
 * Carlo probabilities) against laplace-torch's; the posterior precision
 * against the dense matrix assembled from the JSON by its definition
 * (blockdiag of (Q_B Λ_B Q_Bᵀ ⊗ Q_A Λ_A Q_Aᵀ)/(σ²T) + δ, or P itself);
 * posteriorVariance against the diagonal of that matrix's inverse by
 * Cholesky; samples against their mean and variance; and that every field is
 * validated and the network must be the one that was fitted.
 */
import { readFileSync } from 'node:fs';
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { LaplaceTsError, ShapeError, ValueError } from '../../src/errors.js';
import {
  type BaseLaplace,
  type ClassificationPrediction,
  Laplace,
  type LaplaceTorchJSON,
} from '../../src/laplace/index.js';
import { cholesky, choleskyInverse } from '../../src/linalg/index.js';
import { Linear } from '../../src/nn/index.js';
import { importOnnx } from '../../src/onnx/index.js';
import { Tensor } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';
import { flat, type Nested } from './laplace-torch-fixtures.js';

interface ReferenceCase {
  network: string;
  posterior: string;
  dtype: 'float32' | 'float64';
  X: Nested;
  fMu: Nested;
  fVar: Nested;
  probs?: Nested;
  probsBridge?: Nested;
  probsMc?: Nested;
}

const read = (name: string): Uint8Array =>
  readFileSync(new URL(`../fixtures/serving/${name}`, import.meta.url));
const readJSON = <T>(name: string): T => JSON.parse(new TextDecoder().decode(read(name))) as T;
const reference = readJSON<{ cases: ReferenceCase[] }>('reference.json');

/**
 * Float64 fits agree to rounding. A float32 fit is laplace-torch's float32
 * arithmetic against ours in float64 on the same (float32) numbers: about
 * 10⁻⁶ of each quantity's scale.
 */
function tolerance(ref: ReferenceCase, scale: number): { rtol: number; atol: number } {
  return ref.dtype === 'float64' ? { rtol: 1e-9, atol: 1e-12 * scale } : { rtol: 1e-5, atol: 2e-6 * scale };
}

const maxAbs = (xs: ArrayLike<number>): number =>
  Array.from(xs).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/** Q diag(λ) Qᵀ from rows of Q. */
function reassemble(values: number[], vectors: number[][]): number[][] {
  const n = values.length;
  return Array.from({ length: n }, (_, r) =>
    Array.from({ length: n }, (_, s) =>
      values.reduce((sum, l, k) => sum + vectors[r]![k]! * l * vectors[s]![k]!, 0),
    ),
  );
}

/** The posterior precision the JSON defines, dense. */
function densePrecision(json: LaplaceTorchJSON): Float64Array {
  const p = json.mean.length;
  if (json.posteriorPrecision) return Float64Array.from(json.posteriorPrecision.flat());
  const out = new Float64Array(p * p);
  const c =
    json.likelihood === 'regression' ? 1 / (json.sigmaNoise ** 2 * json.temperature) : 1 / json.temperature;
  let offset = 0;
  json.kroneckerFactors!.forEach((tensor, t) => {
    const [b, a = [[1]]] = tensor.eigenvalues.map((l, f) => reassemble(l, tensor.eigenvectors[f]!));
    const m = a.length;
    const size = b!.length * m;
    const delta = typeof json.priorPrecision === 'number' ? json.priorPrecision : json.priorPrecision[t]!;
    for (let i = 0; i < size; i++) {
      for (let j = 0; j < size; j++) {
        const v = c * b![Math.floor(i / m)]![Math.floor(j / m)]! * a[i % m]![j % m]!;
        out[(offset + i) * p + offset + j] = v + (i === j ? delta : 0);
      }
    }
    offset += size;
  });
  expect(offset).toBe(p);
  return out;
}

/**
 * The Laplace bridge's Dirichlet mean, αₖ = (1 − 2/K + e^{μₖ}/K² Σⱼ e^{−μⱼ})/Σₖₖ
 * normalised, optionally after projecting μ and Σ onto the sum-to-zero
 * subspace: μ ← μ − Σ1 (1ᵀμ)/(1ᵀΣ1), Σ ← Σ − Σ11ᵀΣ/(1ᵀΣ1).
 */
function bridgeOracle(fMu: number[], fVar: number[], k: number, zeroMean: boolean): number[] {
  const out: number[] = [];
  for (let e = 0; e < fMu.length / k; e++) {
    let mu = fMu.slice(e * k, (e + 1) * k);
    const cov = (a: number, b: number): number => fVar[e * k * k + a * k + b]!;
    const rows = mu.map((_, a) => mu.reduce((s, _v, b) => s + cov(a, b), 0));
    const total = rows.reduce((s, v) => s + v, 0);
    const sumMu = mu.reduce((s, v) => s + v, 0);
    let variance = mu.map((_, a) => cov(a, a));
    if (zeroMean) {
      mu = mu.map((m, a) => m - (rows[a]! * sumMu) / total);
      variance = variance.map((v, a) => v - rows[a]! ** 2 / total);
    }
    const sumExp = mu.reduce((s, m) => s + Math.exp(-m), 0);
    const alpha = mu.map((m, a) => (1 - 2 / k + (Math.exp(m) / k ** 2) * sumExp) / variance[a]!);
    const sum = alpha.reduce((s, v) => s + v, 0);
    out.push(...alpha.map((v) => v / sum));
  }
  return out;
}

describe.each(reference.cases)('$posterior ($dtype)', (ref) => {
  const model = importOnnx(read(ref.network));
  const json = readJSON<LaplaceTorchJSON>(ref.posterior);
  const la = Laplace.fromLaplaceTorch(json, model);

  test('is the structure laplace-torch fitted, over the weights it fitted', () => {
    expect(la.hessianStructure).toBe(json.hessianStructure);
    expect(la.subsetOfWeights).toBe(json.subsetOfWeights);
    expect(la.nParams).toBe(json.mean.length);
    expect(Array.from(la.mean)).toEqual(json.mean);
  });

  test("the GLM predictive is laplace-torch's", () => {
    const prediction = la.predict(ref.X) as ClassificationPrediction;
    const fMu = flat(ref.fMu);
    const fVar = flat(ref.fVar);
    expectClose(prediction.mean!, fMu, tolerance(ref, maxAbs(fMu)));
    expectClose(prediction.functionalCovariance!, fVar, tolerance(ref, maxAbs(fVar)));
    if (!ref.probs) return;
    expectClose(prediction.probs, flat(ref.probs), tolerance(ref, 1));
    // laplace-torch 0.1a2's bridge is the formula without the zero-mean
    // correction; laplace-ts's (that of later laplace-torch) applies it first.
    const k = fMu.length / la.predict(ref.X).mean!.shape[0]!;
    expectClose(bridgeOracle(fMu, fVar, k, false), flat(ref.probsBridge!), tolerance(ref, 1));
    const bridge = la.predict(ref.X, { linkApprox: 'bridge' }) as ClassificationPrediction;
    expectClose(bridge.probs, bridgeOracle(fMu, fVar, k, true), tolerance(ref, 1));
    // Monte Carlo on both sides (10⁵ samples there, 4000 here): a few standard errors of 0.5/√4000.
    const mc = la.predict(ref.X, { linkApprox: 'mc', nSamples: 4000, seed: 1 }) as ClassificationPrediction;
    expectClose(mc.probs, flat(ref.probsMc!), { rtol: 0, atol: 0.03 });
  });

  test('the posterior precision is the one the JSON defines', () => {
    const expected = densePrecision(json);
    expectClose(la.posteriorPrecision(), expected, tolerance(ref, maxAbs(expected)));
  });

  test('posteriorVariance is the diagonal of the inverse of that precision', () => {
    const p = la.nParams;
    const expected = densePrecision(json);
    // Symmetrise the float32 case's P before factorising.
    for (let i = 0; i < p; i++)
      for (let j = 0; j < i; j++)
        expected[i * p + j] = expected[j * p + i] = 0.5 * (expected[i * p + j]! + expected[j * p + i]!);
    const covariance = choleskyInverse(cholesky(new Tensor(expected, [p, p])));
    const diagonal = Array.from({ length: p }, (_, i) => covariance.data[i * p + i]!);
    expectClose(la.posteriorVariance(), diagonal, tolerance(ref, maxAbs(diagonal) * 10));
  });

  test('samples have the posterior mean and variance', () => {
    const n = 1000;
    const samples = la.sample(n, 7);
    const p = la.nParams;
    const variance = la.posteriorVariance();
    for (let i = 0; i < p; i++) {
      let sum = 0;
      let squares = 0;
      for (let s = 0; s < n; s++) {
        const d = samples.data[s * p + i]! - la.mean[i]!;
        sum += d;
        squares += d * d;
      }
      // Mean within 5 standard errors; variance within 5 standard errors of a χ²ₙ/n (√(2/n) ≈ 4.5%).
      expect(Math.abs(sum / n)).toBeLessThan(5 * Math.sqrt(variance[i]! / n));
      expect(Math.abs(squares / n / variance[i]! - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
    }
  });

  test('restores from its own laplace-ts JSON to the same predictive', () => {
    const again = Laplace.fromJSON(JSON.parse(JSON.stringify(la.toJSON())), model);
    expectClose(again.predict(ref.X).mean!, la.predict(ref.X).mean!, { rtol: 0, atol: 0 });
  });
});

describe('Laplace.fromLaplaceTorch checks what it is given', () => {
  const mlp = (): ReturnType<typeof importOnnx> => importOnnx(read('mlp.onnx'));
  const kron = readJSON<LaplaceTorchJSON>('mlp.all-kron.json');
  const full = readJSON<LaplaceTorchJSON>('mlp.lastLayer-full.json');
  const load = (json: unknown, model = mlp()): BaseLaplace => Laplace.fromLaplaceTorch(json, model);

  const required = [
    'format',
    'version',
    'likelihood',
    'subsetOfWeights',
    'hessianStructure',
    'mean',
    'priorPrecision',
    'sigmaNoise',
    'temperature',
    'lossFactor',
    'nData',
    'loss',
  ] as const;

  test.prop([fc.constantFrom(...required), fc.boolean()])(
    'a missing or mangled field is a typed error that names it',
    (key, missing) => {
      const json: Record<string, unknown> = structuredClone(full) as unknown as Record<string, unknown>;
      if (missing) delete json[key];
      else json[key] = -1;
      expect(() => load(json)).toThrow(LaplaceTsError);
      expect(() => load(json)).toThrow(key);
    },
  );

  test.prop([fc.nat()])('a network whose random weights moved is refused, naming the weight', (k) => {
    const model = mlp();
    const head = model.layers.at(-1) as Linear;
    expect(head).toBeInstanceOf(Linear);
    const i = k % head.weight.data.length;
    head.weight.data[i]! += 1e-3;
    expect(() => load(full, model)).toThrow(ValueError);
    expect(() => load(full, model)).toThrow(`mean[${i}]`);
  });

  /** Every place in a JSON value, as paths of keys and indices. */
  function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
    if (typeof value !== 'object' || value === null) return [prefix];
    const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
    return [prefix, ...entries.flatMap(([key, v]) => paths(v, [...prefix, key]))];
  }
  const junk = fc.oneof(
    fc.constantFrom(
      null,
      undefined,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      -1,
      0,
      2.5,
      '',
      'kron',
      {},
      [],
      [1, 2],
    ),
    fc.constantFrom([[1, 2]], [[Number.NaN]], true, 'lastLayer', 'all', 'full', 'classification'),
    fc.double(),
  );
  const small = readJSON<LaplaceTorchJSON>('sine.all-kron.json');
  const smallFull = readJSON<LaplaceTorchJSON>('sine.lastLayer-full.json');
  const places = [
    ...paths(small).map((p) => ['kron', p] as const),
    ...paths(smallFull).map((p) => ['full', p] as const),
  ];

  test.prop([fc.constantFrom(...places), junk, fc.boolean()], { numRuns: 300 })(
    'junk anywhere in the JSON: a typed error, or a posterior whose predictive is finite',
    ([which, path], value, remove) => {
      const json = structuredClone(which === 'kron' ? small : smallFull) as unknown;
      if (path.length === 0) return;
      let parent = json as Record<string | number, unknown>;
      for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
      const last = path.at(-1)!;
      if (remove && Array.isArray(parent)) parent.splice(last as number, 1);
      else if (remove) delete parent[last];
      else parent[last] = value;
      let prediction: { mean?: Tensor };
      try {
        prediction = load(json, importOnnx(read('sine.onnx'))).predict([[0.5]]);
      } catch (error) {
        // e.g. a ShapeError naming the field, or NotPositiveDefiniteError for a damaged P.
        expect(error).toBeInstanceOf(LaplaceTsError);
        return;
      }
      expect(Array.from(prediction.mean!.data).every(Number.isFinite)).toBe(true);
    },
  );

  test("another network's posterior is refused by its size", () => {
    expect(() => load(full, importOnnx(read('cnn.onnx')))).toThrow(ShapeError);
    expect(() => load(kron, importOnnx(read('sine.onnx')))).toThrow(/mean has 123 weights/);
  });

  test('the curvature fields: present, square and of the right size', () => {
    const { posteriorPrecision: _, ...noPrecision } = full;
    expect(() => load(noPrecision)).toThrow(/needs posteriorPrecision/);
    const short = structuredClone(full);
    short.posteriorPrecision![4]!.pop();
    expect(() => load(short)).toThrow(
      /posteriorPrecision\[4\] must be an array of length 27 \(posteriorPrecision is \[27, 27\]\), got an array of length 26/,
    );
    const fewer = structuredClone(kron);
    fewer.kroneckerFactors!.pop();
    expect(() => load(fewer)).toThrow(/must list the model's 6 parameter tensors/);
    const swapped = structuredClone(kron);
    swapped.kroneckerFactors![0]!.eigenvectors.reverse();
    expect(() => load(swapped)).toThrow(
      /kroneckerFactors\[0\]\.eigenvectors\[0\] must be an array of length 8 \(eigenvectors\[0\] is \[8, 8\]\)/,
    );
    const infinite = structuredClone(kron);
    infinite.kroneckerFactors![2]!.eigenvalues[1]![3] = Number.POSITIVE_INFINITY;
    expect(() => load(infinite)).toThrow(
      /kroneckerFactors\[2\]\.eigenvalues\[1\]\[3\] must be a finite number, got Infinity/,
    );
  });

  test("a bias factor that is not the weight's under lossFactor is refused", () => {
    expect(() => load({ ...kron, lossFactor: 0.5 })).toThrow(/kroneckerFactors\[1\] \(the bias of/);
  });

  test('only the pairs laplace-torch exports: lastLayer with full, all with kron', () => {
    expect(() => load({ ...full, subsetOfWeights: 'all' })).toThrow(/'all' with hessianStructure 'full'/);
    expect(() => load({ ...kron, hessianStructure: 'diag' })).toThrow(/hessianStructure must be/);
  });

  test('a laplace-ts posterior is pointed to Laplace.fromJSON', () => {
    const own = load(full).toJSON();
    expect(() => load(own)).toThrow(/Laplace\.fromJSON/);
  });
});
