/**
 * Sample-then-optimise on a Fashion-MNIST CNN with every weight random, against
 * KFAC over all weights and a full last-layer posterior.
 *
 * The CNN is conv 5×5 (1→c) → ReLU → max pool 2 → conv 5×5 (c→2c) → ReLU →
 * max pool 2 → flatten → linear (32c → 10), trained by Adam with weight decay
 * standing for a unit prior. Each posterior's prior is tuned by its own
 * evidence (kron, last layer: the exact maximiser of the Laplace evidence;
 * sampled: EM from the samples, a few steps), then the probit GLM predictive is
 * scored on held-out test images (accuracy, NLL, ECE). For 'sampled' the table
 * gives the time per sample (the fit, whose CG solve the S samples share,
 * divided by S), the CG iterations and the residual reached, and the doubles it stores
 * against kron's.
 *
 * `npm run bench -- sampling`. LAPLACE_BENCH_TRAIN and LAPLACE_BENCH_TEST set
 * the images per class (default 30 and 20), LAPLACE_BENCH_WIDTH the first
 * layer's channels c (default 8: P = 5,994), LAPLACE_BENCH_SAMPLES S (default 16).
 */
import { loadFashionMnist } from '../demo/images-data.js';
import { laplace, type SampledLaplace } from '../src/laplace/index.js';
import { accuracy, classificationNll, expectedCalibrationError } from '../src/metrics.js';
import { adam, Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential, train } from '../src/nn/index.js';
import { Tensor } from '../src/tensor.js';

const seconds = (t0: number) => (performance.now() - t0) / 1000;
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

export async function run(): Promise<void> {
  const perTrain = env('LAPLACE_BENCH_TRAIN', 30);
  const perTest = env('LAPLACE_BENCH_TEST', 20);
  const width = env('LAPLACE_BENCH_WIDTH', 8);
  const samples = env('LAPLACE_BENCH_SAMPLES', 16);
  const data = loadFashionMnist({ source: 'subset', perClass: { train: perTrain, test: perTest } });
  const n = data.train.shape[0];
  const nTest = data.test.shape[0];
  const model = new Sequential(
    [
      new Conv2d(1, width, 5, { seed: 1 }),
      new ReLU(),
      new MaxPool2d(2),
      new Conv2d(width, 2 * width, 5, { seed: 2 }),
      new ReLU(),
      new MaxPool2d(2),
      new Flatten(),
      new Linear(2 * width * 16, 10, { seed: 3 }),
    ],
    { inputShape: [1, 28, 28] },
  );
  const xTrain = new Tensor(data.train.images, [n, 784]);
  const xTest = new Tensor(data.test.images, [nTest, 784]);
  const yTrain = Array.from(data.train.labels);
  const yTest = Array.from(data.test.labels);
  let t0 = performance.now();
  train(model, xTrain, yTrain, {
    loss: 'crossEntropy',
    optimizer: adam({ lr: 3e-3 }),
    epochs: env('LAPLACE_BENCH_EPOCHS', 20),
    batchSize: 50,
    seed: 0,
    weightDecay: 1 / n,
  });
  console.log(
    `\nSample-then-optimise, Fashion-MNIST CNN (c = ${width}, P = ${model.nParams}), ${n} training and ${nTest} test images; MAP trained in ${seconds(t0).toFixed(1)} s`,
  );
  const header = ['posterior', 'fit s', 'tune s', 'predict s', 's / sample', 'notes', 'acc', 'NLL', 'ECE'];
  console.log(`| ${header.join(' | ')} |\n|${header.map(() => ' --- ').join('|')}|`);
  const score = (name: string, probs: Tensor, extra: string[]) => {
    const row = [
      name,
      ...extra,
      accuracy(probs, yTest).toFixed(3),
      (classificationNll(probs, yTest) / 1).toFixed(3),
      expectedCalibrationError(probs, yTest).toFixed(3),
    ];
    console.log(`| ${row.join(' | ')} |`);
  };
  // The MAP's own probabilities: the network's softmax.
  {
    const out = model.forward(xTest);
    const k = 10;
    const probs = new Float64Array(nTest * k);
    for (let i = 0; i < nTest; i++) {
      let max = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < k; j++) max = Math.max(max, out.data[i * k + j]!);
      let sum = 0;
      for (let j = 0; j < k; j++) sum += probs[i * k + j] = Math.exp(out.data[i * k + j]! - max);
      for (let j = 0; j < k; j++) probs[i * k + j]! /= sum;
    }
    score('MAP', new Tensor(probs, [nTest, k]), ['–', '–', '–', '–', '–']);
  }
  for (const [name, options] of [
    ['kron, all weights', { subsetOfWeights: 'all', hessianStructure: 'kron' }],
    ['full, last layer', { subsetOfWeights: 'lastLayer', hessianStructure: 'full' }],
  ] as const) {
    t0 = performance.now();
    const la = laplace(model, { likelihood: 'classification', ...options }).fit(xTrain, yTrain);
    const fit = seconds(t0);
    t0 = performance.now();
    const tuned = la.optimizePriorPrecision();
    const tune = seconds(t0);
    t0 = performance.now();
    const probs = la.predict(xTest).probs;
    const predict = seconds(t0);
    score(name, probs, [
      fit.toFixed(1),
      tune.toFixed(1),
      predict.toFixed(1),
      '–',
      `δ = ${(tuned.priorPrecision as number).toPrecision(3)}`,
    ]);
  }
  t0 = performance.now();
  const sampled = laplace(model, {
    likelihood: 'classification',
    subsetOfWeights: 'all',
    hessianStructure: 'sampled',
    posteriorSamples: samples,
    cgTol: 1e-3,
    cgMaxIter: env('LAPLACE_BENCH_CG', 100),
    seed: 0,
  }).fit(xTrain, yTrain) as SampledLaplace;
  // The samples are solved for on first use: make that part of the fit.
  void sampled.centredSamples;
  const fit = seconds(t0);
  t0 = performance.now();
  const first = sampled.lastSolve;
  const em = sampled.optimizePriorPrecision({ maxIter: 2 });
  const tune = seconds(t0);
  const solve = sampled.lastSolve;
  t0 = performance.now();
  const probs = (sampled.predict(xTest) as { probs: Tensor }).probs;
  const predict = seconds(t0);
  score(`sampled, all weights (S = ${samples})`, probs, [
    fit.toFixed(1),
    tune.toFixed(1),
    predict.toFixed(1),
    (fit / samples).toFixed(2),
    `δ = ${(em.priorPrecision as number).toPrecision(3)}; CG ${first.iterations} it. at fit, ${solve.iterations} at the last EM step, residual ${solve.relativeResidual.toExponential(1)}`,
  ]);
  const p = model.nParams;
  console.log(
    `Stored doubles: sampled ${2 * p * samples} (ζ and b, P × S) plus ${5 * p * (samples + 1)} in CG; kron ${kronEntries(width)}; full over all weights would be ${p * p}.`,
  );
}

/** Σ over layers of in² + out² for the CNN's Kronecker factors (bias folded into A). */
function kronEntries(c: number): number {
  return (25 + 1) ** 2 + c ** 2 + (25 * c + 1) ** 2 + (2 * c) ** 2 + (32 * c + 1) ** 2 + 100;
}
