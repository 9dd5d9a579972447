/**
 * Make the Fashion-MNIST subset shipped in data/fashion-mnist/ from the full
 * set (Debian's dataset-fashion-mnist, or the four files in another folder):
 *
 *   npx tsx scripts/make-fashion-subset.ts [FROM_DIR] [TO_DIR]
 *
 * A stratified sample, the same number of images of every class drawn without
 * replacement with a fixed seed (300 per class of the 60,000 training images,
 * 100 per class of the 10,000 test images), kept in their original order and
 * written as gzipped IDX files under the original names. Run twice, it writes
 * the same bytes.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { decodeIdx, encodeIdx, gzip, takeIdx } from '../src/data/idx.js';
import { stratifiedIndices } from '../src/data/images.js';

const SPLITS = [
  { prefix: 'train', perClass: 300, seed: 2017 },
  { prefix: 't10k', perClass: 100, seed: 2018 },
];

/** Write the subset of the four files in `from` to `to`; returns what was written. */
export async function makeFashionSubset(
  from: string,
  to: string,
): Promise<{ path: string; shape: number[]; bytes: number }[]> {
  mkdirSync(to, { recursive: true });
  const written: { path: string; shape: number[]; bytes: number }[] = [];
  for (const { prefix, perClass, seed } of SPLITS) {
    const images = await decodeIdx(readFileSync(join(from, `${prefix}-images-idx3-ubyte.gz`)));
    const labels = await decodeIdx(readFileSync(join(from, `${prefix}-labels-idx1-ubyte.gz`)));
    const indices = stratifiedIndices(labels.data, perClass, seed);
    for (const [name, array] of [
      [`${prefix}-images-idx3-ubyte.gz`, takeIdx(images, indices)],
      [`${prefix}-labels-idx1-ubyte.gz`, takeIdx(labels, indices)],
    ] as const) {
      const bytes = await gzip(encodeIdx(array));
      writeFileSync(join(to, name), bytes);
      written.push({ path: join(to, name), shape: array.shape, bytes: bytes.length });
    }
  }
  return written;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const from = process.argv[2] ?? '/usr/share/datasets/fashion-mnist';
  const to = process.argv[3] ?? fileURLToPath(new URL('../data/fashion-mnist/', import.meta.url));
  for (const { path, shape, bytes } of await makeFashionSubset(from, to)) {
    console.log(`${path}: [${shape.join(', ')}], ${bytes} bytes`);
  }
}
