/**
 * Quickstart: fit a small MLP to noisy samples of sin x on [−3, 3] and print
 * how well it fits. Run with `npm start`.
 */
import { adam, linspace, randn, Sequential, seededRng, tensor, train } from '../src/index.js';

const n = 120;
const rng = seededRng(0);
const x = linspace(-3, 3, n);
const noise = randn([n], rng);
const y = tensor(Float64Array.from(x.data, (v, i) => Math.sin(v) + 0.1 * noise.data[i]!));

const noiseMeanSquare = noise.data.reduce((s, e) => s + (0.1 * e) ** 2, 0) / n;

const model = Sequential.mlp([1, 32, 32, 1], { activation: 'tanh', seed: 1 });
console.log(`MLP 1 → 32 → 32 → 1 (tanh), ${model.nParams} parameters, ${n} noisy samples of sin x`);

const started = performance.now();
const { losses } = train(model, x, y, {
  loss: 'mse',
  optimizer: adam({ lr: 3e-3 }),
  epochs: 400,
  batchSize: 30,
  seed: 2,
  onProgress: ({ epoch, loss }) => {
    if (epoch % 100 === 0)
      console.log(`  epoch ${String(epoch).padStart(3)}  training MSE ${loss.toFixed(5)}`);
  },
});
console.log(
  `trained in ${((performance.now() - started) / 1000).toFixed(1)} s (final MSE ${losses.at(-1)!.toFixed(5)}; the noise alone has mean square ${noiseMeanSquare.toFixed(5)})`,
);

const grid = linspace(-3, 3, 7);
const pred = model.forward(tensor(grid.data, [7, 1]));
console.log('\n     x    sin x    f(x)');
for (let i = 0; i < 7; i++) {
  const v = grid.data[i]!;
  console.log(
    `${v.toFixed(2).padStart(6)}  ${Math.sin(v).toFixed(4).padStart(7)}  ${pred.data[i]!.toFixed(4).padStart(7)}`,
  );
}
const dense = linspace(-3, 3, 301);
const fit = model.forward(tensor(dense.data, [301, 1])).data;
const rmse = Math.sqrt(fit.reduce((s, f, i) => s + (f - Math.sin(dense.data[i]!)) ** 2, 0) / 301);
console.log(`\nRMSE against the noise-free sin x on 301 points: ${rmse.toFixed(4)}`);
