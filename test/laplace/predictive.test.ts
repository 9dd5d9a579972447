import { describe, test } from 'vitest';
import { laplace } from '../../src/laplace/index.js';
import type { Tensor } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';
import { classificationData, flatten, makeMlp, naiveForward, randomInputs, softmax } from './oracle.js';

describe('the nn predictive', () => {
  test('nn predictive with a vanishing posterior is the MAP network', () => {
    const model = makeMlp([2, 4, 3], 'relu', 41);
    const { X, y } = classificationData(20, 2, 3, 41);
    const la = laplace(model, {
      likelihood: 'classification',
      subsetOfWeights: 'all',
      hessianStructure: 'diag',
      priorPrecision: 1e12,
    }).fit(X, y);
    const xt = randomInputs(3, 2, 1);
    const probs = (la.predict(xt, { predType: 'nn', nSamples: 5 }) as { probs: Tensor }).probs;
    xt.forEach((x, i) => {
      expectClose(probs.data.subarray(i * 3, i * 3 + 3), softmax(naiveForward(model, flatten(model), x)), {
        rtol: 1e-5,
      });
    });
  });
});
