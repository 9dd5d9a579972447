/**
 * Graph patterns no fixture holds, on handmade graphs, each checked against
 * the definition of what the ONNX nodes compute, by direct loops.
 */
import { describe, expect, it } from 'vitest';
import { importOnnxWithNotes } from '../../src/onnx/index.js';
import { Tensor } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';
import { gemmModel, modelBytes } from './handmade.js';

const x = new Tensor(Float64Array.of(1, -2, 0.5, 3), [2, 2]);
const W = [1, 2, 3, 4, 5, 6];
/** Gemm(x, W [3, 2], b, transB = 1) with alpha, beta, by the definition α x Wᵀ + β b. */
function gemm(alpha = 1, beta = 1, b = [0.5, -0.5, 0.25]): number[] {
  const out: number[] = [];
  for (let n = 0; n < 2; n++) {
    for (let j = 0; j < 3; j++) {
      out.push(alpha * (x.data[2 * n]! * W[2 * j]! + x.data[2 * n + 1]! * W[2 * j + 1]!) + beta * b[j]!);
    }
  }
  return out;
}
const erf = (z: number): number => {
  // Abramowitz–Stegun 7.1.26 is too coarse; integrate e^{-t²} by Simpson's rule instead
  const steps = 2000;
  const h = z / steps;
  let s = 1 + Math.exp(-z * z);
  for (let i = 1; i < steps; i++) s += (i % 2 === 1 ? 4 : 2) * Math.exp(-((i * h) ** 2));
  return ((2 / Math.sqrt(Math.PI)) * h * s) / 3;
};

describe('patterns', () => {
  it('Gemm with alpha and beta, and a bias of one element broadcast', () => {
    const spec = gemmModel();
    spec.nodes[0]!.attrs = { transB: 1, alpha: { float: 2 }, beta: { float: 0.5 } };
    spec.initializers![1] = { name: 'b', dims: [1], values: [3] };
    const { model, notes } = importOnnxWithNotes(modelBytes(spec));
    expectClose(model.forward(x).data, gemm(2, 0.5, [3, 3, 3]), { rtol: 1e-15, atol: 1e-15 });
    expect(notes.join('\n')).toMatch(/alpha 2 and beta 0.5 folded/);
  });

  it('Gemm with beta = 0 has no bias', () => {
    const spec = gemmModel();
    spec.nodes[0]!.attrs = { transB: 1, beta: { float: 0 } };
    const { model, parameterNames } = importOnnxWithNotes(modelBytes(spec));
    expectClose(model.forward(x).data, gemm(1, 0), { rtol: 1e-15, atol: 1e-15 });
    expect(parameterNames).toEqual(['W']);
  });

  it('Dropout and Identity are skipped; the opset-20 Gelu op is the exact GELU', () => {
    const spec = gemmModel([
      { op: 'Dropout', inputs: ['h'], outputs: ['d'] },
      { op: 'Identity', inputs: ['d'], outputs: ['i'] },
      { op: 'Gelu', inputs: ['i'], outputs: ['y'] },
    ]);
    spec.opset = 20;
    const { model } = importOnnxWithNotes(modelBytes(spec));
    expect(model.layers.map((l) => l.type)).toEqual(['linear', 'gelu']);
    const expected = gemm().map((z) => 0.5 * z * (1 + erf(z / Math.SQRT2)));
    expectClose(model.forward(x).data, expected, { rtol: 1e-9, atol: 1e-12 });
  });

  it('the tanh approximation of Gelu is refused, naming it', () => {
    const spec = gemmModel([{ op: 'Gelu', inputs: ['h'], outputs: ['y'], attrs: { approximate: 'tanh' } }]);
    spec.opset = 20;
    expect(() => importOnnxWithNotes(modelBytes(spec))).toThrow(/approximate='tanh'/);
  });

  it('GELU written with the ½ first, x·½·(1 + erf(x·(1/√2))), is GELU too', () => {
    const spec = gemmModel([
      { op: 'Mul', inputs: ['h', 'invsqrt2'], outputs: ['s'] },
      { op: 'Erf', inputs: ['s'], outputs: ['e'] },
      { op: 'Add', inputs: ['one', 'e'], outputs: ['a'] },
      { op: 'Mul', inputs: ['h', 'half'], outputs: ['m'] },
      { op: 'Mul', inputs: ['m', 'a'], outputs: ['y'] },
    ]);
    spec.initializers!.push(
      { name: 'invsqrt2', dims: [], values: [Math.SQRT1_2] },
      { name: 'one', dims: [], values: [1] },
      { name: 'half', dims: [], values: [0.5] },
    );
    const { model } = importOnnxWithNotes(modelBytes(spec));
    expect(model.layers.map((l) => l.type)).toEqual(['linear', 'gelu']);
  });

  it('a residual Add of a branch and the identity, on vectors', () => {
    // h ↦ tanh(h) + h
    const spec = gemmModel([
      { op: 'Tanh', inputs: ['h'], outputs: ['t'] },
      { op: 'Add', inputs: ['t', 'h'], outputs: ['y'] },
    ]);
    const imported = importOnnxWithNotes(modelBytes(spec));
    expect(imported.model.layers.map((l) => l.type)).toEqual(['linear', 'residual']);
    expectClose(
      imported.model.forward(x).data,
      gemm().map((z) => Math.tanh(z) + z),
      { rtol: 1e-15, atol: 1e-15 },
    );
  });

  const padThen = (op: 'Conv' | 'MaxPool') =>
    modelBytes({
      inputs: [{ name: 'x', dims: ['batch', 1, 3, 3] }],
      outputs: [{ name: 'y', dims: ['batch', 9] }],
      nodes: [
        { op: 'Pad', inputs: ['x', 'pads'], outputs: ['p'] },
        op === 'Conv'
          ? { op: 'Conv', inputs: ['p', 'W'], outputs: ['c'], attrs: { kernel_shape: [3, 3] } }
          : { op: 'MaxPool', inputs: ['p'], outputs: ['c'], attrs: { kernel_shape: [3, 3] } },
        { op: 'Flatten', inputs: ['c'], outputs: ['y'] },
      ],
      initializers: [
        { name: 'pads', dims: [8], values: [0, 0, 1, 1, 0, 0, 1, 1], as: 'int64_data' },
        { name: 'W', dims: [1, 1, 3, 3], values: Array(9).fill(1) },
      ],
    });

  it('a zero Pad before a Conv is its padding: a 3×3 box of ones counts the pixels inside', () => {
    const { model } = importOnnxWithNotes(padThen('Conv'));
    const ones = new Tensor(new Float64Array(9).fill(1), [1, 1, 3, 3]);
    expect(Array.from(model.forward(ones).data)).toEqual([4, 6, 4, 6, 9, 6, 4, 6, 4]);
  });

  it('a zero Pad before a MaxPool is refused (its padding is −∞, not zeros)', () => {
    expect(() => importOnnxWithNotes(padThen('MaxPool'))).toThrow(/right before a Conv or AveragePool/);
  });

  it('ReduceMean over the channels is refused, naming the axes', () => {
    const bytes = modelBytes({
      inputs: [{ name: 'x', dims: ['batch', 2, 3, 3] }],
      outputs: [{ name: 'y', dims: ['batch', 3, 3] }],
      nodes: [{ op: 'ReduceMean', inputs: ['x'], outputs: ['y'], attrs: { axes: [1], keepdims: 0 } }],
    });
    expect(() => importOnnxWithNotes(bytes)).toThrow(/averages over axes \[1\]; only the mean over H and W/);
  });
});
