/**
 * Batched matrix product with transpose flags: C = op(A)·op(B), where op(M) is
 * M or Mᵀ over the last two axes and the leading (batch) axes broadcast.
 *
 * Carrying the flags in the primitive lets every rule stay a single gemm call
 * with no materialised transposes. With C = op(A)·op(B) and cotangent C̄:
 *
 *   op(A)‾ = C̄·op(B)ᵀ    so  Ā = C̄·op(B)ᵀ       (A not transposed)
 *                              Ā = op(B)·C̄ᵀ       (A transposed)
 *   op(B)‾ = op(A)ᵀ·C̄    so  B̄ = op(A)ᵀ·C̄       (B not transposed)
 *                              B̄ = C̄ᵀ·op(A)       (B transposed)
 *
 * and each of these is again a flagged matmul. The kernel folds batch axes
 * into rows when only A has them: [b, m, k]·[k, n] is one (b·m)×k by k×n gemm.
 */
import { ShapeError } from '../../errors.js';
import { gemmKernel } from '../../linalg/kernels/gemm.js';
import { bind, type Primitive } from '../core.js';
import { broadcastStrides } from '../kernels.js';
import { add, reshape } from '../ops.js';
import { broadcastShapes, type Shape, shapeString, sizeOf, Tensor } from '../tensor.js';

export interface MatmulParams {
  readonly transA: boolean;
  readonly transB: boolean;
}

/** [rows, cols] of op(M) for the last two axes of `shape`. */
function opDims(shape: Shape, trans: boolean): [number, number] {
  const r = shape[shape.length - 2]!;
  const c = shape[shape.length - 1]!;
  return trans ? [c, r] : [r, c];
}

/** Flagged matmul of two tensors of rank ≥ 2 (the public `matmul` handles vectors). */
export function matmulFlagged(a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor {
  return bind(matmulP, [a, b], { transA, transB });
}

export const matmulP: Primitive<MatmulParams> = {
  name: 'matmul',
  shape([a, b], { transA, transB }) {
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
    return [...batch, m, n];
  },
  impl([a, b], { transA, transB }, shape) {
    const out = new Float64Array(sizeOf(shape));
    const [m, k] = opDims(a!.shape, transA);
    const n = shape[shape.length - 1]!;
    if (m === 0 || n === 0) return new Tensor(out, shape);
    const lda = a!.shape[a!.ndim - 1]!;
    const ldb = b!.shape[b!.ndim - 1]!;
    const batchShape = shape.slice(0, -2);
    const batches = sizeOf(batchShape);
    const aBatch = a!.shape.slice(0, -2);
    const bBatch = b!.shape.slice(0, -2);
    if (sizeOf(bBatch) === 1 && !transA && sizeOf(aBatch) === batches) {
      // Batch axes of A fold into its rows.
      gemmKernel(batches * m, n, k, 1, a!.data, 0, lda, false, b!.data, 0, ldb, transB, 0, out, 0, n);
      return new Tensor(out, shape);
    }
    const aStrides = broadcastStrides(aBatch, batchShape);
    const bStrides = broadcastStrides(bBatch, batchShape);
    const aSize = m * k;
    const bSize = k * n;
    for (let t = 0; t < batches; t++) {
      // Decompose the batch index t into per-axis indices, row-major.
      let rest = t;
      let ia = 0;
      let ib = 0;
      for (let d = batchShape.length - 1; d >= 0; d--) {
        const len = batchShape[d]!;
        const i = rest % len;
        rest = (rest - i) / len;
        ia += i * aStrides[d]!;
        ib += i * bStrides[d]!;
      }
      gemmKernel(
        m,
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
        0,
        out,
        t * m * n,
        n,
      );
    }
    return new Tensor(out, shape);
  },
  jvp([a, b], [da, db], _c, { transA, transB }) {
    const fromA = da ? matmulFlagged(da, b!, transA, transB) : null;
    const fromB = db ? matmulFlagged(a!, db, transA, transB) : null;
    return fromA && fromB ? add(fromA, fromB) : (fromA ?? fromB);
  },
  vjp(ct, [a, b], _c, { transA, transB }, [wantA, wantB]) {
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
    return [ca, cb];
  },
  batch([a, b], [aBatched, bBatched], size, { transA, transB }) {
    const rank = Math.max(a!.ndim - (aBatched ? 1 : 0), b!.ndim - (bBatched ? 1 : 0));
    if (!aBatched && a!.ndim === 2) {
      // Only B is batched, A is one matrix: when op(B) has one column, all the
      // columns stack into one matrix X with op(A)·X = C, computed as one gemm
      // of Xᵀ·op(A)ᵀ. Row-major [.., k, 1] and [.., 1, k] share a layout, so
      // only reshapes are needed.
      const [k, n] = opDims(b!.shape, transB);
      if (n === 1) {
        const columns = reshape(b!, [-1, k]);
        const product = matmulFlagged(columns, a!, false, !transA);
        const m = opDims(a!.shape, transA)[0];
        return reshape(product, [...b!.shape.slice(0, -2), m, 1]);
      }
    }
    const align = (x: Tensor, batched: boolean) => {
      if (!batched) return x;
      const missing = rank - (x.ndim - 1);
      return missing > 0 ? reshape(x, [size, ...new Array<number>(missing).fill(1), ...x.shape.slice(1)]) : x;
    };
    return matmulFlagged(align(a!, aBatched!), align(b!, bBatched!), transA, transB);
  },
};

export const matmulPrimitives: readonly Primitive[] = [matmulP];
