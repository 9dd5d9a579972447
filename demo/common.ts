/**
 * What every part of the demo shares: the shape of a part's result (tables,
 * figures and the claims it checks), reading a shipped dataset, and training
 * with a progress bar.
 */
import { readFileSync } from 'node:fs';
import { numericTable, parseCsv } from '../src/data/csv.js';
import type { Dataset } from '../src/data/dataset.js';
import { type TrainSettings, trainMap } from '../src/laplace/pipeline.js';
import type { Sequential } from '../src/nn/index.js';
import { ProgressBar, type ProgressStream } from '../src/report/progress.js';
import type { Figure, Table } from '../src/report/report.js';

/** A statement the demo makes, and whether this run bears it out. */
export interface Claim {
  /** Stable key, e.g. for the test that asserts the quick mode's claims. */
  id: string;
  statement: string;
  holds: boolean;
  /** The numbers behind it. */
  evidence: string;
}

export interface PartResult {
  title: string;
  /** What the part shows and how, a paragraph or two. */
  intro: string[];
  tables: Table[];
  /** Figures drawn side by side, one row per inner array. */
  figures: Figure[][];
  claims: Claim[];
  /** Afterthoughts for the report, e.g. honest caveats. */
  notes: string[];
  seconds: number;
}

export interface DemoOptions {
  /** The reduced run for CI: fewer epochs, fewer architectures and datasets. */
  quick: boolean;
  /** Where progress bars go (stderr); pass `{ write() {} }` for silence. */
  progress: ProgressStream;
}

/** A shipped dataset from data/, by file stem, with its target column. */
export function readDataset(name: string, target: string): Dataset & { columns: string[] } {
  const path = new URL(`../data/${name}.csv`, import.meta.url);
  const table = numericTable(parseCsv(readFileSync(path, 'utf8'), { fileName: `data/${name}.csv` }), {
    target,
  });
  return { X: table.X, y: table.y!, columns: table.columns };
}

/** `trainMap` with a progress bar labelled `label`. */
export function trainWithProgress(
  label: string,
  X: number[][],
  y: readonly number[],
  nOutputs: number,
  settings: TrainSettings,
  options: DemoOptions,
): { model: Sequential; losses: number[] } {
  const bar = new ProgressBar(label, settings.epochs, { stream: options.progress });
  const result = trainMap(X, y, nOutputs, settings, (_, loss) => bar.tick(1, `loss ${loss.toPrecision(3)}`));
  bar.finish(`loss ${result.losses.at(-1)!.toPrecision(3)}`);
  return result;
}

/** Mean of `values` over the indices where `keep` is true. */
export function meanWhere(values: ArrayLike<number>, keep: (i: number) => boolean): number {
  let total = 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    if (keep(i)) {
      total += values[i]!;
      count++;
    }
  }
  return total / count;
}

/** Seconds since `start` (a `performance.now()` reading). */
export function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}
