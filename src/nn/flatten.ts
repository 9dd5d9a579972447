/**
 * PyTorch's `nn.Flatten()` (start dim 1): each example [d₁, …, dₖ] becomes a
 * vector of d₁⋯dₖ values in row-major order, so [n, C, H, W] → [n, C·H·W] with
 * feature index (c·H + h)·W + w, the order a following Linear's weight expects
 * when it was trained in PyTorch. No parameters.
 */
import { reshape } from '../autodiff/ops.js';
import { ShapeError } from '../errors.js';
import { type Shape, shapeString, sizeOf, type Tensor } from '../tensor.js';
import { asObject } from './fields.js';
import type { Layer, LayerJSON } from './module.js';

export class Flatten implements Layer {
  readonly type = 'flatten';

  parameters(): Tensor[] {
    return [];
  }

  setParameters(): void {}

  outputShape(inputShape: Shape): Shape {
    return [sizeOf(inputShape)];
  }

  apply(_params: readonly Tensor[], x: Tensor): Tensor {
    if (x.ndim < 1)
      throw new ShapeError(`Flatten: input must be a batch [n, ...], got ${shapeString(x.shape)}`);
    return reshape(x, [x.shape[0]!, sizeOf(x.shape.slice(1))]);
  }

  toJSON(): LayerJSON {
    return { type: this.type };
  }

  static fromJSON(json: Record<string, unknown>, what: string): Flatten {
    asObject(json, what);
    return new Flatten();
  }
}
