/**
 * Dropout, PyTorch's `nn.Dropout(p)`: at prediction the identity; in training
 * (`context.training`) each value is zeroed with probability p and the others
 * scaled by 1/(1 − p) (inverted dropout, so the expectation is unchanged),
 * the mask drawn from `context.rng`. p = 1 zeroes everything. No parameters.
 */
import { mul } from '../autodiff/ops.js';
import { ValueError } from '../errors.js';
import { type Shape, sizeOf, Tensor } from '../tensor.js';
import { asObject, readNumber } from './fields.js';
import type { ApplyContext, Layer, LayerJSON } from './module.js';

export class Dropout implements Layer {
  readonly type = 'dropout';
  readonly p: number;

  constructor(p = 0.5) {
    if (!(Number.isFinite(p) && p >= 0 && p <= 1)) {
      throw new ValueError(`Dropout: p must be a probability in [0, 1], got ${p}`);
    }
    this.p = p;
  }

  parameters(): Tensor[] {
    return [];
  }

  setParameters(): void {}

  outputShape(inputShape: Shape): Shape {
    return inputShape;
  }

  apply(_params: readonly Tensor[], x: Tensor, context?: ApplyContext): Tensor {
    if (context === undefined || !context.training || this.p === 0) return x;
    const mask = new Float64Array(sizeOf(x.shape));
    const keep = this.p === 1 ? 0 : 1 / (1 - this.p);
    for (let i = 0; i < mask.length; i++) mask[i] = context.rng.uniform() < this.p ? 0 : keep;
    return mul(x, new Tensor(mask, x.shape));
  }

  toJSON(): LayerJSON {
    return { type: this.type, p: this.p };
  }

  static fromJSON(json: Record<string, unknown>, what: string): Dropout {
    const s = asObject(json, what);
    return new Dropout(readNumber(s, 'p', what, (v) => v >= 0 && v <= 1, 'a probability in [0, 1]', 0.5));
  }
}
