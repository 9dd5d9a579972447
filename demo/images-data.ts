/**
 * The image experiment's data, read from disk (Node only).
 *
 * Fashion-MNIST (Xiao, Rasul, Vollgraf 2017; MIT licence): 28×28 grey images
 * of ten kinds of clothing, 60,000 for training and 10,000 for testing. The
 * full set is read from Debian's package dataset-fashion-mnist when it is
 * installed (/usr/share/datasets/fashion-mnist, which .ci/run installs);
 * otherwise from the stratified subset shipped in data/fashion-mnist (3,000
 * training and 1,000 test images, 10% of each class, made by
 * scripts/make-fashion-subset.ts). `description` says which was used.
 *
 * The shifted test sets: the test images rotated by 15°, 30°, …, 180° (as in
 * Ovadia et al. 2019, "Can you trust your model's uncertainty?"), and, out of
 * distribution, the UCI handwritten digits (data/digits.csv) placed in the
 * MNIST geometry by `digitsAsImages`.
 *
 * Files are read with `readIdxFile` (src/node), which gunzips synchronously
 * with node:zlib so that the demo's parts stay synchronous; `decodeIdx` in
 * src/data is the asynchronous, web-standard way for code that must also run
 * in a browser.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ImageDataset, imageDataset, takeIdx } from '../src/data/idx.js';
import { digitsAsImages, type ImageBatch, rotateImages, stratifiedIndices } from '../src/data/images.js';
import { FileError } from '../src/node/files.js';
import { readIdxFile } from '../src/node/idx-file.js';
import { readDataset } from './common.js';

/** Where Debian's dataset-fashion-mnist puts the four files. */
export const FASHION_MNIST_SYSTEM_DIR = '/usr/share/datasets/fashion-mnist';
/** The subset shipped with the project. */
export const FASHION_MNIST_SUBSET_DIR = fileURLToPath(new URL('../data/fashion-mnist/', import.meta.url));

/** Fashion-MNIST's classes, by label. */
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

/** The rotations of the shifted test sets, in degrees: 0 (the test set itself), 15, …, 180. */
export const ROTATION_ANGLES: readonly number[] = Array.from({ length: 13 }, (_, i) => 15 * i);

const FILES = {
  train: ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'],
  test: ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'],
} as const;

export interface FashionMnist {
  train: ImageDataset;
  test: ImageDataset;
  source: 'full' | 'subset';
  directory: string;
  /** One line for the report: which set, how many images, from where. */
  description: string;
}

export interface FashionMnistOptions {
  /** 'full' insists on the Debian package (or `directory`), 'subset' on the shipped files; 'auto' (default) prefers the full set. */
  source?: 'auto' | 'full' | 'subset';
  /** Read the four files from here instead of the Debian package's folder. */
  directory?: string;
  /** Keep only this many images of each class (a stratified sample, `seed`), e.g. to bound a run's time on the full set. */
  perClass?: { train?: number; test?: number };
  seed?: number;
}

function allPresent(directory: string): boolean {
  return [...FILES.train, ...FILES.test].every((name) => existsSync(join(directory, name)));
}

function readSplit(
  directory: string,
  split: 'train' | 'test',
  perClass: number | undefined,
  seed: number,
): ImageDataset {
  const [imageFile, labelFile] = FILES[split];
  let images = readIdxFile(join(directory, imageFile));
  let labels = readIdxFile(join(directory, labelFile));
  if (perClass !== undefined) {
    // Sampled before the conversion to float64, which would take 8 bytes for each of 47 million pixels.
    const indices = stratifiedIndices(labels.data, perClass, seed);
    images = takeIdx(images, indices);
    labels = takeIdx(labels, indices);
  }
  return imageDataset(images, labels, { nClasses: FASHION_MNIST_CLASSES.length });
}

/** Fashion-MNIST's training and test images as [N, 1, 28, 28] in [0, 1], with labels 0–9. */
export function loadFashionMnist(options: FashionMnistOptions = {}): FashionMnist {
  const { source = 'auto', perClass = {}, seed = 0 } = options;
  const fullDirectory = options.directory ?? FASHION_MNIST_SYSTEM_DIR;
  let directory: string;
  let kind: 'full' | 'subset';
  if (source !== 'subset' && allPresent(fullDirectory)) {
    directory = fullDirectory;
    kind = 'full';
  } else if (source === 'full') {
    throw new FileError(
      `${fullDirectory}: the Fashion-MNIST files (${[...FILES.train, ...FILES.test].join(', ')}) are not all there; on Debian, apt-get install dataset-fashion-mnist`,
    );
  } else {
    directory = FASHION_MNIST_SUBSET_DIR;
    kind = 'subset';
  }
  const train = readSplit(directory, 'train', perClass.train, seed);
  const test = readSplit(directory, 'test', perClass.test, seed + 1);
  const counts = `${train.shape[0].toLocaleString('en')} training and ${test.shape[0].toLocaleString('en')} test images`;
  const sampled = perClass.train !== undefined || perClass.test !== undefined ? ', a stratified sample' : '';
  const description =
    kind === 'full'
      ? `Fashion-MNIST from ${directory}: ${counts}${sampled}`
      : `Fashion-MNIST subset shipped in data/fashion-mnist: ${counts}${sampled} (apt-get install dataset-fashion-mnist for the full 60,000 and 10,000)`;
  return { train, test, source: kind, directory, description };
}

/** One rotated copy of a test set. */
export interface RotatedSet {
  degrees: number;
  images: Float64Array;
  shape: [number, number, number, number];
}

/** The test images rotated by each of `angles` (default 0°, 15°, …, 180°); labels are the test set's. */
export function rotatedSets(test: ImageDataset, angles: readonly number[] = ROTATION_ANGLES): RotatedSet[] {
  return angles.map((degrees) => ({ degrees, ...rotateImages(test.images, test.shape, degrees) }));
}

/** The UCI digits (1,797 images from data/digits.csv) as 28×28 images in [0, 1]: inputs that are not clothing. */
export function digitsOutOfDistribution(): ImageBatch & { labels: Int32Array } {
  const { X, y } = readDataset('digits', 'label');
  return { ...digitsAsImages(X.flat()), labels: Int32Array.from(y) };
}
