/**
 * Layer rules: the generic rule (everything from vjp through the layer's
 * `apply`) against the fast paths of the layers that have their own rule, and
 * every structure on networks with layers beyond Linear against dense
 * formulas from finite-difference Jacobians.
 */
import { describe, expect, test } from 'vitest';
import { type HessianStructure, laplace } from '../../src/laplace/index.js';
import type { Layer, LayerJSON } from '../../src/nn/index.js';
import { Sequential } from '../../src/nn/index.js';
import type { Shape, Tensor } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';
import { makeMlp, randomInputs, regressionData } from './oracle.js';

/** The same layer under a type no rule knows, so Laplace must take the generic rule. */
function generic(layer: Layer): Layer {
  return {
    type: `generic-${layer.type}`,
    parameters: () => layer.parameters(),
    setParameters: (params: readonly Tensor[]) => layer.setParameters(params),
    outputShape: (shape: Shape) => layer.outputShape(shape),
    apply: (params: readonly Tensor[], x: Tensor) => layer.apply(params, x),
    toJSON: (): LayerJSON => layer.toJSON(),
  };
}

function withGenericLayers(model: Sequential): Sequential {
  return new Sequential(
    model.layers.map((l) => (l.parameters().length > 0 ? generic(l) : l)),
    { inputShape: model.inputShape },
  );
}

describe('the generic rule agrees with the Linear rule', () => {
  const model = makeMlp([3, 5, 4, 2], 'tanh', 4);
  const twin = withGenericLayers(model);
  const { X, Y } = regressionData(9, 3, 2, 4);
  const labels = Y.map((y) => (y[0]! > 0 ? 1 : 0));
  const xt = randomInputs(5, 3, 6);
  const cases: { structure: HessianStructure; subset: 'all' | 'lastLayer' | { subnetwork: number[] } }[] = [
    { structure: 'full', subset: 'all' },
    { structure: 'full', subset: 'lastLayer' },
    { structure: 'full', subset: { subnetwork: [0, 3, 17, 30, 41, 50] } },
    { structure: 'diag', subset: 'all' },
    { structure: 'lowrank', subset: 'all' },
  ];
  for (const { structure, subset } of cases) {
    for (const likelihood of ['regression', 'classification'] as const) {
      for (const curvature of ['ggn', 'ef'] as const) {
        test(`${structure}, ${JSON.stringify(subset)}, ${likelihood}, ${curvature}`, () => {
          const options = {
            likelihood,
            curvature,
            hessianStructure: structure,
            subsetOfWeights: subset,
            priorPrecision: 0.8,
            ...(structure === 'lowrank' ? { rank: 8 } : {}),
          };
          const y = likelihood === 'regression' ? Y : labels;
          const fast = laplace(model, options).fit(X, y);
          const slow = laplace(twin, options).fit(X, y);
          expect(slow.logMarginalLikelihood()).toBeCloseTo(fast.logMarginalLikelihood(), 8);
          expectClose(slow.posteriorVariance(), fast.posteriorVariance(), { rtol: 1e-8, atol: 1e-12 });
          const a = fast.predict(xt) as unknown as Record<string, Tensor>;
          const b = slow.predict(xt) as unknown as Record<string, Tensor>;
          const key = likelihood === 'regression' ? 'functionalCovariance' : 'probs';
          expectClose(b[key]!, a[key]!, { rtol: 1e-8, atol: 1e-12 });
        });
      }
    }
  }

  test('kron names the layer that has no Kronecker factors', () => {
    expect(() => laplace(twin, { likelihood: 'regression', hessianStructure: 'kron' })).toThrow(
      /layers\[4\] \(generic-linear\) has no Kronecker factors/,
    );
  });
});
