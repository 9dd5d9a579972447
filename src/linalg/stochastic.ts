/**
 * Stochastic estimators of traces, diagonals and log-determinants.
 *
 * For a probe z with independent Rademacher (±1) entries, E[zzᵀ] = I, so
 *
 *     E[zᵀ·A·z] = tr A                       (Hutchinson)
 *     E[z ∘ A·z] = diag A                    (Bekas, Kokiopoulou and Saad)
 *     E[zᵀ·f(A)·z] = tr f(A),  f = log  ⇒  log det A = tr log A.
 *
 * For the last, zᵀ·log(A)·z is a Riemann–Stieltjes integral against the
 * spectral measure of A seen from z, and m Lanczos steps from q₀ = z/‖z‖ give
 * its m-point Gauss quadrature: zᵀ·f(A)·z ≈ ‖z‖²·Σᵢ τᵢ²·f(θᵢ), with θᵢ the
 * eigenvalues of Tₘ and τᵢ the first components of its eigenvectors (stochastic
 * Lanczos quadrature, Ubaru, Chen and Saad 2017). Each estimate is a mean over
 * probes; its standard error is the sample standard deviation over √probes.
 */
import { NotPositiveDefiniteError } from '../errors.js';
import { dotKernel } from '../kernels/blas.js';
import { type Rng, type RngLike, toRng } from '../random.js';
import { lanczosRun, tridiagonalEigen } from './krylov.js';
import { type LinearOperator, operatorArg } from './operators.js';
import { countOption } from './validate.js';

export interface ProbeOptions {
  /** Number of random probe vectors (default 64). */
  probes?: number;
  /** Seed or generator of the probes (default 0). */
  seed?: RngLike;
}

export interface Estimate {
  /** The mean over probes. */
  estimate: number;
  /** Standard error of the mean (sample standard deviation / √probes; 0 for one probe). */
  standardError: number;
}

function rademacher(rng: Rng, z: Float64Array): void {
  for (let i = 0; i < z.length; i++) z[i] = rng.sign();
}

function meanAndError(samples: Float64Array): Estimate {
  const p = samples.length;
  let mean = 0;
  for (const s of samples) mean += s;
  mean /= p;
  if (p < 2) return { estimate: mean, standardError: 0 };
  let ss = 0;
  for (const s of samples) ss += (s - mean) * (s - mean);
  return { estimate: mean, standardError: Math.sqrt(ss / (p - 1) / p) };
}

/** Hutchinson's estimate of tr A from Rademacher probes. */
export function hutchinsonTrace(op: LinearOperator, options: ProbeOptions = {}): Estimate {
  const n = operatorArg(op, 'hutchinsonTrace');
  const probes = countOption(options.probes ?? 64, 'hutchinsonTrace', 'probes', 1);
  const rng = toRng(options.seed ?? 0);
  const z = new Float64Array(n);
  const az = new Float64Array(n);
  const samples = new Float64Array(probes);
  for (let p = 0; p < probes; p++) {
    rademacher(rng, z);
    op.matvec(z, az);
    samples[p] = dotKernel(n, z, 0, 1, az, 0, 1);
  }
  return meanAndError(samples);
}

/** Estimate of diag A as the mean of z ∘ A·z over Rademacher probes. */
export function hutchinsonDiagonal(op: LinearOperator, options: ProbeOptions = {}): Float64Array {
  const n = operatorArg(op, 'hutchinsonDiagonal');
  const probes = countOption(options.probes ?? 64, 'hutchinsonDiagonal', 'probes', 1);
  const rng = toRng(options.seed ?? 0);
  const z = new Float64Array(n);
  const az = new Float64Array(n);
  const diag = new Float64Array(n);
  for (let p = 0; p < probes; p++) {
    rademacher(rng, z);
    op.matvec(z, az);
    for (let i = 0; i < n; i++) diag[i] = diag[i]! + z[i]! * az[i]!;
  }
  for (let i = 0; i < n; i++) diag[i] = diag[i]! / probes;
  return diag;
}

export interface SlqOptions extends ProbeOptions {
  /** Lanczos steps per probe, the number of quadrature nodes (default 30). */
  steps?: number;
}

/**
 * log det A of a symmetric positive definite operator by stochastic Lanczos
 * quadrature. Throws NotPositiveDefiniteError if a Ritz value is not positive.
 */
export function slqLogdet(op: LinearOperator, options: SlqOptions = {}): Estimate {
  const fn = 'slqLogdet';
  const n = operatorArg(op, fn);
  const probes = countOption(options.probes ?? 32, fn, 'probes', 1);
  const steps = Math.min(n, countOption(options.steps ?? 30, fn, 'steps', 1));
  if (n === 0) return { estimate: 0, standardError: 0 };
  const rng = toRng(options.seed ?? 0);
  const z = new Float64Array(n);
  const samples = new Float64Array(probes);
  for (let p = 0; p < probes; p++) {
    rademacher(rng, z);
    // Stop at breakdown: the quadrature is then exact for this probe.
    const run = lanczosRun(op, z, steps, null);
    const { values, components } = tridiagonalEigen(run, run.steps, 0);
    let s = 0;
    for (let i = 0; i < run.steps; i++) {
      const theta = values[i]!;
      if (!(theta > 0)) {
        throw new NotPositiveDefiniteError(
          `${fn}: the operator is not positive definite: a Ritz value is ${theta} (probe ${p})`,
          { pivot: -1 },
        );
      }
      s += components[i]! * components[i]! * Math.log(theta);
    }
    samples[p] = n * s;
  }
  return meanAndError(samples);
}
