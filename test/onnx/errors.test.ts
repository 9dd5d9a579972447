/**
 * What cannot be imported fails with a typed error that says what and where,
 * and nothing is returned: damaged bytes, a truncated file, an unsupported
 * op, a graph with two inputs, opsets out of range, weights in every storage.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { LaplaceTsError } from '../../src/errors.js';
import {
  importOnnx,
  importOnnxWithNotes,
  ONNX_MAX_OPSET,
  ONNX_MIN_OPSET,
  OnnxError,
} from '../../src/onnx/index.js';
import { Tensor } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';
import { loadFixtures } from './fixtures.js';
import { gemmModel, modelBytes, type TensorSpec } from './handmade.js';

const fixtures = loadFixtures();
const x = new Tensor(Float64Array.of(1, -2, 0.5, 3), [2, 2]);
/** Gemm(x, W, b) of gemmModel by the definition: y = x Wᵀ + b. */
const expectedGemm = [1 * 1 - 2 * 2 + 0.5, 1 * 3 - 2 * 4 - 0.5, 1 * 5 - 2 * 6 + 0.25].concat([
  0.5 * 1 + 3 * 2 + 0.5,
  0.5 * 3 + 3 * 4 - 0.5,
  0.5 * 5 + 3 * 6 + 0.25,
]);

describe('damaged files', () => {
  const mlp = fixtures.find((f) => f.name === 'mlp')!;

  it('every strict prefix of a file is an OnnxError', () => {
    for (let n = 0; n < mlp.bytes.length; n++) {
      expect(() => importOnnx(mlp.bytes.subarray(0, n)), `prefix of ${n} bytes`).toThrow(OnnxError);
    }
  });

  test.prop([
    fc.constantFrom(...fixtures.map((f) => f.name)),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
  ])(
    'changed bytes give a typed error or a working model, never a TypeError or RangeError',
    (name, edits) => {
      const fx = fixtures.find((f) => f.name === name)!;
      const bytes = Uint8Array.from(fx.bytes);
      for (const [at, value] of edits) bytes[at % bytes.length] = value;
      let model: ReturnType<typeof importOnnx>;
      try {
        model = importOnnx(bytes);
      } catch (error) {
        expect(error).toBeInstanceOf(LaplaceTsError);
        return;
      }
      try {
        model.forward(new Tensor(Float64Array.from(fx.input.data), fx.input.shape));
      } catch (error) {
        expect(error).toBeInstanceOf(LaplaceTsError);
      }
    },
  );

  test.prop([fc.uint8Array({ minLength: 1, maxLength: 200 })])('random bytes are an OnnxError', (bytes) => {
    expect(() => importOnnx(bytes)).toThrow(OnnxError);
  });

  it('an empty file, or not bytes at all', () => {
    expect(() => importOnnx(new Uint8Array(0))).toThrow(/empty/);
    expect(() => importOnnx('net.onnx' as unknown as Uint8Array)).toThrow(/Uint8Array/);
  });
});

describe('graphs that are not a supported network', () => {
  it('an unsupported op names the node, its op type and the supported ops', () => {
    const spec = gemmModel([{ op: 'Cos', inputs: ['h'], outputs: ['y'], name: 'my_cos' }]);
    expect(() => importOnnx(modelBytes(spec))).toThrow(
      /node 'my_cos' \(Cos\) is not supported; supported ops: Gemm/,
    );
  });

  it('a graph with two inputs', () => {
    const spec = gemmModel([{ op: 'Add', inputs: ['h', 'z'], outputs: ['y'] }]);
    spec.inputs.push({ name: 'z', dims: ['batch', 3] });
    expect(() => importOnnx(modelBytes(spec))).toThrow(/the graph has 2 inputs \('x', 'z'\)/);
  });

  it('opsets outside the supported range', () => {
    for (const opset of [ONNX_MIN_OPSET - 1, ONNX_MAX_OPSET + 1]) {
      expect(() => importOnnx(modelBytes(gemmModel([], { opset })))).toThrow(
        new RegExp(`opset ${opset} is not supported`),
      );
    }
    expect(() => importOnnx(modelBytes(gemmModel([], { opset: ONNX_MAX_OPSET })))).not.toThrow();
  });

  it('a Softmax that is not last', () => {
    const spec = gemmModel([
      { op: 'Softmax', inputs: ['h'], outputs: ['p'] },
      { op: 'Relu', inputs: ['p'], outputs: ['y'] },
    ]);
    expect(() => importOnnx(modelBytes(spec))).toThrow(/Softmax is only supported at the end/);
  });

  it('Gemm with transA, which would mix the examples', () => {
    const spec = gemmModel();
    spec.nodes[0]!.attrs = { transA: 1, transB: 1 };
    expect(() => importOnnx(modelBytes(spec))).toThrow(/transA = 1/);
  });

  it('a fork whose branches do not meet at an Add', () => {
    const spec = gemmModel([
      { op: 'Relu', inputs: ['h'], outputs: ['a'] },
      { op: 'Tanh', inputs: ['h'], outputs: ['c'] },
      { op: 'Mul', inputs: ['a', 'c'], outputs: ['y'] },
    ]);
    expect(() => importOnnx(modelBytes(spec))).toThrow(/meet at node 'Mul_3' \(Mul\), not an Add/);
  });

  it('a dynamic size after the batch', () => {
    const spec = gemmModel();
    spec.inputs[0]!.dims = ['batch', 'features'];
    expect(() => importOnnx(modelBytes(spec))).toThrow(/dynamic shapes cannot be resolved/);
  });

  it('weights computed in the graph rather than stored', () => {
    const spec = gemmModel();
    spec.nodes[0]!.inputs = ['x', 'x', 'b'];
    expect(() => importOnnx(modelBytes(spec))).toThrow(/weight B 'x' is computed in the graph/);
  });

  it('a non-finite weight', () => {
    const spec = gemmModel();
    spec.initializers![0]!.values[3] = Number.NaN;
    expect(() => importOnnx(modelBytes(spec))).toThrow(/non-finite value NaN at index 3/);
  });

  it('weights whose byte count does not match their dims', () => {
    const spec = gemmModel();
    spec.initializers![0]!.values.pop();
    expect(() => importOnnx(modelBytes(spec))).toThrow(
      /20 bytes of raw data, but dims \[3, 2\] of FLOAT need 24/,
    );
  });
});

describe('weights in every storage', () => {
  for (const as of ['raw-float', 'raw-double', 'float_data', 'double_data'] as TensorSpec['as'][]) {
    it(`${as}: the Gemm computes x Wᵀ + b`, () => {
      const { model } = importOnnxWithNotes(modelBytes(gemmModel([], { weightAs: as })));
      expectClose(model.forward(x).data, expectedGemm, { rtol: 1e-15, atol: 1e-15 });
    });
  }

  it('Reshape to [-1, features] (tf2onnx) is a flatten; to [features, -1] it is refused', () => {
    const spec = gemmModel([{ op: 'Reshape', inputs: ['h', 'shape'], outputs: ['y'] }]);
    spec.initializers!.push({ name: 'shape', dims: [2], values: [-1, 3], as: 'int64_data' });
    expectClose(importOnnx(modelBytes(spec)).forward(x).data, expectedGemm, { rtol: 1e-15, atol: 1e-15 });
    spec.initializers![2]!.values = [3, -1];
    expect(() => importOnnx(modelBytes(spec))).toThrow(/reshapes one example of shape \[3\] to \[3, -1\]/);
  });

  it('Reshape to [N, -1] with the target stored as int64_data or raw int64 is a flatten', () => {
    for (const as of ['int64_data', 'raw-int64'] as const) {
      const spec = gemmModel([{ op: 'Reshape', inputs: ['h', 'shape'], outputs: ['y'] }]);
      spec.initializers!.push({ name: 'shape', dims: [2], values: [0, -1], as });
      const { model } = importOnnxWithNotes(modelBytes(spec));
      expectClose(model.forward(x).data, expectedGemm, { rtol: 1e-15, atol: 1e-15 });
    }
  });

  it('MatMul then Add is a Linear with the transposed weight', () => {
    const spec = gemmModel();
    spec.nodes = [
      { op: 'MatMul', inputs: ['x', 'K'], outputs: ['m'] },
      { op: 'Add', inputs: ['b', 'm'], outputs: ['h'] },
    ];
    spec.initializers![0] = { name: 'K', dims: [2, 3], values: [1, 3, 5, 2, 4, 6] };
    const imported = importOnnxWithNotes(modelBytes(spec));
    expectClose(imported.model.forward(x).data, expectedGemm, { rtol: 1e-15, atol: 1e-15 });
    expect(imported.parameterNames).toEqual(['K', 'b']);
    expect(imported.notes.join('\n')).toMatch(/'K' is \[in, out\], stored transposed/);
  });
});
