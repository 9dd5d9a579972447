/**
 * A Sequential CNN end to end, with every new layer type: the forward pass
 * equals the layers chained by hand, the JSON form survives a round trip
 * through text, the flat parameter vector is PyTorch's order, a few training
 * steps lower the loss, and the gradient of the whole network agrees with
 * central differences in a random direction.
 */
import { describe, expect, test } from 'vitest';
import { mul, sum } from '../../src/autodiff/ops.js';
import { grad } from '../../src/autodiff/transforms.js';
import {
  AdaptiveAvgPool2d,
  AvgPool2d,
  activation,
  adam,
  BatchNorm2d,
  Conv2d,
  Dropout,
  Flatten,
  LayerNorm,
  Linear,
  MaxPool2d,
  Residual,
  Sequential,
  type SequentialJSON,
  train,
} from '../../src/nn/index.js';
import { rand, randn, Tensor } from '../../src/tensor.js';
import { expectClose } from '../helpers.js';

function smallCnn(seed: number): Sequential {
  const norm = new BatchNorm2d(4);
  norm.setRunningStats(randn([4], seed), rand([4], seed + 1, 0.5, 1.5));
  return new Sequential(
    [
      new Conv2d(1, 4, 3, { padding: 1, seed }),
      norm,
      activation('relu'),
      new Residual([new Conv2d(4, 4, 3, { padding: 1, seed: seed + 2 }), activation('tanh')]),
      new MaxPool2d(2),
      new AvgPool2d(2, { stride: 1 }),
      new Residual(
        [new Conv2d(4, 6, 1, { seed: seed + 3 })],
        [new Conv2d(4, 6, 1, { bias: false, seed: seed + 4 })],
      ),
      new AdaptiveAvgPool2d(1),
      new Flatten(),
      new LayerNorm(6),
      new Dropout(0.1),
      new Linear(6, 3, { seed: seed + 5 }),
    ],
    { inputShape: [1, 8, 8] },
  );
}

describe('a Sequential CNN', () => {
  test('forward equals the layers chained by hand; shapes follow outputShape', () => {
    const model = smallCnn(1);
    expect([...model.outputShape]).toEqual([3]);
    const x = randn([5, 1, 8, 8], 2);
    const chained = model.layers.reduce((h, layer) => layer.apply(layer.parameters(), h), x);
    expectClose(model.forward(x), chained, { rtol: 0, atol: 0 });
    // Rows of flattened images are accepted too.
    expectClose(model.forward(new Tensor(x.data, [5, 64])), chained, { rtol: 0, atol: 0 });
  });

  test('a ReLU before a MaxPool2d, which apply runs after it, gives the values and gradients of the layers in order', () => {
    const model = new Sequential(
      [
        new Conv2d(2, 3, 3, { seed: 12 }),
        activation('relu'),
        new MaxPool2d(2, { stride: 1 }),
        new Flatten(),
        new Linear(48, 2, { seed: 13 }),
      ],
      { inputShape: [2, 7, 7] },
    );
    // Shifted down so that some windows have a maximum ≤ 0 (relu′ = 0 there).
    const x = new Tensor(
      randn([3, 2, 7, 7], 14).data.map((v) => v - 0.5),
      [3, 2, 7, 7],
    );
    const r = randn([3, 2], 15);
    const inOrder = (params: Tensor[][]) =>
      model.layers.reduce((h, layer, i) => layer.apply(params[i]!, h), x);
    // Max pooling runs first after relu only (Math.tanh carries no guarantee of monotonicity).
    const pool = model.layers[2] as MaxPool2d;
    expect(pool.runsBefore(model.layers[1]!)).toBe(true);
    expect(pool.runsBefore(activation('tanh'))).toBe(false);
    expect(pool.runsBefore(model.layers[0]!)).toBe(false);
    const params = model.parameters();
    expectClose(model.apply(params, x), inOrder(params), { rtol: 0, atol: 0 });
    const g = grad((ps: Tensor[][]) => sum(mul(model.apply(ps, x), r)))(params);
    const expected = grad((ps: Tensor[][]) => sum(mul(inOrder(ps), r)))(params);
    for (let i = 0; i < g.length; i++)
      for (let j = 0; j < g[i]!.length; j++) expectClose(g[i]![j]!, expected[i]![j]!, { rtol: 0, atol: 0 });
  });

  test('the JSON form survives text and rebuilds the same function', () => {
    const model = smallCnn(3);
    const text = JSON.stringify(model.toJSON());
    const back = Sequential.fromJSON(JSON.parse(text) as SequentialJSON);
    expect(JSON.stringify(back.toJSON())).toBe(text);
    const x = randn([3, 1, 8, 8], 4);
    expectClose(back.forward(x), model.forward(x), { rtol: 0, atol: 0 });
    expect(back.layers.map((l) => l.type)).toEqual(model.layers.map((l) => l.type));
  });

  test('the gradient of the network agrees with central differences in a random direction', () => {
    const model = smallCnn(5);
    const x = randn([2, 1, 8, 8], 6);
    const r = randn([2, 3], 7);
    const loss = (params: Tensor[][]) => sum(mul(model.apply(params, x), r));
    const params = model.parameters();
    const g = grad(loss)(params);
    const v = params.map((ps) => ps.map((p) => randn(p.shape, 8 + p.size)));
    const shift = (h: number) =>
      params.map((ps, i) =>
        ps.map(
          (p, j) =>
            new Tensor(
              p.data.map((q, k) => q + h * v[i]![j]!.data[k]!),
              p.shape,
            ),
        ),
      );
    const h = 1e-6;
    const fd = (loss(shift(h)).data[0]! - loss(shift(-h)).data[0]!) / (2 * h);
    let directional = 0;
    for (let i = 0; i < g.length; i++)
      for (let j = 0; j < g[i]!.length; j++)
        for (let k = 0; k < g[i]![j]!.size; k++) directional += g[i]![j]!.data[k]! * v[i]![j]!.data[k]!;
    expect(Math.abs(directional - fd)).toBeLessThan(1e-6 * (1 + Math.abs(fd)));
  });

  test('a few steps of train lower the cross-entropy', () => {
    const model = smallCnn(9);
    // Three classes of images that differ in brightness: class c is noise + 1.5·(c − 1).
    const labels = Array.from({ length: 24 }, (_, i) => i % 3);
    const noise = randn([24, 1, 8, 8], 10);
    const x = new Tensor(
      noise.data.map((v, k) => v + 1.5 * (labels[Math.floor(k / 64)]! - 1)),
      noise.shape,
    );
    const { losses } = train(model, x, labels, {
      loss: 'crossEntropy',
      optimizer: adam({ lr: 0.01 }),
      epochs: 20,
      batchSize: 8,
      seed: 11,
    });
    expect(losses[losses.length - 1]!).toBeLessThan(0.5 * losses[0]!);
  });
});
