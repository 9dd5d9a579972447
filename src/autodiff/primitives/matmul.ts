/**
 * Batched matrix product with transpose flags and an optional addend, as gemm:
 * C = op(A)·op(B) + D, where op(M) is M or Mᵀ over the last two axes, the
 * leading (batch) axes broadcast, and D (a bias, say) broadcasts to C's shape.
 * Folding the addend into the product saves a pass over C in every linear layer;
 * its cotangent is C̄ itself, summed back to D's shape by the machinery.
 *
 * Carrying the flags in the primitive lets every rule stay a single gemm call
 * with no materialised transposes. With C = op(A)·op(B) and cotangent C̄:
 *
 *   op(A)‾ = C̄·op(B)ᵀ    so  Ā = C̄·op(B)ᵀ       (A not transposed)
 *                              Ā = op(B)·C̄ᵀ       (A transposed)
 *   op(B)‾ = op(A)ᵀ·C̄    so  B̄ = op(A)ᵀ·C̄       (B not transposed)
 *                              B̄ = C̄ᵀ·op(A)       (B transposed)
 *
 * and each of these is again a flagged matmul. The kernel folds the trailing
 * batch axes over which B is shared into A's rows: [b, m, k]·[k, n] is one
 * (b·m)×k by k×n gemm, and per-example outer products [e, i, m, 1]·[e, 1, 1, n]
 * (the weight blocks of per-example Jacobians) are one gemm per example e.
 */
import { ShapeError } from '../../errors.js';
import { gemmKernel } from '../../kernels/gemm.js';
import { broadcastStrides, copyStrided } from '../../kernels/strided.js';
import {
  broadcastShapes,
  type Shape,
  shapeString,
  shapesEqual,
  sizeOf,
  stridesOf,
  Tensor,
} from '../../tensor.js';
import { bind, type Primitive } from '../core.js';
import { add, reshape } from '../ops.js';
import { alignBatched, batchElementwise, NO_PARAMS, unbatchedRank } from './elementwise.js';

interface MatmulParams {
  readonly transA: boolean;
  readonly transB: boolean;
}

/** [rows, cols] of op(M) for the last two axes of `shape`. */
function opDims(shape: Shape, trans: boolean): [number, number] {
  const r = shape[shape.length - 2]!;
  const c = shape[shape.length - 1]!;
  return trans ? [c, r] : [r, c];
}

/** op(a)·op(b) (+ addend) for a, b of rank ≥ 2 (the public `matmul` handles vectors). */
export function matmulFlagged(
  a: Tensor,
  b: Tensor,
  transA: boolean,
  transB: boolean,
  addend?: Tensor,
): Tensor {
  return bind(matmulP, addend ? [a, b, addend] : [a, b], { transA, transB });
}

export const matmulP: Primitive<MatmulParams> = {
  name: 'matmul',
  shape([a, b, d], { transA, transB }) {
    if (a!.length < 2 || b!.length < 2) {
      throw new ShapeError(
        `matmul: operands need at least 2 axes, got ${shapeString(a!)} and ${shapeString(b!)}`,
      );
    }
    const [m, k] = opDims(a!, transA);
    const [k2, n] = opDims(b!, transB);
    if (k !== k2) {
      throw new ShapeError(
        `matmul: inner dimensions differ, a is ${shapeString(a!)}${transA ? ' (transposed)' : ''} and b is ${shapeString(b!)}${transB ? ' (transposed)' : ''}`,
      );
    }
    const batch = broadcastShapes(a!.slice(0, -2), b!.slice(0, -2), 'matmul (batch axes)');
    const shape = [...batch, m, n];
    if (d !== undefined && !shapesEqual(broadcastShapes(d, shape, 'matmul (addend)'), shape)) {
      throw new ShapeError(
        `matmul: addend of shape ${shapeString(d)} does not broadcast to the product's ${shapeString(shape)}`,
      );
    }
    return shape;
  },
  impl([a, b, d], params, shape) {
    const out = new Float64Array(sizeOf(shape));
    // With an addend, C starts as D broadcast and the products accumulate into it (β = 1).
    const beta = d === undefined ? 0 : 1;
    if (d !== undefined)
      copyStrided(shape, d.data, 0, broadcastStrides(d.shape, shape), out, 0, stridesOf(shape));
    let { transA, transB } = params;
    const [m, k] = opDims(a!.shape, transA);
    const n = shape[shape.length - 1]!;
    if (m === 0 || n === 0) return new Tensor(out, shape);
    let lda = a!.shape[a!.ndim - 1]!;
    let ldb = b!.shape[b!.ndim - 1]!;
    // A transposed vector is the same values as an untransposed one: drop the flag.
    if (transA && (m === 1 || k === 1)) [transA, lda] = [false, k];
    if (transB && (n === 1 || k === 1)) [transB, ldb] = [false, n];
    const batchShape = shape.slice(0, -2);
    const aBatch = a!.shape.slice(0, -2);
    const aStrides = broadcastStrides(aBatch, batchShape);
    const bStrides = broadcastStrides(b!.shape.slice(0, -2), batchShape);
    // Trailing batch axes over which B is shared and A is not broadcast fold into
    // A's rows: A's matrices there are consecutive, and so are C's.
    let lead = batchShape.length;
    let rowsPerCall = m;
    if (!transA) {
      while (
        lead > 0 &&
        bStrides[lead - 1] === 0 &&
        aBatch[aBatch.length - batchShape.length + lead - 1] === batchShape[lead - 1]
      ) {
        lead--;
        rowsPerCall *= batchShape[lead]!;
      }
    }
    const calls = sizeOf(batchShape.slice(0, lead));
    const aSize = m * k;
    const bSize = k * n;
    for (let t = 0; t < calls; t++) {
      // Decompose the call index t into indices over the leading batch axes, row-major.
      let rest = t;
      let ia = 0;
      let ib = 0;
      for (let axis = lead - 1; axis >= 0; axis--) {
        const len = batchShape[axis]!;
        const i = rest % len;
        rest = (rest - i) / len;
        ia += i * aStrides[axis]!;
        ib += i * bStrides[axis]!;
      }
      gemmKernel(
        rowsPerCall,
        n,
        k,
        1,
        a!.data,
        ia * aSize,
        lda,
        transA,
        b!.data,
        ib * bSize,
        ldb,
        transB,
        beta,
        out,
        t * rowsPerCall * n,
        n,
      );
    }
    return new Tensor(out, shape);
  },
  jvp([a, b], [da, db, dd], _c, { transA, transB }) {
    // d(op(A)·op(B) + D) = op(dA)·op(B) + op(A)·op(dB) + dD, the first two as one product with an addend.
    let t = dd ?? undefined;
    if (da) t = matmulFlagged(da, b!, transA, transB, t);
    if (db) t = matmulFlagged(a!, db, transA, transB, t);
    return t ?? null;
  },
  vjp(ct, [a, b], _c, { transA, transB }, [wantA, wantB, wantD]) {
    let ca: Tensor | null = null;
    let cb: Tensor | null = null;
    if (wantA) ca = transA ? matmulFlagged(b!, ct, transB, true) : matmulFlagged(ct, b!, false, !transB);
    if (wantB) {
      if (b!.ndim === 2 && a!.ndim > 2 && !transA) {
        // B̄ sums over A's batch: fold the batch into the rows of one product.
        const k = a!.shape[a!.ndim - 1]!;
        const rows = reshape(a!, [-1, k]);
        const ctRows = reshape(ct, [-1, ct.shape[ct.ndim - 1]!]);
        cb = transB ? matmulFlagged(ctRows, rows, true, false) : matmulFlagged(rows, ctRows, true, false);
      } else {
        cb = transB ? matmulFlagged(ct, a!, true, transA) : matmulFlagged(a!, ct, !transA, false);
      }
    }
    return wantD === undefined ? [ca, cb] : [ca, cb, wantD ? ct : null];
  },
  batch(args, batched, _size, { transA, transB }) {
    const [a, b, d] = args;
    const [aBatched, bBatched, dBatched] = batched;
    if (!aBatched && !bBatched) return addBatched(matmulFlagged(a!, b!, transA, transB), false, d!, true);
    // An unbatched addend folds into the batched product; a batched one is added after.
    const product = batchedProduct(a!, b!, aBatched!, bBatched!, transA, transB, dBatched ? undefined : d);
    return d !== undefined && dBatched ? addBatched(product, true, d, true) : product;
  },
};

/** op(A)·op(B) (+ unbatched addend) where A and/or B carry a leading batch axis. */
function batchedProduct(
  a: Tensor,
  b: Tensor,
  aBatched: boolean,
  bBatched: boolean,
  transA: boolean,
  transB: boolean,
  addend: Tensor | undefined,
): Tensor {
  if (!aBatched && a.ndim === 2) {
    // Only B is batched, A is one matrix: when op(B) has one column, all the
    // columns stack into one matrix X with op(A)·X = C, computed as one gemm
    // of Xᵀ·op(A)ᵀ. Row-major [.., k, 1] and [.., 1, k] share a layout, so
    // only reshapes are needed.
    const [k, n] = opDims(b.shape, transB);
    if (n === 1) {
      const product = matmulFlagged(reshape(b, [-1, k]), a, false, !transA);
      const columns = reshape(product, [...b.shape.slice(0, -2), opDims(a.shape, transA)[0], 1]);
      return addend ? add(columns, addend) : columns;
    }
  }
  const rank = unbatchedRank([a, b], [aBatched, bBatched]);
  const align = (x: Tensor, isBatched: boolean) => (isBatched ? alignBatched(x, rank) : x);
  return matmulFlagged(align(a, aBatched), align(b, bBatched), transA, transB, addend);
}

/** x + d where either may carry a leading batch axis: add's own batch rule. */
function addBatched(x: Tensor, xBatched: boolean, d: Tensor, dBatched: boolean): Tensor {
  return batchElementwise(add.primitive, [x, d], [xBatched, dBatched], NO_PARAMS);
}

export const matmulPrimitives: readonly Primitive[] = [matmulP];
