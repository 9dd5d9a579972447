/**
 * Forward mode.
 *
 * A JVP tracer carries a primal value x and a tangent ẋ: a point and a direction.
 * Applying a primitive f to tracers computes f(x) on the primals (one level
 * down) and the directional derivative ẏ = ∂f(x)·ẋ with the primitive's `jvp`
 * rule. Running a whole function this way gives
 *   jvp : (a → b) → (a, Ta) → (b, Tb),
 * the value and the Jacobian-vector product in one pass. A tangent that is
 * identically zero (an input not being differentiated) is a symbolic `null`:
 * rules skip it, and a result with no tangent is returned as a plain value.
 */

import { shapesEqual, type Tensor } from '../tensor.js';
import { bind, type Primitive, Trace, Tracer } from './core.js';
import { broadcastTo } from './ops.js';

export class JVPTracer extends Tracer {
  readonly primal: Tensor;
  readonly tangent: Tensor;
  constructor(trace: JVPTrace, primal: Tensor, tangent: Tensor) {
    super(trace, primal.shape);
    this.primal = primal;
    this.tangent = tangent;
  }
}

export class JVPTrace extends Trace {
  process<P>(prim: Primitive<P>, args: readonly Tensor[], params: P): Tensor {
    const primals = new Array<Tensor>(args.length);
    const tangents = new Array<Tensor | null>(args.length);
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      const mine = a instanceof JVPTracer && a.trace === this;
      primals[i] = mine ? a.primal : a;
      tangents[i] = mine ? a.tangent : null;
    }
    const out = bind(prim, primals, params);
    if (prim.nondifferentiable) return out;
    let tangent = prim.jvp(primals, tangents, out, params);
    if (tangent === null) return out;
    // Rules ignore broadcasting: a tangent from a broadcast input is widened here, once.
    if (!shapesEqual(tangent.shape, out.shape)) tangent = broadcastTo(tangent, out.shape);
    return new JVPTracer(this, out, tangent);
  }
}
