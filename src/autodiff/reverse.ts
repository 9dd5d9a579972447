/**
 * Reverse mode.
 *
 * Running f on tape tracers records, for every primitive applied to them, its
 * inputs, its output and its parameters: a tape, the linearisation of f at this
 * point. Each entry's `vjp` rule is the transpose of its Jacobian, a map from a
 * cotangent of the output to cotangents of the inputs. Walking the tape
 * backwards and summing what reaches each value gives
 *   vjp : (a → b) → a → (b, T*b ⊸ T*a),
 * and grad is vjp seeded with 1. Walking it forwards with the `jvp` rules gives
 * linearize's tangent map without recomputing any primal.
 *
 * Rules are written with public ops, so the backward walk is itself traced by
 * any transformation active when the pullback runs (forward-over-reverse for
 * Hessian-vector products, reverse-over-reverse for second derivatives).
 * Broadcasting is undone here, once: each input cotangent is summed back to
 * its input's shape.
 */

import { shapesEqual, type Tensor } from '../tensor.js';
import { bind, type Primitive, Trace, Tracer } from './core.js';
import { add, broadcastTo, sumTo } from './ops.js';

/** One recorded primitive application. `inputs[i]` is the tape index of argument i, or −1 for a constant. */
interface TapeEntry {
  readonly prim: Primitive<unknown>;
  readonly primals: readonly Tensor[];
  readonly out: Tensor;
  readonly params: unknown;
  readonly inputs: readonly number[];
}

export class TapeTracer extends Tracer {
  readonly primal: Tensor;
  /** Index of the value on its tape. */
  readonly id: number;
  constructor(trace: TapeTrace, primal: Tensor, id: number) {
    super(trace, primal.shape);
    this.primal = primal;
    this.id = id;
  }
}

export class TapeTrace extends Trace {
  /** Entries 0 … nInputs − 1 are the inputs (null); the rest are primitive applications. */
  readonly tape: (TapeEntry | null)[] = [];

  input(primal: Tensor): TapeTracer {
    this.tape.push(null);
    return new TapeTracer(this, primal, this.tape.length - 1);
  }

  process<P>(prim: Primitive<P>, args: readonly Tensor[], params: P): Tensor {
    const primals = new Array<Tensor>(args.length);
    const inputs = new Array<number>(args.length);
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      const mine = a instanceof TapeTracer && a.trace === this;
      primals[i] = mine ? a.primal : a;
      inputs[i] = mine ? a.id : -1;
    }
    const out = bind(prim, primals, params);
    if (prim.nondifferentiable) return out;
    this.tape.push({ prim: prim as Primitive<unknown>, primals, out, params, inputs });
    return new TapeTracer(this, out, this.tape.length - 1);
  }
}

/** A finished recording: the tape, and the tape index of each output (−1: does not depend on the inputs). */
export interface Recording {
  readonly tape: readonly (TapeEntry | null)[];
  readonly nInputs: number;
  readonly outputIds: readonly number[];
}

/** Accumulate a cotangent contribution into slot `id`. */
function accumulate(cts: (Tensor | null)[], id: number, ct: Tensor): void {
  const prev = cts[id];
  cts[id] = prev ? add(prev, ct) : ct;
}

/**
 * Transpose the recording: cotangents of the outputs (null for zero) to
 * cotangents of the inputs (null where nothing reaches).
 */
export function backward(rec: Recording, outputCts: readonly (Tensor | null)[]): (Tensor | null)[] {
  const { tape, nInputs } = rec;
  const cts = new Array<Tensor | null>(tape.length).fill(null);
  rec.outputIds.forEach((id, j) => {
    const ct = outputCts[j];
    if (id >= 0 && ct) accumulate(cts, id, ct);
  });
  for (let i = tape.length - 1; i >= nInputs; i--) {
    const ct = cts[i];
    if (!ct) continue;
    cts[i] = null; // release as we go
    const e = tape[i]!;
    const wanted = e.inputs.map((id) => id >= 0);
    const inCts = e.prim.vjp(ct, e.primals, e.out, e.params, wanted);
    for (let j = 0; j < e.inputs.length; j++) {
      const id = e.inputs[j]!;
      const c = inCts[j];
      if (id < 0 || !c) continue;
      accumulate(cts, id, sumTo(c, e.primals[j]!.shape));
    }
  }
  return cts.slice(0, nInputs);
}

/** Push input tangents (null for zero) forward through the recording to the outputs. */
export function forward(rec: Recording, inputTangents: readonly (Tensor | null)[]): (Tensor | null)[] {
  const { tape, nInputs } = rec;
  const tangents = new Array<Tensor | null>(tape.length).fill(null);
  for (let i = 0; i < nInputs; i++) tangents[i] = inputTangents[i] ?? null;
  for (let i = nInputs; i < tape.length; i++) {
    const e = tape[i]!;
    const tin = e.inputs.map((id) => (id >= 0 ? tangents[id]! : null));
    if (tin.every((t) => t === null)) continue;
    let t = e.prim.jvp(e.primals, tin, e.out, e.params);
    if (t && !shapesEqual(t.shape, e.out.shape)) t = broadcastTo(t, e.out.shape);
    tangents[i] = t;
  }
  return rec.outputIds.map((id) => (id >= 0 ? tangents[id]! : null));
}
