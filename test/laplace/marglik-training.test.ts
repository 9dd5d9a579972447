import { describe, expect, test } from 'vitest';
import { type MarglikTrainingOptions, marglikTraining } from '../../src/laplace/index.js';
import { adam } from '../../src/nn/optim.js';
import { Sequential } from '../../src/nn/sequential.js';
import { seededRng } from '../../src/random.js';

describe('online marginal-likelihood training', () => {
  test('learns the noise level from training data alone and keeps the best-evidence state', () => {
    const rng = seededRng(3);
    const X = Array.from({ length: 80 }, () => [rng.uniform() * 4 - 2]);
    const y = X.map(([x]) => [Math.sin(2 * x!) + 0.1 * rng.normal()]);
    const model = Sequential.mlp([1, 20, 1], { activation: 'tanh', seed: 1 });
    const history: number[] = [];
    const result = marglikTraining(model, X, y, {
      likelihood: 'regression',
      epochs: 600,
      marglikFrequency: 50,
      optimizer: adam({ lr: 0.01 }),
      seed: 2,
      onProgress: ({ logMarginalLikelihood }) => {
        if (logMarginalLikelihood !== undefined) history.push(logMarginalLikelihood);
      },
    });
    expect(result.margliks).toEqual(history);
    expect(result.losses).toHaveLength(600);
    const best = Math.max(...result.margliks);
    // The returned posterior is the best state, refitted at the model's (restored) weights.
    expect(result.laplace.logMarginalLikelihood()).toBeCloseTo(best, 6);
    expect(result.margliks.at(-1)!).toBeGreaterThan(result.margliks[0]!);
    // The data were generated with σ = 0.1.
    expect(result.laplace.sigmaNoise).toBeGreaterThan(0.07);
    expect(result.laplace.sigmaNoise).toBeLessThan(0.14);
    expect(result.laplace.priorPrecision).toHaveLength(4);
  });
});

describe('marglikTraining checks its options before training', () => {
  const X = [[0], [1], [2]];
  const y = [[0], [1], [0]];
  for (const [options, message] of [
    [{ priorStructure: 'diag' }, /priorStructure must be 'scalar', 'layerwise'/],
    [{ priorStructure: 'bogus' }, /priorStructure/],
    [{ hessianStructure: 'bogus' }, /hessianStructure/],
    [{ likelihood: 'bogus' }, /likelihood/],
    [{ burnin: -1 }, /burnin/],
    [{ epochs: 2.5 }, /epochs/],
    [{ marglikFrequence: 2 }, /unknown option 'marglikFrequence'/],
  ] as const) {
    test(`${JSON.stringify(options)} fails at once`, () => {
      const model = Sequential.mlp([1, 3, 1], { activation: 'tanh', seed: 1 });
      const before = model.flatParameters();
      let epochs = 0;
      expect(() =>
        marglikTraining(model, X, y, {
          likelihood: 'regression',
          epochs: 4,
          marglikFrequency: 2,
          seed: 1,
          onProgress: () => epochs++,
          ...(options as object),
        } as MarglikTrainingOptions),
      ).toThrow(message);
      expect(epochs).toBe(0);
      expect(model.flatParameters()).toEqual(before);
    });
  }
});
