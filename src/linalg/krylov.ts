/**
 * Krylov methods: Lanczos for extreme eigenpairs, conjugate gradients for solves.
 *
 * Lanczos builds an orthonormal basis q₀, q₁, … of the Krylov space
 * span{q₀, A·q₀, A²·q₀, …} in which A is tridiagonal:
 *
 *     A·qⱼ = βⱼ₋₁·qⱼ₋₁ + αⱼ·qⱼ + βⱼ·qⱼ₊₁,     Qⱼᵀ·A·Qⱼ = Tⱼ.
 *
 * The eigenpairs (θ, s) of Tⱼ give Ritz pairs (θ, Qⱼ·s) whose residual is
 * ‖A·Qⱼ·s − θ·Qⱼ·s‖ = |βⱼ|·|s_last|, so convergence is read off T alone. In
 * floating point the qⱼ lose orthogonality as Ritz values converge; we
 * reorthogonalise every new vector against all previous ones, twice (CGS2),
 * which keeps Q orthonormal to working precision. If βⱼ vanishes the Krylov
 * space is invariant; the run continues from a fresh random vector orthogonal
 * to Q (a zero βⱼ in T splits it), so eigenvalues outside the first invariant
 * subspace are still found.
 *
 * Conjugate gradients minimise ½xᵀAx − bᵀx over growing Krylov spaces of a
 * symmetric positive definite A; a preconditioner M ≈ A enters only as r ↦ M⁻¹r.
 */

import { NotPositiveDefiniteError, ValueError } from '../errors.js';
import { dotKernel, gemvKernel, nrm2Kernel } from '../kernels/blas.js';
import { tql2 } from '../kernels/eigen.js';
import { gemmKernel } from '../kernels/gemm.js';
import { type Rng, type RngLike, toRng } from '../random.js';
import { Tensor, type TensorLike } from '../tensor.js';
import { type LinearOperator, operatorArg, operatorVector } from './operators.js';
import { countOption, finiteOption } from './validate.js';

/** The tridiagonal T (alpha on the diagonal, beta off it) and the basis Q (rows) of a Lanczos run. */
export interface LanczosRun {
  steps: number;
  alpha: Float64Array;
  /** beta[j] = T[j, j+1]; beta[steps − 1] is the residual norm of the last step. */
  beta: Float64Array;
  /** At least steps × n; row j is qⱼ. */
  basis: Float64Array;
  matvecs: number;
}

/**
 * Ask after each step whether to stop. `invariantFrom` is −1 after an ordinary
 * step; after a breakdown it is the first index of the block of T that has just
 * become an invariant subspace (the run continues from a fresh vector unless
 * this returns true).
 */
export type LanczosStop = (steps: number, run: LanczosRun, invariantFrom: number) => boolean;

/**
 * Run up to maxSteps Lanczos steps from `start` (normalised here) with full
 * reorthogonalisation. On breakdown, continue from a random vector drawn from
 * `restart` (unless `stop` says otherwise), or stop if `restart` is null. The
 * basis grows as needed, so a run that converges early uses little memory.
 */
export function lanczosRun(
  op: LinearOperator,
  start: Float64Array,
  maxSteps: number,
  restart: Rng | null,
  stop: LanczosStop = () => false,
): LanczosRun {
  const n = op.size;
  const alpha = new Float64Array(maxSteps);
  const beta = new Float64Array(maxSteps);
  let capacity = Math.min(maxSteps, 64);
  const run: LanczosRun = { steps: 0, alpha, beta, basis: new Float64Array(capacity * n), matvecs: 0 };
  const w = new Float64Array(n);
  const h = new Float64Array(maxSteps);
  const startNorm = nrm2Kernel(n, start, 0, 1);
  if (maxSteps === 0 || startNorm === 0) return run;
  for (let i = 0; i < n; i++) run.basis[i] = start[i]! / startNorm;
  let anorm = 0;
  let blockStart = 0;
  for (let j = 0; j < maxSteps; j++) {
    const basis = run.basis;
    const qj = basis.subarray(j * n, (j + 1) * n);
    op.matvec(qj, w);
    run.matvecs++;
    const a = dotKernel(n, qj, 0, 1, w, 0, 1);
    alpha[j] = a;
    for (let i = 0; i < n; i++) w[i] = w[i]! - a * qj[i]!;
    if (j > blockStart) {
      const b = beta[j - 1]!;
      for (let i = 0; i < n; i++) w[i] = w[i]! - b * basis[(j - 1) * n + i]!;
    }
    orthogonalize(j + 1, n, basis, w, h);
    const b = nrm2Kernel(n, w, 0, 1);
    anorm = Math.max(anorm, Math.abs(a) + b + (j > blockStart ? beta[j - 1]! : 0));
    run.steps = j + 1;
    beta[j] = b;
    if (j + 1 === maxSteps) break;
    const breakdown = b <= 1e-10 * anorm;
    if (breakdown && (restart === null || j + 1 >= n || stop(j + 1, run, blockStart))) break;
    if (!breakdown && stop(j + 1, run, -1)) break;
    if (j + 1 >= capacity) {
      capacity = Math.min(maxSteps, 2 * capacity);
      const grown = new Float64Array(capacity * n);
      grown.set(basis);
      run.basis = grown;
    }
    const next = run.basis.subarray((j + 1) * n, (j + 2) * n);
    if (breakdown) {
      // The block from blockStart is invariant: T splits here (β = 0) and the run
      // continues in the orthogonal complement from a random vector.
      for (let i = 0; i < n; i++) w[i] = restart!.normal();
      orthogonalize(j + 1, n, run.basis, w, h);
      const norm = nrm2Kernel(n, w, 0, 1);
      if (norm === 0) break;
      for (let i = 0; i < n; i++) next[i] = w[i]! / norm;
      beta[j] = 0;
      blockStart = j + 1;
    } else {
      for (let i = 0; i < n; i++) next[i] = w[i]! / b;
    }
  }
  return run;
}

/** w ← (I − QQᵀ)² w for the first `rows` rows of Q (classical Gram–Schmidt, twice). */
function orthogonalize(rows: number, n: number, basis: Float64Array, w: Float64Array, h: Float64Array): void {
  for (let pass = 0; pass < 2; pass++) {
    gemvKernel(rows, n, 1, basis, 0, n, false, w, 0, 1, 0, h, 0, 1);
    gemvKernel(rows, n, -1, basis, 0, n, true, h, 0, 1, 1, w, 0, 1);
  }
}

/**
 * Eigenvalues (ascending) of the leading `steps` × `steps` block of T, and for
 * each the component of its eigenvector at position `component` (0 or steps − 1).
 */
export function tridiagonalEigen(
  run: LanczosRun,
  steps: number,
  component: number,
): { values: Float64Array; components: Float64Array } {
  const d = run.alpha.slice(0, steps);
  const e = new Float64Array(steps);
  e.set(run.beta.subarray(0, steps - 1));
  const z = new Float64Array(steps);
  z[component] = 1;
  if (tql2(steps, d, e, z, 0, steps, 1) >= 0)
    throw new ValueError('lanczos: QL iteration on T did not converge');
  return { values: d, components: z };
}

export interface LanczosOptions {
  /** Seed or generator of the random start vector (default 0). */
  seed?: RngLike;
  /** Stop when every wanted Ritz pair has residual ≤ tol·max|θ| (default 1e-10). */
  tol?: number;
  /** Largest number of Lanczos steps, each one matvec (default min(n, max(20k, 300))). */
  maxIter?: number;
}

export interface LanczosResult {
  /** The k largest Ritz values, in descending order. */
  values: Float64Array;
  /** The matching Ritz vectors as the columns of an n × k matrix, orthonormal. */
  vectors: Tensor;
  /** Residual norms ‖A·y − θ·y‖ of the pairs. */
  residuals: Float64Array;
  /** Products with the operator used. */
  matvecs: number;
  /** Whether every residual met the tolerance. */
  converged: boolean;
}

/**
 * The k largest eigenpairs of a symmetric operator, by Lanczos with full
 * reorthogonalisation. Stops when the k largest Ritz pairs have residual
 * ≤ tol·max|θ|, or at maxIter steps (then `converged` is false). A single
 * start vector sees one copy of each repeated eigenvalue until its Krylov space
 * becomes invariant; the restarts that follow find the other copies, but a
 * repeated eigenvalue whose copies are not needed to converge the others may
 * be reported once, with the next eigenvalue in its place.
 */
export function lanczos(op: LinearOperator, k: number, options: LanczosOptions = {}): LanczosResult {
  const fn = 'lanczos';
  const n = operatorArg(op, fn);
  countOption(k, fn, 'k');
  if (k > n) throw new ValueError(`lanczos: k is ${k} but the operator has size ${n}`);
  const tol = finiteOption(options.tol ?? 1e-10, fn, 'tol');
  const maxIter = countOption(options.maxIter ?? Math.min(n, Math.max(20 * k, 300)), fn, 'maxIter');
  if (maxIter < k) throw new ValueError(`lanczos: maxIter (${maxIter}) must be at least k (${k})`);
  if (k === 0) {
    return {
      values: new Float64Array(0),
      vectors: new Tensor(new Float64Array(0), [n, 0]),
      residuals: new Float64Array(0),
      matvecs: 0,
      converged: true,
    };
  }
  const rng = toRng(options.seed ?? 0);
  const start = new Float64Array(n);
  for (let i = 0; i < n; i++) start[i] = rng.normal();
  const residualsOf = (run: LanczosRun, j: number) => {
    const { values, components } = tridiagonalEigen(run, j, j - 1);
    const residuals = new Float64Array(k);
    let scale = 0;
    for (let i = 0; i < j; i++) scale = Math.max(scale, Math.abs(values[i]!));
    let ok = j >= k;
    for (let c = 0; c < Math.min(k, j); c++) {
      residuals[c] = Math.abs(run.beta[j - 1]! * components[j - 1 - c]!);
      if (!(residuals[c]! <= tol * scale)) ok = false;
    }
    return { residuals, ok, values };
  };
  let lastCheck = 0;
  let invariantStop = false;
  const stop: LanczosStop = (j, run, invariantFrom) => {
    if (invariantFrom < 0) {
      // Ordinary step: the top k Ritz pairs have converged (checked every step
      // early on, then every j/25 steps, as each check costs O(j²)).
      if (j < k || j - lastCheck < Math.ceil(j / 25)) return false;
      lastCheck = j;
      return residualsOf(run, j).ok;
    }
    // Breakdown. A block started from a random vector holds every distinct
    // eigenvalue of A on the subspace it explored; what remains are further
    // copies of them, all at most the block's largest value. Stop if k values
    // are known and none of those copies can enter the top k.
    if (j < k) return false;
    const all = tridiagonalEigen(run, j, j - 1).values;
    const block = tridiagonalEigen(
      { ...run, alpha: run.alpha.subarray(invariantFrom), beta: run.beta.subarray(invariantFrom) },
      j - invariantFrom,
      0,
    ).values;
    invariantStop = block[block.length - 1]! <= all[j - k]!;
    return invariantStop;
  };
  const run = lanczosRun(op, start, Math.min(maxIter, n), rng, stop);
  const j = run.steps;
  // A NaN compares false with every tolerance, so it would pass as converged.
  for (let i = 0; i < j; i++) {
    if (!Number.isFinite(run.alpha[i]!) || (i < j - 1 && !Number.isFinite(run.beta[i]!))) {
      throw new ValueError(
        `lanczos: the operator's products are not finite (the tridiagonal entry at step ${i} is ${run.alpha[i]}, ${run.beta[i]}); check the operator's matvec`,
      );
    }
  }
  const { residuals, ok } = residualsOf(run, j);
  // Full eigenvectors of T, then Ritz vectors Y = Qᵀ·S.
  const d = run.alpha.slice(0, j);
  const e = new Float64Array(j);
  e.set(run.beta.subarray(0, j - 1));
  const z = new Float64Array(j * j);
  for (let i = 0; i < j; i++) z[i * j + i] = 1;
  if (tql2(j, d, e, z, 0, j, j) >= 0) throw new ValueError('lanczos: QL iteration on T did not converge');
  const values = new Float64Array(k);
  const s = new Float64Array(j * k);
  for (let c = 0; c < k; c++) {
    const idx = j - 1 - c;
    values[c] = d[idx]!;
    for (let i = 0; i < j; i++) s[i * k + c] = z[i * j + idx]!;
  }
  const vectors = new Float64Array(n * k);
  gemmKernel(n, k, j, 1, run.basis, 0, n, true, s, 0, k, false, 0, vectors, 0, k);
  return {
    values,
    vectors: new Tensor(vectors, [n, k]),
    residuals,
    matvecs: run.matvecs,
    converged: ok || invariantStop || j === n,
  };
}

export interface CgOptions {
  /** Stop when ‖b − A·x‖ ≤ max(tol·‖b‖, atol) (default tol 1e-10). */
  tol?: number;
  /** Absolute residual tolerance (default 0). */
  atol?: number;
  /** Largest number of iterations (default max(10n, 100)). */
  maxIter?: number;
  /** M⁻¹ for a symmetric positive definite preconditioner M ≈ A. */
  preconditioner?: LinearOperator;
  /** Starting guess (default 0). */
  x0?: TensorLike;
}

export interface CgResult {
  x: Float64Array;
  iterations: number;
  /** ‖b − A·x‖ recomputed from the returned x. */
  residualNorm: number;
  converged: boolean;
}

/** Solve A·x = b for a symmetric positive definite operator by (preconditioned) conjugate gradients. */
export function cg(op: LinearOperator, b: TensorLike, options: CgOptions = {}): CgResult {
  const fn = 'cg';
  const n = operatorArg(op, fn);
  const rhs = operatorVector(op, b, fn, 'b');
  const tol = finiteOption(options.tol ?? 1e-10, fn, 'tol');
  const atol = finiteOption(options.atol ?? 0, fn, 'atol');
  const maxIter = countOption(options.maxIter ?? Math.max(10 * n, 100), fn, 'maxIter');
  const pre = options.preconditioner;
  if (pre !== undefined && operatorArg(pre, fn) !== n) {
    throw new ValueError(`cg: the preconditioner has size ${pre.size} but the operator has size ${n}`);
  }
  const x =
    options.x0 === undefined
      ? new Float64Array(n)
      : Float64Array.from(operatorVector(op, options.x0, fn, 'x0'));
  const r = Float64Array.from(rhs);
  const ap = new Float64Array(n);
  if (options.x0 !== undefined) {
    op.matvec(x, ap);
    for (let i = 0; i < n; i++) r[i] = r[i]! - ap[i]!;
  }
  const target = Math.max(tol * nrm2Kernel(n, rhs, 0, 1), atol);
  const z = pre === undefined ? r : new Float64Array(n);
  if (pre !== undefined) pre.matvec(r, z);
  const p = Float64Array.from(z);
  let rz = dotKernel(n, r, 0, 1, z, 0, 1);
  let rnorm = nrm2Kernel(n, r, 0, 1);
  let iterations = 0;
  let converged = rnorm <= target;
  while (!converged && iterations < maxIter) {
    op.matvec(p, ap);
    const pap = dotKernel(n, p, 0, 1, ap, 0, 1);
    if (!(pap > 0)) {
      throw new NotPositiveDefiniteError(
        `cg: the operator is not positive definite: pᵀAp = ${pap} at iteration ${iterations}`,
        { pivot: -1 },
      );
    }
    const step = rz / pap;
    for (let i = 0; i < n; i++) {
      x[i] = x[i]! + step * p[i]!;
      r[i] = r[i]! - step * ap[i]!;
    }
    iterations++;
    rnorm = nrm2Kernel(n, r, 0, 1);
    if (rnorm <= target) {
      converged = true;
      break;
    }
    if (pre !== undefined) pre.matvec(r, z);
    const rzNext = dotKernel(n, r, 0, 1, z, 0, 1);
    if (!(rzNext > 0)) {
      throw new NotPositiveDefiniteError(
        `cg: the preconditioner is not positive definite: rᵀM⁻¹r = ${rzNext} at iteration ${iterations}`,
        { pivot: -1 },
      );
    }
    const ratio = rzNext / rz;
    rz = rzNext;
    for (let i = 0; i < n; i++) p[i] = z[i]! + ratio * p[i]!;
  }
  // The recursive residual drifts from the true one; report the true one.
  op.matvec(x, ap);
  for (let i = 0; i < n; i++) ap[i] = rhs[i]! - ap[i]!;
  return { x, iterations, residualNorm: nrm2Kernel(n, ap, 0, 1), converged };
}
