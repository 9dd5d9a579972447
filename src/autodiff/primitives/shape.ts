/**
 * Structural primitives: they move, copy or gather values without arithmetic,
 * so each is linear and its transpose is another structural primitive:
 *
 *   reshape ↔ reshape back        transpose(p) ↔ transpose(p⁻¹)
 *   broadcastTo ↔ sumTo           slice ↔ pad with zeros
 *   concat ↔ slices               take (gather) ↔ scatterAdd
 *
 * Under vmap the batch axis is 0: axis parameters shift by one, and shape
 * parameters gain the batch length in front.
 */
import { ShapeError, ValueError } from '../../errors.js';
import { broadcastStrides, copyStrided } from '../../kernels/strided.js';
import { arange, type Shape, shapeString, sizeOf, stridesOf, Tensor } from '../../tensor.js';
import type { Primitive } from '../core.js';
import {
  add,
  broadcastTo,
  concat,
  pad,
  reshape,
  scatterAdd,
  slice,
  sumTo,
  take,
  transpose,
  zerosLike,
} from '../ops.js';
import { alignBatched } from './elementwise.js';

// ---------------------------------------------------------------------------
// reshape: same values, new shape. Zero-copy: tensors are immutable, so the
// new tensor shares its input's storage.

export interface ReshapeParams {
  readonly shape: Shape;
}

export const reshapeP: Primitive<ReshapeParams> = {
  name: 'reshape',
  shape([x], { shape }) {
    if (sizeOf(shape) !== sizeOf(x!)) {
      throw new ShapeError(
        `reshape: cannot reshape ${shapeString(x!)} (${sizeOf(x!)} values) to ${shapeString(shape)}`,
      );
    }
    return shape;
  },
  impl: ([x], _params, shape) => new Tensor(x!.data, shape),
  jvp: (_p, [dx], _y, { shape }) => reshape(dx!, shape),
  vjp: (ct, [x]) => [reshape(ct, x!.shape)],
  batch: ([x], _b, size, { shape }) => reshape(x!, [size, ...shape]),
};

// ---------------------------------------------------------------------------
// transpose: out[i₀ … iₙ₋₁] = x[j] with j_{perm[k]} = i_k, i.e. out axis k is x axis perm[k].

export interface TransposeParams {
  readonly perm: readonly number[];
}

function invertPermutation(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  for (let k = 0; k < perm.length; k++) inv[perm[k]!] = k;
  return inv;
}

export const transposeP: Primitive<TransposeParams> = {
  name: 'transpose',
  shape([x], { perm }) {
    const seen = new Set(perm);
    if (
      perm.length !== x!.length ||
      seen.size !== perm.length ||
      perm.some((p) => !(p >= 0 && p < x!.length))
    ) {
      throw new ShapeError(
        `transpose: perm [${perm.join(', ')}] is not a permutation of the ${x!.length} axes of ${shapeString(x!)}`,
      );
    }
    return perm.map((p) => x![p]!);
  },
  impl([x], { perm }, shape) {
    const strides = stridesOf(x!.shape);
    const out = new Float64Array(sizeOf(shape));
    copyStrided(
      shape,
      x!.data,
      0,
      perm.map((p) => strides[p]!),
      out,
      0,
      stridesOf(shape),
    );
    return new Tensor(out, shape);
  },
  jvp: (_p, [dx], _y, { perm }) => transpose(dx!, perm),
  vjp: (ct, _p, _y, { perm }) => [transpose(ct, invertPermutation(perm))],
  batch: ([x], _b, _size, { perm }) => transpose(x!, [0, ...perm.map((p) => p + 1)]),
};

// ---------------------------------------------------------------------------
// broadcastTo: NumPy broadcasting to a given shape; its transpose sums back.

export interface BroadcastParams {
  readonly shape: Shape;
}

export const broadcastToP: Primitive<BroadcastParams> = {
  name: 'broadcastTo',
  shape([x], { shape }) {
    const lead = shape.length - x!.length;
    if (lead < 0 || x!.some((d, k) => d !== 1 && d !== shape[lead + k])) {
      throw new ShapeError(`broadcastTo: cannot broadcast ${shapeString(x!)} to ${shapeString(shape)}`);
    }
    return shape;
  },
  impl([x], { shape }) {
    const out = new Float64Array(sizeOf(shape));
    copyStrided(shape, x!.data, 0, broadcastStrides(x!.shape, shape), out, 0, stridesOf(shape));
    return new Tensor(out, shape);
  },
  jvp: (_p, [dx], _y, { shape }) => broadcastTo(dx!, shape),
  vjp: (ct, [x]) => [sumTo(ct, x!.shape)],
  batch([x], _b, size, { shape }) {
    // Align the unbatched axes on the right, then broadcast.
    return broadcastTo(alignBatched(x!, shape.length), [size, ...shape]);
  },
};

// ---------------------------------------------------------------------------
// slice: the box starts[k] ≤ i_k < ends[k] (ends exclusive, like x[a:b]).

export interface SliceParams {
  readonly starts: readonly number[];
  readonly ends: readonly number[];
}

export const sliceP: Primitive<SliceParams> = {
  name: 'slice',
  shape([x], { starts, ends }) {
    if (starts.length !== x!.length || ends.length !== x!.length) {
      throw new ShapeError(
        `slice: starts [${starts.join(', ')}] and ends [${ends.join(', ')}] need one entry per axis of ${shapeString(x!)}`,
      );
    }
    return x!.map((d, k) => {
      const a = starts[k]!;
      const b = ends[k]!;
      if (!(Number.isInteger(a) && Number.isInteger(b) && 0 <= a && a <= b && b <= d)) {
        throw new ShapeError(`slice: axis ${k} of ${shapeString(x!)} cannot be sliced from ${a} to ${b}`);
      }
      return b - a;
    });
  },
  impl([x], { starts }, shape) {
    const strides = stridesOf(x!.shape);
    let offset = 0;
    for (let k = 0; k < starts.length; k++) offset += starts[k]! * strides[k]!;
    const out = new Float64Array(sizeOf(shape));
    copyStrided(shape, x!.data, offset, strides, out, 0, stridesOf(shape));
    return new Tensor(out, shape);
  },
  jvp: (_p, [dx], _y, params) => slice(dx!, params.starts, params.ends),
  vjp: (ct, [x], _y, { starts, ends }) => [
    pad(
      ct,
      starts,
      ends.map((e, k) => x!.shape[k]! - e),
    ),
  ],
  batch: ([x], _b, size, { starts, ends }) => slice(x!, [0, ...starts], [size, ...ends]),
};

// ---------------------------------------------------------------------------
// pad: zeros before[k] and after[k] around axis k (the transpose of slice).

export interface PadParams {
  readonly before: readonly number[];
  readonly after: readonly number[];
}

export const padP: Primitive<PadParams> = {
  name: 'pad',
  shape([x], { before, after }) {
    if (before.length !== x!.length || after.length !== x!.length) {
      throw new ShapeError(`pad: before and after need one entry per axis of ${shapeString(x!)}`);
    }
    for (let k = 0; k < x!.length; k++) {
      if (!(Number.isInteger(before[k]) && Number.isInteger(after[k]) && before[k]! >= 0 && after[k]! >= 0)) {
        throw new ShapeError(
          `pad: widths on axis ${k} must be non-negative integers, got ${before[k]} and ${after[k]}`,
        );
      }
    }
    return x!.map((d, k) => before[k]! + d + after[k]!);
  },
  impl([x], { before }, shape) {
    const out = new Float64Array(sizeOf(shape));
    const strides = stridesOf(shape);
    let offset = 0;
    for (let k = 0; k < before.length; k++) offset += before[k]! * strides[k]!;
    copyStrided(x!.shape, x!.data, 0, stridesOf(x!.shape), out, offset, strides);
    return new Tensor(out, shape);
  },
  jvp: (_p, [dx], _y, params) => pad(dx!, params.before, params.after),
  vjp: (ct, [x], _y, { before }) => [
    slice(
      ct,
      before,
      before.map((b, k) => b + x!.shape[k]!),
    ),
  ],
  batch: ([x], _b, _size, { before, after }) => pad(x!, [0, ...before], [0, ...after]),
};

// ---------------------------------------------------------------------------
// concat along an axis; its transpose slices the cotangent back into pieces.

export interface ConcatParams {
  readonly axis: number;
}

export const concatP: Primitive<ConcatParams> = {
  name: 'concat',
  shape(shapes, { axis }) {
    const first = shapes[0]!;
    let total = 0;
    shapes.forEach((s, i) => {
      if (s.length !== first.length || s.some((d, k) => k !== axis && d !== first[k])) {
        throw new ShapeError(
          `concat: tensor ${i} has shape ${shapeString(s)}, which does not match ${shapeString(first)} off axis ${axis}`,
        );
      }
      total += s[axis]!;
    });
    return first.map((d, k) => (k === axis ? total : d));
  },
  impl(xs, { axis }, shape) {
    const out = new Float64Array(sizeOf(shape));
    const outStrides = stridesOf(shape);
    let offset = 0;
    for (const x of xs) {
      copyStrided(x.shape, x.data, 0, stridesOf(x.shape), out, offset * outStrides[axis]!, outStrides);
      offset += x.shape[axis]!;
    }
    return new Tensor(out, shape);
  },
  jvp: (primals, tangents, _y, { axis }) =>
    concat(
      primals.map((x, i) => tangents[i] ?? zerosLike(x)),
      axis,
    ),
  vjp(ct, primals, _y, { axis }, wanted) {
    let offset = 0;
    return primals.map((x, i) => {
      const start = offset;
      offset += x.shape[axis]!;
      if (!wanted[i]) return null;
      const starts = ct.shape.map((_, k) => (k === axis ? start : 0));
      const ends = ct.shape.map((d, k) => (k === axis ? offset : d));
      return slice(ct, starts, ends);
    });
  },
  batch: (xs, batched, size, { axis }) =>
    concat(
      xs.map((x, i) => (batched[i] ? x : broadcastTo(x, [size, ...x.shape]))),
      axis + 1,
    ),
};

// ---------------------------------------------------------------------------
// take (gather) along an axis, as numpy.take: with x viewed as [P, n, Q] and
// integer indices of shape I, out[p, i, q] = x[p, idx[i], q], out shape
// x.shape[:axis] + I + x.shape[axis+1:]. The indices are the second input,
// integer-valued and without derivative. Its transpose adds the cotangent back
// into the gathered positions: scatterAdd.

export interface TakeParams {
  readonly axis: number;
}

export interface ScatterAddParams {
  readonly axis: number;
  /** Length of the axis scattered into. */
  readonly size: number;
}

/** P, n, Q: the sizes before, of, and after `axis`. */
function splitAt(shape: Shape, axis: number, n: number): [number, number] {
  let p = 1;
  let q = 1;
  for (let k = 0; k < axis; k++) p *= shape[k]!;
  for (let k = axis + n; k < shape.length; k++) q *= shape[k]!;
  return [p, q];
}

/** The indices as integers in [0, n), or a ValueError naming the bad one. */
function checkedIndices(indices: Float64Array, n: number, what: string): Float64Array {
  for (let i = 0; i < indices.length; i++) {
    const v = indices[i]!;
    if (!(Number.isInteger(v) && v >= 0 && v < n)) {
      throw new ValueError(`${what}: index ${v} (at position ${i}) is not an integer in [0, ${n})`);
    }
  }
  return indices;
}

/**
 * Batch rule shared by take and scatterAdd when the indices are batched: fold
 * the batch into the indexed axis. With x batched as [B, …, n, …], move that
 * axis next to the batch and merge them into one axis of length B·n, offset
 * each example's indices by b·n, and the op becomes an unbatched gather or
 * scatter along axis 1 of the merged data.
 */
function offsetIndices(indices: Tensor, size: number, n: number): Tensor {
  const shift = reshape(arange(0, size * n, n), [size, ...new Array<number>(indices.ndim - 1).fill(1)]);
  return add(indices, shift);
}

export const takeP: Primitive<TakeParams> = {
  name: 'take',
  shape([x, idx], { axis }) {
    return [...x!.slice(0, axis), ...idx!, ...x!.slice(axis + 1)];
  },
  impl([x, idx], { axis }, shape) {
    const n = x!.shape[axis]!;
    const [p, q] = splitAt(x!.shape, axis, 1);
    const indices = checkedIndices(idx!.data, n, 'take');
    const m = indices.length;
    const src = x!.data;
    const out = new Float64Array(sizeOf(shape));
    for (let a = 0; a < p; a++) {
      for (let i = 0; i < m; i++) {
        const from = (a * n + indices[i]!) * q;
        out.set(src.subarray(from, from + q), (a * m + i) * q);
      }
    }
    return new Tensor(out, shape);
  },
  jvp: ([, idx], [dx], _y, { axis }) => take(dx!, idx!, axis),
  vjp: (ct, [x, idx], _y, { axis }) => [scatterAdd(ct, idx!, axis, x!.shape[axis]!), null],
  batch([x, idx], [xBatched, idxBatched], size, { axis }) {
    if (!idxBatched) return take(x!, idx!, axis + 1);
    const data = xBatched ? x! : broadcastTo(x!, [size, ...x!.shape]);
    const n = data.shape[axis + 1]!;
    // [B, pre…, n, post…] → [B·n, pre…, post…]: batch and indexed axis merged in front.
    const rank = data.ndim;
    const perm = [0, axis + 1, ...range(1, axis + 1), ...range(axis + 2, rank)];
    const merged = reshape(transpose(data, perm), [size * n, ...perm.slice(2).map((k) => data.shape[k]!)]);
    // Gather gives [B, I…, pre…, post…]; move the index axes after pre….
    const gathered = take(merged, offsetIndices(idx!, size, n), 0);
    const nIdx = idx!.ndim - 1;
    const order = [
      0,
      ...range(1 + nIdx, 1 + nIdx + axis),
      ...range(1, 1 + nIdx),
      ...range(1 + nIdx + axis, gathered.ndim),
    ];
    return transpose(gathered, order);
  },
};

export const scatterAddP: Primitive<ScatterAddParams> = {
  name: 'scatterAdd',
  shape([u, idx], { axis, size }) {
    const expected = u!.length - idx!.length + 1;
    if (axis < 0 || axis >= expected || idx!.some((d, k) => d !== u![axis + k])) {
      throw new ShapeError(
        `scatterAdd: updates ${shapeString(u!)} do not have the indices' shape ${shapeString(idx!)} at axis ${axis}`,
      );
    }
    return [...u!.slice(0, axis), size, ...u!.slice(axis + idx!.length)];
  },
  impl([u, idx], { axis, size }, shape) {
    const [p, q] = splitAt(u!.shape, axis, idx!.ndim);
    const indices = checkedIndices(idx!.data, size, 'scatterAdd');
    const m = indices.length;
    const src = u!.data;
    const out = new Float64Array(sizeOf(shape));
    for (let a = 0; a < p; a++) {
      for (let i = 0; i < m; i++) {
        const to = (a * size + indices[i]!) * q;
        const from = (a * m + i) * q;
        for (let j = 0; j < q; j++) out[to + j]! += src[from + j]!;
      }
    }
    return new Tensor(out, shape);
  },
  jvp: ([, idx], [du], _y, { axis, size }) => scatterAdd(du!, idx!, axis, size),
  vjp: (ct, [, idx], _y, { axis }) => [take(ct, idx!, axis), null],
  batch([u, idx], [uBatched, idxBatched], batchSize, { axis, size }) {
    if (!idxBatched) return scatterAdd(u!, idx!, axis + 1, size);
    const nIdx = idx!.ndim - 1;
    const updates = uBatched ? u! : broadcastTo(u!, [batchSize, ...u!.shape]);
    // [B, pre…, I…, post…] → [B, I…, pre…, post…], scatter into B·size rows, unmerge.
    const rank = updates.ndim;
    const perm = [
      0,
      ...range(1 + axis, 1 + axis + nIdx),
      ...range(1, 1 + axis),
      ...range(1 + axis + nIdx, rank),
    ];
    const moved = transpose(updates, perm);
    const scattered = scatterAdd(moved, offsetIndices(idx!, batchSize, size), 0, batchSize * size);
    const rest = scattered.shape.slice(1);
    const split = reshape(scattered, [batchSize, size, ...rest]);
    // [B, size, pre…, post…] → [B, pre…, size, post…]
    const back = [0, ...range(2, 2 + axis), 1, ...range(2 + axis, split.ndim)];
    return transpose(split, back);
  },
};

function range(start: number, end: number): number[] {
  const out: number[] = [];
  for (let i = start; i < end; i++) out.push(i);
  return out;
}

export const shapePrimitives: readonly Primitive[] = [
  reshapeP,
  transposeP,
  broadcastToP,
  sliceP,
  padP,
  concatP,
  takeP,
  scatterAddP,
];
