/**
 * Standardisation at any scale: the scaled two-pass statistics are the
 * textbook ones where those are finite, and scale with the data exactly (a
 * power of two in, the same power of two out) where the textbook sums would
 * overflow or underflow.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { fitStandardizer, fitTargetScale, standardize } from '../../src/data/dataset.js';
import { ValueError } from '../../src/errors.js';

/** The textbook definition, one column: mean Σx/n and population std √(Σ(x − mean)²/n). */
function textbook(column: readonly number[]): { mean: number; std: number } {
  const n = column.length;
  let mean = 0;
  for (const x of column) mean += x / n;
  let variance = 0;
  for (const x of column) variance += (x - mean) ** 2 / n;
  return { mean, std: Math.sqrt(variance) };
}

const column = fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 2, maxLength: 30 });
/** A column of ordinary magnitude whose spread is well resolved. */
const spreadColumn = column.filter((c) => {
  const { std } = textbook(c);
  return std > 1e-6 * Math.max(...c.map(Math.abs));
});

describe('fitStandardizer', () => {
  test.prop([spreadColumn])('equals the textbook two-pass mean and std bit for bit', (c) => {
    const stats = fitStandardizer(c.map((x) => [x]));
    const { mean, std } = textbook(c);
    expect(stats.mean[0]).toBe(mean);
    expect(stats.std[0]).toBe(std);
  });

  test.prop([spreadColumn, fc.integer({ min: -1000, max: 1000 })])(
    'scales exactly with the data by any power of two, however far from 1 (1e±300)',
    (c, k) => {
      const scale = 2 ** k;
      fc.pre(c.every((x) => Number.isFinite(x * scale) && (x === 0 || Math.abs(x * scale) > 1e-290)));
      const base = fitStandardizer(c.map((x) => [x]));
      const scaled = fitStandardizer(c.map((x) => [x * scale]));
      expect(scaled.mean[0]).toBe(base.mean[0]! * scale);
      expect(scaled.std[0]).toBe(base.std[0]! * scale);
      expect(
        standardize(
          c.map((x) => [x * scale]),
          scaled,
        ),
      ).toEqual(
        standardize(
          c.map((x) => [x]),
          base,
        ),
      );
    },
  );

  it('standardises columns near the largest double without overflow', () => {
    const X = [[1.7e308], [-1.7e308], [1.7e308]];
    const stats = fitStandardizer(X);
    expect(Number.isFinite(stats.mean[0]!) && Number.isFinite(stats.std[0]!)).toBe(true);
    const z = standardize(X, stats).map(([v]) => v!);
    for (const v of z) expect(Number.isFinite(v)).toBe(true);
    expect(z[0]! + z[1]! + z[2]!).toBeCloseTo(0, 12);
    expect(z.reduce((a, v) => a + v * v, 0) / 3).toBeCloseTo(1, 12);
  });

  it('treats a spread within rounding of the magnitude, or below 1e-290, as a constant column', () => {
    expect(fitStandardizer([[1e-300], [2e-300]]).std).toEqual([1]);
    expect(fitStandardizer([[1], [1 + 2 ** -52]]).std).toEqual([1]);
    expect(fitStandardizer([[0], [0]])).toEqual({ mean: [0], std: [1] });
    expect(fitStandardizer([[1e-200], [3e-200]]).std[0]).toBeCloseTo(1e-200, 212);
  });

  it('standardises to exact zeros what is left of a constant column of subnormal values', () => {
    const X = [[-3e-310], [0], [5e-324]];
    const z = standardize(X, fitStandardizer(X)).map(([v]) => v);
    expect(z).toEqual([0, 0, 0]);
  });

  it('refuses a non-finite value', () => {
    expect(() => fitStandardizer([[1], [Number.POSITIVE_INFINITY]])).toThrow(ValueError);
    expect(() => fitTargetScale([Number.NaN, 1])).toThrow(ValueError);
  });
});
