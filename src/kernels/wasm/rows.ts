/**
 * The deferred terms of the tridiagonal reduction as WebAssembly functions:
 * dots of a block of rows with one vector, and a vector minus a combination of
 * the rows.
 *
 * Within a panel (kernels/eigen.ts) the rank-2 updates of its first j steps
 * are held back as rows w₀, v₀, w₁, v₁, … Step j needs them twice: row j of
 * the matrix loses Σᵢ vᵢ[j]·wᵢ + wᵢ[j]·vᵢ, and the product A₂₂·v loses
 * Σᵢ (vᵢ·v)·wᵢ + (wᵢ·v)·vᵢ. Both are "out ← out − Σ_q c_q·row_q" over the rows
 * in their order, and the second needs the dots row_q·v first.
 *
 * As in symv.ts, each lane continues exactly one of the reference's sums, in
 * its order: the dots run across rows (lanes hold rows q and q+1, which take
 * their columns j, j+1 by `lowHalves` and `highHalves` of two row-major
 * loads), the combination across columns (lanes hold out[c], out[c+1], which
 * lose the rows one after the other). Rows go four at a time, the columns two;
 * callers pad with zero rows and columns.
 */
import {
  addTo,
  type Bytes,
  bytes,
  highHalves,
  i32Const,
  localGet,
  localIndices,
  localSet,
  lowHalves,
  Op,
  repeat,
  Simd,
  simd,
  Type,
  v128Load,
  v128Load64Splat,
  v128Store,
  v128Zero,
  type WasmFunction,
} from './emit.js';

/** Row pointers q₀ … q₃ of a block of four rows from `rows`, `ld` bytes apart. */
const rowPointers = (q: readonly number[], rows: number, ld: number): Bytes =>
  bytes(
    localGet(rows),
    localSet(q[0]!),
    q.slice(1).map((qi, i) => bytes(localGet(q[i]!), localGet(ld), Op.i32Add, localSet(qi))),
  );

/**
 * `rowDots(quads, rows, ld, x, pairs, out)`, all i32, pointers and `ld` (the
 * row pitch) in bytes: out[q] = Σ_c row_q[c]·x[c] over c < 2·pairs, summed
 * from +0 in order of c, for the 4·quads rows from `rows`.
 */
export function rowDotsFunction(): WasmFunction {
  const take = localIndices();
  const [quads, rows, ld, x, pairs, out] = take(6);
  const q = take(4);
  const [xPtr, count] = take(2);
  const xs = take(4);
  const [acc01, acc23, xj, xj1] = take(4);
  const [x0, x1, x2, x3] = xs;
  /** acc ← acc + lanes·x, lanes from a shuffle of two rows. */
  const accumulate = (acc: number, u: number, w: number, lanes: Bytes, y: number): Bytes =>
    bytes(
      localGet(acc),
      localGet(u),
      localGet(w),
      lanes,
      localGet(y),
      simd(Simd.f64x2Mul),
      simd(Simd.f64x2Add),
      localSet(acc),
    );
  const columnPair = bytes(
    q.map((qi, i) => bytes(localGet(qi), v128Load(0), localSet(xs[i]!))),
    localGet(xPtr),
    v128Load64Splat(0),
    localSet(xj),
    localGet(xPtr),
    v128Load64Splat(8),
    localSet(xj1),
    accumulate(acc01, x0, x1, lowHalves(), xj),
    accumulate(acc01, x0, x1, highHalves(), xj1),
    accumulate(acc23, x2, x3, lowHalves(), xj),
    accumulate(acc23, x2, x3, highHalves(), xj1),
    [...q, xPtr].map((pointer) => addTo(pointer, i32Const(16))),
  );
  const quad = bytes(
    v128Zero(),
    localSet(acc01),
    v128Zero(),
    localSet(acc23),
    rowPointers(q, rows, ld),
    localGet(x),
    localSet(xPtr),
    localGet(pairs),
    localSet(count),
    repeat(count, columnPair),
    [acc01, acc23].map((acc, h) => bytes(localGet(out), localGet(acc), v128Store(16 * h))),
    addTo(out, i32Const(32)),
    addTo(rows, bytes(localGet(ld), i32Const(4), Op.i32Mul)),
  );
  return {
    name: 'rowDots',
    params: [Type.i32, Type.i32, Type.i32, Type.i32, Type.i32, Type.i32],
    locals: [
      [6, Type.i32],
      [8, Type.v128],
    ],
    code: repeat(quads, quad),
  };
}

/**
 * `subtractRows(quads, rows, ld, coefficients, out, pairs)`, all i32, pointers
 * and `ld` in bytes: out[c] ← out[c] − c₀·row₀[c] − c₁·row₁[c] − … for
 * c < 2·pairs, the 4·quads rows from `rows` in order, their coefficients at
 * `coefficients`.
 */
export function subtractRowsFunction(): WasmFunction {
  const take = localIndices();
  const [quads, rows, ld, coefficients, out, pairs] = take(6);
  const q = take(4);
  const [outPtr, count] = take(2);
  const coefficient = take(4);
  const columnPair = bytes(
    localGet(outPtr),
    q.reduce<Bytes>(
      (acc, qi, i) =>
        bytes(
          acc,
          localGet(qi),
          v128Load(0),
          localGet(coefficient[i]!),
          simd(Simd.f64x2Mul),
          simd(Simd.f64x2Sub),
        ),
      bytes(localGet(outPtr), v128Load(0)),
    ),
    v128Store(0),
    [...q, outPtr].map((pointer) => addTo(pointer, i32Const(16))),
  );
  const quad = bytes(
    coefficient.map((ci, i) => bytes(localGet(coefficients), v128Load64Splat(8 * i), localSet(ci))),
    rowPointers(q, rows, ld),
    localGet(out),
    localSet(outPtr),
    localGet(pairs),
    localSet(count),
    repeat(count, columnPair),
    addTo(coefficients, i32Const(32)),
    addTo(rows, bytes(localGet(ld), i32Const(4), Op.i32Mul)),
  );
  return {
    name: 'subtractRows',
    params: [Type.i32, Type.i32, Type.i32, Type.i32, Type.i32, Type.i32],
    locals: [
      [6, Type.i32],
      [4, Type.v128],
    ],
    code: repeat(quads, quad),
  };
}
