import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  digitsOutOfDistribution,
  FASHION_MNIST_SUBSET_DIR,
  FASHION_MNIST_SYSTEM_DIR,
  loadFashionMnist,
  rotatedSets,
} from '../../demo/images-data.js';
import { makeFashionSubset } from '../../scripts/make-fashion-subset.js';
import { rotateImages } from '../../src/data/images.js';
import { readIdxFile } from '../../src/node/idx-file.js';

const FULL_SET = existsSync(join(FASHION_MNIST_SYSTEM_DIR, 'train-images-idx3-ubyte.gz'));

function classCounts(labels: Int32Array): number[] {
  const counts = new Array<number>(10).fill(0);
  for (const y of labels) counts[y]!++;
  return counts;
}

describe('the shipped Fashion-MNIST subset', () => {
  const subset = loadFashionMnist({ source: 'subset' });

  it('holds 300 training and 100 test images of each class, 28×28 in [0, 1], and says it is the subset', () => {
    expect(subset.source).toBe('subset');
    expect(subset.train.shape).toEqual([3000, 1, 28, 28]);
    expect(subset.test.shape).toEqual([1000, 1, 28, 28]);
    expect(classCounts(subset.train.labels)).toEqual(new Array(10).fill(300));
    expect(classCounts(subset.test.labels)).toEqual(new Array(10).fill(100));
    expect(subset.train.images.every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(subset.description).toMatch(
      /subset shipped in data\/fashion-mnist: 3,000 training and 1,000 test images/,
    );
  });

  it('takes a stratified sample when asked', () => {
    const small = loadFashionMnist({ source: 'subset', perClass: { train: 5, test: 2 } });
    expect(classCounts(small.train.labels)).toEqual(new Array(10).fill(5));
    expect(classCounts(small.test.labels)).toEqual(new Array(10).fill(2));
    expect(small.description).toContain('a stratified sample');
  });

  it.skipIf(!FULL_SET)('is what scripts/make-fashion-subset.ts makes from the full set', async () => {
    const out = mkdtempSync(join(tmpdir(), 'fashion-subset-'));
    try {
      const written = await makeFashionSubset(FASHION_MNIST_SYSTEM_DIR, out);
      expect(written.map((w) => w.shape)).toEqual([[3000, 28, 28], [3000], [1000, 28, 28], [1000]]);
      for (const { path } of written) {
        // Compared inflated: gzip's bytes may differ between zlib versions, the IDX inside may not.
        const shipped = gunzipSync(readFileSync(join(FASHION_MNIST_SUBSET_DIR, basename(path))));
        expect(gunzipSync(readFileSync(path)).equals(shipped)).toBe(true);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('loadFashionMnist', () => {
  it.skipIf(!FULL_SET)("prefers the full set when Debian's package is installed", () => {
    const full = loadFashionMnist({ perClass: { train: 1, test: 1 } });
    expect(full.source).toBe('full');
    expect(full.description).toContain(FASHION_MNIST_SYSTEM_DIR);
  });

  it('falls back to the subset when the folder lacks the files, and refuses when the full set is required', () => {
    const empty = mkdtempSync(join(tmpdir(), 'no-fashion-'));
    try {
      expect(loadFashionMnist({ directory: empty, perClass: { train: 1, test: 1 } }).source).toBe('subset');
      expect(() => loadFashionMnist({ directory: empty, source: 'full' })).toThrow(
        /apt-get install dataset-fashion-mnist/,
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('names the file when one is corrupt', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bad-idx-'));
    try {
      const path = join(dir, 'bad.gz');
      const good = readFileSync(join(FASHION_MNIST_SUBSET_DIR, 't10k-labels-idx1-ubyte.gz'));
      writeFileSync(path, good.subarray(0, good.length - 10));
      expect(() => readIdxFile(path)).toThrow(new RegExp(`^${path}: `));
      expect(() => readIdxFile(join(dir, 'missing.gz'))).toThrow(/missing\.gz: cannot be read \(ENOENT\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('shifted test sets', () => {
  const { test } = loadFashionMnist({ source: 'subset', perClass: { train: 1, test: 3 } });

  it('rotates the whole test set by each angle, 0° being the test set itself', () => {
    const sets = rotatedSets(test, [0, 45, 90]);
    expect(sets.map((s) => s.degrees)).toEqual([0, 45, 90]);
    expect(sets[0]!.images).toEqual(test.images);
    expect(sets[2]!.images).toEqual(rotateImages(test.images, test.shape, 90).images);
    expect(sets[1]!.shape).toEqual(test.shape);
  });

  it('gives the 1,797 UCI digits as 28×28 images in [0, 1]', () => {
    const digits = digitsOutOfDistribution();
    expect(digits.shape).toEqual([1797, 1, 28, 28]);
    expect(digits.labels).toHaveLength(1797);
    expect(digits.images.every((v) => v >= 0 && v <= 1)).toBe(true);
  });
});
