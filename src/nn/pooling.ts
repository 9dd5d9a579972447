/** Option and shape helpers shared by the pooling layers. */
import type { Pair } from '../autodiff/ops.js';
import { ShapeError, ValueError } from '../errors.js';
import { type Shape, shapeString } from '../tensor.js';

/** [h, w] integers ≥ `min` from a scalar or pair; `fallback` when undefined (required when no fallback). */
export function toPair(
  v: Pair | undefined,
  fallback: readonly [number, number] | undefined,
  min: number,
  what: string,
): [number, number] {
  if (v === undefined && fallback !== undefined) return [fallback[0], fallback[1]];
  const pair = typeof v === 'number' ? [v, v] : v;
  if (!Array.isArray(pair) || pair.length !== 2 || !pair.every((d) => Number.isInteger(d) && d >= min)) {
    throw new ValueError(
      `${what} must be an integer ≥ ${min} or a pair [h, w] of them, got ${JSON.stringify(v)}`,
    );
  }
  return [pair[0]!, pair[1]!];
}

/** [C, H′, W′] for a pooling of [C, H, W], or a ShapeError naming the layer. */
export function poolOutputShape(
  label: string,
  inputShape: Shape,
  kernel: readonly [number, number],
  stride: readonly [number, number],
  padding: readonly [number, number],
  dilation: readonly [number, number],
): Shape {
  if (inputShape.length !== 3) {
    throw new ShapeError(`${label}: input must be [C, H, W] per example, got ${shapeString(inputShape)}`);
  }
  const size = (k: 0 | 1) =>
    Math.floor((inputShape[k + 1]! + 2 * padding[k] - dilation[k] * (kernel[k] - 1) - 1) / stride[k]) + 1;
  const shape = [inputShape[0]!, size(0), size(1)];
  if (shape[1]! < 1 || shape[2]! < 1) {
    throw new ShapeError(
      `${label}: input ${shapeString(inputShape)} is smaller than the ${kernel[0]}×${kernel[1]} window with padding [${padding.join(', ')}]`,
    );
  }
  return shape;
}
