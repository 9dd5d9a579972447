/**
 * The symmetric matrix-vector product of the tridiagonal reduction, p = S·v
 * with only the upper triangle of S stored, as a WebAssembly function.
 *
 * Row i of the triangle serves twice: its dot S[i, i:]·v[i:] goes to pᵢ, and
 * S[i, j]·vᵢ goes to pⱼ for every j > i, so one pass over the triangle does a
 * dot and an axpy per row. The TypeScript reference (symmetricProduct in
 * kernels/eigen.ts) fixes the order of every sum: pⱼ starts at 0, gains
 * S[i, j]·vᵢ for the rows i < j in ascending order, and then the dot of row j,
 * itself summed along the row from S[j, j]·vⱼ. To keep its bits, a vector lane
 * may only ever continue one of these sums, term after term:
 *
 *  - the dots run across rows: one vector holds the running sums of rows i
 *    and i+1, and gains (S[i, j], S[i+1, j])·vⱼ column after column;
 *  - the axpy runs across columns: one vector holds (pⱼ, pⱼ₊₁), and gains
 *    (S[i, j], S[i, j+1])·vᵢ row after row.
 *
 * The rows are stored as they are (row-major), so the axpy takes its vectors
 * straight from memory, and the dots take theirs by one shuffle each from two
 * rows: `lowHalves` of (S[i, j], S[i, j+1]) and (S[i+1, j], S[i+1, j+1]) is
 * column j of both rows, `highHalves` column j+1. A product and a sum per lane,
 * separately rounded, are then exactly the scalar operations of the reference:
 * the same bits. The relaxed variant fuses them with `f64x2.relaxed_madd`.
 *
 * Rows go four at a time (a group), as in the reference: every entry of p is
 * loaded and stored once per group, not once per row. Group g holds rows
 * 4g … 4g+3 from column 4g on, each `width` = w − 4g doubles long for a
 * padded order w (a multiple of 4); its rows follow each other in memory, and
 * the next group follows the last row. Columns 4g … 4g+3 are the group's
 * diagonal block, whose entries below the diagonal are never used; columns
 * from 4g+4 on go two at a time.
 */
import {
  addTo,
  type Bytes,
  bytes,
  f64x2Const,
  highHalves,
  i32Const,
  localGet,
  localIndices,
  localSet,
  lowHalves,
  lowThenHigh,
  Op,
  repeat,
  Simd,
  simd,
  Type,
  v128Load,
  v128Load64Splat,
  v128Store,
  type WasmFunction,
} from './emit.js';

/**
 * `symv(groups, s, width, v, p)`, all i32: `groups` groups of the triangle from
 * byte address s, the first with rows `width` doubles long; v and p the byte
 * addresses of vᵢ and pᵢ for the first row i of the first group. Adds S·v to p
 * (p holds zeros for the reference's sums). `relaxed` fuses multiply and add.
 */
export function symvFunction(relaxed: boolean): WasmFunction {
  const take = localIndices();
  const [groups, s, width, v, p] = take(5);
  const i32s = 8;
  const [r0, r1, r2, r3, vPtr, pPtr, pairs, rowBytes] = take(i32s);
  const v128s = 14;
  const [a0, a1, a2, a3, sum01, sum23, x0, x1, x2, x3, vj, vj1, product, minusZero] = take(v128s);
  const a = [a0, a1, a2, a3];
  const x = [x0, x1, x2, x3];
  const rows = [r0, r1, r2, r3];

  /** A term of a sum: the product x·y, or a vector added as it is. Each is code pushing one vector. */
  type Term = { x: Bytes; y: Bytes } | { vector: Bytes };
  /** acc + t₀ + t₁ + …, in order, acc being code that pushes the starting vector. */
  const fold = (acc: Bytes, terms: readonly Term[]): Bytes =>
    terms.reduce<Bytes>((sum, t) => {
      if ('vector' in t) return bytes(sum, t.vector, simd(Simd.f64x2Add));
      return relaxed
        ? bytes(t.x, t.y, sum, simd(Simd.f64x2RelaxedMadd))
        : bytes(sum, t.x, t.y, simd(Simd.f64x2Mul), simd(Simd.f64x2Add));
    }, acc);
  const times = (u: number, w: Bytes): Term => ({ x: localGet(u), y: w });
  /** sum ← sum + terms. */
  const accumulate = (sum: number, ...terms: Term[]): Bytes =>
    bytes(fold(localGet(sum), terms), localSet(sum));
  /** The vector at address + offset gains the terms: the axpy on p. */
  const gains = (address: number, offset: number, terms: readonly Term[]): Bytes =>
    bytes(localGet(address), fold(bytes(localGet(address), v128Load(offset)), terms), v128Store(offset));
  const shuffle = (u: number, w: number, lanes: Bytes) => bytes(localGet(u), localGet(w), lanes);
  const load = (pointer: number, offset: number, into: number) =>
    bytes(localGet(pointer), v128Load(offset), localSet(into));
  /** pointer ← from + step. */
  const offsetFrom = (pointer: number, from: number, step: Bytes) =>
    bytes(localGet(from), step, Op.i32Add, localSet(pointer));
  /** The four rows' terms of the axpy, row i times aᵢ. */
  const rowTerms = (xs: readonly number[]) => xs.map((xi, i) => times(xi, localGet(a[i]!)));

  /**
   * The diagonal block, rows and columns i … i+3 (i = 4g). Row i+1's dot starts
   * at column i+1, one column after row i's: its lane must skip column i, and
   * row i's term there, S[i, i+1]·vᵢ, goes to pᵢ₊₁ instead. Lanes are blended
   * with −0, which adds exactly nothing (x + (−0) = x for every x): the dots
   * start as (S[i, i]·vᵢ, −0), and (pᵢ, pᵢ₊₁) gains (−0, S[i, i+1]·vᵢ). Rows
   * i+2, i+3 likewise two columns on, after (pᵢ₊₂, pᵢ₊₃) have gained rows i
   * and i+1. Entries below the diagonal are loaded but never used.
   */
  const diagonalBlock = bytes(
    load(s, 0, x0), // (S[i, i], S[i, i+1])
    load(r1, 0, x1), // (·, S[i+1, i+1])
    localGet(x0),
    localGet(a0),
    simd(Simd.f64x2Mul),
    localSet(product), // (S[i, i]·vᵢ, S[i, i+1]·vᵢ)
    gains(p, 0, [{ vector: shuffle(minusZero, product, lowThenHigh()) }]),
    fold(shuffle(product, minusZero, lowThenHigh()), [{ x: shuffle(x0, x1, highHalves()), y: localGet(a1) }]),
    localSet(sum01),
    load(s, 16, x0), // (S[i, i+2], S[i, i+3])
    load(r1, 16, x1), // (S[i+1, i+2], S[i+1, i+3])
    accumulate(sum01, { x: shuffle(x0, x1, lowHalves()), y: localGet(a2) }),
    accumulate(sum01, { x: shuffle(x0, x1, highHalves()), y: localGet(a3) }),
    load(r2, 16, x2), // (S[i+2, i+2], S[i+2, i+3])
    load(r3, 16, x3), // (·, S[i+3, i+3])
    localGet(x2),
    localGet(a2),
    simd(Simd.f64x2Mul),
    localSet(product), // (S[i+2, i+2]·vᵢ₊₂, S[i+2, i+3]·vᵢ₊₂)
    gains(p, 16, [...rowTerms([x0, x1]), { vector: shuffle(minusZero, product, lowThenHigh()) }]),
    fold(shuffle(product, minusZero, lowThenHigh()), [{ x: shuffle(x2, x3, highHalves()), y: localGet(a3) }]),
    localSet(sum23),
  );

  /** Columns j, j+1 at the pointers: both dots gain two columns, (pⱼ, pⱼ₊₁) four rows. */
  const columnPair = bytes(
    rows.map((r, i) => load(r, 0, x[i]!)),
    localGet(vPtr),
    v128Load64Splat(0),
    localSet(vj),
    localGet(vPtr),
    v128Load64Splat(8),
    localSet(vj1),
    accumulate(
      sum01,
      { x: shuffle(x0, x1, lowHalves()), y: localGet(vj) },
      { x: shuffle(x0, x1, highHalves()), y: localGet(vj1) },
    ),
    accumulate(
      sum23,
      { x: shuffle(x2, x3, lowHalves()), y: localGet(vj) },
      { x: shuffle(x2, x3, highHalves()), y: localGet(vj1) },
    ),
    gains(pPtr, 0, rowTerms(x)),
    [...rows, vPtr, pPtr].map((pointer) => addTo(pointer, i32Const(16))),
  );

  const group = bytes(
    localGet(width),
    i32Const(8),
    Op.i32Mul,
    localSet(rowBytes),
    offsetFrom(r1, s, localGet(rowBytes)),
    offsetFrom(r2, r1, localGet(rowBytes)),
    offsetFrom(r3, r2, localGet(rowBytes)),
    a.map((ai, i) => bytes(localGet(v), v128Load64Splat(8 * i), localSet(ai))),
    diagonalBlock,
    // Columns 4 … width − 1: (width − 4)/2 pairs.
    offsetFrom(r0, s, i32Const(32)),
    [r1, r2, r3].map((r) => offsetFrom(r, r, i32Const(32))),
    offsetFrom(vPtr, v, i32Const(32)),
    offsetFrom(pPtr, p, i32Const(32)),
    localGet(width),
    i32Const(1),
    Op.i32ShrU,
    i32Const(2),
    Op.i32Sub,
    localSet(pairs),
    repeat(pairs, columnPair),
    // pᵢ … pᵢ₊₃ gain their dots, last.
    gains(p, 0, [{ vector: localGet(sum01) }]),
    gains(p, 16, [{ vector: localGet(sum23) }]),
    // The next group: four rows down, four columns in, rows four doubles shorter.
    addTo(s, bytes(localGet(rowBytes), i32Const(4), Op.i32Mul)),
    addTo(width, i32Const(-4)),
    addTo(v, i32Const(32)),
    addTo(p, i32Const(32)),
  );

  return {
    name: 'symv',
    params: [Type.i32, Type.i32, Type.i32, Type.i32, Type.i32],
    locals: [
      [i32s, Type.i32],
      [v128s, Type.v128],
    ],
    code: bytes(f64x2Const(-0), localSet(minusZero), repeat(groups, group)),
  };
}
