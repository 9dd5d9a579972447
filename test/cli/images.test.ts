/**
 * The CLI on images: `fit --arch` on IDX files and on a CSV of pixels with
 * `--input-shape`, `predict` with the image model file, and every bad input
 * (shapes that disagree, unknown layers, an architecture that does not fit the
 * input) failing with exit 1, one line naming the problem and nothing written.
 *
 * Checked against independent definitions: each output row's probabilities
 * sum to one, its class is their argmax and its entropy is −Σ p log p computed
 * here; the same images given as IDX bytes and as a CSV of the same bytes
 * predict the same numbers.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../../src/data/csv.js';
import { encodeIdx, takeIdx } from '../../src/data/idx.js';
import { readIdxFile } from '../../src/node/idx-file.js';
import { cli } from './run-cli.js';

const SUBSET = join(import.meta.dirname, '..', '..', 'data', 'fashion-mnist');
const DIGITS = join(import.meta.dirname, '..', '..', 'data', 'digits.csv');
const ARCH = 'conv(4,5,stride=2),relu,maxpool(2),flatten,linear(10)';
const N = 120;

let dir: string;
let images: string;
let labels: string;
let pixelsCsv: string;
let model: string;

const out = (name: string) => join(dir, name);

/** Exit 1, a single line on stderr matching every pattern, nothing on stdout, `written` not created. */
function expectFailure(result: ReturnType<typeof cli>, written: string, ...patterns: RegExp[]): void {
  expect(result.code).toBe(1);
  expect(result.stdout).toBe('');
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
  for (const pattern of patterns) expect(lines[0]).toMatch(pattern);
  expect(existsSync(written)).toBe(false);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'laplace-ts-cli-images-'));
  // The first N test images of the shipped subset, as plain IDX files and as a CSV of the same bytes.
  const indices = Array.from({ length: N }, (_, i) => i);
  const idxImages = takeIdx(readIdxFile(join(SUBSET, 't10k-images-idx3-ubyte.gz')), indices);
  const idxLabels = takeIdx(readIdxFile(join(SUBSET, 't10k-labels-idx1-ubyte.gz')), indices);
  images = out('images.idx');
  labels = out('labels.idx');
  writeFileSync(images, encodeIdx(idxImages));
  writeFileSync(labels, encodeIdx(idxLabels));
  const header = [...Array.from({ length: 784 }, (_, j) => `p${j}`), 'label'].join(',');
  const rows = indices.map((i) =>
    [...idxImages.data.subarray(i * 784, (i + 1) * 784), idxLabels.data[i]].join(','),
  );
  pixelsCsv = out('pixels.csv');
  writeFileSync(pixelsCsv, `${header}\n${rows.join('\n')}\n`);
  model = out('model.json');
  const fit = cli(
    'fit',
    '--images',
    images,
    '--labels',
    labels,
    '--arch',
    ARCH,
    '--epochs',
    '1',
    '--holdout',
    '0.25',
    '--out',
    model,
  );
  expect(fit.code, fit.stderr).toBe(0);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function predictions(csv: string) {
  const parsed = parseCsv(csv);
  return parsed.rows.map((row) => row.map(Number));
}

describe('fit --arch on IDX images', () => {
  it('writes an image model file with the network, posterior and input shape', () => {
    const file = JSON.parse(readFileSync(model, 'utf8'));
    expect(file.format).toBe('laplace-ts/image-model@1');
    expect(file.inputShape).toEqual([1, 28, 28]);
    expect(file.nClasses).toBe(10);
    expect(file.pixelScale).toBeCloseTo(1 / 255, 15);
    expect(file.training.images).toBe(N - Math.round(0.25 * N));
  });

  it('predict writes probabilities that sum to one, their argmax and their entropy, per image', () => {
    const result = cli('predict', '--model', model, '--images', images);
    expect(result.code, result.stderr).toBe(0);
    const [header] = result.stdout.split('\n');
    expect(header).toBe([...Array.from({ length: 10 }, (_, c) => `prob_${c}`), 'class', 'entropy'].join(','));
    const rows = predictions(result.stdout);
    expect(rows).toHaveLength(N);
    for (const row of rows) {
      const p = row.slice(0, 10);
      expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
      expect(row[10]).toBe(p.indexOf(Math.max(...p)));
      expect(row[11]).toBeCloseTo(-p.reduce((s, q) => s + (q > 0 ? q * Math.log(q) : 0), 0), 9);
    }
  });

  it('the same images as a CSV of pixels predict the same numbers, and labels are scored', () => {
    const fromIdx = cli('predict', '--model', model, '--images', images, '--labels', labels);
    const fromCsv = cli('predict', '--model', model, '--data', pixelsCsv);
    expect(fromCsv.code, fromCsv.stderr).toBe(0);
    const a = predictions(fromIdx.stdout);
    const b = predictions(fromCsv.stdout);
    a.forEach((row, i) => {
      row.forEach((v, j) => {
        expect(b[i]![j]).toBeCloseTo(v, 10);
      });
    });
    expect(fromIdx.stderr).toMatch(/score on the labels of .*accuracy/);
  });
});

describe('fit --arch on a CSV of pixels', () => {
  it('trains on the 8×8 digits with --input-shape 1,8,8 and predicts them', () => {
    const path = out('digits-model.json');
    const fit = cli(
      'fit',
      '--data',
      DIGITS,
      '--target',
      'label',
      '--input-shape',
      '1,8,8',
      '--arch',
      'conv(4,3),relu,flatten,linear(10)',
      '--epochs',
      '1',
      '--out',
      path,
    );
    expect(fit.code, fit.stderr).toBe(0);
    expect(fit.stdout).toMatch(/1×8×8 → 10 classes/);
    const predict = cli('predict', '--model', path, '--data', DIGITS, '--out', out('digits.csv'));
    expect(predict.code, predict.stderr).toBe(0);
    expect(predictions(readFileSync(out('digits.csv'), 'utf8'))).toHaveLength(1797);
  });
});

describe('bad image inputs: one line, exit 1, nothing written', () => {
  const target = () => out('never.json');
  const fitImages = (...args: string[]) =>
    cli('fit', '--images', images, '--labels', labels, '--epochs', '1', '--out', target(), ...args);

  it('an unknown layer name', () => {
    expectFailure(fitImages('--arch', 'conv(4,5),relu,foo,linear(10)'), target(), /unknown layer "foo"/);
  });
  it('an architecture that does not fit the input', () => {
    expectFailure(fitImages('--arch', 'conv(4,29),flatten,linear(10)'), target(), /conv\(4,29\).*28×28/);
    expectFailure(fitImages('--arch', 'conv(4,5),linear(10)'), target(), /put flatten before it/);
  });
  it('fewer outputs than classes', () => {
    expectFailure(fitImages('--arch', 'conv(4,5),flatten,linear(3)'), target(), /3 outputs.*linear\(10\)/);
  });
  it('an --input-shape that disagrees with the images, or is not a shape', () => {
    expectFailure(
      fitImages('--arch', ARCH, '--input-shape', '1,28,27'),
      target(),
      /--input-shape is 1,28,27/,
    );
    expectFailure(fitImages('--arch', ARCH, '--input-shape', '1,x'), target(), /--input shape must be/);
  });
  it('a CSV whose columns are not the input shape', () => {
    expectFailure(
      cli(
        'fit',
        '--data',
        DIGITS,
        '--target',
        'label',
        '--input-shape',
        '1,28,28',
        '--arch',
        ARCH,
        '--out',
        target(),
      ),
      target(),
      /784 pixels per image, but .*digits\.csv has 64 pixel columns/,
    );
  });
  it('labels that do not match the images', () => {
    const bad = out('labels-short.idx');
    writeFileSync(bad, encodeIdx({ type: 'ubyte', shape: [3], data: [0, 1, 2] }));
    expectFailure(
      cli('fit', '--images', images, '--labels', bad, '--arch', ARCH, '--out', target()),
      target(),
      /3 labels for 120 images/,
    );
  });
  it('images for a model of another shape', () => {
    const written = out('pred.csv');
    expectFailure(
      cli('predict', '--model', model, '--data', DIGITS, '--input-shape', '1,8,8', '--out', written),
      written,
      /1,8,8 but the model takes 1,28,28/,
    );
  });
  it('image options without --arch', () => {
    expectFailure(
      cli('fit', '--images', images, '--labels', labels, '--out', target()),
      target(),
      /--images is for images and needs --arch/,
    );
  });
});
