/** The training loop: an MLP fits sin, a classifier separates classes, steps match θ − lr·∇L. */
import { describe, expect, it } from 'vitest';
import { mul, sum } from '../../src/autodiff/ops.js';
import { ShapeError, ValueError } from '../../src/errors.js';
import { adam, Dropout, Linear, mseLoss, Sequential, sgd, Tanh, train } from '../../src/nn/index.js';
import { linspace, randn, type Tensor, tensor } from '../../src/tensor.js';
import { finiteDifferenceGradient } from '../finite-differences.js';
import { expectClose } from '../helpers.js';

describe('train', () => {
  it('fits sin on [−3, 3] to within 0.03 everywhere, between the training points too', () => {
    const x = linspace(-3, 3, 100);
    const y = tensor(Float64Array.from(x.data, Math.sin));
    const model = Sequential.mlp([1, 32, 32, 1], { activation: 'tanh', seed: 0 });
    const { losses } = train(model, x, y, {
      loss: 'mse',
      optimizer: adam({ lr: 1e-2 }),
      epochs: 300,
      batchSize: 25,
      seed: 1,
    });
    expect(losses).toHaveLength(300);
    expect(losses[0]!).toBeGreaterThan(0.05);
    expect(losses[299]!).toBeLessThan(1e-3);
    const grid = linspace(-3, 3, 601);
    const pred = model.forward(tensor(grid.data, [601, 1]));
    let worst = 0;
    for (let i = 0; i < 601; i++) worst = Math.max(worst, Math.abs(pred.data[i]! - Math.sin(grid.data[i]!)));
    expect(worst).toBeLessThan(0.03);
  });

  it('trains a classifier with cross-entropy to separate two Gaussian blobs', () => {
    const n = 60;
    const noise = randn([n, 2], 5).data;
    const X = new Float64Array(n * 2);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = i % 2;
      const centre = labels[i] === 1 ? 1.5 : -1.5;
      X[2 * i] = centre + 0.5 * noise[2 * i]!;
      X[2 * i + 1] = -centre + 0.5 * noise[2 * i + 1]!;
    }
    const model = Sequential.mlp([2, 8, 2], { activation: 'relu', seed: 2 });
    const { losses } = train(model, tensor(X, [n, 2]), labels, {
      loss: 'crossEntropy',
      optimizer: adam({ lr: 0.05 }),
      epochs: 60,
      batchSize: 16,
      seed: 3,
    });
    expect(losses[59]!).toBeLessThan(0.05);
    const logits = model.forward(tensor(X, [n, 2])).toArray() as number[][];
    const predicted = logits.map((row) => (row[1]! > row[0]! ? 1 : 0));
    expect(predicted).toEqual([...labels]);
  });

  it('one full-batch SGD epoch is θ − lr·∇L, with ∇L from central differences', () => {
    const model = Sequential.mlp([2, 3, 2], { activation: 'sigmoid', seed: 4 });
    const X = randn([5, 2], 6);
    const Y = randn([5, 2], 7);
    const theta0 = model.flatParameters();
    const loss = (theta: Float64Array) => {
      const probe = Sequential.mlp([2, 3, 2], { activation: 'sigmoid', seed: 4 });
      probe.setFlatParameters(theta);
      return mseLoss(probe.forward(X), Y).item();
    };
    const { losses } = train(model, X, Y, { loss: 'mse', optimizer: sgd({ lr: 0.3 }), epochs: 1, seed: 0 });
    // The reported loss is the loss before the step.
    expect(losses[0]).toBeCloseTo(loss(theta0), 14);
    const expected = theta0.map((t, i) => t - 0.3 * finiteDifferenceGradient(loss, theta0)[i]!);
    expectClose(model.flatParameters(), expected, { rtol: 1e-8, atol: 1e-10 });
  });

  it('weightDecay λ shrinks θ by (1 − lr·λ) per step when the data gradient is zero', () => {
    const model = Sequential.mlp([1, 4, 1], { seed: 8 });
    const theta0 = model.flatParameters();
    const zeroLoss = (pred: Tensor) => mul(sum(pred), 0);
    train(model, [[1], [2], [3], [4]], [0, 0, 0, 0], {
      loss: zeroLoss,
      optimizer: sgd({ lr: 0.1 }),
      weightDecay: 0.5,
      epochs: 3,
      batchSize: 2,
      seed: 0,
    });
    expectClose(
      model.flatParameters(),
      theta0.map((t) => t * 0.95 ** 6),
      { rtol: 1e-14 },
    );
  });

  it('per-tensor weightDecay shrinks each parameter tensor by its own (1 − lr·λ)', () => {
    const model = Sequential.mlp([1, 4, 1], { seed: 8 });
    const theta0 = model.flatParameters();
    const decays = [0.5, 0, 1, 2];
    train(model, [[1], [2]], [0, 0], {
      loss: (pred: Tensor) => mul(sum(pred), 0),
      optimizer: sgd({ lr: 0.1 }),
      weightDecay: decays,
      epochs: 2,
      seed: 0,
    });
    // PyTorch order: W₁ (4), b₁ (4), W₂ (4), b₂ (1).
    const tensorOf = (i: number) => (i < 4 ? 0 : i < 8 ? 1 : i < 12 ? 2 : 3);
    expectClose(
      model.flatParameters(),
      theta0.map((t, i) => t * (1 - 0.1 * decays[tensorOf(i)]!) ** 2),
      { rtol: 1e-14 },
    );
    expect(() => train(model, [[1]], [0], { loss: 'mse', weightDecay: [1, 2], epochs: 1, seed: 0 })).toThrow(
      /weightDecay has 2 values but the model has 4 parameter tensors/,
    );
  });

  it('is reproducible from its seed, reports progress every epoch, and shuffles only when asked', () => {
    const X = randn([20, 3], 1);
    const Y = randn([20, 1], 2);
    const run = (seed: number, shuffle = true) => {
      const model = Sequential.mlp([3, 5, 1], { seed: 0 });
      const seen: number[] = [];
      const { losses } = train(model, X, Y, {
        loss: 'mse',
        optimizer: sgd({ lr: 0.05, momentum: 0.9 }),
        epochs: 4,
        batchSize: 6,
        seed,
        shuffle,
        onProgress: ({ epoch, loss }) => {
          seen.push(epoch);
          expect(Number.isFinite(loss)).toBe(true);
        },
      });
      expect(seen).toEqual([1, 2, 3, 4]);
      return [...losses, ...model.flatParameters()];
    };
    expect(run(11)).toEqual(run(11));
    expect(run(11)).not.toEqual(run(12));
    expect(run(11, false)).toEqual(run(12, false));
  });

  it('updates the model after every epoch, so onProgress can evaluate it', () => {
    const model = Sequential.mlp([1, 4, 1], { seed: 3 });
    const snapshots: Float64Array[] = [model.flatParameters()];
    train(model, [[0], [1]], [1, -1], {
      loss: 'mse',
      optimizer: sgd({ lr: 0.1 }),
      epochs: 3,
      seed: 0,
      onProgress: () => snapshots.push(model.flatParameters()),
    });
    for (let e = 1; e <= 3; e++) expect(snapshots[e]).not.toEqual(snapshots[e - 1]);
    expect(snapshots[3]).toEqual(model.flatParameters());
  });

  describe('bad input', () => {
    const model = Sequential.mlp([2, 3, 2], { seed: 0 });
    const X = randn([4, 2], 0);
    const base = { loss: 'mse' as const, epochs: 1, seed: 0 };
    it('names mismatched rows, shapes and labels', () => {
      expect(() => train(model, X, randn([3, 2], 0), base)).toThrow(/train: X has 4 rows but y is \[3, 2\]/);
      expect(() => train(model, X, randn([4, 3], 0), base)).toThrow(ShapeError);
      expect(() => train(model, randn([4, 3], 0), randn([4, 2], 0), base)).toThrow(
        /train: X is \[4, 3\], expected \[n, 2\]/,
      );
      expect(() => train(model, X, [0, 1, 2, 1], { ...base, loss: 'crossEntropy' })).toThrow(
        /train: label 2 is 2, expected an integer in 0..1/,
      );
      expect(() => train(model, X, [0, 1, 1], { ...base, loss: 'crossEntropy' })).toThrow(
        /3 labels for 4 rows/,
      );
    });
    it('rejects non-finite data and bad options', () => {
      const bad = X.data.slice();
      bad[3] = Number.POSITIVE_INFINITY;
      expect(() => train(model, tensor(bad, [4, 2]), randn([4, 2], 0), base)).toThrow(
        /train: X has a non-finite value Infinity at index 3/,
      );
      expect(() => train(model, X, randn([4, 2], 0), { ...base, epochs: -1 })).toThrow(ValueError);
      expect(() => train(model, X, randn([4, 2], 0), { ...base, batchSize: 0 })).toThrow(/batchSize/);
      expect(() => train(model, X, randn([4, 2], 0), { ...base, loss: 'hinge' as 'mse' })).toThrow(
        /loss must be 'mse', 'crossEntropy' or a function/,
      );
    });
    it('stops with a clear error when the loss diverges', () => {
      expect(() =>
        train(Sequential.mlp([2, 3, 2], { seed: 0 }), X, randn([4, 2], 1), {
          ...base,
          epochs: 50,
          optimizer: sgd({ lr: 1e200 }),
        }),
      ).toThrow(/train: the loss became (Infinity|NaN) in epoch \d+/);
    });
  });
});

describe('train with noisy layers', () => {
  const data = () => {
    const X = Array.from({ length: 24 }, (_, i) => [Math.sin(i), Math.cos(i)]);
    return { X, y: X.map(([a, b]) => [a! * b!]) };
  };
  const net = (p: number) =>
    new Sequential([
      new Linear(2, 8, { seed: 0 }),
      new Tanh(),
      new Dropout(p),
      new Linear(8, 1, { seed: 1 }),
    ]);

  it('Dropout drops in training (seeded, reproducible) and is the identity at prediction', () => {
    const { X, y } = data();
    const run = (p: number) =>
      train(net(p), X, y, { loss: 'mse', epochs: 3, optimizer: adam({ lr: 0.01 }), seed: 5 }).losses;
    expect(run(0.5)).toEqual(run(0.5));
    expect(run(0.5)).not.toEqual(run(0));
    const model = net(0.5);
    expect(model.forward(X).data).toEqual(net(0).forward(X).data);
  });
});
