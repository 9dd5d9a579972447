/**
 * An imported network is one `laplace` takes as it is: every fixture is
 * fitted (on its stored inputs, with made-up labels), and the posterior covers
 * every parameter the file holds, in the order the file names them.
 */
import { describe, expect, it } from 'vitest';
import { DiagLaplace, laplace } from '../../src/laplace/index.js';
import { importOnnxWithNotes } from '../../src/onnx/index.js';
import { Tensor } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';
import { loadFixtures } from './fixtures.js';

describe('laplace on imported networks', () => {
  for (const fx of loadFixtures()) {
    it(`${fx.name}: fits a classification Laplace over all weights and predicts probabilities`, () => {
      const { model, parameterNames } = importOnnxWithNotes(fx.bytes);
      // laplace takes rows of flattened examples, [n, C·H·W]
      const X = new Tensor(Float64Array.from(fx.input.data), [fx.input.shape[0]!, model.inFeatures]);
      const n = fx.input.shape[0]!;
      const classes = model.outFeatures;
      const y = Array.from({ length: n }, (_, i) => i % classes);
      const la = laplace(model, {
        likelihood: 'classification',
        subsetOfWeights: 'all',
        // Kronecker factors exist for Linear and Conv2d, not BatchNorm
        hessianStructure: fx.name === 'residual' || fx.name === 'cnn' ? 'kron' : 'diag',
      }).fit(X, y);
      expect(la.nParams).toBe(model.nParams);
      expect(parameterNames.length).toBe(model.parameters().flat().length);
      expect(Number.isFinite(la.logMarginalLikelihood())).toBe(true);
      const p = la.predict(X).probs;
      expect([...p.shape]).toEqual([n, classes]);
      for (let i = 0; i < n; i++) {
        const row = p.data.slice(i * classes, (i + 1) * classes);
        expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      }
    });
  }

  for (const fx of loadFixtures().filter((f) => f.ggnDiagonal !== undefined)) {
    it(`${fx.name}: the diagonal GGN is PyTorch's, entry by entry in parameters() order`, () => {
      const { model } = importOnnxWithNotes(fx.bytes);
      const X = new Tensor(Float64Array.from(fx.input.data), [fx.input.shape[0]!, model.inFeatures]);
      const y = Array.from({ length: fx.input.shape[0]! }, () => 0); // the GGN does not depend on y
      const la = new DiagLaplace(model, { likelihood: 'classification', subsetOfWeights: 'all' });
      la.fit(X, y);
      const tol = fx.exportedWithDefaults ? 1e-6 : 1e-10;
      expectClose(la.hessian.data, fx.ggnDiagonal!, { rtol: tol, atol: tol });
    });
  }
});
