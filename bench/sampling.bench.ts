/**
 * Sample-then-optimise on LeNet-5 with every weight random (P = 44,426),
 * against KFAC over all weights and KFAC over the last layer, on Fashion-MNIST.
 *
 * LeNet-5 (conv 1→6 5×5, relu, max pool 2, conv 6→16 5×5, relu, max pool 2,
 * 256→120→84→10) is trained by Adam with weight decay standing for a unit
 * prior on N training images. Each posterior's prior is tuned by its own
 * evidence: kron's by the exact maximiser of the Laplace evidence, sampled's
 * by MacKay's update from its samples (δ ← γ̂/‖θ*‖², warm-started CG at each
 * step, until no δ moves by more than 1%), with one scalar prior or one per
 * parameter tensor ('sampled-layerwise'). Then the probit GLM predictive is
 * scored on held-out test images (accuracy, NLL, ECE) and on the UCI digits
 * drawn as 28×28 images (AUROC of the predictive entropy, digits against
 * clothing).
 *
 * Each posterior runs in its own process, so that its peak resident memory
 * (getrusage's maxRSS) is its own; "memory" is that peak less the process's
 * resident size before the posterior was made (data and trained network
 * loaded). Times are CPU seconds (user + system), the number to compare on a
 * shared machine. For 'sampled', "per sample" is the fit, the Nyström pass
 * and the first solve (which the S samples share) divided by S.
 *
 * `npm run bench -- sampling`. LAPLACE_BENCH_TRAIN and LAPLACE_BENCH_TEST set
 * the images (default 1000 and 1000; stratified), LAPLACE_BENCH_SAMPLES S
 * (default 16), LAPLACE_BENCH_EPOCHS the training epochs (default 20),
 * LAPLACE_BENCH_METHODS a comma-separated subset of map, lastkron, kron,
 * sampled, sampled-layerwise.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { digitsOutOfDistribution, loadFashionMnist } from '../demo/images-data.js';
import { type ClassificationPrediction, laplace, type SampledLaplace } from '../src/laplace/index.js';
import {
  accuracy,
  auroc,
  classificationNll,
  expectedCalibrationError,
  predictiveEntropy,
} from '../src/metrics.js';
import { adam, Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential, train } from '../src/nn/index.js';
import { Tensor } from '../src/tensor.js';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const here = fileURLToPath(import.meta.url);

function lenet(): Sequential {
  return new Sequential(
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
}

function data() {
  const perClass = {
    train: env('LAPLACE_BENCH_TRAIN', 1000) / 10,
    test: env('LAPLACE_BENCH_TEST', 1000) / 10,
  };
  const fashion = loadFashionMnist({ perClass });
  const digits = digitsOutOfDistribution();
  const nOod = Math.min(digits.labels.length, perClass.test * 10);
  return {
    fashion,
    xTrain: new Tensor(fashion.train.images, [fashion.train.shape[0], 784]),
    yTrain: Array.from(fashion.train.labels),
    xTest: new Tensor(fashion.test.images, [fashion.test.shape[0], 784]),
    yTest: Array.from(fashion.test.labels),
    xOod: new Tensor(digits.images.subarray(0, nOod * 784), [nOod, 784]),
  };
}

/** CPU seconds (user + system) of f. */
function cpu<T>(f: () => T): [T, number] {
  const start = process.cpuUsage();
  const out = f();
  const used = process.cpuUsage(start);
  return [out, (used.user + used.system) / 1e6];
}

interface Row {
  posterior: string;
  fit: number;
  tune: number;
  predict: number;
  perSample?: number;
  memoryMiB: number;
  delta: string;
  notes: string;
  acc: number;
  nll: number;
  ece: number;
  auroc: number;
}

const METHODS = ['map', 'lastkron', 'kron', 'sampled', 'sampled-layerwise'] as const;
type Method = (typeof METHODS)[number];

function softmax(logits: Tensor): Tensor {
  const [n, k] = logits.shape as [number, number];
  const out = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < k; j++) max = Math.max(max, logits.data[i * k + j]!);
    let sum = 0;
    for (let j = 0; j < k; j++) sum += out[i * k + j] = Math.exp(logits.data[i * k + j]! - max);
    for (let j = 0; j < k; j++) out[i * k + j]! /= sum;
  }
  return new Tensor(out, [n, k]);
}

/** One posterior, in this process (the child's side). */
function runMethod(method: Method, weights: string): Row {
  const d = data();
  const model = lenet();
  model.setFlatParameters(Float64Array.from(JSON.parse(readFileSync(weights, 'utf8')) as number[]));
  const base = process.memoryUsage().rss;
  const samples = env('LAPLACE_BENCH_SAMPLES', 16);
  const scores = (probs: (x: Tensor) => Tensor) => {
    const p = probs(d.xTest);
    const ood = probs(d.xOod);
    return {
      acc: accuracy(p, d.yTest),
      nll: classificationNll(p, d.yTest),
      ece: expectedCalibrationError(p, d.yTest),
      auroc: auroc(predictiveEntropy(ood), predictiveEntropy(p)),
    };
  };
  if (method === 'map') {
    const [s, predict] = cpu(() => scores((x) => softmax(model.forward(x))));
    return { posterior: 'MAP', fit: 0, tune: 0, predict, memoryMiB: 0, delta: '–', notes: '', ...s };
  }
  const peak = () => (process.resourceUsage().maxRSS * 1024 - base) / 2 ** 20;
  if (method === 'lastkron' || method === 'kron') {
    const [la, fit] = cpu(() =>
      laplace(model, {
        likelihood: 'classification',
        subsetOfWeights: method === 'kron' ? 'all' : 'lastLayer',
        hessianStructure: 'kron',
      }).fit(d.xTrain, d.yTrain),
    );
    const [tuned, tune] = cpu(() => la.optimizePriorPrecision());
    const [s, predict] = cpu(() => scores((x) => (la.predict(x) as ClassificationPrediction).probs));
    return {
      posterior: method === 'kron' ? 'kron, all weights' : 'kron, last layer',
      fit,
      tune,
      predict,
      memoryMiB: peak(),
      delta: (tuned.priorPrecision as number).toPrecision(3),
      notes: `P = ${la.nParams.toLocaleString('en')}`,
      ...s,
    };
  }
  const [la, fit] = cpu(
    () =>
      laplace(model, {
        likelihood: 'classification',
        subsetOfWeights: 'all',
        hessianStructure: 'sampled',
        posteriorSamples: samples,
        cgTol: env('LAPLACE_BENCH_CGTOL', 1e-3),
        cgMaxIter: 300,
        seed: 0,
      }).fit(d.xTrain, d.yTrain) as SampledLaplace,
  );
  // The Nyström pass and the samples' solve happen at first use.
  const [, solve] = cpu(() => la.centredSamples);
  const first = la.lastSolve;
  console.error(
    `  sampled: fit and first solve ${(fit + solve).toFixed(1)} s CPU, ${first.iterations} CG it.`,
  );
  const structure = method === 'sampled' ? 'scalar' : 'layerwise';
  // The damped MacKay iteration, until no precision's full step would move it by more than 1%.
  const [delta, tune] = cpu(() =>
    precisions(
      la.optimizePriorPrecision({
        priorStructure: structure,
        tol: 0.01,
        maxIter: env('LAPLACE_BENCH_EM', 30),
      }).priorPrecision,
    ),
  );
  const prior = la.lastPriorIteration;
  console.error(
    `  tuned: δ = ${delta.map((v) => v.toPrecision(4)).join(', ')} after ${prior.iterations} MacKay steps (${prior.converged ? 'converged' : `not converged, step ${prior.residual.toExponential(1)}`})`,
  );
  const [s, predict] = cpu(() => scores((x) => (la.predict(x) as ClassificationPrediction).probs));
  return {
    posterior: `sampled, all weights (S = ${samples}${structure === 'layerwise' ? ', per-tensor prior' : ''})`,
    fit: fit + solve,
    tune,
    predict,
    perSample: (fit + solve) / samples,
    memoryMiB: peak(),
    delta: delta.map((v) => v.toPrecision(3)).join(', '),
    notes: `first solve ${first.iterations} CG it. to ${first.relativeResidual.toExponential(1)}; ${prior.iterations} MacKay steps (${prior.converged ? 'converged' : 'not converged'}), last solve ${la.lastSolve.iterations} it. to ${la.lastSolve.relativeResidual.toExponential(1)}`,
    ...s,
  };
}

function precisions(p: unknown): number[] {
  return typeof p === 'number' ? [p] : Array.from(p as ArrayLike<number>);
}

export async function run(): Promise<void> {
  const d = data();
  const model = lenet();
  const [{ losses }, trainCpu] = cpu(() =>
    train(model, d.xTrain, d.yTrain, {
      loss: 'crossEntropy',
      optimizer: adam({ lr: 3e-3 }),
      epochs: env('LAPLACE_BENCH_EPOCHS', 20),
      batchSize: 64,
      seed: 0,
      weightDecay: 1 / d.yTrain.length,
    }),
  );
  console.log(
    `\nSample-then-optimise, LeNet-5 (P = ${model.nParams.toLocaleString('en')}): ${d.fashion.description}; ${d.xOod.shape[0]} UCI digits as OOD; MAP trained in ${trainCpu.toFixed(1)} s CPU (final loss ${losses.at(-1)!.toFixed(3)})`,
  );
  const weights = join(tmpdir(), `laplace-bench-lenet-${process.pid}.json`);
  writeFileSync(weights, JSON.stringify(Array.from(model.flatParameters())));
  const header = [
    'posterior',
    'fit s',
    'tune s',
    'predict s',
    's / sample',
    'memory MiB',
    'δ',
    'acc',
    'NLL',
    'ECE',
    'OOD AUROC',
    'notes',
  ];
  console.log(`| ${header.join(' | ')} |\n|${header.map(() => ' --- ').join('|')}|`);
  const only = process.env.LAPLACE_BENCH_METHODS?.split(',');
  for (const method of METHODS.filter((m) => !only || only.includes(m))) {
    const child = spawnSync(process.execPath, [...process.execArgv, here, method, weights], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 2 ** 24,
    });
    const last = child.stdout.trim().split('\n').at(-1) ?? '';
    if (child.status !== 0 || !last.startsWith('{')) {
      console.log(`| ${method} | failed (exit ${child.status}) |`);
      continue;
    }
    const r = JSON.parse(last) as Row;
    const row = [
      r.posterior,
      r.fit.toFixed(1),
      r.tune.toFixed(1),
      r.predict.toFixed(1),
      r.perSample === undefined ? '–' : r.perSample.toFixed(2),
      method === 'map' ? '–' : r.memoryMiB.toFixed(0),
      r.delta,
      r.acc.toFixed(3),
      r.nll.toFixed(3),
      r.ece.toFixed(3),
      r.auroc.toFixed(3),
      r.notes,
    ];
    console.log(`| ${row.join(' | ')} |`);
  }
}

if (process.argv[1] === here && METHODS.includes(process.argv[2] as Method)) {
  console.log(JSON.stringify(runMethod(process.argv[2] as Method, process.argv[3]!)));
}
