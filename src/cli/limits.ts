/**
 * What the CLI refuses before it trains, in the words of its own options.
 *
 * Memory. An MLP with layer widths w₀ → w₁ → … → w_L has
 * P = Σ_l (w_{l−1} + 1)·w_l weights. The posterior stores, in doubles,
 *
 *   full      the P × P precision                        P²
 *   kron      per layer, A = (w_{l−1}+1)² and B = w_l²     Σ_l (w_{l−1}+1)² + w_l²
 *   diag      one precision per weight                    P
 *   lowrank   k = min(50, P) eigenvectors                 P·k
 *
 * over all weights, or over the last layer's alone with `--subset lastLayer`.
 * Above 2²⁸ doubles (2 GiB) the library would refuse after training, in terms
 * of its own options, or the allocation would fail; here the same count is
 * made from the widths, before any data is fitted.
 *
 * Scale. The Gaussian predictive of a regression maps back to the user's units
 * as variance s²·v, and its NLL squares residuals (y − μ)²; both overflow once
 * |y| passes about 1.3e154 (or underflow once the spread s is below
 * 1e-154). A target outside 1e±150 is therefore refused by name: rescaling the
 * column by a power of ten loses nothing.
 */
import { CsvError, type NumericTable } from '../data/csv.js';
import type { HessianStructure } from '../laplace/base.js';
import type { TargetScale } from '../laplace/pipeline.js';

/** The largest posterior (or network) the CLI builds, in doubles: 2 GiB. */
export const MAX_ENTRIES = 2 ** 28;

/** Weights of an MLP with these layer widths (inputs first, outputs last). */
function mlpWeights(widths: readonly number[]): number {
  let p = 0;
  for (let l = 1; l < widths.length; l++) p += (widths[l - 1]! + 1) * widths[l]!;
  return p;
}

/** Doubles the posterior of `structure` stores for the layers `widths` (see the header). */
function posteriorEntries(structure: HessianStructure, widths: readonly number[]): number {
  const p = mlpWeights(widths);
  switch (structure) {
    case 'full':
      return p * p;
    case 'diag':
      return p;
    case 'lowrank':
      return p * Math.min(50, p);
    case 'gp':
      // The mean; its (M·K)² kernel depends on the data, not the widths.
      return p;
    case 'sampled':
      // A few P × S arrays for S = 32 samples.
      return 4 * 32 * p;
    case 'kron': {
      let entries = 0;
      for (let l = 1; l < widths.length; l++) entries += (widths[l - 1]! + 1) ** 2 + widths[l]! ** 2;
      return entries;
    }
  }
}

const gib = (entries: number) => `${((entries * 8) / 2 ** 30).toPrecision(3)} GiB`;

/**
 * Why an architecture's network or posterior would not fit in memory, naming
 * `--structure`, `--subset` and `--hidden`; null if it fits.
 */
export function posteriorSizeProblem(
  widths: readonly number[],
  options: { hessianStructure: HessianStructure; subsetOfWeights: 'all' | 'lastLayer' },
): string | null {
  const name = widths.join('→');
  const network = mlpWeights(widths);
  if (network > MAX_ENTRIES) {
    return `the network ${name} has ${network} weights (${gib(network)}), more than the CLI builds; use smaller --hidden layers`;
  }
  const lastLayer = widths.slice(-2);
  const covered = options.subsetOfWeights === 'all' ? widths : lastLayer;
  const entries = posteriorEntries(options.hessianStructure, covered);
  if (entries <= MAX_ENTRIES) return null;
  const weights = mlpWeights(covered);
  const alternatives = (['kron', 'diag', 'lowrank'] as const).filter(
    (s) => s !== options.hessianStructure && posteriorEntries(s, covered) <= MAX_ENTRIES,
  );
  const advice = [
    alternatives.length > 0 ? `--structure ${alternatives.join(', ')}` : '',
    options.subsetOfWeights === 'all' && posteriorEntries(options.hessianStructure, lastLayer) <= MAX_ENTRIES
      ? `--subset lastLayer (${mlpWeights(lastLayer)} weights)`
      : '',
    'smaller --hidden layers',
  ].filter(Boolean);
  return `--structure ${options.hessianStructure} over the ${weights} ${options.subsetOfWeights === 'all' ? '' : 'last-layer '}weights of ${name} needs ${gib(entries)}, more than the 2 GiB the CLI allows; use ${advice.join(', or ')}`;
}

/**
 * Regression targets must stay within 1e150 in magnitude and, unless constant,
 * spread at least 1e-150 (`scale` is the fitted standardisation; see the header).
 */
export function checkTargetRange(table: NumericTable, scale: TargetScale): void {
  const y = table.y!;
  let largest = 0;
  for (let i = 1; i < y.length; i++) if (Math.abs(y[i]!) > Math.abs(y[largest]!)) largest = i;
  const where = `${table.fileName}: column ${JSON.stringify(table.target)}`;
  const details = { fileName: table.fileName, column: table.target! };
  if (Math.abs(y[largest]!) > 1e150) {
    throw new CsvError(
      `${where}: ${y[largest]} (line ${table.lines[largest]}) is too large for a regression target, whose squared errors must stay finite (|y| ≤ 1e150); divide the column by a power of ten`,
      { ...details, row: table.lines[largest]! },
    );
  }
  if (scale.std < 1e-150) {
    throw new CsvError(
      `${where}: the standard deviation ${scale.std.toPrecision(3)} is too small for a regression target, whose variances must stay above zero (≥ 1e-150); multiply the column by a power of ten`,
      details,
    );
  }
}
