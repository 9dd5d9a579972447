/**
 * Pooling and flattening: no parameters, so only their pullbacks matter.
 *
 * A pooling's pullback does not depend on the cotangent's row: average
 * pooling's is the same linear map for every example (spread ȳ/(kh·kw) over
 * each window), and max pooling's sends each window's cotangent to its argmax,
 * which depends on the example but not on which of its m rows is pulled back.
 * So the argmax is found once per example, where the generic rule's vjp would
 * find it again for each row. Tangents pushed forward are read at the same
 * argmaxes (max pooling) or pooled (average pooling, being linear). Flattening
 * is a reshape.
 */
import { reshape } from '../../autodiff/ops.js';
import { poolGeometry } from '../../autodiff/primitives/pool.js';
import {
  avgPool2dTransposeKernel,
  gatherPlanesKernel,
  maxPool2dKernel,
  type PoolGeometry,
  scatterPlanesKernel,
} from '../../kernels/pool.js';
import type { Layer } from '../../nn/module.js';
import { Tensor } from '../../tensor.js';
import type { LayerRule } from './rule.js';

/** What these rules read of MaxPool2d and AvgPool2d (src/nn). */
export interface Pool2dLike extends Layer {
  readonly kernelSize: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly dilation?: readonly [number, number];
}

function geometry(layer: Pool2dLike, x: Tensor): PoolGeometry {
  const [, , height, width] = x.shape as [number, number, number, number];
  return poolGeometry(height, width, { ...layer, dilation: layer.dilation ?? [1, 1] });
}

const noParameters = {
  blocks: () => [],
  slots: () => [],
};

/** The argmax of every window of every example of x [n, C, H, W], [n·C·H'·W']. */
function argmaxes(layer: Pool2dLike, x: Tensor): Float64Array {
  const [n, channels] = x.shape as [number, number];
  const geo = geometry(layer, x);
  const indices = new Float64Array(n * channels * geo.outH * geo.outW);
  maxPool2dKernel(n * channels, geo, x.data, null, indices);
  return indices;
}

export const maxPool2dRule: LayerRule<Pool2dLike> = {
  name: 'maxpool2d',
  ...noParameters,
  forward: (layer, params, x) => layer.apply(params, x),
  pullback(layer, _params, x, cotangent, m) {
    const [n, channels, height, width] = x.shape as [number, number, number, number];
    const indices = argmaxes(layer, x);
    const inPlane = height * width;
    const outPlane = indices.length / (n * channels);
    const out = new Float64Array(n * m * channels * inPlane);
    const g = cotangent.data;
    // Each row's cotangent goes to its example's argmaxes.
    for (let e = 0; e < n; e++) {
      for (let row = e * m; row < (e + 1) * m; row++) {
        const rowIn = row * channels * inPlane;
        const rowOut = row * channels * outPlane;
        const exampleIndices = e * channels * outPlane;
        scatterPlanesKernel(channels, inPlane, outPlane, g, rowOut, indices, exampleIndices, out, rowIn);
      }
    }
    return new Tensor(out, [n * m, channels, height, width]);
  },
  gather(layer, x) {
    const index = argmaxes(layer, x);
    const geo = geometry(layer, x);
    return { outPlane: geo.outH * geo.outW, index, weight: new Float64Array(index.length).fill(1) };
  },
  pushforward(layer, _params, x, tangent) {
    // Each window passes on the tangent at its argmax.
    const [n, channels, height, width] = x.shape as [number, number, number, number];
    const indices = argmaxes(layer, x);
    const geo = geometry(layer, x);
    const out = new Float64Array(indices.length);
    gatherPlanesKernel(n * channels, height * width, geo.outH * geo.outW, tangent.data, indices, out);
    return new Tensor(out, [n, channels, geo.outH, geo.outW]);
  },
};

export const avgPool2dRule: LayerRule<Pool2dLike> = {
  name: 'avgpool2d',
  ...noParameters,
  forward: (layer, params, x) => layer.apply(params, x),
  pullback(layer, _params, x, cotangent) {
    const [, channels, height, width] = x.shape as [number, number, number, number];
    const rows = cotangent.shape[0]!;
    const out = new Float64Array(rows * channels * height * width);
    avgPool2dTransposeKernel(rows * channels, geometry(layer, x), cotangent.data, out);
    return new Tensor(out, [rows, channels, height, width]);
  },
  // Linear: the pooling itself.
  pushforward: (layer, params, _x, tangent) => layer.apply(params, tangent),
};

export const flattenRule: LayerRule<Layer> = {
  name: 'flatten',
  ...noParameters,
  forward: (layer, params, x) => layer.apply(params, x),
  pullback: (_layer, _params, x, cotangent) => reshape(cotangent, [cotangent.shape[0]!, ...x.shape.slice(1)]),
};
