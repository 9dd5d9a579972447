/**
 * The digits benchmark: an MLP 64→50→tanh→10 (P = 3,760) trained on
 * the first 1,000 UCI digits (standardised), Laplace over all weights, a scalar
 * prior tuned by the marginal likelihood, and the probit GLM predictive on the
 * other 797. One timed run per structure, by stage (fit, tune, predict), with
 * test accuracy and NLL next to the MAP's. `npm run bench -- laplace`; set
 * LAPLACE_BENCH_STRUCTURES=kron,diag to skip the (slow) full one. The full
 * posterior is timed on one thread and then, where worker threads start, again
 * with the WebAssembly worker pool (`startWorkers`) sharing its large products.
 */
import { readFileSync } from 'node:fs';
import { softmax } from '../src/autodiff/ops.js';
import { startWorkers, stopWorkers } from '../src/kernels/wasm/index.js';
import { type HessianStructure, laplace } from '../src/laplace/index.js';
import { accuracy, classificationNll } from '../src/metrics.js';
import { adam, Sequential, train } from '../src/nn/index.js';
import type { Tensor } from '../src/tensor.js';

function loadDigits(): { X: number[][]; y: number[] } {
  const lines = readFileSync(new URL('../data/digits.csv', import.meta.url), 'utf8')
    .trim()
    .split(/\r?\n/)
    .slice(1);
  const rows = lines.map((l) => l.split(',').map(Number));
  return { X: rows.map((r) => r.slice(0, 64)), y: rows.map((r) => r[64]!) };
}

function standardise(train: number[][], rest: number[][]): [number[][], number[][]] {
  const d = train[0]!.length;
  const mean = new Array<number>(d).fill(0);
  const sd = new Array<number>(d).fill(0);
  for (const r of train)
    r.forEach((v, j) => {
      mean[j]! += v / train.length;
    });
  for (const r of train)
    r.forEach((v, j) => {
      sd[j]! += (v - mean[j]!) ** 2 / train.length;
    });
  const scale = sd.map((v) => (v > 0 ? Math.sqrt(v) : 1));
  const apply = (rows: number[][]) => rows.map((r) => r.map((v, j) => (v - mean[j]!) / scale[j]!));
  return [apply(train), apply(rest)];
}

const seconds = (t0: number) => (performance.now() - t0) / 1000;

export async function run(): Promise<void> {
  const { X, y } = loadDigits();
  const [xTrain, xTest] = standardise(X.slice(0, 1000), X.slice(1000));
  const yTrain = y.slice(0, 1000);
  const yTest = y.slice(1000);
  const model = Sequential.mlp([64, 50, 10], { activation: 'tanh', seed: 0 });
  let t0 = performance.now();
  // Weight decay 1e-3 per example ≈ a prior precision of 1 on the summed loss.
  train(model, xTrain, yTrain, {
    loss: 'crossEntropy',
    optimizer: adam({ lr: 1e-2 }),
    epochs: 500,
    seed: 0,
    weightDecay: 1e-3,
  });
  const trainSeconds = seconds(t0);
  const mapProbs = softmax(model.forward(xTest), -1);
  console.log(`\nDigits benchmark (MLP 64→50→tanh→10, P = ${model.nParams}; train 1000, test 797)`);
  console.log(`MAP training: ${trainSeconds.toFixed(2)} s (500 full-batch Adam epochs, lr 0.01)`);
  const rows: string[][] = [
    [
      'MAP',
      '',
      '',
      '',
      '',
      '',
      accuracy(mapProbs, yTest).toFixed(4),
      classificationNll(mapProbs, yTest).toFixed(4),
    ],
  ];
  const structures = (process.env['LAPLACE_BENCH_STRUCTURES'] ?? 'diag,kron,full').split(
    ',',
  ) as HessianStructure[];
  const runs: { structure: HessianStructure; label: string; workers: boolean }[] = structures.map(
    (structure) => ({
      structure,
      label: structure,
      workers: false,
    }),
  );
  if (structures.includes('full')) runs.push({ structure: 'full', label: 'full, 2 threads', workers: true });
  for (const { structure, label, workers } of runs) {
    if (workers && (await startWorkers(1)) === 0) continue;
    const la = laplace(model, {
      likelihood: 'classification',
      subsetOfWeights: 'all',
      hessianStructure: structure,
    });
    t0 = performance.now();
    la.fit(xTrain, yTrain);
    const fit = seconds(t0);
    t0 = performance.now();
    const tuned = la.optimizePriorPrecision();
    const tune = seconds(t0);
    t0 = performance.now();
    const probs = (la.predict(xTest, { linkApprox: 'probit' }) as { probs: Tensor }).probs;
    const predict = seconds(t0);
    if (workers) await stopWorkers();
    rows.push([
      label,
      fit.toFixed(2),
      tune.toFixed(2),
      predict.toFixed(2),
      (fit + tune + predict).toFixed(2),
      (tuned.priorPrecision as number).toPrecision(4),
      accuracy(probs, yTest).toFixed(4),
      classificationNll(probs, yTest).toFixed(4),
    ]);
  }
  const header = ['posterior', 'fit s', 'tune s', 'predict s', 'total s', 'prior δ*', 'test acc', 'test NLL'];
  const widths = header.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j]!.length)));
  const fmt = (cells: string[]) => `| ${cells.map((c, j) => c.padEnd(widths[j]!)).join(' | ')} |`;
  console.log(fmt(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(fmt(r));
}
