import { describe, expect, it } from 'vitest';
import type { ImagesData } from '../../demo/images.js';
import { cnnModels, cnnSettings, DEFAULT_CNN } from '../../demo/images-cnn.js';
import { loadFashionMnist } from '../../demo/images-data.js';
import { selectImages } from '../../src/data/images.js';

const silent = { write() {} };

describe('cnnModels', () => {
  // A small problem: 20 training images per class, 50 test images, 50 digits stand in for the sets.
  const data = loadFashionMnist({ source: 'subset', perClass: { train: 20, test: 5 } });
  const test = data.test;
  const few = selectImages(
    test.images,
    test.shape,
    Array.from({ length: 50 }, (_, i) => i),
  );
  const images: ImagesData = {
    data,
    rotated: [{ degrees: 0, ...few }],
    outOfDistribution: few,
  };
  const models = cnnModels(
    images,
    { quick: true, progress: silent },
    { ...cnnSettings(true), epochs: 3, marglikEpochs: 0 },
  );

  it('trains the CNN of the architecture string and names it', () => {
    expect(models.network).toContain(`A CNN ${DEFAULT_CNN} (3,098 weights), trained 3 epochs`);
    expect(models.predictives.map((p) => p.name)).toEqual([
      'MAP',
      'Laplace nn kron',
      'Laplace glm kron',
      'Laplace glm last layer (kron)',
    ]);
  });

  it('gives a probability table per predictive, the Laplace ones less confident than the MAP on average', () => {
    const meanConfidence = (probs: Float64Array) => {
      let total = 0;
      for (let n = 0; n < 50; n++) total += Math.max(...probs.subarray(n * 10, (n + 1) * 10));
      return total / 50;
    };
    const [map, ...laplace] = models.predictives.map((p) => p.probabilities(few.images, few.shape));
    for (const probs of [map!, ...laplace]) {
      expect(probs).toHaveLength(500);
      for (let n = 0; n < 50; n++) {
        const row = probs.subarray(n * 10, (n + 1) * 10);
        expect(row.every((p) => p >= 0)).toBe(true);
        expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
      }
    }
    // The linearised predictives (not the sampled nn one, which may move off the MAP either way).
    const glm = models.predictives.flatMap((p, i) => (p.name.includes(' glm ') ? [laplace[i - 1]!] : []));
    expect(glm).toHaveLength(2);
    for (const probs of glm) expect(meanConfidence(probs)).toBeLessThan(meanConfidence(map!));
  });
});
