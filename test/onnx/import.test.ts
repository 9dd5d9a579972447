/**
 * Import against the real exporter: every fixture written by torch.onnx.export
 * is imported and run on its stored input, and must give PyTorch's outputs.
 */
import { describe, expect, it } from 'vitest';
import { importOnnxWithNotes } from '../../src/onnx/index.js';
import { Tensor } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';
import { loadFixtures, withDroppedHead } from './fixtures.js';

const fixtures = loadFixtures();

describe('importOnnx on PyTorch exports', () => {
  it('finds the fixtures', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(10);
  });

  for (const fx of fixtures) {
    describe(fx.name, () => {
      const run = () => {
        const imported = importOnnxWithNotes(fx.bytes);
        const x = new Tensor(Float64Array.from(fx.input.data), fx.input.shape);
        const logits = imported.model.forward(x);
        return { imported, logits, y: withDroppedHead(logits, imported.notes) };
      };

      it('gives the output of the same float32 weights run by PyTorch in float64, to 1e-10 (unfolded)', () => {
        const { logits, y } = run();
        expect([...logits.shape]).toEqual(fx.outputFloat64.shape);
        // A default export folds BatchNorm into the convolution in float32, so
        // its weights are PyTorch's only to float32 rounding.
        const tol = fx.exportedWithDefaults ? 1e-6 : 1e-10;
        expectClose(y, fx.outputFloat64.data, { rtol: tol, atol: tol });
      });

      it("gives PyTorch's own (float32) output to 1e-6", () => {
        const { y } = run();
        expectClose(y, fx.output.data, { rtol: 0, atol: 1e-6 });
      });

      it("keeps PyTorch's parameters() order and names", () => {
        const { imported } = run();
        if (fx.exportedWithDefaults) {
          // the exporter folded BatchNorm into the convolution: the note says so
          expect(imported.notes.join('\n')).toMatch(/folded/);
          return;
        }
        expect(imported.parameterNames).toEqual(fx.parameters);
        const shapes = imported.model
          .parameters()
          .flatMap((p) => Object.values(p) as Tensor[])
          .map((t) => [...t.shape]);
        // a Keras-style kernel [in, out] is held as the Linear weight [out, in]
        const expected = fx.parameterShapes.map((s, i) =>
          /kernel$/.test(fx.parameters[i]!) ? [...s].reverse() : s,
        );
        expect(shapes).toEqual(expected);
        expect(imported.model.nParams).toBe(
          fx.parameterShapes.reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0),
        );
      });
    });
  }
});
