/**
 * A network of only Linear layers gives bitwise the results it gave before
 * Laplace read networks through layer rules: the fixture holds FNV-1a hashes
 * of the bits of the evidence, the predictive, the posterior variance and the
 * tuned evidence for every structure, subset and likelihood, as computed by
 * the MLP-only implementation (commit 3708496) on the same data.
 */
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { laplace } from '../../src/laplace/index.js';
import { type ActivationName, Sequential } from '../../src/nn/index.js';
import { seededRng } from '../../src/random.js';

function hash(values: ArrayLike<number>): string {
  const bits = new Uint32Array(Float64Array.from(values as number[]).buffer);
  let h = 2166136261;
  for (let i = 0; i < bits.length; i++) {
    h ^= bits[i]!;
    h = Math.imul(h, 16777619) >>> 0;
  }
  return h.toString(16);
}

test('Linear-only networks: the same bits as the MLP-only implementation', () => {
  const expected = readFileSync(new URL('../fixtures/laplace-mlp-hashes.txt', import.meta.url), 'utf8')
    .trim()
    .split('\n');
  const rng = seededRng(3);
  const X = Array.from({ length: 40 }, () => [rng.normal(), rng.normal(), rng.normal()]);
  const yr = X.map(([a, b]) => [Math.sin(a!) + 0.1 * b!, a! * 0.3]);
  const yc = X.map(([a, b]) => (a! + b! > 0 ? 1 : a! > 0.5 ? 2 : 0));
  const lines: string[] = [];
  for (const act of ['tanh', 'relu', 'gelu'] as ActivationName[]) {
    for (const likelihood of ['regression', 'classification'] as const) {
      const model = Sequential.mlp([3, 6, 5, likelihood === 'regression' ? 2 : 3], {
        activation: act,
        seed: 1,
      });
      for (const hessianStructure of ['full', 'kron', 'diag', 'lowrank'] as const) {
        for (const subsetOfWeights of ['all', 'lastLayer', { subnetwork: [0, 5, 7, 30, 40, 41] }] as const) {
          if (hessianStructure === 'kron' && typeof subsetOfWeights === 'object') continue;
          const la = laplace(model, { likelihood, hessianStructure, subsetOfWeights, priorPrecision: 0.7 });
          la.fit(X, likelihood === 'regression' ? yr : yc);
          const evidence = la.logMarginalLikelihood();
          const p = la.predict(X.slice(0, 7)) as unknown as Record<string, { data: Float64Array }>;
          const values =
            likelihood === 'regression'
              ? [...p['mean']!.data, ...p['predictiveVariance']!.data]
              : [...p['probs']!.data];
          const variance = la.posteriorVariance();
          la.optimizePriorPrecision();
          const tuned = la.logMarginalLikelihood();
          lines.push(
            `${act} ${likelihood} ${hessianStructure} ${JSON.stringify(subsetOfWeights)} ${hash([evidence])} ${hash(values)} ${hash(variance)} ${hash([tuned])}`,
          );
        }
      }
    }
  }
  expect(lines).toEqual(expected);
});
