/**
 * 2-D max pooling, PyTorch's `nn.MaxPool2d` (floor mode): each channel of an
 * example [C, H, W] maps to the maxima of its kh × kw windows (taps d apart,
 * windows s apart, −∞ padding p), [C, H′, W′] with
 * H′ = ⌊(H + 2p − d(kh − 1) − 1)/s⌋ + 1. The stride defaults to the kernel
 * size. No parameters; the gradient goes to each window's first maximum.
 *
 * After a non-decreasing activation such as relu, pooling runs first: the
 * maximum of relu over a window is relu of its maximum, and both orders send
 * the gradient to the window's first maximum (or nowhere, relu′ being 0, when
 * that maximum is ≤ 0); pooling first gives relu a quarter of the values.
 */
import { maxPool2d, type Pair } from '../autodiff/ops.js';
import { ShapeError, ValueError } from '../errors.js';
import { type Shape, shapeString, type Tensor } from '../tensor.js';
import { asObject, readPair } from './fields.js';
import { Activation } from './layers.js';
import type { Layer, LayerJSON } from './module.js';
import { poolOutputShape, toPair } from './pooling.js';

export interface MaxPool2dLayerOptions {
  /** Default: the kernel size. */
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
}

export class MaxPool2d implements Layer {
  readonly type = 'maxpool2d';
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];

  constructor(kernelSize: Pair, options: MaxPool2dLayerOptions = {}) {
    this.kernelSize = toPair(kernelSize, undefined, 1, 'MaxPool2d: kernelSize');
    this.stride = toPair(options.stride, this.kernelSize, 1, 'MaxPool2d: stride');
    this.padding = toPair(options.padding, [0, 0], 0, 'MaxPool2d: padding');
    this.dilation = toPair(options.dilation, [1, 1], 1, 'MaxPool2d: dilation');
    if (this.padding[0] > this.kernelSize[0] >> 1 || this.padding[1] > this.kernelSize[1] >> 1) {
      throw new ValueError(
        `MaxPool2d: padding [${this.padding.join(', ')}] must be at most half the kernel size [${this.kernelSize.join(', ')}]`,
      );
    }
  }

  parameters(): Tensor[] {
    return [];
  }

  setParameters(): void {}

  outputShape(inputShape: Shape): Shape {
    return poolOutputShape(
      'MaxPool2d',
      inputShape,
      this.kernelSize,
      this.stride,
      this.padding,
      this.dilation,
    );
  }

  runsBefore(previous: Layer): boolean {
    return previous instanceof Activation && previous.nonDecreasing;
  }

  apply(_params: readonly Tensor[], x: Tensor): Tensor {
    if (x.ndim !== 4)
      throw new ShapeError(`MaxPool2d: input must be [n, C, H, W], got ${shapeString(x.shape)}`);
    this.outputShape(x.shape.slice(1));
    return maxPool2d(x, {
      kernelSize: this.kernelSize,
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
    });
  }

  toJSON(): LayerJSON {
    return {
      type: this.type,
      kernelSize: [...this.kernelSize],
      stride: [...this.stride],
      padding: [...this.padding],
      dilation: [...this.dilation],
    };
  }

  static fromJSON(json: Record<string, unknown>, what: string): MaxPool2d {
    const s = asObject(json, what);
    const kernelSize = readPair(s, 'kernelSize', what, 1);
    const padding = readPair(s, 'padding', what, 0, [0, 0]);
    if (padding[0] > kernelSize[0] >> 1 || padding[1] > kernelSize[1] >> 1) {
      throw new ValueError(
        `${what}.padding [${padding.join(', ')}] must be at most half the kernel size [${kernelSize.join(', ')}]`,
      );
    }
    return new MaxPool2d(kernelSize, {
      stride: readPair(s, 'stride', what, 1, kernelSize),
      padding,
      dilation: readPair(s, 'dilation', what, 1, [1, 1]),
    });
  }
}
