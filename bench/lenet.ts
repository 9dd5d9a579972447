/**
 * LeNet-5 on Fashion-MNIST, wall-clock per stage (the speed targets of the
 * convolutional networks): one epoch of Adam (batch 128), then Laplace fits
 * with the GGN over the training set: last-layer `kron`, all-weights `kron`
 * and all-weights `diag`. Run with `npx tsx bench/lenet.ts [--images N]`;
 * uses the full set when the Debian package dataset-fashion-mnist is
 * installed, else the subset shipped in data/.
 */
import { parseArgs } from 'node:util';
import { loadFashionMnist } from '../demo/images-data.js';
import { valueAndGrad } from '../src/autodiff/index.js';
import { laplace } from '../src/laplace/index.js';
import {
  adam,
  Conv2d,
  crossEntropy,
  Flatten,
  Linear,
  MaxPool2d,
  type Params,
  ReLU,
  Sequential,
  train,
} from '../src/nn/index.js';
import { Tensor } from '../src/tensor.js';

const { values } = parseArgs({ options: { images: { type: 'string' }, stages: { type: 'string' } } });
const data = loadFashionMnist();
const n = Math.min(data.train.shape[0], Number(values.images ?? data.train.shape[0]));
const stages = new Set((values.stages ?? 'fwdbwd,train,lastkron,kron,diag').split(','));
const pixels = 28 * 28;
const X = new Tensor(data.train.images.subarray(0, n * pixels), [n, 1, 28, 28]);
const y = data.train.labels.subarray(0, n);
console.log(`${data.description}; using ${n} training images`);

// LeNet-5 on 28×28 as in the issue: conv 1→6 5×5, relu, maxpool 2, conv 6→16 5×5, relu, maxpool 2, 256→120→84→10.
const model = new Sequential(
  [
    new Conv2d(1, 6, 5, { seed: 1 }),
    new ReLU(),
    new MaxPool2d(2),
    new Conv2d(6, 16, 5, { seed: 2 }),
    new ReLU(),
    new MaxPool2d(2),
    new Flatten(),
    new Linear(256, 120, { seed: 3 }),
    new ReLU(),
    new Linear(120, 84, { seed: 4 }),
    new ReLU(),
    new Linear(84, 10, { seed: 5 }),
  ],
  { inputShape: [1, 28, 28] },
);
console.log(`LeNet-5: ${model.nParams} parameters`);

/** Wall-clock and CPU time of a stage (on a shared machine the CPU time is the one to compare). */
function time(label: string, f: () => void): void {
  const start = performance.now();
  const cpu = process.cpuUsage();
  f();
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  console.log(
    `${label}: ${((performance.now() - start) / 1000).toFixed(2)} s wall, ${cpuSeconds.toFixed(2)} s CPU`,
  );
}

if (stages.has('fwdbwd')) {
  // Forward and backward of one batch of 128, the median of 5 runs after one warm-up.
  const batch = new Tensor(X.data.subarray(0, 128 * pixels), [128, 1, 28, 28]);
  const labels = new Tensor(Float64Array.from(y.subarray(0, 128)), [128]);
  const lossAndGrad = valueAndGrad((params: Params, xb: Tensor) =>
    crossEntropy(model.apply(params, xb), labels),
  );
  const times: number[] = [];
  const cpuTimes: number[] = [];
  for (let r = 0; r < 6; r++) {
    const start = performance.now();
    const cpu = process.cpuUsage();
    lossAndGrad(model.parameters(), batch);
    const used = process.cpuUsage(cpu);
    if (r > 0) {
      times.push(performance.now() - start);
      cpuTimes.push((used.user + used.system) / 1000);
    }
  }
  times.sort((a, b) => a - b);
  cpuTimes.sort((a, b) => a - b);
  console.log(
    `forward+backward, batch 128: ${(times[2]! / 1000).toFixed(3)} s wall, ${(cpuTimes[2]! / 1000).toFixed(3)} s CPU (medians of 5)`,
  );
}

if (stages.has('train')) {
  time('one epoch of Adam, batch 128', () => {
    const { losses } = train(model, X, y, {
      loss: 'crossEntropy',
      epochs: 1,
      batchSize: 128,
      optimizer: adam({ lr: 1e-3 }),
      seed: 0,
    });
    console.log(`  loss ${losses[0]!.toFixed(4)}`);
  });
}
const Xrows = X.data;
const fitWith = (label: string, options: Parameters<typeof laplace>[1]) => {
  time(label, () => {
    const la = laplace(model, options);
    la.fit(new Tensor(Xrows, [n, 1, 28, 28]), Array.from(y));
    console.log(`  log evidence ${la.logMarginalLikelihood().toFixed(2)}`);
  });
};
if (stages.has('lastkron'))
  fitWith('last-layer kron fit', {
    likelihood: 'classification',
    subsetOfWeights: 'lastLayer',
    hessianStructure: 'kron',
  });
if (stages.has('kron'))
  fitWith('all-weights kron fit', {
    likelihood: 'classification',
    subsetOfWeights: 'all',
    hessianStructure: 'kron',
  });
if (stages.has('diag'))
  fitWith('all-weights diag fit', {
    likelihood: 'classification',
    subsetOfWeights: 'all',
    hessianStructure: 'diag',
  });
