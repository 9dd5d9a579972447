/**
 * Vectorisation (vmap).
 *
 * A batch tracer stands for a stack of values: it holds one tensor whose axis 0
 * runs over the batch, and shows the shape of a single member. Applying a
 * primitive to batch tracers calls the primitive's `batch` rule, which
 * expresses "apply f to every member" as one application of (usually) the same
 * primitive to the stacked values, with axes shifted past the batch axis.
 * Arguments that are not tracers of this trace are the same for every member.
 * Batch axes are moved to the front on entry and to `outAxes` on exit, so rules
 * only ever see batch axis 0.
 */

import type { Tensor } from '../tensor.js';
import { type Primitive, Trace, Tracer } from './core.js';

export class BatchTracer extends Tracer {
  /** The stacked values, batch axis first. */
  readonly value: Tensor;
  constructor(trace: BatchTrace, value: Tensor) {
    super(trace, value.shape.slice(1));
    this.value = value;
  }
}

export class BatchTrace extends Trace {
  readonly size: number;
  constructor(level: number, size: number) {
    super(level);
    this.size = size;
  }

  process<P>(prim: Primitive<P>, args: readonly Tensor[], params: P): Tensor {
    const values = new Array<Tensor>(args.length);
    const batched = new Array<boolean>(args.length);
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      const mine = a instanceof BatchTracer && a.trace === this;
      values[i] = mine ? a.value : a;
      batched[i] = mine;
    }
    return new BatchTracer(this, prim.batch(values, batched, this.size, params));
  }
}
