/**
 * The model file of the playground's image page (playground/images-model.json):
 * a small CNN trained on the Fashion-MNIST subset shipped in data/ (3,000
 * images), its Kronecker-factored Laplace posterior over all weights with the
 * prior precision tuned by the evidence, and one test image per class for the
 * page to offer. Seeded: rerunning writes the same file.
 *
 *   npx tsx scripts/make-images-model.ts
 */
import { writeFileSync } from 'node:fs';
import { FASHION_MNIST_CLASSES, loadFashionMnist } from '../demo/images-data.js';
import { resolveArchitecture } from '../src/data/arch.js';
import { networkFromArchitecture } from '../src/data/arch-network.js';
import { laplace } from '../src/laplace/laplace.js';
import { weightDecay } from '../src/laplace/pipeline.js';
import { adam, train } from '../src/nn/index.js';
import { Tensor } from '../src/tensor.js';

export const IMAGES_MODEL_ARCHITECTURE =
  'conv(8,5,stride=2),relu,maxpool(2),conv(16,3),relu,maxpool(2),flatten,linear(10)';

const data = loadFashionMnist({ source: 'subset' });
const { train: trainSet, test } = data;
const n = trainSet.shape[0];
const X = new Tensor(trainSet.images, [n, 784]);
const model = networkFromArchitecture(resolveArchitecture(IMAGES_MODEL_ARCHITECTURE, [1, 28, 28]), {
  seed: 0,
});
const epochs = 8;
const { losses } = train(model, X, trainSet.labels, {
  loss: 'crossEntropy',
  epochs,
  batchSize: 64,
  optimizer: adam({ lr: 3e-3 }),
  weightDecay: weightDecay('classification', 1, n),
  seed: 0,
  onProgress: ({ epoch, loss }) =>
    process.stderr.write(`epoch ${epoch}/${epochs}: loss ${loss.toFixed(4)}\n`),
});
const la = laplace(model, { likelihood: 'classification', subsetOfWeights: 'all', hessianStructure: 'kron' });
la.fit(X, Array.from(trainSet.labels));
la.optimizeHyperparameters();

// Test accuracy of the MAP, for the page's caption.
const logits = model.forward(new Tensor(test.images, [test.shape[0], 784])).data;
let correct = 0;
for (let i = 0; i < test.shape[0]; i++) {
  const row = Array.from(logits.subarray(i * 10, i * 10 + 10));
  if (row.indexOf(Math.max(...row)) === test.labels[i]) correct++;
}
const examples = FASHION_MNIST_CLASSES.map((name, label) => {
  const i = test.labels.indexOf(label);
  return {
    label,
    name,
    pixels: Array.from(test.images.subarray(i * 784, (i + 1) * 784), (v) => Math.round(v * 255)),
  };
});
const file = {
  architecture: IMAGES_MODEL_ARCHITECTURE,
  classes: FASHION_MNIST_CLASSES,
  training: `${n.toLocaleString('en')} Fashion-MNIST training images (the subset in data/), ${epochs} epochs of Adam, final loss ${losses.at(-1)!.toFixed(3)}; MAP test accuracy ${((100 * correct) / test.shape[0]).toFixed(1)}% on ${test.shape[0].toLocaleString('en')} test images`,
  network: model.toJSON(),
  posterior: la.toJSON(),
  examples,
};
const path = new URL('../playground/images-model.json', import.meta.url);
writeFileSync(path, `${JSON.stringify(file)}\n`);
console.log(`${file.training}; ${model.nParams} weights; wrote ${path.pathname}`);
