/** Residual: h(x) = inner(x) + shortcut(x), parameter order, gradients, nested JSON, errors. */
import { describe, expect, test } from 'vitest';
import { add } from '../../src/autodiff/ops.js';
import { ShapeError, ValueError } from '../../src/errors.js';
import { BatchNorm2d } from '../../src/nn/batchnorm.js';
import { Conv2d } from '../../src/nn/conv2d.js';
import { layerFromJSON } from '../../src/nn/json.js';
import { activation } from '../../src/nn/layers.js';
import type { Layer } from '../../src/nn/module.js';
import { Residual } from '../../src/nn/residual.js';
import { randn, type Tensor } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';
import { expectGradientsMatchDifferences, expectJsonRoundTrip } from './layer-checks.js';

/** Layers run one after another with their own parameters. */
const chain = (layers: readonly Layer[], x: Tensor) => layers.reduce((h, l) => l.apply(l.parameters(), h), x);

function basicBlock(seed: number): Residual {
  return new Residual([
    new Conv2d(2, 3, 3, { padding: 1, seed }),
    activation('tanh'),
    new Conv2d(3, 2, 3, { padding: 1, bias: false, seed: seed + 1 }),
  ]);
}

function downsamplingBlock(seed: number): Residual {
  const norm = new BatchNorm2d(4);
  norm.setParameters([randn([4], seed), randn([4], seed + 1)]);
  return new Residual(
    [new Conv2d(2, 4, 3, { padding: 1, stride: 2, seed }), norm, activation('relu')],
    [new Conv2d(2, 4, 1, { stride: 2, seed: seed + 2 })],
  );
}

describe('Residual', () => {
  test('is inner(x) + x with the identity shortcut, inner(x) + shortcut(x) otherwise', () => {
    const x = randn([2, 2, 5, 4], 1);
    const block = basicBlock(3);
    expectClose(block.apply(block.parameters(), x), add(chain(block.inner, x), x), { rtol: 0, atol: 0 });
    const down = downsamplingBlock(5);
    const y = down.apply(down.parameters(), x);
    expectClose(y, add(chain(down.inner, x), chain(down.shortcut!, x)), { rtol: 0, atol: 0 });
    expect([...y.shape]).toEqual([2, 4, 3, 2]);
    expect([...down.outputShape([2, 5, 4])]).toEqual([4, 3, 2]);
  });

  test('parameters are the inner layers’ in order, then the shortcut’s; setParameters hands them back', () => {
    const down = downsamplingBlock(7);
    const expected = [...down.inner, ...down.shortcut!].flatMap((l) => l.parameters());
    expect(down.parameters()).toEqual(expected);
    expect(down.parameters().map((t) => t.shape)).toEqual([[4, 2, 3, 3], [4], [4], [4], [4, 2, 1, 1], [4]]);
    const fresh = down.parameters().map((t, i) => randn(t.shape, 100 + i));
    down.setParameters(fresh);
    expect(down.parameters()).toEqual(fresh);
    expect((down.shortcut![0] as Conv2d).weight).toBe(fresh[4]);
  });

  test('gradients w.r.t. every parameter and the input agree with central differences', () => {
    expectGradientsMatchDifferences(basicBlock(9), randn([2, 2, 4, 3], 2), 3);
    expectGradientsMatchDifferences(downsamplingBlock(11), randn([1, 2, 4, 4], 4), 5);
  });

  test('JSON round trip with nested layers read by layerFromJSON', () => {
    const down = downsamplingBlock(13);
    const json = down.toJSON();
    expect(json['type']).toBe('residual');
    expect((json['inner'] as { type: string }[]).map((l) => l.type)).toEqual([
      'conv2d',
      'batchnorm2d',
      'relu',
    ]);
    expect(basicBlock(1).toJSON()['shortcut']).toBeNull();
    const read = (spec: Record<string, unknown>, what: string) =>
      Residual.fromJSON(spec, what, layerFromJSON);
    expectJsonRoundTrip(down, read, randn([2, 2, 4, 4], 6));
    expectJsonRoundTrip(basicBlock(2), read, randn([1, 2, 3, 3], 7));
    expectJsonRoundTrip(down, (spec, what) => layerFromJSON(spec, what), randn([2, 2, 4, 4], 6));
  });

  test('mismatched branches and bad JSON throw typed errors naming the place', () => {
    const bad = new Residual([new Conv2d(2, 3, 3, { seed: 1 })]);
    expect(() => bad.outputShape([2, 5, 5])).toThrow(ShapeError);
    expect(() => bad.outputShape([2, 5, 5])).toThrow(
      /Residual: the inner layers map \[2, 5, 5\] to \[3, 3, 3\] but the identity shortcut gives \[2, 5, 5\]/,
    );
    expect(() => new Residual([])).toThrow(ValueError);
    const json = basicBlock(1).toJSON();
    expect(() => Residual.fromJSON({ ...json, inner: 'conv' }, 'L', layerFromJSON)).toThrow(
      /L\.inner must be a non-empty array of layers/,
    );
    expect(() =>
      Residual.fromJSON({ ...json, inner: [{ type: 'conv2d', inChannels: 2 }] }, 'L', layerFromJSON),
    ).toThrow(/L\.inner\[0\]\.outChannels must be an integer ≥ 1/);
    expect(() => Residual.fromJSON({ ...json, shortcut: [{ type: 'nope' }] }, 'L', layerFromJSON)).toThrow(
      /L\.shortcut\[0\] has unknown type "nope"/,
    );
  });
});
