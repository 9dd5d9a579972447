/**
 * 2-D average pooling, PyTorch's `nn.AvgPool2d` with its defaults (floor mode,
 * count_include_pad): each channel of an example [C, H, W] maps to the means
 * of its kh × kw windows (s apart, zero padding p counted in the mean, divisor
 * kh·kw), [C, H′, W′] with H′ = ⌊(H + 2p − kh)/s⌋ + 1. The stride defaults to
 * the kernel size. No parameters.
 */
import { avgPool2d, type Pair } from '../autodiff/ops.js';
import { ShapeError, ValueError } from '../errors.js';
import { type Shape, shapeString, type Tensor } from '../tensor.js';
import { asObject, readPair } from './fields.js';
import type { Layer, LayerJSON } from './module.js';
import { poolOutputShape, toPair } from './pooling.js';

export interface AvgPool2dLayerOptions {
  /** Default: the kernel size. */
  stride?: Pair;
  padding?: Pair;
}

export class AvgPool2d implements Layer {
  readonly type = 'avgpool2d';
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];

  constructor(kernelSize: Pair, options: AvgPool2dLayerOptions = {}) {
    this.kernelSize = toPair(kernelSize, undefined, 1, 'AvgPool2d: kernelSize');
    this.stride = toPair(options.stride, this.kernelSize, 1, 'AvgPool2d: stride');
    this.padding = toPair(options.padding, [0, 0], 0, 'AvgPool2d: padding');
    if (this.padding[0] > this.kernelSize[0] >> 1 || this.padding[1] > this.kernelSize[1] >> 1) {
      throw new ValueError(
        `AvgPool2d: padding [${this.padding.join(', ')}] must be at most half the kernel size [${this.kernelSize.join(', ')}]`,
      );
    }
  }

  parameters(): Tensor[] {
    return [];
  }

  setParameters(): void {}

  outputShape(inputShape: Shape): Shape {
    return poolOutputShape('AvgPool2d', inputShape, this.kernelSize, this.stride, this.padding, [1, 1]);
  }

  apply(_params: readonly Tensor[], x: Tensor): Tensor {
    if (x.ndim !== 4)
      throw new ShapeError(`AvgPool2d: input must be [n, C, H, W], got ${shapeString(x.shape)}`);
    this.outputShape(x.shape.slice(1));
    return avgPool2d(x, { kernelSize: this.kernelSize, stride: this.stride, padding: this.padding });
  }

  toJSON(): LayerJSON {
    return {
      type: this.type,
      kernelSize: [...this.kernelSize],
      stride: [...this.stride],
      padding: [...this.padding],
    };
  }

  static fromJSON(json: Record<string, unknown>, what: string): AvgPool2d {
    const s = asObject(json, what);
    const kernelSize = readPair(s, 'kernelSize', what, 1);
    const padding = readPair(s, 'padding', what, 0, [0, 0]);
    if (padding[0] > kernelSize[0] >> 1 || padding[1] > kernelSize[1] >> 1) {
      throw new ValueError(
        `${what}.padding [${padding.join(', ')}] must be at most half the kernel size [${kernelSize.join(', ')}]`,
      );
    }
    return new AvgPool2d(kernelSize, { stride: readPair(s, 'stride', what, 1, kernelSize), padding });
  }
}
