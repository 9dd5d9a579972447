/**
 * `laplace-ts fit --model net.onnx`: a posterior on a network trained in
 * PyTorch, then `predict` from the model file it writes. The network is the
 * ONNX fixture exported by scripts/onnx/export_fixtures.py (4 inputs, 3 logits).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseCsv } from '../../src/data/csv.js';
import { importOnnx, laplace } from '../../src/index.js';
import { seededRng } from '../../src/random.js';
import { cli } from './run-cli.js';

const FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'onnx', 'mlp.onnx');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'laplace-ts-onnx-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `laplace-ts fit` of the ONNX network `model` as a classifier of data's column `label`. */
function fitClassifier(model: string, data: string, ...options: string[]) {
  return cli(
    'fit',
    '--model',
    model,
    '--data',
    data,
    '--target',
    'label',
    '--task',
    'classification',
    ...options,
  );
}

function dataset(rows: number, seed: number): { path: string; X: number[][]; y: number[] } {
  const rng = seededRng(seed);
  const X = Array.from({ length: rows }, () => Array.from({ length: 4 }, () => rng.normal()));
  const y = X.map((x) => (x[0]! > 0.5 ? 2 : x[1]! > 0 ? 1 : 0));
  const path = join(dir, `data-${seed}.csv`);
  writeFileSync(path, `a,b,c,d,label\n${X.map((x, i) => [...x, y[i]].join(',')).join('\n')}\n`);
  return { path, X, y };
}

it('fits the posterior on the imported network, and predict serves the library’s GLM predictive', () => {
  const train = dataset(40, 1);
  const out = join(dir, 'model.json');
  const fit = fitClassifier(FIXTURE, train.path, '--structure', 'full', '--out', out);
  expect(fit.stderr).toBe('');
  expect(fit.code).toBe(0);
  expect(fit.stdout).toMatch(
    /imported network: .* 4 rows|imported network: \d+ layers, \d+ weights; 40 rows of 4 features/,
  );
  // The same posterior by the library directly.
  const model = importOnnx(new Uint8Array(readFileSync(FIXTURE)));
  const la = laplace(model, {
    likelihood: 'classification',
    hessianStructure: 'full',
    subsetOfWeights: 'all',
  });
  la.fit(train.X, train.y).optimizeHyperparameters();
  const test = dataset(5, 2);
  const predictions = join(dir, 'predictions.csv');
  const predict = cli('predict', '--model', out, '--data', test.path, '--out', predictions);
  expect(predict.code).toBe(0);
  const rows = parseCsv(readFileSync(predictions, 'utf8')).rows.map((r) => r.map(Number));
  const probs = (la.predict(test.X) as { probs: { data: Float64Array } }).probs.data;
  rows.forEach((row, i) => {
    for (let c = 0; c < 3; c++) expect(row[c]).toBeCloseTo(probs[i * 3 + c]!, 10);
  });
});

it('refuses a network whose inputs do not fit the data, a broken file, and --report, writing nothing', () => {
  const out = join(dir, 'refused.json');
  const wide = join(dir, 'wide.csv');
  writeFileSync(wide, 'a,b,label\n1,2,0\n3,4,1\n5,6,2\n');
  const misfit = fitClassifier(FIXTURE, wide, '--out', out);
  expect(misfit.code).toBe(1);
  expect(misfit.stderr).toMatch(
    /maps 4 inputs to 3 outputs, but .*wide\.csv has 2 feature columns and 3 classes/,
  );
  const broken = join(dir, 'broken.onnx');
  writeFileSync(broken, readFileSync(FIXTURE).subarray(0, 100));
  const train = dataset(12, 3);
  const bad = fitClassifier(broken, train.path, '--out', out);
  expect(bad.code).toBe(1);
  expect(bad.stderr).toMatch(/broken\.onnx: /);
  expect(bad.stderr.trimEnd().split('\n')).toHaveLength(1);
  const report = fitClassifier(FIXTURE, train.path, '--out', out, '--report', join(dir, 'r.html'));
  expect(report.code).toBe(1);
  expect(existsSync(out)).toBe(false);
});
