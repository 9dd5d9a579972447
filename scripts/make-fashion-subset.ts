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
import { decodeIdx, encodeIdx, gzip, takeIdx } from '../src/data/idx.js';
import { stratifiedIndices } from '../src/data/images.js';

const FROM = process.argv[2] ?? '/usr/share/datasets/fashion-mnist';
const TO = process.argv[3] ?? new URL('../data/fashion-mnist/', import.meta.url).pathname;

const SPLITS = [
  { prefix: 'train', perClass: 300, seed: 2017 },
  { prefix: 't10k', perClass: 100, seed: 2018 },
];

mkdirSync(TO, { recursive: true });
for (const { prefix, perClass, seed } of SPLITS) {
  const images = await decodeIdx(readFileSync(join(FROM, `${prefix}-images-idx3-ubyte.gz`)));
  const labels = await decodeIdx(readFileSync(join(FROM, `${prefix}-labels-idx1-ubyte.gz`)));
  const indices = stratifiedIndices(labels.data, perClass, seed);
  for (const [name, array] of [
    [`${prefix}-images-idx3-ubyte.gz`, takeIdx(images, indices)],
    [`${prefix}-labels-idx1-ubyte.gz`, takeIdx(labels, indices)],
  ] as const) {
    const bytes = await gzip(encodeIdx(array));
    writeFileSync(join(TO, name), bytes);
    console.log(`${join(TO, name)}: [${array.shape.join(', ')}] ${array.type}, ${bytes.length} bytes`);
  }
}
