/**
 * Network training benchmark: one epoch of Adam on an MSE loss for the MLP
 * 1→50→tanh→50→tanh→1 over 1,000 inputs, full-batch (one step) and with
 * minibatches of 50 (20 steps): our `train` vs the same loop in
 * @tensorflow/tfjs (cpu backend, `optimizer.minimize`) in the same process.
 */
import * as tf from '@tensorflow/tfjs';
import { adam, Sequential, train } from '../src/nn/index.js';
import { linspace, tensor } from '../src/tensor.js';
import { measure } from './harness.js';

export async function run(): Promise<void> {
  await tf.setBackend('cpu');
  const n = 1000;
  const x = linspace(-3, 3, n);
  const y = tensor(Float64Array.from(x.data, Math.sin));
  const X = tensor(x.data, [n, 1]);

  const model = Sequential.mlp([1, 50, 50, 1], { activation: 'tanh', seed: 0 });
  const optimizer = adam({ lr: 1e-3 });
  const ours = (batchSize: number) => () =>
    train(model, X, y, { loss: 'mse', optimizer, epochs: 1, batchSize, seed: 0 });

  const tfModel = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [1], units: 50, activation: 'tanh' }),
      tf.layers.dense({ units: 50, activation: 'tanh' }),
      tf.layers.dense({ units: 1 }),
    ],
  });
  const tfOptimizer = tf.train.adam(1e-3);
  const tfX = tf.tensor2d(Float32Array.from(x.data), [n, 1]);
  const tfY = tf.tensor2d(Float32Array.from(y.data), [n, 1]);
  const theirs = (batchSize: number) => () => {
    for (let start = 0; start < n; start += batchSize) {
      const size = Math.min(batchSize, n - start);
      tf.tidy(() => {
        const xb = tfX.slice([start, 0], [size, 1]);
        const yb = tfY.slice([start, 0], [size, 1]);
        tfOptimizer.minimize(
          () => tf.losses.meanSquaredError(yb, tfModel.predict(xb) as tf.Tensor) as tf.Scalar,
        );
      });
    }
  };

  for (const [label, batchSize] of [
    ['full batch (1 step)', n],
    ['batches of 50 (20 steps)', 50],
  ] as const) {
    await measure(
      `MLP training, 1→50→tanh→50→tanh→1 on 1,000 inputs, one epoch of Adam, ${label}`,
      [
        { name: 'tfjs-cpu optimizer.minimize', fn: theirs(batchSize) },
        { name: 'laplace-ts train', fn: ours(batchSize) },
      ],
      { baseline: 'tfjs-cpu optimizer.minimize' },
    );
  }
}
