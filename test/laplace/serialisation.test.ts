import { fc } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { LaplaceTsError, ValueError } from '../../src/errors.js';
import {
  type FunctionalLaplace,
  type HessianStructure,
  Laplace,
  type LaplaceJSON,
  laplace,
} from '../../src/laplace/index.js';
import { fnv1a64 } from '../../src/laplace/serialisation.js';
import type { Linear } from '../../src/nn/index.js';
import type { Tensor } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';
import { makeMlp, randomInputs, regressionData } from './oracle.js';

describe('serialisation', () => {
  const model = makeMlp([2, 4, 2], 'tanh', 61);
  const { X, Y } = regressionData(10, 2, 2, 61);

  for (const structure of ['full', 'diag', 'kron', 'lowrank', 'gp'] as const) {
    test(`${structure}: toJSON / fromJSON round-trips through JSON text`, () => {
      const la = laplace(model, {
        likelihood: 'regression',
        hessianStructure: structure,
        subsetOfWeights: 'all',
        rank: 4,
      }).fit(X, Y);
      la.optimizeHyperparameters();
      const restored = Laplace.fromJSON(JSON.parse(JSON.stringify(la.toJSON())), model);
      expect(restored.logMarginalLikelihood()).toBeCloseTo(la.logMarginalLikelihood(), 9);
      const xt = randomInputs(2, 2, 3);
      expectClose(
        (restored.predict(xt) as { functionalCovariance: Tensor }).functionalCovariance,
        (la.predict(xt) as { functionalCovariance: Tensor }).functionalCovariance,
        { rtol: 1e-9, atol: 1e-12 },
      );
    });
  }

  test('fromJSON refuses a model whose weights are not the posterior mean', () => {
    const la = laplace(model, {
      likelihood: 'regression',
      hessianStructure: 'diag',
      subsetOfWeights: 'all',
    }).fit(X, Y);
    const other = makeMlp([2, 4, 2], 'tanh', 62);
    expect(() => Laplace.fromJSON(la.toJSON(), other)).toThrow(/posterior was fitted at/);
  });
});

describe('fromJSON checks the whole network and every field', () => {
  const model = makeMlp([2, 4, 2], 'tanh', 61);
  const { X, Y } = regressionData(10, 2, 2, 61);
  const saved = (hessianStructure: HessianStructure, subsetOfWeights: 'all' | 'lastLayer' = 'all') =>
    JSON.parse(
      JSON.stringify(
        laplace(model, { likelihood: 'regression', hessianStructure, subsetOfWeights, rank: 4 })
          .fit(X, Y)
          .toJSON(),
      ),
    ) as LaplaceJSON;

  test('the fingerprint is FNV-1a 64 (against a BigInt definition)', () => {
    const reference = (bytes: Uint8Array) => {
      let h = 0xcbf29ce484222325n;
      for (const b of bytes) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
      return h.toString(16).padStart(16, '0');
    };
    expect(fnv1a64(new Uint8Array(0))).toBe('cbf29ce484222325');
    expect(fnv1a64(new TextEncoder().encode('a'))).toBe('af63dc4c8601ec8c');
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => fnv1a64(bytes) === reference(bytes)));
  });

  test('a last-layer posterior refuses a network whose hidden weights or activation changed', () => {
    const json = saved('kron', 'lastLayer');
    const hidden = makeMlp([2, 4, 2], 'tanh', 61);
    (hidden.layers[0] as Linear).weight.data[0]! += 1e-9;
    expect(() => Laplace.fromJSON(json, hidden)).toThrow(
      /network differs from the one the posterior was fitted/,
    );
    const relu = makeMlp([2, 4, 2], 'relu', 61);
    expect(() => Laplace.fromJSON(json, relu)).toThrow(/network differs/);
    expect(() => Laplace.fromJSON(json, makeMlp([2, 4, 2], 'tanh', 61))).not.toThrow();
  });

  for (const structure of ['full', 'diag', 'kron', 'lowrank', 'gp'] as const) {
    test(`${structure}: corrupted curvature state is refused, naming the field`, () => {
      const json = saved(structure);
      const keys = Object.keys(json.curvatureState);
      for (const key of keys) {
        const truncated = structuredClone(json);
        (truncated.curvatureState[key] as number[]).pop();
        expect(() => Laplace.fromJSON(truncated, model)).toThrow(new RegExp(`curvatureState.${key}`));
        const nulls = structuredClone(json);
        (nulls.curvatureState[key] as unknown[]).fill(null);
        expect(() => Laplace.fromJSON(nulls, model)).toThrow(new RegExp(`curvatureState.${key}`));
      }
      const missing = structuredClone(json);
      delete missing.curvatureState[keys[0]!];
      expect(() => Laplace.fromJSON(missing, model)).toThrow(/curvatureState/);
      for (const other of ['full', 'diag', 'kron', 'lowrank', 'gp'] as const) {
        if (other === structure) continue;
        const relabelled = { ...structuredClone(json), hessianStructure: other };
        expect(() => Laplace.fromJSON(relabelled, model)).toThrow(LaplaceTsError);
      }
    });
  }

  test('every field is checked: missing, wrong type or out of range is a typed error naming it', () => {
    const json = saved('diag');
    const bad: [string, unknown][] = [
      ['nData', '10'],
      ['nData', -1],
      ['nData', 2.5],
      ['loss', undefined],
      ['loss', Number.NaN],
      ['loss', -1],
      ['nOutputs', 3],
      ['sigmaNoise', 0],
      ['temperature', 'hot'],
      ['priorPrecision', [1, Number.NaN]],
      ['priorMean', [Number.NaN]],
      ['mean', null],
      ['mean', [1, 2]],
      ['likelihood', 'poisson'],
      ['curvature', 'hessian'],
      ['subsetOfWeights', 'some'],
      ['hessianStructure', 'dense'],
      ['networkHash', 42],
      ['curvatureState', null],
      ['format', 'laplace-ts/laplace@0'],
    ];
    for (const key of Object.keys(json)) bad.push([key, undefined]);
    for (const [key, value] of bad) {
      const corrupted: Record<string, unknown> = { ...json };
      if (value === undefined) delete corrupted[key];
      else corrupted[key] = value;
      let error: unknown;
      try {
        Laplace.fromJSON(corrupted as unknown as LaplaceJSON, model);
      } catch (e) {
        error = e;
      }
      expect(error, `${key} = ${String(value)}`).toBeInstanceOf(LaplaceTsError);
      expect((error as Error).message, `${key} = ${String(value)}`).toMatch(
        new RegExp(key === 'format' ? 'format' : key),
      );
    }
    for (const notJSON of [null, undefined, 42, 'text', []]) {
      expect(() => Laplace.fromJSON(notJSON as unknown as LaplaceJSON, model)).toThrow(LaplaceTsError);
    }
  });

  test('a refused field is named with what was found, NaN and Infinity as themselves', () => {
    const json = saved('diag');
    const refused = (key: string, value: unknown, message: string) => {
      const corrupted: Record<string, unknown> = { ...json, [key]: value };
      if (value === undefined) delete corrupted[key];
      expect(() => Laplace.fromJSON(corrupted as unknown as LaplaceJSON, model)).toThrow(
        new ValueError(`Laplace.fromJSON: ${message}`),
      );
    };
    refused('sigmaNoise', Number.NaN, 'sigmaNoise must be a positive finite number, got NaN');
    refused('priorMean', [0, Number.POSITIVE_INFINITY], 'priorMean[1] must be a finite number, got Infinity');
    refused(
      'priorPrecision',
      'x',
      'priorPrecision must be a positive finite number or an array of them, got "x"',
    );
    refused(
      'hessianStructure',
      'dense',
      'hessianStructure must be "full", "kron", "diag", "lowrank" or "gp", got "dense"',
    );
    refused('nData', undefined, 'nData must be an integer ≥ 1, got nothing');
    expect(() => Laplace.fromJSON(42 as unknown as LaplaceJSON, model)).toThrow(
      new ValueError('Laplace.fromJSON: a saved posterior must be an object, got 42'),
    );
  });
});

describe("'gp' posteriors are saved with their training subset", () => {
  const model = makeMlp([2, 4, 3], 'tanh', 71);
  const { X, Y } = regressionData(9, 2, 3, 71);
  const labels = X.map((_, i) => (i * 5) % 3);
  const fitted = (likelihood: 'regression' | 'classification', independentOutputs: boolean) =>
    laplace(model, {
      likelihood,
      hessianStructure: 'gp',
      subsetOfWeights: 'all',
      nSubset: 6,
      seed: 3,
      independentOutputs,
      priorMean: 0.05,
    }).fit(X, likelihood === 'regression' ? Y : labels);
  const xTest = randomInputs(3, 2, 72);

  for (const likelihood of ['regression', 'classification'] as const) {
    for (const independentOutputs of [false, true]) {
      test(`${likelihood}, independentOutputs ${independentOutputs}: predictions and evidence are bitwise equal after a round trip through JSON text`, () => {
        const la = fitted(likelihood, independentOutputs);
        la.optimizeHyperparameters();
        const restored = Laplace.fromJSON(JSON.parse(JSON.stringify(la.toJSON())), model);
        expect(restored.hessianStructure).toBe('gp');
        expect((restored as FunctionalLaplace).independentOutputs).toBe(independentOutputs);
        expect(Array.from((restored as FunctionalLaplace).subsetIndices)).toEqual(
          Array.from((la as FunctionalLaplace).subsetIndices),
        );
        expect(restored.priorPrecision).toBe(la.priorPrecision);
        expect(restored.sigmaNoise).toBe(la.sigmaNoise);
        expect(restored.logMarginalLikelihood()).toBe(la.logMarginalLikelihood());
        expect(restored.logLikelihood).toBe(la.logLikelihood);
        expect(restored.scatter).toBe(la.scatter);
        expect((restored as FunctionalLaplace).logDetRatio).toBe((la as FunctionalLaplace).logDetRatio);
        for (const delta of [0.3, 4]) {
          expect(restored.logMarginalLikelihood({ priorPrecision: delta })).toBe(
            la.logMarginalLikelihood({ priorPrecision: delta }),
          );
        }
        const before = la.predict(xTest) as unknown as Record<string, Tensor>;
        const after = restored.predict(xTest) as unknown as Record<string, Tensor>;
        expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
        for (const key of Object.keys(before)) {
          expect(Array.from(after[key]!.data), key).toEqual(Array.from(before[key]!.data));
        }
        if (!independentOutputs) {
          expect(Array.from(restored.posteriorVariance())).toEqual(Array.from(la.posteriorVariance()));
        }
      });
    }
  }

  test('a corrupted subset is refused, naming the field and the value', () => {
    const json = JSON.parse(JSON.stringify(fitted('classification', true).toJSON())) as LaplaceJSON;
    const refuse = (change: (j: LaplaceJSON) => void, message: RegExp) => {
      const corrupted = structuredClone(json);
      change(corrupted);
      expect(() => Laplace.fromJSON(corrupted, model)).toThrow(message);
    };
    const state = (j: LaplaceJSON, key: string) => j.curvatureState[key] as number[];
    refuse((j) => state(j, 'subsetIndices').fill(2), /subsetIndices holds 2 twice/);
    refuse((j) => state(j, 'subsetIndices').splice(0, 1, 9), /subsetIndices holds 9.*9 rows/);
    refuse((j) => state(j, 'subsetIndices').splice(0, 1, -1), /subsetIndices\[0\] = -1/);
    refuse((j) => state(j, 'subsetIndices').splice(0, 1, 0.5), /subsetIndices\[0\] = 0.5/);
    refuse((j) => state(j, 'subsetTargets').splice(0, 1, 3), /subsetTargets\[0\] = 3 is not a class index/);
    refuse((j) => state(j, 'subsetInputs').pop(), /curvatureState.subsetInputs has 11 values, expected 12/);
    refuse((j) => state(j, 'subsetInputs').splice(0, 1, Number.NaN), /curvatureState.subsetInputs holds NaN/);
    refuse((j) => {
      j.nSubset = 5;
    }, /curvatureState.subsetIndices has 6 values, expected 5/);
    refuse((j) => {
      delete j.nSubset;
    }, /nSubset must be an integer/);
    refuse((j) => {
      (j as unknown as Record<string, unknown>)['independentOutputs'] = 'yes';
    }, /independentOutputs must be true or false/);
    // Restoring into a posterior configured otherwise.
    const dependent = laplace(model, {
      likelihood: 'classification',
      hessianStructure: 'gp',
      subsetOfWeights: 'all',
      priorMean: 0.05,
    });
    expect(() => dependent.restore(json)).toThrow(/independentOutputs is true, this posterior's false/);
    // A different network: the fingerprint (or the MAP) no longer matches.
    expect(() => Laplace.fromJSON(json, makeMlp([2, 4, 3], 'tanh', 72))).toThrow(/posterior was fitted at/);
  });

  test('with independentOutputs the weight-space quantities are refused, naming the option', () => {
    const la = fitted('classification', true);
    for (const call of [
      () => la.posteriorVariance(),
      () => la.posteriorCovariance(),
      () => la.posteriorPrecision(),
      () => la.logDetPosteriorPrecision,
      () => la.sample(2),
      () => la.predict(xTest, { predType: 'nn', nSamples: 2 }),
    ]) {
      expect(call).toThrow(/independentOutputs/);
    }
  });
});
