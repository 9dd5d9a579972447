import { fc } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { LaplaceTsError } from '../../src/errors.js';
import { type HessianStructure, Laplace, type LaplaceJSON, laplace } from '../../src/laplace/index.js';
import { fnv1a64 } from '../../src/laplace/serialisation.js';
import type { Linear } from '../../src/nn/index.js';
import type { Tensor } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';
import { makeMlp, randomInputs, regressionData } from './oracle.js';

describe('serialisation', () => {
  const model = makeMlp([2, 4, 2], 'tanh', 61);
  const { X, Y } = regressionData(10, 2, 2, 61);

  for (const structure of ['full', 'diag', 'kron', 'lowrank'] as const) {
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

  for (const structure of ['full', 'diag', 'kron', 'lowrank'] as const) {
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
      for (const other of ['full', 'diag', 'kron', 'lowrank'] as const) {
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
});
