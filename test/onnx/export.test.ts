/** exportOnnx: import(export(m)) is m, bit for bit, and the file is the ONNX that PyTorch writes. */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  AdaptiveAvgPool2d,
  AvgPool2d,
  activation,
  BatchNorm1d,
  BatchNorm2d,
  Conv2d,
  Dropout,
  Flatten,
  type Layer,
  Linear,
  MaxPool2d,
  Residual,
  Sequential,
} from '../../src/nn/index.js';
import { exportOnnx, importOnnxWithNotes, OnnxError } from '../../src/onnx/index.js';
import { decodeModel } from '../../src/onnx/model.js';
import { rand, randn } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';
import { loadFixtures } from './fixtures.js';
import { onnxruntime, runOnnxruntime } from './onnxruntime.js';

const ACTIVATIONS = ['tanh', 'relu', 'sigmoid', 'softplus', 'gelu', 'leakyrelu', 'elu', 'identity'] as const;

/** A random MLP: widths, an activation after each hidden layer (random slope/alpha), some layers without bias. */
const mlp = fc
  .record({
    widths: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 2, maxLength: 5 }),
    activations: fc.array(fc.constantFrom(...ACTIVATIONS), { minLength: 4, maxLength: 4 }),
    slope: fc.double({ min: -2, max: 2, noNaN: true }),
    bias: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
    seed: fc.nat(),
  })
  .map(({ widths, activations, slope, bias, seed }) => {
    const layers = [];
    for (let i = 0; i + 1 < widths.length; i++) {
      if (i > 0) layers.push(activation(activations[i]!, { negativeSlope: slope, alpha: Math.abs(slope) }));
      layers.push(new Linear(widths[i]!, widths[i + 1]!, { bias: bias[i]!, seed: seed + i }));
    }
    return { model: new Sequential(layers), seed };
  });

/** BatchNorm with running statistics and affine parameters away from their initial 0 and 1. */
function batchNorm(kind: 1 | 2, c: number, seed: number): Layer {
  const layer = kind === 1 ? new BatchNorm1d(c, { eps: 1e-3 }) : new BatchNorm2d(c);
  layer.setParameters([rand([c], seed, 0.5, 1.5), rand([c], seed + 1, -0.3, 0.3)]);
  layer.setRunningStats(rand([c], seed + 2, -0.5, 0.5), rand([c], seed + 3, 0.5, 2));
  return layer;
}

/**
 * A small CNN with every exportable layer: a convolution (padding, stride,
 * groups, with and without bias), pools, BatchNorm, a residual block holding
 * another, dropout, flatten, then an MLP head with BatchNorm1d.
 */
const cnn = fc
  .record({
    channels: fc.integer({ min: 1, max: 3 }),
    size: fc.integer({ min: 6, max: 9 }),
    kernel: fc.integer({ min: 1, max: 3 }),
    stride: fc.integer({ min: 1, max: 2 }),
    identityShortcut: fc.boolean(),
    seed: fc.nat({ max: 1_000_000 }),
  })
  .map(({ channels, size, kernel, stride, identityShortcut, seed }) => {
    const c = 2 * channels;
    const inner: Layer[] = [
      new Conv2d(c, c, 3, { padding: 1, groups: 2, seed: seed + 1 }),
      batchNorm(2, c, seed + 2),
      activation('relu'),
      new Residual([new Conv2d(c, c, 1, { bias: false, seed: seed + 3 }), activation('tanh')]),
    ];
    const shortcut = identityShortcut ? null : [new Conv2d(c, c, 1, { seed: seed + 4 })];
    const layers: Layer[] = [
      new Conv2d(channels, c, kernel, { padding: kernel >> 1, stride, seed }),
      activation('gelu'),
      new Residual(inner, shortcut),
      new MaxPool2d(2, { stride: 1, padding: 1 }),
      new AvgPool2d(2, { padding: 1 }),
      new Dropout(0.3),
      new AdaptiveAvgPool2d(1),
      new Flatten(),
      new Linear(c, 5, { seed: seed + 5 }),
      batchNorm(1, 5, seed + 6),
      activation('leakyrelu'),
      new Linear(5, 3, { seed: seed + 7 }),
    ];
    return { model: new Sequential(layers, { inputShape: [channels, size, size] }), seed };
  });

function bitsEqual(a: Float64Array, b: Float64Array): boolean {
  return a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
}

describe('exportOnnx', () => {
  test.prop([mlp])(
    'import(export(m)) computes bitwise the same outputs, with the same parameters',
    ({ model, seed }) => {
      const back = importOnnxWithNotes(exportOnnx(model));
      const x = randn([3, model.inFeatures], seed);
      expect(bitsEqual(back.model.forward(x).data, model.forward(x).data)).toBe(true);
      expect(bitsEqual(back.model.flatParameters(), model.flatParameters())).toBe(true);
      expect(back.model.layers.map((l) => l.type)).toEqual(
        model.layers.map((l) => l.type).filter((n) => n !== 'identity'),
      );
    },
  );

  test.prop([cnn], { numRuns: 15 })(
    'convolutions, pools, BatchNorm and nested residual blocks: import(export(m)) is m, bit for bit',
    ({ model, seed }) => {
      const back = importOnnxWithNotes(exportOnnx(model));
      const x = randn([2, ...model.inputShape], seed);
      expect(back.inputShape).toEqual([...model.inputShape]);
      expect(bitsEqual(back.model.forward(x).data, model.forward(x).data)).toBe(true);
      expect(bitsEqual(back.model.flatParameters(), model.flatParameters())).toBe(true);
      expect(back.model.layers.map((l) => l.type)).toEqual(
        model.layers.map((l) => l.type).filter((t) => t !== 'dropout'),
      );
    },
  );

  test.prop([mlp])('float32 export holds the weights rounded to float32', ({ model }) => {
    const back = importOnnxWithNotes(exportOnnx(model, { dtype: 'float32' }));
    expect(Array.from(back.model.flatParameters())).toEqual(Array.from(model.flatParameters(), Math.fround));
  });

  it("names parameters as PyTorch's nn.Sequential does", () => {
    const model = Sequential.mlp([2, 4, 3], { seed: 1 });
    const { parameterNames } = importOnnxWithNotes(exportOnnx(model));
    expect(parameterNames).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
  });

  it('writes a model of opset 13 with one input and one output of the network’s shapes', () => {
    const model = Sequential.mlp([5, 4, 3], { seed: 2 });
    const decoded = decodeModel(exportOnnx(model, { inputName: 'features', outputName: 'logits' }));
    expect(decoded.opsetImport).toEqual([{ domain: '', version: 13 }]);
    expect(decoded.graph.inputs.map((v) => [v.name, v.shape])).toEqual([['features', ['batch', 5]]]);
    expect(decoded.graph.outputs.map((v) => [v.name, v.shape])).toEqual([['logits', ['batch', 3]]]);
    expect(decoded.graph.nodes.map((n) => n.opType)).toEqual(['Gemm', 'Tanh', 'Gemm']);
  });

  it('exports the networks imported from the PyTorch fixtures back to the same network', () => {
    for (const fx of loadFixtures()) {
      const imported = importOnnxWithNotes(fx.bytes);
      const back = importOnnxWithNotes(exportOnnx(imported.model));
      const x = randn([2, ...imported.inputShape], 3);
      expect(bitsEqual(back.model.forward(x).data, imported.model.forward(x).data), fx.name).toBe(true);
    }
  });

  it('refuses an unknown dtype', () => {
    const model = Sequential.mlp([2, 2], { seed: 3 });
    expect(() => exportOnnx(model, { dtype: 'float16' as 'float32' })).toThrow(OnnxError);
  });
});

describe.skipIf(onnxruntime === null)('exportOnnx and onnxruntime', () => {
  test.prop([cnn], { numRuns: 5 })(
    'onnxruntime runs the float32 export of such a CNN and gives its outputs',
    async ({ model, seed }) => {
      const x = randn([2, ...model.inputShape], seed);
      const reference = await runOnnxruntime(exportOnnx(model, { dtype: 'float32' }), x, 'float32');
      expect(reference.shape).toEqual([2, 3]);
      expectClose(reference.data, model.forward(x).data, { rtol: 1e-4, atol: 1e-4 });
    },
  );
});
