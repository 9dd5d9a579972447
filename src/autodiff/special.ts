/**
 * Scalar special functions to float64 accuracy (JavaScript's Math has no erf).
 *
 * erf x = (2/√π) ∫₀ˣ e^(−t²) dt.  For |x| < 2 the series with positive terms
 *   erf x = (2/√π) e^(−x²) Σₙ 2ⁿ x²ⁿ⁺¹ / (1·3·5···(2n+1))
 * has no cancellation. For x ≥ 1.1 the even part of Laplace's continued fraction
 *   erfc x = (2x e^(−x²)/√π) / (2x² + 1 − 1·2/(2x² + 5 − 3·4/(2x² + 9 − …)))
 * converges (modified Lentz) in under 80 steps, under 30 from x = 2. Each
 * gives the other through erf = 1 − erfc where that subtraction loses little:
 * erf agrees with correctly rounded values to 1e-15 relative and erfc to 1e-14
 * (checked against CPython's math.erf/erfc on a fine grid over [−8, 8]).
 */

const TWO_OVER_SQRT_PI = 1.1283791670955126;
const ONE_OVER_SQRT_PI = 0.5641895835477563;
/** erf by its series below this; erfc by the continued fraction above ERFC_LIMIT. */
const SERIES_LIMIT = 2;
const ERFC_LIMIT = 1.1;

/** erf of |x| < 2 by the positive series. */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 100; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (Math.abs(term) <= 1e-17 * Math.abs(sum)) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
}

/** erfc of x ≥ 1.1 by the even continued fraction: b₀ = 2x² + 1, aₙ = −(2n−1)(2n), bₙ = 2x² + 1 + 4n. */
function erfcContinuedFraction(x: number): number {
  const tiny = 1e-300;
  const y = 2 * x * x;
  let f = y + 1;
  let c = f;
  let d = 0;
  for (let n = 1; n < 200; n++) {
    const a = -(2 * n - 1) * (2 * n);
    const b = y + 1 + 4 * n;
    d = b + a * d;
    d = d === 0 ? 1 / tiny : 1 / d;
    c = b + a / c;
    if (c === 0) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 2e-16) break;
  }
  return (2 * x * Math.exp(-x * x) * ONE_OVER_SQRT_PI) / f;
}

/** The error function. */
export function erfScalar(x: number): number {
  if (Number.isNaN(x)) return x;
  const ax = Math.abs(x);
  if (ax < SERIES_LIMIT) return erfSeries(x);
  const r = 1 - erfcContinuedFraction(ax);
  return x < 0 ? -r : r;
}

/** The complementary error function 1 − erf x, accurate in the tail. */
export function erfcScalar(x: number): number {
  if (Number.isNaN(x)) return x;
  if (x >= ERFC_LIMIT) return erfcContinuedFraction(x);
  if (x <= -ERFC_LIMIT) return 2 - erfcContinuedFraction(-x);
  return 1 - erfSeries(x);
}
