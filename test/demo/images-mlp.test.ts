import { describe, expect, it } from 'vitest';
import { imagesPart } from '../../demo/images.js';
import { imageRows, mlpModels } from '../../demo/images-mlp.js';

const silent = { write() {} };

describe('the image experiment with an MLP', () => {
  it('lays images out as rows of pixels', () => {
    const images = Float64Array.from({ length: 2 * 1 * 2 * 3 }, (_, k) => k);
    expect(imageRows(images, [2, 1, 2, 3])).toEqual([
      [0, 1, 2, 3, 4, 5],
      [6, 7, 8, 9, 10, 11],
    ]);
  });

  it('runs quick, and KFAC Laplace beats the MAP under rotation and on the digits', () => {
    const part = imagesPart({ quick: true, progress: silent }, mlpModels);
    expect(part.tables[0]!.rows.map((r) => r['predictive'])).toEqual([
      'MAP',
      'Laplace glm kron',
      'Laplace glm last layer (kron)',
    ]);
    // Upright accuracy (the summary table) well above chance (0.1): the network did learn.
    expect(part.tables[0]!.rows[0]!['accuracy']).toBeGreaterThan(0.6);
    const kron = part.claims.filter((c) => c.id.endsWith('-laplace-glm-kron'));
    expect(kron.map((c) => c.id)).toEqual([
      'images-rotation-nll-laplace-glm-kron',
      'images-rotation-ece-laplace-glm-kron',
      'images-ood-laplace-glm-kron',
      'images-rotated-auroc-laplace-glm-kron',
    ]);
    for (const claim of kron) expect(claim.holds, `${claim.statement}: ${claim.evidence}`).toBe(true);
  });
});
