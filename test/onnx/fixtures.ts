/** The PyTorch fixtures of test/fixtures/onnx (made by scripts/onnx/export_fixtures.py). */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Tensor } from '../../src/tensor.js';

const FIXTURE_DIR = join(import.meta.dirname, '..', 'fixtures', 'onnx');

export interface Fixture {
  name: string;
  opset: number;
  exportedWithDefaults: boolean;
  dtype: 'float32' | 'float64';
  inputShape: number[];
  input: { shape: number[]; data: number[] };
  /** PyTorch's output as exported (float32 unless dtype is float64). */
  output: { shape: number[]; data: number[] };
  /** PyTorch's output with the same weights promoted to float64. */
  outputFloat64: { shape: number[]; data: number[] };
  parameters: string[];
  parameterShapes: number[][];
  /**
   * diag of Σₙ Jₙᵀ (diag pₙ − pₙpₙᵀ) Jₙ over PyTorch's `parameters()` (the
   * softmax cross-entropy's GGN, laplace-torch's classification Hessian), for
   * networks that end in logits.
   */
  ggnDiagonal?: number[];
  bytes: Uint8Array;
}

export function loadFixtures(): Fixture[] {
  return readdirSync(FIXTURE_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const json = JSON.parse(readFileSync(join(FIXTURE_DIR, f), 'utf8')) as Omit<Fixture, 'bytes'>;
      const bytes = new Uint8Array(readFileSync(join(FIXTURE_DIR, f.replace(/\.json$/, '.onnx'))));
      return { ...json, bytes };
    });
}

/**
 * The network's output with the final Softmax or LogSoftmax the importer
 * dropped (its note says which) put back, by direct loops over each row.
 */
export function withDroppedHead(
  y: Tensor | { shape: readonly number[]; data: ArrayLike<number> },
  notes: readonly string[],
): number[] {
  const head = notes.join('\n').match(/dropped the final (Softmax|LogSoftmax)/)?.[1];
  const out = Array.from(y.data);
  if (head === undefined) return out;
  const [n, k] = y.shape as [number, number];
  for (let i = 0; i < n; i++) {
    const row = out.slice(i * k, (i + 1) * k);
    const m = Math.max(...row);
    const z = row.reduce((s, v) => s + Math.exp(v - m), 0);
    for (let j = 0; j < k; j++) {
      out[i * k + j] = head === 'Softmax' ? Math.exp(row[j]! - m) / z : row[j]! - m - Math.log(z);
    }
  }
  return out;
}
