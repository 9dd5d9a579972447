/**
 * Global average pooling, PyTorch's `nn.AdaptiveAvgPool2d(1)`: each channel of
 * an example [C, H, W] maps to its mean, [C, 1, 1]. Only the output size 1×1
 * is supported (other sizes are a ValueError). No parameters.
 */
import { mean } from '../autodiff/ops.js';
import { ShapeError, ValueError } from '../errors.js';
import { type Shape, shapeString, type Tensor } from '../tensor.js';
import { asObject, describeValue } from './fields.js';
import type { Layer, LayerJSON } from './module.js';

export class AdaptiveAvgPool2d implements Layer {
  readonly type = 'adaptiveavgpool2d';
  readonly outputSize: [1, 1] = [1, 1];

  constructor(outputSize: number | readonly [number, number] = 1) {
    const ok = outputSize === 1 || (Array.isArray(outputSize) && outputSize[0] === 1 && outputSize[1] === 1);
    if (!ok) {
      throw new ValueError(
        `AdaptiveAvgPool2d: only outputSize 1 (global average pooling) is supported, got ${describeValue(outputSize)}`,
      );
    }
  }

  parameters(): Tensor[] {
    return [];
  }

  setParameters(): void {}

  outputShape(inputShape: Shape): Shape {
    if (inputShape.length !== 3) {
      throw new ShapeError(
        `AdaptiveAvgPool2d: input must be [C, H, W] per example, got ${shapeString(inputShape)}`,
      );
    }
    return [inputShape[0]!, 1, 1];
  }

  apply(_params: readonly Tensor[], x: Tensor): Tensor {
    if (x.ndim !== 4)
      throw new ShapeError(`AdaptiveAvgPool2d: input must be [n, C, H, W], got ${shapeString(x.shape)}`);
    return mean(x, [2, 3], true);
  }

  toJSON(): LayerJSON {
    return { type: this.type, outputSize: [1, 1] };
  }

  static fromJSON(json: Record<string, unknown>, what: string): AdaptiveAvgPool2d {
    const s = asObject(json, what);
    const size = s['outputSize'] ?? 1;
    if (!(size === 1 || (Array.isArray(size) && size.length === 2 && size[0] === 1 && size[1] === 1))) {
      throw new ValueError(
        `${what}.outputSize must be 1 or [1, 1] (global average pooling), got ${describeValue(size)}`,
      );
    }
    return new AdaptiveAvgPool2d();
  }
}
