/**
 * Typed errors. Every public entry point validates its arguments and throws one
 * of these with a message that names the function, the argument, and the shapes
 * or values involved, so that a mistake is reported where it was made rather
 * than as a NaN or a stack trace from deep inside a kernel.
 */

/** Throw a ValueError unless every value is finite, naming `what` and the first offender. */
export function assertFinite(values: ArrayLike<number>, what: string): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) throw new ValueError(`${what} has a non-finite value ${v} at index ${i}`);
  }
}

/** Base class of every error thrown on purpose by laplace-ts. */
export class LaplaceTsError extends Error {
  override name = 'LaplaceTsError';
}

/** Shapes that do not fit together: wrong rank, mismatched dimensions, ragged arrays. */
export class ShapeError extends LaplaceTsError {
  override name = 'ShapeError';
}

/** A value outside its domain: NaN or infinite input, a non-positive precision, a bad option. */
export class ValueError extends LaplaceTsError {
  override name = 'ValueError';
}

/** A computed value overflowed to ±∞ or NaN; `example` is the input it came from. */
export class NotFiniteError extends ValueError {
  override name = 'NotFiniteError';
  readonly example: number;
  constructor(message: string, details: { example: number }) {
    super(message);
    this.example = details.example;
  }
}

/** A matrix required to be symmetric positive definite is not; `pivot` is the failing index. */
export class NotPositiveDefiniteError extends LaplaceTsError {
  override name = 'NotPositiveDefiniteError';
  readonly pivot: number;
  constructor(message: string, details: { pivot: number }) {
    super(message);
    this.pivot = details.pivot;
  }
}

/** A method that needs a fitted posterior was called before `fit`. */
export class NotFittedError extends LaplaceTsError {
  override name = 'NotFittedError';
}

/**
 * Concrete numbers were asked of a traced value: inside `grad`, `jvp` or `vmap`
 * a Tensor stands for a whole family of values, and only primitives may touch it.
 */
export class TracerError extends LaplaceTsError {
  override name = 'TracerError';
}

/**
 * An iterative solver stopped at its iteration cap short of its tolerance;
 * `iterations` it ran and the `residual` it reached (relative, the worst column).
 */
export class ConvergenceError extends LaplaceTsError {
  override name = 'ConvergenceError';
  readonly iterations: number;
  readonly residual: number;
  constructor(message: string, details: { iterations: number; residual: number }) {
    super(message);
    this.iterations = details.iterations;
    this.residual = details.residual;
  }
}
