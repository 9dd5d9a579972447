/**
 * The laplace-torch reference fixtures (test/fixtures, written by
 * scripts/reference): numbers nested as PyTorch's `tolist` gives them, and the
 * network entry cnn_fixtures.py's `problem` writes for both cnn.json and gp.json.
 */
import { readFileSync } from 'node:fs';
import type { LikelihoodName } from '../../src/laplace/index.js';
import type { SequentialJSON } from '../../src/nn/index.js';

export type Nested = number | Nested[];

/** The numbers of a nested array in row-major order. */
export const flat = (x: Nested): number[] => (Array.isArray(x) ? x.flatMap(flat) : [x]);

/** One network of a fixture: its JSON, weights and data, and the reference's cases on it. */
export interface FixtureNetwork<Case> {
  name: string;
  likelihood: LikelihoodName;
  sigmaNoise: number;
  priorPrecision: number;
  model: SequentialJSON;
  parameters: number[];
  X: number[][];
  y: number[] | number[][];
  XTest: number[][];
  cases: Case[];
}

/** test/fixtures/`path`, parsed. */
export function readFixture<T>(path: string): T {
  return JSON.parse(readFileSync(new URL(`../fixtures/${path}`, import.meta.url), 'utf8')) as T;
}
