/**
 * Writes the toy CSVs shipped in data/ for the CLI examples, from fixed seeds:
 *   data/toy-regression.csv  x, y      gapRegression training set (seed 1)
 *   data/toy-regression-test.csv       its test set over [−3, 3]
 *   data/moons.csv           x1, x2, label   twoMoons, 300 points, noise 0.15 (seed 2)
 * Run with `npx tsx demo/make-toy-csv.ts`; the output is byte-for-byte reproducible.
 */
import { writeFileSync } from 'node:fs';
import { formatCsv } from '../src/data/csv.js';
import type { Dataset } from '../src/data/dataset.js';
import { gapRegression, twoMoons } from '../src/data/toy.js';

// Six significant digits: plenty for toy data, and the files stay readable.
const round = (x: number) => Number(x.toPrecision(6));
const rows = ({ X, y }: Dataset) => X.map((row, i) => [...row.map(round), round(y[i]!)]);

const dataDir = new URL('../data/', import.meta.url);
const gap = gapRegression({ nTrain: 80, nTest: 200, noise: 0.1, seed: 1 });
writeFileSync(new URL('toy-regression.csv', dataDir), formatCsv(['x', 'y'], rows(gap.train)));
writeFileSync(new URL('toy-regression-test.csv', dataDir), formatCsv(['x', 'y'], rows(gap.test)));
const moons = twoMoons({ n: 300, noise: 0.15, seed: 2 });
writeFileSync(new URL('moons.csv', dataDir), formatCsv(['x1', 'x2', 'label'], rows(moons)));
