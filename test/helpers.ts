/** Shared test oracles and comparisons. */
import { expect } from 'vitest';
import type { Tensor } from '../src/tensor.js';

export interface Tolerance {
  rtol?: number;
  atol?: number;
}

/** Elementwise |a − e| ≤ atol + rtol·|e|, reporting the worst index on failure. */
export function expectClose(
  actual: ArrayLike<number> | Tensor,
  expected: ArrayLike<number> | Tensor,
  { rtol = 1e-9, atol = 1e-12 }: Tolerance = {},
): void {
  const a = 'shape' in actual ? (actual as Tensor).data : (actual as ArrayLike<number>);
  const e = 'shape' in expected ? (expected as Tensor).data : (expected as ArrayLike<number>);
  if ('shape' in actual && 'shape' in expected) {
    expect([...(actual as Tensor).shape]).toEqual([...(expected as Tensor).shape]);
  }
  expect(a.length).toBe(e.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < a.length; i++) {
    const excess = Math.abs(a[i]! - e[i]!) - (atol + rtol * Math.abs(e[i]!));
    if (!(excess <= worstExcess)) {
      worst = i;
      worstExcess = Number.isNaN(excess) ? Number.POSITIVE_INFINITY : excess;
    }
  }
  if (worst >= 0) {
    expect.fail(
      `mismatch at index ${worst}: actual ${a[worst]}, expected ${e[worst]} (rtol ${rtol}, atol ${atol})`,
    );
  }
}
