/**
 * A residual block, h(x) = inner(x) + shortcut(x): two chains of layers applied
 * to the same input and summed. The shortcut is the identity unless given
 * (e.g. a 1×1 convolution, or one with stride, to match shapes). The two
 * chains must map an example to the same shape.
 *
 * Parameters are the inner layers' in order, then the shortcut's: the order of
 * a PyTorch module that registers its main branch before its shortcut.
 */
import { add } from '../autodiff/ops.js';
import { ShapeError, ValueError } from '../errors.js';
import { type Shape, shapeString, shapesEqual, type Tensor } from '../tensor.js';
import { asObject, describeValue } from './fields.js';
import type { ApplyContext, Layer, LayerJSON } from './module.js';

/** Turns a nested layer's JSON into a layer: `layerFromJSON` of src/nn/json.ts. */
export type LayerParser = (spec: unknown, what: string) => Layer;

export class Residual implements Layer {
  readonly type = 'residual';
  readonly inner: readonly Layer[];
  /** null: the identity. */
  readonly shortcut: readonly Layer[] | null;

  constructor(inner: readonly Layer[], shortcut: readonly Layer[] | null = null) {
    if (!Array.isArray(inner) || inner.length === 0) {
      throw new ValueError('Residual: inner must be a non-empty array of layers');
    }
    if (shortcut !== null && (!Array.isArray(shortcut) || shortcut.length === 0)) {
      throw new ValueError('Residual: shortcut must be null (identity) or a non-empty array of layers');
    }
    this.inner = [...inner];
    this.shortcut = shortcut === null ? null : [...shortcut];
  }

  private get layers(): readonly Layer[] {
    return this.shortcut === null ? this.inner : [...this.inner, ...this.shortcut];
  }

  parameters(): Tensor[] {
    return this.layers.flatMap((l) => l.parameters());
  }

  setParameters(params: readonly Tensor[]): void {
    let at = 0;
    for (const layer of this.layers) {
      const count = layer.parameters().length;
      layer.setParameters(params.slice(at, at + count));
      at += count;
    }
  }

  outputShape(inputShape: Shape): Shape {
    const chain = (layers: readonly Layer[]) => layers.reduce((s, l) => l.outputShape(s), inputShape);
    const main = chain(this.inner);
    const side = this.shortcut === null ? inputShape : chain(this.shortcut);
    if (!shapesEqual(main, side)) {
      throw new ShapeError(
        `Residual: the inner layers map ${shapeString(inputShape)} to ${shapeString(main)} but the ${this.shortcut === null ? 'identity shortcut gives' : 'shortcut gives'} ${shapeString(side)}`,
      );
    }
    return main;
  }

  apply(params: readonly Tensor[], x: Tensor, context?: ApplyContext): Tensor {
    this.outputShape(x.shape.slice(1));
    let at = 0;
    const run = (layers: readonly Layer[]) =>
      layers.reduce((h, layer) => {
        const count = layer.parameters().length;
        const own = params.slice(at, at + count);
        at += count;
        return layer.apply(own, h, context);
      }, x);
    const main = run(this.inner);
    return add(main, this.shortcut === null ? x : run(this.shortcut));
  }

  toJSON(): LayerJSON {
    return {
      type: this.type,
      inner: this.inner.map((l) => l.toJSON()),
      shortcut: this.shortcut === null ? null : this.shortcut.map((l) => l.toJSON()),
    };
  }

  /** The block from its JSON form; nested layers are read by `parse` (`layerFromJSON`, given by the table). */
  static fromJSON(json: Record<string, unknown>, what: string, parse: LayerParser): Residual {
    const s = asObject(json, what);
    const chain = (key: 'inner' | 'shortcut'): Layer[] => {
      const list = s[key];
      if (!Array.isArray(list) || list.length === 0) {
        throw new ValueError(
          `${what}.${key} must be a non-empty array of layers, got ${describeValue(list)}`,
        );
      }
      return list.map((spec, i) => parse(spec, `${what}.${key}[${i}]`));
    };
    const inner = chain('inner');
    const shortcut = s['shortcut'] === null || s['shortcut'] === undefined ? null : chain('shortcut');
    return new Residual(inner, shortcut);
  }
}
