/**
 * onnxruntime as a second reference: it runs every PyTorch fixture and every
 * file exportOnnx writes, and must agree with the imported network.
 */
import { describe, expect, it } from 'vitest';
import { Sequential } from '../../src/nn/index.js';
import { exportOnnx, importOnnxWithNotes } from '../../src/onnx/index.js';
import { randn, Tensor } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';
import { loadFixtures, withDroppedHead } from './fixtures.js';
import { onnxruntime, onnxruntimeMissing, runOnnxruntime } from './onnxruntime.js';

if (onnxruntime === null) console.warn(`skipping the onnxruntime tests: ${onnxruntimeMissing}`);

describe.skipIf(onnxruntime === null)('onnxruntime agrees with the import', () => {
  for (const fx of loadFixtures()) {
    it(`${fx.name}: onnxruntime's output is the imported network's (to float32 rounding)`, async () => {
      const reference = await runOnnxruntime(fx.bytes, fx.input, fx.dtype);
      const imported = importOnnxWithNotes(fx.bytes);
      const logits = imported.model.forward(new Tensor(Float64Array.from(fx.input.data), fx.input.shape));
      expect(reference.shape).toEqual([...logits.shape]);
      const tol = fx.dtype === 'float64' ? 1e-12 : 2e-6;
      expectClose(withDroppedHead(logits, imported.notes), reference.data, { rtol: tol, atol: tol });
    });
  }
});

describe.skipIf(onnxruntime === null)('onnxruntime runs what exportOnnx writes', () => {
  const activations = ['tanh', 'relu', 'sigmoid', 'softplus', 'gelu', 'leakyrelu', 'elu'] as const;
  for (const activation of activations) {
    it(`an MLP with ${activation}, float32: onnxruntime gives the network's outputs`, async () => {
      const model = Sequential.mlp([5, 7, 6, 3], { activation, seed: 11 });
      const x = randn([4, 5], 12);
      const reference = await runOnnxruntime(exportOnnx(model, { dtype: 'float32' }), x, 'float32');
      // the float32 file holds the weights rounded to float32, and onnxruntime computes in float32
      expectClose(reference.data, model.forward(x).data, { rtol: 1e-5, atol: 1e-5 });
    });
  }
  it('an MLP in float64: onnxruntime gives the network outputs to 1e-12', async () => {
    const model = Sequential.mlp([3, 8, 2], { activation: 'tanh', seed: 13 });
    const x = randn([5, 3], 14);
    const reference = await runOnnxruntime(exportOnnx(model), x, 'float64');
    expectClose(reference.data, model.forward(x).data, { rtol: 1e-12, atol: 1e-12 });
  });
});
