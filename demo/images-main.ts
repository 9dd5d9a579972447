/**
 * `npm run images`: the image experiment on its own, on the full Fashion-MNIST
 * when Debian's dataset-fashion-mnist is installed (else the shipped subset):
 * a stratified sample of `--train` images per class for training (all 6,000
 * per class with `--train all`) and `--test` per class for testing, a CNN of
 * `--arch`, then the MAP, the nn and glm Laplace predictives and the
 * marglik-trained network, scored in distribution, under rotation and on the
 * digits. Prints the tables and claims and writes an HTML report.
 *
 *   npm run images                               1,000 + 200 images per class
 *   npm run images -- --train 500 --test 50 --epochs 10 --marglik-epochs 10    a shorter run
 *   npm run images -- --train all --test all     the whole set
 *   npm run images -- --arch 'conv(16,3,pad=1),relu,maxpool(2),flatten,linear(10)'
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { renderReport } from '../src/report/report.js';
import { imagesPart } from './images.js';
import { cnnModels, cnnSettings } from './images-cnn.js';
import { partSection, partText } from './run.js';

/** The LeNet-like default here: two 5×5 convolutions and pooling, 5,994 weights. */
export const IMAGES_CNN = 'conv(8,5),relu,maxpool(2),conv(16,5),relu,maxpool(2),flatten,linear(10)';

const { values } = parseArgs({
  options: {
    train: { type: 'string', default: '1000' },
    test: { type: 'string', default: '200' },
    arch: { type: 'string', default: IMAGES_CNN },
    epochs: { type: 'string' },
    'marglik-epochs': { type: 'string' },
    'nn-samples': { type: 'string', default: '10' },
    'no-full': { type: 'boolean', default: false },
    out: { type: 'string', default: 'report/images' },
  },
});
const count = (text: string, what: string) => {
  if (text === 'all') return Number.POSITIVE_INFINITY;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(`npm run images: --${what} must be a positive integer or 'all', got '${text}'\n`);
    process.exit(1);
  }
  return n;
};
const train = count(values.train, 'train');
const test = count(values.test, 'test');
const perClass = {
  ...(Number.isFinite(train) ? { train } : {}),
  ...(Number.isFinite(test) ? { test } : {}),
};
const settings = {
  ...cnnSettings(false, values.arch),
  lastLayerFull: !values['no-full'],
  nnSamples: count(values['nn-samples'], 'nn-samples'),
  ...(values.epochs ? { epochs: count(values.epochs, 'epochs') } : {}),
  ...(values['marglik-epochs'] ? { marglikEpochs: count(values['marglik-epochs'], 'marglik-epochs') } : {}),
};
const options = { quick: false, progress: process.stderr, perClass };
const part = imagesPart(options, (data, o) => cnnModels(data, o, settings));
process.stdout.write(`${partText(part, 0)}\n\n${part.notes.join('\n')}\n`);
const directory = resolve(values.out);
mkdirSync(directory, { recursive: true });
const path = resolve(directory, 'index.html');
writeFileSync(
  path,
  renderReport({
    title: 'laplace-ts: Laplace on a CNN for Fashion-MNIST',
    summary: `${part.claims.filter((c) => c.holds).length} of ${part.claims.length} claims hold in this run.`,
    sections: [partSection(part)],
    footer: `npm run images -- --train ${values.train} --test ${values.test}; fixed seeds; ${part.seconds.toFixed(0)} s`,
  }),
);
process.stdout.write(`Report: ${path}\n`);
