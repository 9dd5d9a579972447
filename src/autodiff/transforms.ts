/**
 * Function transformations, with JAX's names and semantics.
 *
 *   jvp(f, primals, tangents)  → [f(x), ∂f(x)·v]                      forward mode
 *   vjp(f, ...primals)         → [f(x), u ↦ ∂f(x)ᵀ·u]                 reverse mode
 *   linearize(f, ...primals)   → [f(x), v ↦ ∂f(x)·v]  (no primal recomputation)
 *   grad(f, argnums)           → x ↦ ∇f(x)            (vjp seeded with 1)
 *   vmap(f, inAxes, outAxes)   → f mapped over an axis, as one vectorised call
 *   jacfwd / jacrev            → the Jacobian by vmap of jvp / of vjp,
 *                                shaped [...out, ...in]
 *   hessian = jacfwd(jacrev),  hvp(f, x, v) = jvp of grad (forward-over-reverse)
 *
 * Functions take and return pytrees (arrays and plain objects of Tensors or
 * numbers). Each transformation pushes its own level on the trace stack, so
 * they nest freely: grad(grad(f)), vmap(jacrev(f)), jvp(grad(f)), ….
 */
import { assertFinite, ShapeError, ValueError } from '../errors.js';
import { asTensor, eye, ones, type Shape, shapeString, shapesEqual, sizeOf, Tensor } from '../tensor.js';
import { BatchTrace, BatchTracer } from './batching.js';
import { isTracerOf, Tracer, withTrace } from './core.js';
import { JVPTrace, JVPTracer } from './forward.js';
import { broadcastTo, expandDims, moveAxis, reshape, slice, transpose, zerosLike } from './ops.js';
import { type Pytree, type TreeDef, treeEqual, treeFlatten, treeString, treeUnflatten } from './pytree.js';
import { backward, forward, type Recording, TapeTrace, type TapeTracer } from './reverse.js';

// ---------------------------------------------------------------------------
// Types

/** The tree of Tensors a transformation gives back for a value of type T. */
export type TreeOf<T> = T extends Tensor | number
  ? Tensor
  : T extends null | undefined
    ? T
    : T extends readonly unknown[]
      ? { -readonly [K in keyof T]: TreeOf<T[K]> }
      : T extends object
        ? { -readonly [K in keyof T]: TreeOf<T[K]> }
        : Tensor;

/** Jacobian of an output tree R with respect to an input tree A: R's structure, each leaf holding TreeOf<A>. */
export type Jacobian<R, A> = R extends Tensor | number
  ? TreeOf<A>
  : R extends null | undefined
    ? R
    : R extends readonly unknown[]
      ? { -readonly [K in keyof R]: Jacobian<R[K], A> }
      : R extends object
        ? { -readonly [K in keyof R]: Jacobian<R[K], A> }
        : TreeOf<A>;

/** Gradients for `argnums`: one tree, or a tuple of trees for an array of argnums. */
export type Grads<Args extends readonly unknown[], I> = I extends number
  ? TreeOf<Args[I]>
  : I extends readonly number[]
    ? { -readonly [K in keyof I]: TreeOf<Args[I[K] & number]> }
    : never;

/** Axis specification for vmap: a number (or null for "not mapped") per leaf, given as a tree prefix. */
export type AxisSpec = number | null | readonly AxisSpec[] | { readonly [key: string]: AxisSpec };

// ---------------------------------------------------------------------------
// Flattening helpers

/** Leaves of a tree as Tensors (numbers become 0-d tensors). */
function flattenTensors(tree: unknown, what: string): [Tensor[], TreeDef] {
  const [leaves, def] = treeFlatten(tree as Pytree);
  return [leaves.map((l) => (l instanceof Tensor ? l : asTensor(checkNumber(l, what)))), def];
}

function checkNumber(x: number, what: string): number {
  if (typeof x !== 'number')
    throw new ValueError(`${what}: expected a Tensor or number leaf, got ${typeof x}`);
  return x;
}

function checkFunction(f: unknown, what: string): void {
  if (typeof f !== 'function') throw new ValueError(`${what}: f must be a function, got ${typeof f}`);
}

/** Concrete tensors must be finite where they seed a derivative (tangents, cotangents). */
function assertFiniteSeed(t: Tensor, what: string): void {
  if (!(t instanceof Tracer)) assertFinite(t.data, what);
}

/** A second tree must match the first in structure and leaf shapes. */
function matchTree(
  reference: readonly Tensor[],
  refDef: TreeDef,
  other: unknown,
  what: string,
  finite: boolean,
): Tensor[] {
  const [leaves, def] = flattenTensors(other, what);
  if (!treeEqual(def, refDef)) {
    throw new ValueError(`${what}: has structure ${treeString(def)}, expected ${treeString(refDef)}`);
  }
  leaves.forEach((l, i) => {
    if (!shapesEqual(l.shape, reference[i]!.shape)) {
      throw new ShapeError(
        `${what}: leaf ${i} has shape ${shapeString(l.shape)}, expected ${shapeString(reference[i]!.shape)}`,
      );
    }
    if (finite) assertFiniteSeed(l, `${what} (leaf ${i})`);
  });
  return leaves;
}

/** Normalise argnums against the number of arguments. */
function resolveArgnums(argnums: number | readonly number[], nArgs: number, what: string): number[] {
  const list = typeof argnums === 'number' ? [argnums] : [...argnums];
  for (const a of list) {
    if (!Number.isInteger(a) || a < -nArgs || a >= nArgs) {
      throw new ValueError(`${what}: argnums ${a} is out of range for ${nArgs} argument(s)`);
    }
  }
  return list.map((a) => (a < 0 ? a + nArgs : a));
}

/** f as a function of args[argnums] only, the other arguments fixed. */
function partial(f: (...args: never[]) => unknown, args: readonly unknown[], argnums: readonly number[]) {
  return (...chosen: unknown[]) => {
    const full = [...args];
    argnums.forEach((n, j) => {
      full[n] = chosen[j];
    });
    return (f as unknown as (...a: unknown[]) => unknown)(...full);
  };
}

// ---------------------------------------------------------------------------
// Forward mode

/**
 * Evaluate f at `primals` and its derivative along `tangents` (same trees and
 * shapes): returns [f(primals), ∂f(primals)·tangents].
 */
export function jvp<Args extends readonly unknown[], R>(
  f: (...args: Args) => R,
  primals: Args,
  tangents: { [K in keyof Args]: unknown },
): [TreeOf<R>, TreeOf<R>] {
  checkFunction(f, 'jvp');
  if (!Array.isArray(primals) || !Array.isArray(tangents)) {
    throw new ValueError('jvp: primals and tangents must be arrays with one entry per argument of f');
  }
  if (primals.length !== tangents.length) {
    throw new ValueError(`jvp: ${primals.length} primals but ${tangents.length} tangents`);
  }
  const [xs, inDef] = flattenTensors(primals, 'jvp: primals');
  const vs = matchTree(xs, inDef, tangents, 'jvp: tangents', true);
  return withTrace(
    (level) => new JVPTrace(level),
    (trace) => {
      const inputs = xs.map((x, i) => new JVPTracer(trace, x, vs[i]!));
      const out = (f as unknown as (...a: unknown[]) => unknown)(
        ...(treeUnflatten(inDef, inputs) as unknown[]),
      );
      const [ys, outDef] = flattenTensors(out, 'jvp: output of f');
      const primalsOut = ys.map((y) => (isTracerOf(y, trace) ? (y as JVPTracer).primal : y));
      const tangentsOut = ys.map((y) => (isTracerOf(y, trace) ? (y as JVPTracer).tangent : zerosLike(y)));
      return [treeUnflatten(outDef, primalsOut), treeUnflatten(outDef, tangentsOut)] as [
        TreeOf<R>,
        TreeOf<R>,
      ];
    },
  );
}

// ---------------------------------------------------------------------------
// Reverse mode

/** Run f on tape tracers for the leaves of `primals` and keep the recording. */
function record(f: (...args: never[]) => unknown, primals: readonly unknown[], what: string) {
  const [xs, inDef] = flattenTensors(primals, `${what}: primals`);
  return withTrace(
    (level) => new TapeTrace(level),
    (trace) => {
      const inputs = xs.map((x) => trace.input(x));
      const out = (f as unknown as (...a: unknown[]) => unknown)(
        ...(treeUnflatten(inDef, inputs) as unknown[]),
      );
      const [ys, outDef] = flattenTensors(out, `${what}: output of f`);
      const recording: Recording = {
        tape: trace.tape,
        nInputs: xs.length,
        outputIds: ys.map((y) => (isTracerOf(y, trace) ? (y as TapeTracer).id : -1)),
      };
      const outputs = ys.map((y) => (isTracerOf(y, trace) ? (y as TapeTracer).primal : y));
      return { xs, inDef, outputs, outDef, recording };
    },
  );
}

/**
 * Evaluate f at `primals` and return [f(primals), pullback] where
 * pullback(cotangent) = ∂f(primals)ᵀ·cotangent, one tree per argument.
 */
export function vjp<Args extends readonly unknown[], R>(
  f: (...args: Args) => R,
  ...primals: Args
): [TreeOf<R>, (cotangent: unknown) => { -readonly [K in keyof Args]: TreeOf<Args[K]> }] {
  checkFunction(f, 'vjp');
  const { xs, inDef, outputs, outDef, recording } = record(f, primals, 'vjp');
  const pullback = (cotangent: unknown) => {
    const cts = matchTree(outputs, outDef, cotangent, 'vjp pullback: cotangent', true);
    const grads = backward(recording, cts);
    return treeUnflatten(
      inDef,
      grads.map((g, i) => g ?? zerosLike(xs[i]!)),
    ) as { -readonly [K in keyof Args]: TreeOf<Args[K]> };
  };
  return [treeUnflatten(outDef, outputs) as TreeOf<R>, pullback];
}

/**
 * Evaluate f at `primals` and return [f(primals), v ↦ ∂f(primals)·v]: the
 * tangent map replays the recorded linearisation, without recomputing f.
 */
export function linearize<Args extends readonly unknown[], R>(
  f: (...args: Args) => R,
  ...primals: Args
): [TreeOf<R>, (...tangents: { [K in keyof Args]: unknown }) => TreeOf<R>] {
  checkFunction(f, 'linearize');
  const { xs, inDef, outputs, outDef, recording } = record(f, primals, 'linearize');
  const tangentMap = (...tangents: readonly unknown[]) => {
    const vs = matchTree(xs, inDef, tangents, 'linearize: tangents', true);
    const out = forward(recording, vs);
    return treeUnflatten(
      outDef,
      out.map((t, i) => t ?? zerosLike(outputs[i]!)),
    ) as TreeOf<R>;
  };
  return [
    treeUnflatten(outDef, outputs) as TreeOf<R>,
    tangentMap as (...tangents: { [K in keyof Args]: unknown }) => TreeOf<R>,
  ];
}

function scalarOutput(out: unknown, what: string): Tensor {
  const [leaves] = treeFlatten(out as Pytree);
  if (leaves.length !== 1) {
    throw new ShapeError(`${what}: f must return one scalar, got a tree with ${leaves.length} leaves`);
  }
  const y = asTensor(leaves[0]!);
  if (y.size !== 1)
    throw new ShapeError(`${what}: f must return a scalar, got shape ${shapeString(y.shape)}`);
  return y;
}

/** Value and gradient in one pass; see `grad`. */
export function valueAndGrad<Args extends unknown[], const I extends number | readonly number[] = 0>(
  f: (...args: Args) => unknown,
  argnums?: I,
): (...args: Args) => [Tensor, Grads<Args, I>] {
  checkFunction(f, 'valueAndGrad');
  return valueAndGradImpl(f, argnums ?? 0, 'valueAndGrad') as (...args: Args) => [Tensor, Grads<Args, I>];
}

function valueAndGradImpl(
  f: (...args: never[]) => unknown,
  argnums: number | readonly number[],
  what: string,
) {
  return (...args: unknown[]): [Tensor, unknown] => {
    const nums = resolveArgnums(argnums, args.length, what);
    const { xs, inDef, outputs, recording } = record(
      partial(f, args, nums),
      nums.map((n) => args[n]),
      what,
    );
    const y = scalarOutput(outputs, what);
    const grads = backward(recording, [ones(y.shape)]);
    const tree = treeUnflatten(
      inDef,
      grads.map((g, i) => g ?? zerosLike(xs[i]!)),
    ) as unknown[];
    return [y, typeof argnums === 'number' ? tree[0] : tree];
  };
}

/**
 * ∇f: the gradient of a scalar-valued f with respect to argument `argnums`
 * (default 0; an array gives a tuple of gradients), same trees as those arguments.
 */
export function grad<Args extends unknown[], const I extends number | readonly number[] = 0>(
  f: (...args: Args) => unknown,
  argnums?: I,
): (...args: Args) => Grads<Args, I> {
  checkFunction(f, 'grad');
  const vg = valueAndGradImpl(f, argnums ?? 0, 'grad');
  return ((...args: Args) => vg(...args)[1]) as (...args: Args) => Grads<Args, I>;
}

// ---------------------------------------------------------------------------
// Vectorisation

/** Per-leaf axes from a prefix tree of axis specs (a number or null covers a whole subtree). */
function leafAxes(spec: AxisSpec, tree: unknown, what: string): (number | null)[] {
  if (spec === null || typeof spec === 'number') {
    const [leaves] = treeFlatten(tree as Pytree);
    return leaves.map(() => spec);
  }
  if (Array.isArray(spec)) {
    if (!Array.isArray(tree) || tree.length !== spec.length) {
      throw new ValueError(
        `${what}: an axes array of length ${spec.length} does not match the value it describes`,
      );
    }
    return spec.flatMap((s, i) => leafAxes(s, tree[i], what));
  }
  if (typeof tree !== 'object' || tree === null || Array.isArray(tree)) {
    throw new ValueError(`${what}: an axes object does not match the value it describes`);
  }
  const obj = spec as { readonly [key: string]: AxisSpec };
  const node = tree as Record<string, unknown>;
  return Object.keys(node).flatMap((k) => leafAxes(obj[k] ?? null, node[k], what));
}

/**
 * Vectorise f over an axis of its arguments: `inAxes` (a number, null for
 * "not mapped", or a tree prefix of those per argument; default 0) says which
 * axis of each input to map over, `outAxes` (default 0) where the mapped axis
 * goes in each output. vmap(f)(xs) equals stacking f(x) over the slices x of xs.
 */
export function vmap<Args extends unknown[], R>(
  f: (...args: Args) => R,
  inAxes: AxisSpec = 0,
  outAxes: AxisSpec = 0,
): (...args: { [K in keyof Args]: unknown }) => TreeOf<R> {
  checkFunction(f, 'vmap');
  return (...args: unknown[]) => {
    const axes = leafAxes(inAxes, args, 'vmap: inAxes');
    const [xs, inDef] = flattenTensors(args, 'vmap: arguments');
    let size = -1;
    const resolved = xs.map((x, i) => {
      const a = axes[i];
      if (a === null || a === undefined) return null;
      if (!Number.isInteger(a) || a < -x.ndim || a >= x.ndim) {
        throw new ShapeError(
          `vmap: inAxes ${a} is out of range for argument leaf ${i} of shape ${shapeString(x.shape)}`,
        );
      }
      const axis = a < 0 ? a + x.ndim : a;
      const n = x.shape[axis]!;
      if (size >= 0 && n !== size) {
        throw new ShapeError(
          `vmap: mapped axes have different sizes: leaf ${i} has ${n} along axis ${axis} (shape ${shapeString(x.shape)}), earlier leaves ${size}`,
        );
      }
      size = n;
      return axis;
    });
    if (size < 0) throw new ValueError('vmap: no argument is mapped (every inAxes entry is null)');
    const batchSize = size;
    return withTrace(
      (level) => new BatchTrace(level, batchSize),
      (trace) => {
        const inputs = xs.map((x, i) => {
          const axis = resolved[i];
          return axis === null || axis === undefined ? x : new BatchTracer(trace, moveAxis(x, axis, 0));
        });
        const out = (f as unknown as (...a: unknown[]) => unknown)(
          ...(treeUnflatten(inDef, inputs) as unknown[]),
        );
        const [ys, outDef] = flattenTensors(out, 'vmap: output of f');
        const outAxesList = leafAxes(outAxes, treeUnflatten(outDef, ys), 'vmap: outAxes');
        const results = ys.map((y, j) => {
          const batched = isTracerOf(y, trace);
          const axis = outAxesList[j];
          if (axis === null || axis === undefined) {
            // Not stacked: allowed only for outputs that do not depend on the mapped inputs.
            if (batched) {
              throw new ValueError(
                `vmap: outAxes is null for output leaf ${j}, but it varies along the mapped axis`,
              );
            }
            return y;
          }
          const stacked = batched
            ? (y as BatchTracer).value
            : broadcastTo(expandDims(y, 0), [batchSize, ...y.shape]);
          return axis === 0 ? stacked : moveAxis(stacked, 0, axis);
        });
        return treeUnflatten(outDef, results) as TreeOf<R>;
      },
    );
  };
}

// ---------------------------------------------------------------------------
// Jacobians

/** Rows of the identity split per leaf: leaf i gets eye(total)[:, offset_i : offset_i + n_i] shaped [total, ...shape_i]. */
function basisTree(shapes: readonly Shape[]): Tensor[] {
  const sizes = shapes.map(sizeOf);
  const total = sizes.reduce((a, b) => a + b, 0);
  const identity = eye(total);
  let offset = 0;
  return shapes.map((s, i) => {
    const block = slice(identity, [0, offset], [total, offset + sizes[i]!]);
    offset += sizes[i]!;
    return reshape(block, [total, ...s]);
  });
}

/** Split a stacked [total, ...rest] tensor into per-leaf blocks [...shape_i, ...rest]. */
function splitRows(stacked: Tensor, shapes: readonly Shape[]): Tensor[] {
  const rest = stacked.shape.slice(1);
  let offset = 0;
  return shapes.map((s) => {
    const n = sizeOf(s);
    const block = shapes.length === 1 ? stacked : slice(stacked, [offset], [offset + n]);
    offset += n;
    return reshape(block, [...s, ...rest]);
  });
}

/**
 * Jacobian by reverse mode: one vjp, then the pullback vmapped over the
 * standard basis of the output. Leaves are shaped [...out, ...in].
 */
export function jacrev<Args extends unknown[], R, const I extends number | readonly number[] = 0>(
  f: (...args: Args) => R,
  argnums?: I,
): (...args: Args) => Jacobian<R, Grads<Args, I>> {
  checkFunction(f, 'jacrev');
  return ((...args: unknown[]) => {
    const nums = resolveArgnums(argnums ?? 0, args.length, 'jacrev');
    const [out, pullback] = vjp(partial(f, args, nums), ...nums.map((n) => args[n]));
    const [ys, outDef] = flattenTensors(out, 'jacrev: output of f');
    const outShapes = ys.map((y) => y.shape);
    const basis = treeUnflatten(outDef, basisTree(outShapes));
    const stacked = vmap((ct: unknown) => pullback(ct))(basis) as unknown[];
    // stacked[j] is a tree per chosen argument with leaves [M, ...in]; cut M into output leaves.
    const [inLeaves, inDef] = flattenTensors(stacked, 'jacrev');
    const perOutput = outShapes.map(() => [] as Tensor[]);
    for (const leaf of inLeaves) {
      splitRows(leaf, outShapes).forEach((block, j) => {
        perOutput[j]!.push(block);
      });
    }
    const single = typeof (argnums ?? 0) === 'number';
    return treeUnflatten(
      outDef,
      perOutput.map((blocks) => {
        const tree = treeUnflatten(inDef, blocks) as unknown[];
        return single ? tree[0] : tree;
      }) as Tensor[],
    );
  }) as unknown as (...args: Args) => Jacobian<R, Grads<Args, I>>;
}

/**
 * Jacobian by forward mode: jvp vmapped over the standard basis of the input.
 * Leaves are shaped [...out, ...in], as jacrev's.
 */
export function jacfwd<Args extends unknown[], R, const I extends number | readonly number[] = 0>(
  f: (...args: Args) => R,
  argnums?: I,
): (...args: Args) => Jacobian<R, Grads<Args, I>> {
  checkFunction(f, 'jacfwd');
  return ((...args: unknown[]) => {
    const nums = resolveArgnums(argnums ?? 0, args.length, 'jacfwd');
    const chosen = nums.map((n) => args[n]);
    const [xs, inDef] = flattenTensors(chosen, 'jacfwd: arguments');
    const inShapes = xs.map((x) => x.shape);
    const g = partial(f, args, nums);
    const basis = treeUnflatten(inDef, basisTree(inShapes)) as unknown[];
    const tangentsOut = vmap((...t: unknown[]) => jvp(g, chosen, t)[1], 0)(...basis);
    const [ys, outDef] = flattenTensors(tangentsOut, 'jacfwd: output of f');
    const single = typeof (argnums ?? 0) === 'number';
    return treeUnflatten(
      outDef,
      ys.map((y) => {
        const outRank = y.ndim - 1;
        const blocks = splitRows(y, inShapes).map((block, i) => {
          // [...in, ...out] → [...out, ...in]
          const inRank = inShapes[i]!.length;
          const perm = [
            ...Array.from({ length: outRank }, (_, k) => inRank + k),
            ...Array.from({ length: inRank }, (_, k) => k),
          ];
          return transpose(block, perm);
        });
        const tree = treeUnflatten(inDef, blocks) as unknown[];
        return single ? tree[0] : tree;
      }) as Tensor[],
    );
  }) as unknown as (...args: Args) => Jacobian<R, Grads<Args, I>>;
}

/** Hessian of a scalar f: jacfwd(jacrev(f)), shaped [...in, ...in] for one tensor argument. */
export function hessian<Args extends unknown[], const I extends number | readonly number[] = 0>(
  f: (...args: Args) => unknown,
  argnums?: I,
): (...args: Args) => Jacobian<Grads<Args, I>, Grads<Args, I>> {
  checkFunction(f, 'hessian');
  const nums = (argnums ?? 0) as I;
  return jacfwd(jacrev(f as (...args: Args) => Tensor, nums), nums) as unknown as (
    ...args: Args
  ) => Jacobian<Grads<Args, I>, Grads<Args, I>>;
}

/**
 * Hessian-vector product ∇²f(x)·v of a scalar f, forward-over-reverse: the
 * directional derivative of ∇f along v, without forming the Hessian.
 */
export function hvp<X>(f: (x: X) => unknown, x: X, v: unknown): TreeOf<X> {
  checkFunction(f, 'hvp');
  const gradient = grad(f as (x: X) => Tensor);
  return jvp((p: X) => gradient(p) as TreeOf<X>, [x], [v])[1] as TreeOf<X>;
}
