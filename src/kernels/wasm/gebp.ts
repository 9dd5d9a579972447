/**
 * The packed-panel macro-kernel (gebp: general block times panel) as a
 * WebAssembly module, written out instruction by instruction.
 *
 * It computes C[0:MR·mTiles, 0:NR·nTiles] += Ã·B̃ in linear memory, where Ã is a
 * kc-deep slice of A packed as MR-row strips (row r of step p at strip + (p·MR + r)·8)
 * and B̃ a slice of B packed as NR-column strips (column q of step p at
 * strip + (p·NR + q)·8). For every MR × NR tile of C the register tile
 *
 *     acc = Σₚ Ã[:, p] · B̃[p, :]ᵀ     (p = 0 … kc − 1, in order, from acc = 0)
 *
 * is formed in v128 locals, two f64 lanes each, and then added to C. A step
 * loads NR/2 vectors of B̃ and, for each row r, one element of Ã copied into both
 * lanes (`v128.load64_splat`), and updates acc[r] ← acc[r] + a_r·b: separately
 * rounded `f64x2.mul` and `f64x2.add` perform per lane exactly the IEEE
 * operations of the scalar TypeScript kernel in the same order, so the results
 * are bitwise identical to it; the relaxed variant uses `f64x2.relaxed_madd`
 * (fused where the hardware has FMA, one rounding instead of two).
 *
 * The 4 × 4 tile keeps 8 accumulators, 2 vectors of B̃ and one splat live, 11 of
 * the 16 vector registers of x86-64 SSE/AVX and ARM64 NEON's 32: no spills. The
 * loops are left rolled; V8's optimising tier unrolls the inner one.
 */
import { MR, NR } from '../blocking.js';
import {
  addTo,
  bytes,
  countdownLoop,
  i32Const,
  localGet,
  localIndices,
  localSet,
  Op,
  Simd,
  simd,
  Type,
  v128Load,
  v128Load64Splat,
  v128Store,
  v128Zero,
  type WasmFunction,
} from './emit.js';

/**
 * `gebp(mTiles, nTiles, kc, pa, pb, c, ldc)`: all i32, pointers and `ldc` (the
 * row pitch of C) in bytes. `relaxed` uses `f64x2.relaxed_madd` (relaxed SIMD)
 * instead of separate multiply and add.
 */
export function gebpFunction(relaxed: boolean): WasmFunction {
  // Locals: the seven parameters, then i32 counters and pointers, then v128s.
  const take = localIndices();
  const [mTiles, nTiles, kc, pa, pb, c, ldc] = take(7);
  const i32s = 12;
  const [i, j, p, aStrip, bStrip, aPtr, bPtr, cCol, cTile, row, aStripBytes, bStripBytes] = take(i32s);
  const halves = NR / 2;
  const acc = Array.from({ length: MR }, () => take(halves));
  const bv = take(halves);
  const [av] = take(1);
  const v128s = MR * halves + halves + 1;

  /** acc[r][h] ← acc[r][h] + av·bv[h]. */
  const update = (r: number, h: number) =>
    relaxed
      ? bytes(localGet(av), localGet(bv[h]!), localGet(acc[r]![h]!), simd(Simd.f64x2RelaxedMadd))
      : bytes(
          localGet(acc[r]![h]!),
          localGet(av),
          localGet(bv[h]!),
          simd(Simd.f64x2Mul),
          simd(Simd.f64x2Add),
        );

  /** One step p of the register tile: NR/2 vectors of B̃, then each row's splat of Ã. */
  const depthStep = bytes(
    bv.map((b, h) => bytes(localGet(bPtr), v128Load(16 * h), localSet(b))),
    acc.map((accRow, r) =>
      bytes(
        localGet(aPtr),
        v128Load64Splat(8 * r),
        localSet(av),
        accRow.map((a, h) => bytes(update(r, h), localSet(a))),
      ),
    ),
    addTo(aPtr, i32Const(8 * MR)),
    addTo(bPtr, i32Const(8 * NR)),
  );

  /** C tile ← C tile + acc, row by row from `cTile`. */
  const storeTile = bytes(
    localGet(cTile),
    localSet(row),
    acc.map((accRow, r) =>
      bytes(
        accRow.map((a, h) =>
          bytes(
            localGet(row),
            localGet(row),
            v128Load(16 * h),
            localGet(a),
            simd(Simd.f64x2Add),
            v128Store(16 * h),
          ),
        ),
        r < MR - 1 ? addTo(row, localGet(ldc)) : [],
      ),
    ),
  );

  /** One tile of C: zero the accumulators, run kc steps, add into C. */
  const tile = bytes(
    acc.flat().map((a) => bytes(v128Zero(), localSet(a))),
    localGet(aStrip),
    localSet(aPtr),
    localGet(bStrip),
    localSet(bPtr),
    localGet(kc),
    localSet(p),
    countdownLoop(p, depthStep),
    storeTile,
  );

  const code = bytes(
    // Strides between packed strips: kc·MR and kc·NR doubles.
    localGet(kc),
    i32Const(8 * MR),
    Op.i32Mul,
    localSet(aStripBytes),
    localGet(kc),
    i32Const(8 * NR),
    Op.i32Mul,
    localSet(bStripBytes),
    localGet(pb),
    localSet(bStrip),
    localGet(c),
    localSet(cCol),
    localGet(nTiles),
    localSet(j),
    // For each strip of B̃ (a column of tiles), walk down the strips of Ã.
    countdownLoop(
      j,
      bytes(
        localGet(pa),
        localSet(aStrip),
        localGet(cCol),
        localSet(cTile),
        localGet(mTiles),
        localSet(i),
        countdownLoop(
          i,
          bytes(
            tile,
            addTo(aStrip, localGet(aStripBytes)),
            // Down MR rows of C.
            localGet(cTile),
            Array.from({ length: MR }, () => bytes(localGet(ldc), Op.i32Add)),
            localSet(cTile),
          ),
        ),
        addTo(bStrip, localGet(bStripBytes)),
        addTo(cCol, i32Const(8 * NR)),
      ),
    ),
  );

  return {
    name: 'gebp',
    params: [Type.i32, Type.i32, Type.i32, Type.i32, Type.i32, Type.i32, Type.i32],
    locals: [
      [i32s, Type.i32],
      [v128s, Type.v128],
    ],
    code,
  };
}
