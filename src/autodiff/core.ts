/**
 * The core of the AD engine: primitives, tracers, and the trace stack.
 *
 * Every differentiable computation bottoms out in a small set of *primitives*.
 * A primitive is one object holding everything about one operation:
 *
 *   impl   the forward kernel on concrete Float64Array tensors,
 *   jvp    its linearisation, tangent in ↦ tangent out:  ẏ = ∂f(x)·ẋ,
 *   vjp    its transpose, cotangent out ↦ cotangents in: x̄ = ∂f(x)ᵀ·ȳ,
 *   batch  how to apply it to a stack of inputs at once (for vmap).
 *
 * The jvp and vjp rules are written with the public ops, so when they run under
 * another transformation they are themselves traced: grad-of-grad, jvp-of-vjp
 * (Hessian-vector products) and vmap-of-jacrev come for free.
 *
 * Transformations are *interpreters*. `jvp`, `vjp` and `vmap` each push a
 * `Trace` onto a stack and wrap their inputs in `Tracer`s of that trace: Tensors
 * with a shape but no data. When an op meets tracers, `bind` hands the primitive
 * to the trace of the highest level among its arguments; that trace does its job
 * (propagate a tangent, record a tape entry, vectorise) by binding primitives on
 * the values inside its tracers, which belong to lower levels or are concrete.
 * Arguments from lower levels are constants to a higher trace. Because each
 * nested transformation gets its own level, an inner derivative never mixes up
 * its perturbation with an outer one (no "perturbation confusion"):
 * d/dx [x · d/dy (x + y)] = 1.
 *
 * With no tracer among the arguments, `bind` runs the kernel straight away: that
 * is the hot path of plain evaluation and of every tape-recorded forward pass.
 */
import { TracerError } from '../errors.js';
import { type Shape, Tensor } from '../tensor.js';

/**
 * One primitive operation. `P` is its static parameters (axes, shapes, flags):
 * plain data, never tensors. Methods (not arrow properties) so that a list of
 * primitives with different parameter types can be held as `Primitive[]`.
 */
export interface Primitive<P = unknown> {
  readonly name: string;
  /** Piecewise constant output (comparisons, sign): no tangent, no tape entry. */
  readonly nondifferentiable?: boolean;
  /**
   * Output shape for these input shapes, validating them. Errors are thrown here,
   * in terms of the shapes the user sees, never from inside a kernel.
   */
  shape(shapes: readonly Shape[], params: P): Shape;
  /** Forward kernel on concrete tensors; `outShape` is what `shape` returned. */
  impl(inputs: readonly Tensor[], params: P, outShape: Shape): Tensor;
  /**
   * Tangent of the output from tangents of the inputs; `null` is a symbolic
   * zero (never all of them). The result may have a smaller, broadcastable shape
   * than `out`: the caller broadcasts it.
   */
  jvp(
    primals: readonly Tensor[],
    tangents: readonly (Tensor | null)[],
    out: Tensor,
    params: P,
  ): Tensor | null;
  /**
   * Cotangents of the inputs from the cotangent of the output, for the inputs
   * with `wanted[i]` (others may be `null`). A result may have the output's
   * broadcast shape: the caller sums it back to its input's shape.
   */
  vjp(
    cotangent: Tensor,
    primals: readonly Tensor[],
    out: Tensor,
    params: P,
    wanted: readonly boolean[],
  ): (Tensor | null)[];
  /**
   * Apply to `args` of which those with `batched[i]` carry a leading batch axis
   * of length `batchSize`; return the result with the batch axis first.
   */
  batch(args: readonly Tensor[], batched: readonly boolean[], batchSize: number, params: P): Tensor;
}

/** An interpreter for primitives applied to its tracers. */
export abstract class Trace {
  /** Position on the trace stack: higher levels are inner transformations. */
  readonly level: number;
  constructor(level: number) {
    this.level = level;
  }
  /** Apply `prim` to `args`, at least one of which is a tracer of this trace. */
  abstract process<P>(prim: Primitive<P>, args: readonly Tensor[], params: P): Tensor;
}

/**
 * A Tensor standing for values computed under a transformation: a shape and a
 * trace, no data (`.data` throws TracerError).
 */
export class Tracer extends Tensor {
  readonly trace: Trace;
  constructor(trace: Trace, shape: Shape) {
    super(undefined, shape);
    this.trace = trace;
  }
}

/** The active transformations, innermost last; `stack[t.level] === t`. */
const stack: Trace[] = [];

/** Run `body` with a new trace made by `make(level)` on top of the stack. */
export function withTrace<T extends Trace, R>(make: (level: number) => T, body: (trace: T) => R): R {
  const trace = make(stack.length);
  stack.push(trace);
  try {
    return body(trace);
  } finally {
    stack.pop();
  }
}

/** True when no transformation is active: ops run directly on kernels. */
export function isEager(): boolean {
  return stack.length === 0;
}

/**
 * Apply a primitive: to the trace of the highest-level tracer among `args`, or
 * straight to the kernel when every argument is concrete.
 */
export function bind<P>(prim: Primitive<P>, args: readonly Tensor[], params: P): Tensor {
  let top: Trace | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a instanceof Tracer && (top === undefined || a.trace.level > top.level)) top = a.trace;
  }
  if (top === undefined) {
    const shapes = new Array<Shape>(args.length);
    for (let i = 0; i < args.length; i++) shapes[i] = args[i]!.shape;
    return prim.impl(args, params, prim.shape(shapes, params));
  }
  if (stack[top.level] !== top) {
    throw new TracerError(
      `${prim.name}: a traced value escaped from a finished grad, jvp or vmap (it was created inside the function being transformed and used after it returned)`,
    );
  }
  // Validate in the shapes the user sees, before any trace rewrites them.
  prim.shape(
    args.map((a) => a.shape),
    params,
  );
  return top.process(prim, args, params);
}

/** Whether x is a tracer of exactly `trace` (a trace unwraps only its own tracers). */
export function isTracerOf(x: Tensor, trace: Trace): boolean {
  return x instanceof Tracer && x.trace === trace;
}
